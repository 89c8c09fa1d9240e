"""The findings panel, layer defaults and URL state of map.html (issue 17, item 1).

Hand-made data: the fake run of ``tests.fake_result`` with the joint verdict's fields added and
three more seaports whose names are hostile to a layout (300 characters, right-to-left, emoji).
The browser tests open the page in headless Chromium (``--dump-dom``: the DOM after the page's
scripts ran) with a URL fragment and read what the page built.
"""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import pandas as pd
import pytest

from geo.cities import read_major_cities
from maps import html_findings as hf
from maps import html_pairs as hpairs
from maps import html_panels as hp
from maps.html_labels import spaced_cities
from maps.html_map import build_map, write_map
from tests.fake_result import HOSTILE_NAME, make_fake_result

CHROMIUM = Path("/usr/bin/chromium")
LONG_NAME = "Cảng " + "Rất Dài " * 37 + "Cuối"  # about 300 characters, no space to break on later
RTL_NAME = "ميناء حيفا הנמל"
EMOJI_NAME = "Cảng 🚢⚓ 👍🏽 Sóng"

# facility_id: (verdict, overlap_flag, severity, verdict_rank)
VERDICT = {
    "seaport:a": (True, True, 0.67, 2),
    "seaport:b": (True, True, 0.90, 1),  # the hostile HTML name
    "seaport:c": (False, False, float("nan"), 0),
    "airport:HAN": (False, True, -0.42, 0),
    "airport:HPH": (True, True, 0.33, 1),
    "seaport:long": (True, True, 0.50, 3),
    "seaport:rtl": (False, True, 0.10, 0),
    "seaport:emoji": (True, True, 0.20, 4),
}


CITIES_CSV = (
    "geonameid,name,lon,lat,population,admin1_code,timezone\n"
    "1,Hanoi,105.84117,21.0245,8053663,01,Asia/Bangkok\n"
    "2,Haiphong,106.68345,20.86481,2625200,31,Asia/Bangkok\n"
    "3,Hoàn Kiếm,105.85,21.03,150000,01,Asia/Bangkok\n"  # 1 km from Hanoi: left out
    "4,,105.0,20.0,90000,01,Asia/Bangkok\n"  # no name: rejected, logged
    "5,Nowhere,555,20.0,80000,01,Asia/Bangkok\n"  # bad longitude: rejected, logged
)


def findings_result(data_dir: Path | None = None):
    """The fake run with verdict fields and three extra seaports (copies of seaport:a)."""
    result = make_fake_result()
    if data_dir is not None:
        (data_dir / "cities_geonames.csv").write_text(CITIES_CSV, encoding="utf-8")
        result.meta.data_dir = str(data_dir)
    fac = result.layers["facilities"]
    extra = []
    for fid, name, lon in (
        ("seaport:long", LONG_NAME, 105.7),
        ("seaport:rtl", RTL_NAME, 105.9),
        ("seaport:emoji", EMOJI_NAME, 106.1),
    ):
        row = fac[fac["facility_id"] == "seaport:a"].copy()
        row["facility_id"], row["name"] = fid, name
        row["geometry"] = gpd.points_from_xy([lon], [20.6], crs=fac.crs)
        extra.append(row)
    fac = gpd.GeoDataFrame(pd.concat([fac, *extra], ignore_index=True), crs=fac.crs)
    cols = ("verdict", "overlap_flag", "severity", "verdict_rank")
    for i, col in enumerate(cols):
        fac[col] = [VERDICT[f][i] for f in fac["facility_id"]]
    fac["flag"] = fac["verdict"]
    fac["overlap_robustness"] = ["robust" if o else "" for o in fac["overlap_flag"]]
    fac["flag_robustness"] = ["fragile" if v else "" for v in fac["verdict"]]
    result.layers["facilities"] = fac
    flags = fac[fac["verdict"] | fac["overlap_flag"]]
    result.layers["flags"] = flags.assign(
        prov_code=flags["prov34_code"], prov_name=flags["prov34_name"]
    ).reset_index(drop=True)
    return result


@pytest.fixture(scope="module")
def findings_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("findings") / "map.html"
    write_map(findings_result(path.parent), path, lang="vi")
    return path


def test_findings_ordered_verdict_first_by_severity() -> None:
    fac = findings_result().layers["facilities"]
    rows = hf.findings_records(fac, edition=34)
    ids = [r["id"] for r in rows]
    assert ids == [
        "seaport:b",  # verdict, 0.90
        "seaport:a",  # 0.67
        "seaport:long",  # 0.50
        "airport:HPH",  # 0.33
        "seaport:emoji",  # 0.20
        "seaport:rtl",  # overlap only, 0.10
        "airport:HAN",  # overlap only, -0.42
    ], ids
    assert [r["v"] for r in rows] == [1, 1, 1, 1, 1, 0, 0]
    assert "seaport:c" not in ids, "a facility with neither verdict nor overlap flag is listed"
    first = rows[0]
    assert first["n"] == HOSTILE_NAME, "the record must hold the raw name (the page sets text)"
    assert (first["p"], first["pc"], first["t"]) == ("Hải Phòng", "31", "seaport")
    assert first["r"] == 1 and rows[-1]["r"] is None, "overlap-only rows have no verdict rank"


