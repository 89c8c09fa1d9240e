"""No English left in the Vietnamese outputs (issue 17 item 3; DESIGN "Language scans").

The national run on the embedded default (``--lang vi``, the session's ``default_run``) is
scanned by :mod:`tests.lang_scan`: the visible text of map.html and report.html, and the
GeoPackage's aliases, column descriptions, legend labels and free-text values; so is the report
of a small Vietnamese batch (``cli.py batch``, two airport scenarios) and the GeoPackage of the
hand-made result. The province the boundary data calls "Hồ Chí Minh" is shown as
*TP. Hồ Chí Minh* in every output. Proper names (facility, province and
site names of the run's own layers) and the schema (field names, table names, coded values,
ids, URLs) are not scanned; the short allow-list is :data:`tests.lang_scan.ALLOWED`.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pyogrio
import pytest

from maps.gpkg import write_geopackage
from tests.conftest import EMBEDDED, REPO, run_cli
from tests.fake_result import make_fake_result
from tests.lang_scan import english_numbers, english_words, gpkg_texts, visible_html_text

NAME_COLUMNS = ("name", "prov_name", "prov34_name", "prov63_name", "members", "group_name")


def run_names(gpkg: Path) -> set[str]:
    """The proper names of a run: facilities, sites, provinces (and member-site lists split)."""
    names: set[str] = set()
    for layer in ("facilities", "terminals", "provinces", "group_measures"):
        try:
            df = pyogrio.read_dataframe(gpkg, layer=layer, read_geometry=False)
        except Exception:
            continue
        for col in NAME_COLUMNS:
            if col in df.columns:
                names |= {str(v) for v in df[col].dropna()}
    return names | {part.strip() for n in names for part in n.split(";")}


def scan_run(out: Path) -> Counter[tuple[str, str, str]]:
    """``(file or table.column, hit, text)`` -> count, for every English word or number."""
    gpkg = out / "infra_overlap.gpkg"
    names = run_names(gpkg)
    texts = [
        (f, t)
        for f in ("map.html", "report.html")
        for t in visible_html_text((out / f).read_text(encoding="utf-8"))
    ]
    texts += gpkg_texts(gpkg)
    hits: Counter[tuple[str, str, str]] = Counter()
    for where, text in texts:
        for hit in english_words(text, names=names) + english_numbers(text):
            hits[(where, hit, text.strip()[:120])] += 1
    return hits


@pytest.mark.integration
def test_vietnamese_outputs_have_no_english(default_run):
    hits = scan_run(default_run)
    lines = [f"{n} × {w}: {h!r} in {t!r}" for (w, h, t), n in hits.most_common(40)]
    assert not hits, (
        f"{sum(hits.values())} English words or English-format numbers in the Vietnamese "
        "outputs (first 40):\n" + "\n".join(lines)
    )


def _hits(texts: list[tuple[str, str]], names: set[str]) -> list[str]:
    return [
        f"{where}: {hit!r} in {text.strip()[:120]!r}"
        for where, text in texts
        for hit in english_words(text, names=names) + english_numbers(text)
    ]


def test_gpkg_aliases_and_descriptions_are_vietnamese(tmp_path: Path) -> None:
    path = tmp_path / "vi.gpkg"
    write_geopackage(make_fake_result(), path, lang="vi")
    texts = [(w, t) for w, t in gpkg_texts(path) if w.startswith("gpkg_data_columns")]
    assert any(w.endswith(":description") for w, _ in texts), "no column description read"
    hits = _hits(texts, run_names(path))
    assert not hits, "English in the column aliases or descriptions:\n" + "\n".join(hits[:40])


BATCH = """
[defaults]
config = "vietnam.toml"
types = ["airport"]
lang = "vi"

[report]
baseline = "goc"
compare = "ngan"

[[scenario]]
name = "goc"
description = "cảng hàng không, ngưỡng 90 phút"

