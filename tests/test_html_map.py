"""The planner's map (maps/html_map.py): offline, deterministic, escaped, and drawn in a browser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from maps import html_panels as hp
from maps.html_map import script_safe_json, write_map
from tests.fake_result import HOSTILE_NAME, make_fake_result

REPO = Path(__file__).resolve().parent.parent
CHECK_HTML = REPO.parent / "shared" / "tools" / "check_html.py"
CHROMIUM = Path("/usr/bin/chromium")
ESCAPED_NAME = "&lt;img src=x onerror=alert(1)&gt;Cảng &quot;Độc&quot; &amp; Co"


@pytest.fixture(scope="module")
def fake_map(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("map") / "map.html"
    stats = write_map(make_fake_result(), path, lang="vi")
    return path, stats


class _Loads(HTMLParser):
    """Every URL a real tag of the page would make the browser load (script text is not tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "data", "poster", "srcset", "action") and value:
                self.urls.append((tag, name, value))
            if name == "style" and value:
                self.styles.append(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _geojson_layers(text: str) -> list[dict]:
    """The FeatureCollections embedded in the page, decoded as the browser decodes them."""
    found = re.findall(
        r'_add\((\{"features": ?.*?"type": ?"FeatureCollection"\})\);', text, flags=re.S
    )
    return [json.loads(s) for s in found]


def test_map_loads_nothing_from_the_network(fake_map: tuple[Path, dict]) -> None:
    path, _ = fake_map
    parser = _Loads()
    parser.feed(path.read_text(encoding="utf-8"))
    remote = [u for u in parser.urls if re.match(r"\s*(https?:)?//", u[2], flags=re.I)]
    assert not remote, f"the map would load these from the network: {remote[:5]}"
    css_remote = [
        s
        for s in parser.styles
        if re.search(r"(url\(\s*['\"]?|@import\s+['\"]?)(https?:)?//", s, re.I)
    ]
    assert not css_remote, f"CSS that loads from the network: {css_remote[:1]}"
    scripts = [u for u in parser.urls if u[0] == "script"]
    assert not scripts, f"the map must inline its scripts, found <script src>: {scripts}"


def test_two_writes_are_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    write_map(make_fake_result(), a)
    write_map(make_fake_result(), b)
    assert a.read_bytes() == b.read_bytes(), (
        "two writes of the same result differ (random ids or order?)"
    )
    assert not list(tmp_path.glob(".tmp-*")), "a temporary file was left behind"


def test_hostile_name_only_escaped(fake_map: tuple[Path, dict]) -> None:
    path, _ = fake_map
    text = path.read_text(encoding="utf-8")
    assert "<img src=x" not in text.lower(), "a name from data reached the page as raw HTML"
    texts = [
        str(f["properties"].get(k, ""))
        for fc in _geojson_layers(text)
        for f in fc["features"]
        for k in ("tip", "pop")
    ]
    assert any(ESCAPED_NAME in t for t in texts), (
        "the hostile facility name is missing from popups/tooltips"
    )
    assert not any("<img" in t for t in texts), "a popup or tooltip holds raw <img> HTML"


def test_script_json_cannot_end_the_script_and_reads_back_the_same() -> None:
    value = {"pop": "<b>a</b></SCRIPT><!--<Script>x & 'y' \\</b>", "n": [1.5, "Đà Nẵng"]}
    text = str(script_safe_json(value, ensure_ascii=False, separators=(",", ":")))
    for breaker in ("</", "<!--", "<script", "&", "'"):
        assert breaker not in text.lower(), f"{breaker!r} left raw in a script's JSON"
    assert "<b>" in text and "Đà Nẵng" in text, "markup or letters escaped for nothing"
    assert json.loads(text) == value


def test_popup_escapes_every_data_field() -> None:
    hostile = {
        k: HOSTILE_NAME
        for k in (
            "name",
            "evidence_vi",
            "evidence_en",
            "sharing_key",
            "data_note",
            "best_alternative_name",
            "best_alternative_province",
            "prov34_name",
            "class",
        )
    }
    row = {
        **hostile,
        "type": "seaport",
        "status": "planned",
        "flag": True,
        "flag_robustness": "fragile",
        "coverage": 1.2e6,
    }
    html = hp.facility_popup(row, {"seaport": {"label_vi": HOSTILE_NAME}}, edition=34)
    assert "<img" not in html and ESCAPED_NAME in html
    assert "1,2 triệu" in html and "1.2 million" in html, "people are not formatted for reading"


def test_stats_layers_and_rounding(fake_map: tuple[Path, dict]) -> None:
    path, stats = fake_map
    assert stats["bytes"] == path.stat().st_size
    assert stats["bytes"] < 15e6
    assert stats["n_features"] == {
        "provinces": 2,
        "catchments": 12,
        "overlaps": 1,
        "flags": 1,
        "facilities": 5,
    }
    text = path.read_text(encoding="utf-8")
    coords = re.findall(r"-?\d+\.\d+", json.dumps([fc["features"] for fc in _geojson_layers(text)]))
    assert coords and all(len(c.split(".")[1]) <= 5 for c in coords if "e" not in c), (
        "coordinates not rounded"
    )
    for needle in (
        "<l-vi>",
        "<l-en>",
        "data-lang",
        "Testland",
        "2026-08-11",
        "OpenStreetMap contributors",
        "io-pairs",
        "data-a",
    ):
        decoded = text.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">")
        assert needle in decoded, f"{needle!r} missing from the map"


def test_language_and_missing_layers(tmp_path: Path) -> None:
    result = make_fake_result()
    for name in ("catchments", "overlaps", "flags", "province_matrix"):
        del result.layers[name]
    stats = write_map(result, tmp_path / "m.html", lang="en")
    assert stats["n_features"]["facilities"] == 5 and stats["n_features"]["catchments"] == 0
    assert "setAttribute('data-lang', \"en\")" in (tmp_path / "m.html").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="lang"):
        write_map(result, tmp_path / "x.html", lang="fr")


@pytest.mark.browser
def test_map_opens_offline_in_chromium(fake_map: tuple[Path, dict], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run ../shared/tools/install.sh")
    if not CHECK_HTML.exists():
        pytest.skip(f"no {CHECK_HTML}")
    path, _ = fake_map
    png = tmp_path / "map.png"
    r = subprocess.run(
        [
            sys.executable,
            str(CHECK_HTML),
            str(path),
            "--json",
            "-",
            "--png",
            str(png),
            "--open-popups",
            "--timeout",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout)
    page = report["page"]
    assert page["vector_paths"] > 0, f"nothing drawn: {page}"
    assert report["dialogs"] == [], f"script from data ran in the page: {report['dialogs']}"
    assert report["popups_opened"] >= 5, "popups and tooltips were not opened"
    assert report["network_requests"] == []
    assert any("Cảng biển" in e for e in page["layer_control_entries"]), page[
        "layer_control_entries"
    ]
    assert png.stat().st_size > 10_000