def test_report_findings_follow_the_map_order_on_ties() -> None:
    """The report lists the findings in the map panel's order, ties of the shown (rounded)
    severity broken the same way (verdict rank, name, id)."""
    from maps.report_sections import finding_order

    fac = findings_result().layers["facilities"].copy()
    # a (verdict rank 2) is more severe than b (rank 1) by less than the map shows: a tie there
    fac.loc[fac["facility_id"] == "seaport:a", "severity"] = 1.0
    fac.loc[fac["facility_id"] == "seaport:b", "severity"] = 0.99999
    map_ids = [r["id"] for r in hf.findings_records(fac, edition=34)]
    assert map_ids[:2] == ["seaport:b", "seaport:a"], map_ids
    sel = fac[fac["verdict"].astype(bool) | fac["overlap_flag"].astype(bool)]
    assert finding_order(sel)["facility_id"].tolist() == map_ids


def test_findings_fall_back_to_flag_without_verdict_columns() -> None:
    fac = make_fake_result().layers["facilities"]
    fac = fac.drop(columns=["verdict", "overlap_flag", "severity", "verdict_rank"])  # an older run
    rows = hf.findings_records(fac, edition=34)
    assert [r["id"] for r in rows] == ["seaport:a"] and rows[0]["s"] is None


def test_major_cities_reader_rejects_bad_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    findings_result(tmp_path)
    with caplog.at_level("WARNING"):
        cities = read_major_cities(tmp_path, top=10)
    assert list(cities["name"]) == ["Hanoi", "Haiphong", "Hoàn Kiếm"]
    assert "cities_geonames.csv" in caplog.text and "lines 5, 6" in caplog.text, caplog.text
    spaced = spaced_cities(cities, keep=10, min_km=20)
    assert list(spaced["name"]) == ["Hanoi", "Haiphong"], "a district next to its city stays out"
    assert read_major_cities(tmp_path / "missing").empty
    (tmp_path / "cities_geonames.csv").write_text("name,lon\nA,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cities_geonames.csv: missing column\(s\) lat"):
        read_major_cities(tmp_path)


def test_layer_defaults_and_legend_sections(tmp_path: Path) -> None:
    m, _ = build_map(findings_result(tmp_path))
    shown = {}
    for layer in m._children.values():
        if getattr(layer, "control", False) and hasattr(layer, "show"):
            label = str(getattr(layer, "layer_name", ""))
            name = re.sub(r"<l-en>.*?</l-en>|<[^>]+>", "", label)
            shown[name] = (bool(getattr(layer, "show", False)), getattr(layer, "io_group", ""))
    on = sorted(n for n, (s, _) in shown.items() if s)
    assert on == sorted(
        [
            "Dư thừa (kết luận chung)",
            "Cảng biển (5 + 1 quy hoạch)",
            "Cảng hàng không (2 + 0 quy hoạch)",
            "Tên tỉnh",
            "Thành phố lớn (GeoNames)",
        ]
    ), on
    off = [n for n, (s, _) in shown.items() if not s]
    assert any("vùng phục vụ" in n for n in off) and any("Trùng lặp ≥" in n for n in off)
    assert any("Tỉnh: tỷ lệ" in n for n in off), "the choropleths must start off"
    assert any(n.startswith("Chỉ trùng lặp") for n in off)
    groups = {g for _, g in shown.values()}
    assert {"flags", "base", "seaport", "airport"} <= groups, groups
    legend = hp.legend_html(["seaport", "airport"], {})
    sections = re.findall(r'<div class="io-lgsec" data-lg="([^"]+)" hidden>', legend)
    assert sorted(sections) == sorted(
        ["ovl", "catch-seaport", "catch-airport", "several", "choro"]
    ), sections
    assert "#7b3fa0" not in legend.split('data-lg="several"')[1].split("</div></div>")[0], (
        "'served by 2, 3, 4+' must not use the airport purple"
    )


def test_findings_json_in_page_and_names_inert(findings_map: Path) -> None:
    text = findings_map.read_text(encoding="utf-8")
    assert "<img src=x" not in text.lower(), "a name from data reached the page as raw HTML"
    assert RTL_NAME in text and EMOJI_NAME in text and LONG_NAME in text
    assert "var FIND = [" in text and "textContent = r.n" in text
    assert "innerHTML = r." not in text, "text from data must never be set as HTML"


def test_pairs_are_ranked_by_name_with_planned_footnote() -> None:
    result = findings_result()
    html = hpairs.pairs_html(
        result.layers["province_matrix"],
        result.meta.types,
        ["seaport", "airport"],
        edition=34,
        n_planned={"seaport": 1},
    )
    assert html.count('class="io-cell"') >= 1 and 'data-a="01" data-b="31"' in html
    assert "Hà Nội – Hải Phòng" in html and "<table" not in html
    assert "Chưa tính 1 cơ sở quy hoạch." in html and "1 planned facilities not counted." in html


