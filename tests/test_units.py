"""Official units and their member sites (geo.units): membership rules on hand-made terminals,
missing units listed, and the official airport list of the embedded data."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.config import REPO_DATA, load_region_config
from geo.facilities import load_region_facilities
from geo.unit_lists import classify_use, read_units, units_specs

EMBEDDED = REPO_DATA / "vietnam"
PROVINCE_FILES = (
    "provinces_63.gpkg",
    "provinces_34.gpkg",
    "crosswalk_63_to_34.csv",
    "regions_6.gpkg",
    "key_economic_regions_4.gpkg",
)
# name, port_kind, operator, lon, lat (63-edition province of the point)
TERMINALS = [
    ("Cảng A", "general_or_unspecified", "", 106.68, 20.86),  # Hải Phòng: member
    ("Cảng cá B", "fishing_port", "", 106.69, 20.85),  # Hải Phòng: fishing
    ("Cảng chuyên dùng Nhiệt điện C", "general_or_unspecified", "", 107.08, 20.95),  # captive
    ("Cảng D", "general_or_unspecified", "Ferry operator", 107.30, 21.00),  # ferry, by its tags
    ("Cảng sông E", "general_or_unspecified", "", 105.87, 21.03),  # Hà Nội: no seaport
    ("Cảng Cát Lái", "general_or_unspecified", "", 106.86, 10.95),  # Đồng Nai, named -> HCM
    ("Cảng F", "general_or_unspecified", "", 107.20, 20.98),  # Quảng Ninh: member
    ("Cảng G", "general_or_unspecified", "", 107.25, 20.99),  # Quảng Ninh: member
]
UNITS = [
    ("Cảng biển Hải Phòng", "1", "special", "Hải Phòng"),
    ("Cảng biển Quảng Ninh", "1", "I", "Quảng Ninh"),
    ("Cảng biển Hồ Chí Minh", "4", "I", "Hồ Chí Minh"),
    ("Cảng biển Nam Định", "1", "III", "Nam Định"),  # no terminal: missing
]


@pytest.fixture(scope="module")
def hand_load(tmp_path_factory):
    return _hand_load(tmp_path_factory.mktemp("units_data"))


def _hand_load(d: Path, exclude_sites: str = ""):
    for f in PROVINCE_FILES:
        (d / f).symlink_to(EMBEDDED / f)
    gdf = gpd.GeoDataFrame(
        {
            "entity_id": [f"t{i}" for i in range(len(TERMINALS))],
            "name_vi": [t[0] for t in TERMINALS],
            "port_kind": [t[1] for t in TERMINALS],
            "operator": [t[2] for t in TERMINALS],
            "status": "unknown",
        },
        geometry=[Point(t[3], t[4]) for t in TERMINALS],
        crs=4326,
    )
    gdf.to_file(d / "transport_facilities_osm.gpkg", layer="ports", engine="pyogrio")
    pd.DataFrame(UNITS, columns=["name_vi", "group", "class", "province"]).to_csv(
        d / "seaports_official_1579.csv", index=False
    )
    text = (REPO_DATA / "vietnam.toml").read_text(encoding="utf-8")
    text = text.replace('id_field = "wpi_number"', 'id_field = "wpi_number"\noptional = true')
    # the project's own terminal table would add its 17 real terminals: read from this folder
    text = text.replace("in_project = true", "optional = true")
    if exclude_sites:
        text, n = re.subn(r"(?m)^exclude_sites = .*$", f"exclude_sites = {exclude_sites}", text)
        assert n == 1
    cfg = d / "region.toml"
    cfg.write_text(text, encoding="utf-8")
    config = load_region_config(cfg)
    return load_region_facilities(d, config, types=("seaport",))


def test_units_are_the_official_ones_with_their_members(hand_load):
    fac = hand_load.facilities.set_index("facility_id")
    assert sorted(fac.index) == [
        "seaport:cang-bien-hai-phong",
        "seaport:cang-bien-ho-chi-minh",
        "seaport:cang-bien-quang-ninh",
    ]
    assert fac.loc["seaport:cang-bien-quang-ninh", "members"] == "Cảng F; Cảng G"
    assert fac.loc["seaport:cang-bien-hai-phong", "class"] == "special"
    assert fac.loc["seaport:cang-bien-ho-chi-minh", "prov63_name"] == "Hồ Chí Minh"
    # its point is its (only) member's, which lies in Đồng Nai: the province is the list's
    hcm = fac.loc["seaport:cang-bien-ho-chi-minh"]
    assert hcm.geometry.equals(Point(106.86, 10.95))


def test_left_out_terminals_carry_their_reason(hand_load):
    sites = hand_load.sites.set_index("name")
    why = sites["excluded_reason"]
    assert why["Cảng A"] == "" and sites.loc["Cảng A", "member"] == "yes"
    assert why["Cảng cá B"].startswith("fishing port")
    assert why["Cảng chuyên dùng Nhiệt điện C"].startswith("captive terminal")
    assert why["Cảng D"].startswith("ferry terminal"), "tagged from its operator, not its name"
    assert why["Cảng sông E"].startswith("no official seaport in Hà Nội")
    assert why["Cảng Cát Lái"] == "" and sites.loc["Cảng Cát Lái", "prov63_name"] == "Hồ Chí Minh"
    excluded = hand_load.excluded
    assert len(excluded) == 4 and excluded["reason"].str.contains("captive terminal").sum() == 1
    assert set(excluded["row"]) == {2, 3, 4, 5}, "excluded rows keep their source row"


def test_a_seaport_without_terminal_is_listed_as_missing(hand_load):
    miss = hand_load.missing
    assert miss["name"].tolist() == ["Cảng biển Nam Định"]
    counts = hand_load.counts.set_index("type").loc["seaport"]
    assert counts["loaded"] == 3 and counts["missing"] == 1 and counts["member_sites"] == 4
    assert (
        counts["member_sites"] + counts["excluded"] + counts["rejected"]
        + counts["merged_duplicates"] == counts["input_rows"]
    )  # fmt: skip


def test_use_patterns_match_whole_words_only():
    pats = {"captive": ("thep",), "ferry": ("ben pha",)}
    assert classify_use("Cảng Thép Hòa Phát", pats) == ("captive", "thep")
    assert classify_use("Cảng Thepa", pats) == ("", "")
    assert classify_use("Bến phà Gót", pats) == ("ferry", "ben pha")
    assert classify_use("Phà Rừng", pats) == ("", ""), "a place name is not a ferry"


def test_official_airport_list_22_operating_and_long_thanh_planned():
    config = load_region_config()
    spec = units_specs(config)["airport"]
    units = read_units(EMBEDDED, spec, "airport").set_index("key")
    assert (units["status"] == "operating").sum() == 22
    assert units.loc["LTH", "status"] == "planned" and units.loc["LTH", "class"] == "international"
    assert units.loc["DLI", "status"] == "operating" and "closed" in units.loc["DLI", "data_note"]
    assert set(units["class"]) == {"international", "domestic"}
    assert "VTG" not in units.index and "PHA" not in units.index


def test_heliport_and_military_field_are_excluded_with_a_reason():
    load = load_region_facilities(EMBEDDED, load_region_config(), types=("airport",))
    assert len(load.facilities) == 23
    reasons = load.excluded["reason"]
    assert reasons.str.contains("Sân bay Vũng Tàu: heliport").sum() == 1
    assert reasons.str.contains("Sân bay Thành Sơn: military airfield").sum() == 1
    lth = load.facilities.set_index("facility_id").loc["airport:LTH"]
    assert lth["status"] == "planned"


def test_missing_units_file_is_a_clear_error(tmp_path: Path):
    from geo.errors import InputError

    spec = units_specs(load_region_config())["seaport"]
    with pytest.raises(InputError, match="official list of seaport units is missing"):
        read_units(tmp_path, spec, "seaport")


def test_member_list_in_the_popup_is_escaped():
    from maps import html_panels as hp

    row = {
        "name": "Cảng biển X",
        "type": "seaport",
        "status": "operating",
        "members": '<script>alert("x")</script>; Cảng A & B',
    }
    html = hp.facility_popup(row, {"seaport": {"label_vi": "Cảng biển"}}, edition=34)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<li>") == 2 and "Cảng A &amp; B" in html


def test_terminals_layer_has_a_default_style():
    from analysis.results import RunMeta
    from maps.qgis_styles import vector_qml, vector_style

    df = pd.DataFrame(
        {"site_id": ["a", "b"], "member": ["yes", "no"], "excluded_reason": ["", "x"]}
    )
    style = vector_style("terminals", df, meta=RunMeta(), types=["seaport"], lang="vi")
    assert style is not None and style.renderer == "categorizedSymbol" and style.attr == "member"
    assert style.aliases["excluded_reason"].startswith("Lý do loại"), style.aliases  # + a vi twin
    assert 'value="yes"' in vector_qml(style)


def test_bad_units_config_is_a_clear_error(tmp_path: Path):
    from geo.errors import ConfigError

    text = (REPO_DATA / "vietnam.toml").read_text(encoding="utf-8")
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text.replace('opening = "planned"', 'opening = "soon"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="status_prefixes"):
        units_specs(load_region_config(cfg))
    cfg.write_text(text.replace('join = "key"', 'join = "nearest"'), encoding="utf-8")
    with pytest.raises(ConfigError, match='join = "province63" or "key"'):
        units_specs(load_region_config(cfg))


def test_remove_a_terminal_leaves_it_out_of_its_unit(hand_load):
    from analysis.run import _member_sites

    fac = hand_load.facilities
    sites, unit = _member_sites(hand_load, fac, "seaport")
    qn = int(fac.index[fac["facility_id"] == "seaport:cang-bien-quang-ninh"][0])
    assert (unit == qn).sum() == 2 and len(sites) == 4
    g_id = hand_load.sites.set_index("name").loc["Cảng G", "site_id"]
    sites, unit = _member_sites(hand_load, fac, "seaport", (g_id,))
    assert (unit == qn).sum() == 1 and len(sites) == 3
    # a unit whose members are all removed keeps none (not its own point)
    f_id = hand_load.sites.set_index("name").loc["Cảng F", "site_id"]
    sites, unit = _member_sites(hand_load, fac, "seaport", (g_id, f_id))
    assert (unit == qn).sum() == 0


def test_a_site_excluded_by_id_is_left_out_with_its_reason(tmp_path: Path, hand_load):
    """``exclude_sites`` (a source row whose point contradicts its name): the site is no member,
    its unit keeps its other members, and the reason is in excluded.csv."""
    sites = hand_load.sites.set_index("name")
    f_id = sites.loc["Cảng F", "site_id"]
    assert sites.loc["Cảng F", "member"] == "yes"
    load = _hand_load(tmp_path, '{ "' + f_id + '" = "point in the wrong province" }')
    out = load.sites.set_index("name")
    assert out.loc["Cảng F", "member"] != "yes"
    assert out.loc["Cảng F", "excluded_reason"] == "point in the wrong province"
    fac = load.facilities.set_index("facility_id")
    assert fac.loc["seaport:cang-bien-quang-ninh", "members"] == "Cảng G"
    assert load.excluded["reason"].str.endswith("point in the wrong province").sum() == 1
