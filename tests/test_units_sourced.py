"""The project's own seaport terminal table (``data/seaport_terminals_sourced.csv``) on real data:
every row has its source and lies in its province, and on the default data every official
seaport is a unit with members or listed as missing with a reason."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from geo.config import REPO_DATA, load_region_config
from geo.facilities import load_region_facilities

EMBEDDED = REPO_DATA / "vietnam"
TABLE = REPO_DATA / "seaport_terminals_sourced.csv"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(TABLE, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def default_load():
    config = load_region_config()
    return load_region_facilities(EMBEDDED, config, types=("seaport",))


def test_every_row_has_its_source(table):
    assert len(table) > 0
    for col in ("source_url", "via_url", "source_date", "precision", "coord_source"):
        empty = table.loc[table[col].str.strip() == "", "terminal_id"].tolist()
        assert not empty, f"{col} is empty for {empty}"
    assert table["source_url"].str.startswith("https://").all()
    assert table["terminal_id"].is_unique
    # a UN/LOCODE point carries the UNECE page; a point from OSM carries its OSM element
    unece = table["coord_source"] == "UN/LOCODE"
    assert table.loc[unece, "source_url"].str.contains("unece.org").all()
    assert (
        table.loc[~unece, "source_url"]
        .str.contains("openstreetmap.org/(?:node|way|relation)/")
        .all()
    )
    # the localities are UN/LOCODE ports (function 1)
    assert table["unlocode_function"].str.startswith("1").all()


def test_every_point_lies_in_its_stated_province(table):
    provinces = gpd.read_file(EMBEDDED / "provinces_63.gpkg", engine="pyogrio")
    points = gpd.GeoDataFrame(
        table,
        geometry=gpd.points_from_xy(table["lon"].astype(float), table["lat"].astype(float)),
        crs=4326,
    )
    hit = gpd.sjoin(points, provinces[["name_vi", "geometry"]], predicate="within")
    got = hit.set_index("terminal_id")["name_vi_right"]
    wrong = {
        t: got.get(t)
        for t, p in zip(table["terminal_id"], table["province"], strict=True)
        if got.get(t) != p
    }
    assert not wrong, f"points outside their stated province: {wrong}"


def test_every_row_names_an_official_seaport_of_its_province(table):
    official = pd.read_csv(EMBEDDED / "seaports_official_1579.csv", dtype=str)
    province = dict(
        zip(
            official["name_vi"],
            official["province"].replace({"Thừa Thiên Huế": "Huế"}),
            strict=True,
        )
    )
    unknown = sorted(set(table["seaport"]) - set(province))
    assert not unknown, f"not in seaports_official_1579.csv: {unknown}"
    assert (table["seaport"].map(province) == table["province"]).all()


def test_every_official_seaport_is_a_unit_with_members_or_missing(default_load, table):
    official = pd.read_csv(EMBEDDED / "seaports_official_1579.csv", dtype=str)
    fac = default_load.facilities
    units = dict(zip(fac["name"], fac["members"], strict=True))
    missing = default_load.missing.set_index("name")["reason"]
    for name in official["name_vi"]:
        assert (name in units) != (name in missing.index), f"{name}: unit and missing, or neither"
        if name in units:
            assert str(units[name]).strip(), f"{name} is a unit without member"
        else:
            assert str(missing[name]).strip(), f"{name} is missing without a reason"
    assert len(units) + len(missing) == len(official) == 36
    # each sourced terminal is a member of its seaport (no captive/ferry/fishing word in them)
    sites = default_load.sites
    mine = sites[sites["site_id"].str.contains("unlocode:")]
    assert len(mine) == len(table)
    assert (mine["member"] == "yes").all(), mine.loc[mine["member"] != "yes", "excluded_reason"]
    kien_giang = fac.set_index("name").loc["Cảng biển Kiên Giang", "members"]
    assert "Hòn Chông" in kien_giang, "Kiên Giang has a mainland terminal"