[[scenario]]
name = "ngan"
description = "ngưỡng 60 phút"
primary_min = { airport = 60 }
"""


@pytest.fixture(scope="module")
def vi_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Vietnamese batch of two airport scenarios on the embedded default; its folder."""
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    root = tmp_path_factory.mktemp("vi_batch")
    shutil.copy(REPO / "data" / "vietnam.toml", root / "vietnam.toml")
    (root / "s.toml").write_text(BATCH, encoding="utf-8")
    r = run_cli("batch", str(root / "s.toml"), "--out", str(root / "out"), "--workers", "1")
    assert r.returncode == 0, f"the Vietnamese batch failed:\n{r.stderr[-3000:]}"
    return root / "out"


@pytest.mark.integration
def test_batch_report_speaks_vietnamese(vi_batch: Path) -> None:
    page = (vi_batch / "report.html").read_text(encoding="utf-8")
    assert '<html lang="vi">' in page and "<h1>So sánh kịch bản" in page, page[:600]
    for heading in ("Các kịch bản", "Nguồn gốc các con số", "Thay đổi của từng kịch bản"):
        assert f"<h2>{heading}" in page, f"heading {heading!r} missing"
    names = {"goc", "ngan"}
    for gpkg in vi_batch.glob("scenarios/*/infra_overlap.gpkg"):
        names |= run_names(gpkg)
    hits = _hits([("batch report.html", t) for t in visible_html_text(page)], names)
    assert not hits, "English in the Vietnamese batch report:\n" + "\n".join(hits[:40])


BARE_HCMC = re.compile(r"(?<!TP\. )Hồ Chí Minh(?! City)")


@pytest.mark.integration
def test_hcmc_is_shown_as_tp_ho_chi_minh(default_run: Path) -> None:
    gpkg = default_run / "infra_overlap.gpkg"
    prov = pyogrio.read_dataframe(gpkg, layer="provinces", read_geometry=False)
    names = set(prov["prov_name"])
    assert "TP. Hồ Chí Minh" in names and "Hồ Chí Minh" not in names, sorted(names)
    fac = pyogrio.read_dataframe(gpkg, layer="facilities", read_geometry=False)
    assert "Hồ Chí Minh" not in set(fac["prov34_name"]), "facilities' province not displayed"
    own = {str(n) for n in fac["name"].dropna()}  # facility names are the source's own
    for f in ("map.html", "report.html"):
        texts = visible_html_text((default_run / f).read_text(encoding="utf-8"))
        bare = []
        for t in texts:
            for n in sorted(own, key=len, reverse=True):
                t = t.replace(n, " ")
            bare += [t.strip()[:120] for _ in BARE_HCMC.finditer(t)]
        assert not bare, f"{f}: 'Hồ Chí Minh' without 'TP.' in {bare[:10]}"


def test_display_names_change_display_only() -> None:
    import dataclasses

    from maps.display_names import for_display

    result = make_fake_result()
    fac = result.layers["facilities"].copy()
    fac.loc[0, ["prov34_name", "name"]] = ["Hồ Chí Minh", "Cảng biển Hồ Chí Minh"]
    fac.loc[0, "evidence_vi"] = "Cảng biển Hồ Chí Minh (Hồ Chí Minh) trùng với Đồng Nai."
    mat = result.layers["province_matrix"].copy()
    mat.loc[0, "name_a"] = "Hồ Chí Minh"
    result = dataclasses.replace(
        result, layers={**result.layers, "facilities": fac, "province_matrix": mat}
    )
    shown = for_display(result, "vi")
    row = shown.layers["facilities"].iloc[0]
    assert row["prov34_name"] == "TP. Hồ Chí Minh"
    assert row["name"] == "Cảng biển Hồ Chí Minh", "a facility's own name was changed"
    assert row["evidence_vi"] == "Cảng biển Hồ Chí Minh (TP. Hồ Chí Minh) trùng với Đồng Nai."
    assert shown.layers["province_matrix"].loc[0, "name_a"] == "TP. Hồ Chí Minh"
    assert row["prov34_code"] == fac.loc[0, "prov34_code"], "codes are keys: unchanged"
    assert result.layers["facilities"].loc[0, "prov34_name"] == "Hồ Chí Minh", "input mutated"
    en = for_display(result, "en").layers["facilities"].iloc[0]
    assert en["prov34_name"] == "Hồ Chí Minh City"
