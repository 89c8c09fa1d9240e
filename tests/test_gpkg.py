"""The GeoPackage a GIS user opens: layers, default QGIS styles, descriptions, determinism.

Checked on the hand-made ``tests/fake_result.py`` with sqlite3 and pyogrio only (no QGIS);
``tests/test_qgis.py`` opens the same file in real QGIS.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest

from analysis.results import LAYER_ORDER
from maps.gpkg import write_geopackage
from maps.qgis_styles import FLAGS_ATTR
from tests.fake_result import HOSTILE_NAME, make_fake_result

SPATIAL = (
    "facilities",
    "flags",
    "catchments",
    "overlaps",
    "terminals",
    "provinces",
    "road_repairs",
)
TABLES = ("province_matrix", "rejects", "repairs")


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gpkg") / "infra_overlap.gpkg"
    write_geopackage(make_fake_result(), path, lang="vi")
    return path


def _rows(path: Path, sql: str, *args) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _qml(path: Path, layer: str) -> ET.Element:
    rows = _rows(path, "SELECT styleQML FROM layer_styles WHERE f_table_name=?", layer)
    assert len(rows) == 1, f"{layer}: expected one layer_styles row, found {len(rows)}"
    return ET.fromstring(rows[0][0].split("\n", 1)[1])  # drop the DOCTYPE line


def test_layers_in_design_order(gpkg: Path) -> None:
    # gpkg_contents keeps the write order (GDAL lists feature layers before tables)
    names = [r[0] for r in _rows(gpkg, "SELECT table_name FROM gpkg_contents ORDER BY rowid")]
    data = [n for n in names if n != "layer_styles"]
    assert set(data) == {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]} - {"layer_styles"}
    assert data == list(LAYER_ORDER), f"layers {data}, expected DESIGN order {list(LAYER_ORDER)}"


def test_tables_are_attribute_tables(gpkg: Path) -> None:
    kinds = dict(_rows(gpkg, "SELECT table_name, data_type FROM gpkg_contents"))
    for t in TABLES:
        assert kinds.get(t) == "attributes", f"{t} should be an attribute table, is {kinds.get(t)}"
    for t in SPATIAL:
        assert kinds.get(t) == "features", f"{t} should be a feature layer, is {kinds.get(t)}"
    assert kinds.get("layer_styles") == "attributes", "layer_styles not registered in gpkg_contents"


def test_default_style_rows_as_qgis_queries_them(gpkg: Path) -> None:
    geom_cols = dict(_rows(gpkg, "SELECT table_name, column_name FROM gpkg_geometry_columns"))
    for layer in SPATIAL:
        # the exact query QGIS 3.22's OGR provider runs to find a layer's default style
        rows = _rows(
            gpkg,
            "SELECT styleName, useAsDefault FROM layer_styles WHERE f_table_schema='' AND "
            "f_table_name=? AND f_geometry_column=? ORDER BY CASE WHEN useAsDefault THEN 1 "
            "ELSE 2 END, update_time DESC LIMIT 1",
            layer,
            geom_cols[layer],
        )
        assert rows == [(f"{layer}_default", 1)], f"{layer}: QGIS would not find its default style"
    styled = {r[0] for r in _rows(gpkg, "SELECT f_table_name FROM layer_styles")}
    assert styled == set(SPATIAL), f"styled layers {styled}; tables must not get a style"


@pytest.mark.parametrize(
    ("layer", "renderer", "attr"),
    [
        ("facilities", "categorizedSymbol", '"type" || \'|\' || "status"'),
        ("flags", "categorizedSymbol", FLAGS_ATTR),
        ("catchments", "graduatedSymbol", "break_min"),
        ("overlaps", "graduatedSymbol", "overlap_share"),
        ("terminals", "categorizedSymbol", "member"),
        ("provinces", "graduatedSymbol", "covered_by_others_share_seaport"),
    ],
)
def test_renderer_types(gpkg: Path, layer: str, renderer: str, attr: str | None) -> None:
    r = _qml(gpkg, layer).find("renderer-v2")
    assert r is not None, f"{layer}: QML has no renderer"
    assert r.get("type") == renderer, f"{layer}: renderer {r.get('type')}, expected {renderer}"
    assert r.get("attr") == attr, f"{layer}: classified on {r.get('attr')!r}, expected {attr!r}"


def _symbol_color(symbol: ET.Element, key: str = "color") -> tuple[int, ...]:
    prop = symbol.find(f"layer/prop[@k='{key}']")
    assert prop is not None, f"symbol {symbol.get('name')} has no {key}"
    return tuple(int(v) for v in prop.get("v").split(","))


def test_facilities_planned_hollow_and_labelled(gpkg: Path) -> None:
    qml = _qml(gpkg, "facilities")
    cats = {c.get("value"): c.get("symbol") for c in qml.iter("category")}
    assert {"seaport|operating", "seaport|planned", "airport|operating"} <= set(cats), cats
    symbols = {s.get("name"): s for s in qml.iter("symbol")}
    assert _symbol_color(symbols[cats["seaport|planned"]])[3] == 0, "planned seaport is not hollow"
    assert _symbol_color(symbols[cats["seaport|operating"]])[3] == 255, (
        "operating seaport is hollow"
    )
    style = qml.find("labeling/settings/text-style")
    assert qml.get("labelsEnabled") == "1" and style is not None, "facilities are not labelled"
    assert style.get("fieldName") == "name" and style.get("fontFamily") == "DejaVu Sans"


def test_flags_by_finding_and_catchments_lighter_for_longer_breaks(gpkg: Path) -> None:
    flags = _qml(gpkg, "flags")
    cats = {c.get("value"): c for c in flags.iter("category")}
    assert set(cats) == {"redundant|robust", "redundant|fragile", "overlap_only|"}, set(cats)
    labels = {v: c.get("label") for v, c in cats.items()}
    assert labels["redundant|robust"] == "Dư thừa (ổn định)", labels
    assert labels["overlap_only|"] == "Chỉ trùng lặp", labels
    symbols = {s.get("name"): s for s in flags.iter("symbol")}
    r, g, b, _ = _symbol_color(symbols[cats["redundant|robust"].get("symbol")], "outline_color")
    assert r > 200 and g < 60 and b < 60, f"redundant flag outline {r, g, b} is not red"
    o = _symbol_color(symbols[cats["overlap_only|"].get("symbol")], "outline_color")
    assert o[:3] != (r, g, b), "overlap-only flags look like redundant ones"
    qml = _qml(gpkg, "catchments")
    ranges = sorted(qml.iter("range"), key=lambda e: float(e.get("upper")))
    symbols = {s.get("name"): s for s in qml.iter("symbol")}
    alphas = [_symbol_color(symbols[r.get("symbol")])[3] for r in ranges]
    assert alphas == sorted(alphas, reverse=True) and alphas[0] < 255, (
        f"catchment fill alphas by break {alphas}: want semi-transparent, lighter for longer breaks"
    )
    assert [float(r.get("upper")) for r in ranges] == [60.0, 90.0, 120.0, 180.0]


@pytest.mark.parametrize(("lang", "alias"), [("vi", "Tên"), ("en", "Name")])
def test_field_aliases(tmp_path: Path, lang: str, alias: str) -> None:
    path = tmp_path / "x.gpkg"
    write_geopackage(make_fake_result(), path, lang=lang)
    aliases = {a.get("field"): a.get("name") for a in _qml(path, "facilities").iter("alias")}
    assert aliases.get("name") == alias, f"alias of 'name' in {lang}: {aliases.get('name')!r}"
    assert aliases.get("coverage"), "coverage has no alias"
    prov = {a.get("field"): a.get("name") for a in _qml(path, "provinces").iter("alias")}
    assert "Cảng biển" in prov["covered_by_others_share_seaport"] or lang == "en"


def test_descriptions_and_attribution(gpkg: Path) -> None:
    desc = dict(_rows(gpkg, "SELECT table_name, description FROM gpkg_contents"))
    for layer in LAYER_ORDER:
        assert desc.get(layer), f"{layer}: no description in gpkg_contents"
    cols = {
        (t, c): (title, d)
        for t, c, title, d in _rows(
            gpkg, "SELECT table_name, column_name, title, description FROM gpkg_data_columns"
        )
    }
    assert cols[("facilities", "coverage")][0] == "Dân số phục vụ", cols[("facilities", "coverage")]
    assert "phút" in cols[("catchments", "break_min")][1], "descriptions of a vi run: Vietnamese"
    ext = {r[0] for r in _rows(gpkg, "SELECT extension_name FROM gpkg_extensions")}
    assert {"gpkg_schema", "gpkg_metadata"} <= ext, f"extensions registered: {ext}"
    md = " ".join(
        r[0]
        for r in _rows(
            gpkg,
            "SELECT m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r "
            "ON r.md_file_id = m.id WHERE r.reference_scope = 'geopackage'",
        )
    )
    for line in make_fake_result().meta.attribution:
        assert line in md, f"attribution {line!r} missing from the GeoPackage metadata"
    info = pyogrio.read_info(gpkg, layer="facilities")
    assert info["dataset_metadata"]["ATTRIBUTION"].startswith("©"), "GDAL does not see attribution"


def test_values_round_trip(gpkg: Path) -> None:
    fac = pyogrio.read_dataframe(gpkg, layer="facilities")
    assert HOSTILE_NAME in set(fac["name"]), "the hostile name was altered"
    assert fac["flag"].dtype == bool, f"flag stored as {fac['flag'].dtype}, expected boolean"
    rejects = pyogrio.read_dataframe(gpkg, layer="rejects")
    assert list(rejects.columns) == ["source", "row", "field", "reason"]


def test_list_columns_are_flattened(tmp_path: Path) -> None:
    result = make_fake_result()
    fac = result.layers["facilities"].copy()
    fac["alternatives"] = [["seaport:b", "seaport:c"], [], ["x"], {"k": 1}, None]
    result.layers["facilities"] = fac
    path = tmp_path / "x.gpkg"
    write_geopackage(result, path)
    got = pyogrio.read_dataframe(path, layer="facilities")["alternatives"].tolist()
    assert got[:4] == ["seaport:b|seaport:c", "", "x", '{"k": 1}'], got
    assert result.layers["facilities"]["alternatives"][0] == ["seaport:b", "seaport:c"], "mutated"


def test_two_writes_are_identical_and_atomic(tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "infra_overlap.gpkg", tmp_path / "b" / "infra_overlap.gpkg"]
    stats = [write_geopackage(make_fake_result(), p) for p in paths]
    dumps = []
    for p in paths:
        con = sqlite3.connect(p)
        dumps.append(list(con.iterdump()))
        con.close()
    assert dumps[0] == dumps[1], "two writes of the same result differ in content"
    stamps = {r[0] for r in _rows(paths[0], "SELECT last_change FROM gpkg_contents")}
    stamps |= {r[0] for r in _rows(paths[0], "SELECT update_time FROM layer_styles")}
    assert stamps == {stats[0]["timestamp"]} == {"2026-08-11T00:00:00.000Z"}, stamps
    assert paths[0].read_bytes() == paths[1].read_bytes(), "same content but different bytes"
    leftovers = [p.name for p in paths[0].parent.iterdir() if p.name != "infra_overlap.gpkg"]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


def test_province_polygons_are_no_label_obstacles(gpkg: Path) -> None:
    # as obstacles, one province layer's polygons push every other province layer's names off
    # (on the national project QGIS placed 5 names of 34 instead of 31)
    prov = _qml(gpkg, "provinces").find("labeling/settings/rendering")
    fac = _qml(gpkg, "facilities").find("labeling/settings/rendering")
    assert prov is not None and fac is not None, "provinces and facilities are labelled"
    assert prov.get("obstacle") == "0" and fac.get("obstacle") == "1"