# ---- in the browser ---------------------------------------------------------------------------


class _Findings(HTMLParser):
    """Rows of the findings lists (id, text) and any element inside the panel, from a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, str]]] = {"io-fv": [], "io-fo": []}
        self.tags_in_panel: list[str] = []
        self.root: dict[str, str] = {}
        self.legend: dict[str, bool] = {}  # legend section -> shown
        self._list: str | None = None
        self._li: str | None = None
        self._text: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.root = a
        if "data-lg" in a:
            self.legend[a["data-lg"]] = "hidden" not in a
        cls = a.get("class", "").split()
        if tag == "ol" and ("io-fv" in cls or "io-fo" in cls):
            self._list = "io-fv" if "io-fv" in cls else "io-fo"
        elif self._list and tag == "li":
            self._li, self._text = a.get("data-id", ""), []
        elif self._li is not None:
            self.tags_in_panel.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._list and self._li is not None:
            self.rows[self._list].append((self._li, " ".join(self._text)))
            self._li = None
        elif tag == "ol":
            self._list = None

    def handle_data(self, data: str) -> None:
        if self._li is not None:
            self._text.append(data)


def _dom(page: Path, fragment: str = "", *, width: int = 1280, height: int = 900) -> _Findings:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run ../shared/tools/install.sh")
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    r = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--window-size={width},{height}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "<html" in r.stdout, r.stderr[-2000:]
    parser = _Findings()
    parser.feed(r.stdout)
    return parser


@pytest.mark.browser
def test_browser_lists_findings_in_severity_order(findings_map: Path) -> None:
    dom = _dom(findings_map)
    ids = [i for i, _ in dom.rows["io-fv"]]
    assert ids == ["seaport:b", "seaport:a", "seaport:long", "airport:HPH", "seaport:emoji"], ids
    assert [i for i, _ in dom.rows["io-fo"]] == ["seaport:rtl", "airport:HAN"]
    texts = dict(dom.rows["io-fv"])
    assert HOSTILE_NAME in texts["seaport:b"], "the hostile name must show as text"
    assert EMOJI_NAME in texts["seaport:emoji"] and LONG_NAME in texts["seaport:long"]
    assert RTL_NAME in dict(dom.rows["io-fo"])["seaport:rtl"]
    assert "img" not in dom.tags_in_panel, "a name from data became an element"
    assert float(dom.root["data-io-map-share"]) >= 0.6, (
        f"a 300-character name must not widen the panel: map share {dom.root['data-io-map-share']}"
    )


@pytest.mark.browser
def test_browser_reads_filter_and_view_from_fragment(findings_map: Path) -> None:
    dom = _dom(findings_map, "z=9&lat=20.8&lon=106.3&type=airport")
    assert [i for i, _ in dom.rows["io-fv"]] == ["airport:HPH"]
    assert [i for i, _ in dom.rows["io-fo"]] == ["airport:HAN"]
    view = dict(kv.split("=") for kv in dom.root["data-io-view"].split("&"))
    assert float(view["z"]) == 9 and abs(float(view["lat"]) - 20.8) < 1e-3, view
    dom = _dom(findings_map, "prov=" + quote("Hà Nội"))
    listed = [i for lst in dom.rows.values() for i, _ in lst]
    assert listed == ["seaport:a", "seaport:long", "seaport:emoji", "seaport:rtl", "airport:HAN"]
    dom = _dom(findings_map, "prov=31&q=cat%20bi")  # a code and a search without diacritics
    assert [i for i, _ in dom.rows["io-fv"]] == ["airport:HPH"] and dom.rows["io-fo"] == []


@pytest.mark.browser
def test_browser_phone_width_leaves_the_map_visible(findings_map: Path) -> None:
    dom = _dom(findings_map, width=412, height=915)
    share = float(dom.root["data-io-map-share"])
    assert share >= 0.6, f"at 412 px the panels cover {1 - share:.0%} of the screen"


@pytest.mark.browser
def test_browser_one_choropleth_and_legends_only_while_shown(findings_map: Path) -> None:
    dom = _dom(findings_map)
    assert not any(dom.legend.values()), f"legend sections shown with nothing on: {dom.legend}"
    on = set(dom.root["data-io-on"].split(","))
    assert on == {"fac-seaport", "fac-airport", "verdict", "names", "cities"}, on
    dom = _dom(findings_map, "on=choro-seaport,choro-airport,several-seaport&off=cities")
    on = set(dom.root["data-io-on"].split(","))
    assert "choro-airport" in on and "choro-seaport" not in on, f"two choropleths on: {on}"
    assert "several-seaport" in on and "cities" not in on
    shown = sorted(k for k, v in dom.legend.items() if v)
    assert shown == ["choro", "several"], shown
