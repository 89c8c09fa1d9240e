"""Facility mapping, duplicates, determinism and the integration load of the mirror."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo.config import load_region_config
from geo.facilities import load_region_facilities
from geo.facility_merge import merge_duplicates
from geo.facility_source import facilities_from_source, normalise_name
from geo.facility_user import facilities_from_user_file
from geo.schema import FACILITY_COLUMNS, Issues

CONFIG = load_region_config()
DATA = Path(os.environ.get("INFRA_OVERLAP_DATA", "/work/shared/data/vietnam"))
ROWS = [
    ("Cảng Đình Vũ", 106.75, 20.84, "seaport", "operating"),
    ("Cảng Cửa Lò", 105.72, 18.82, "seaport", "unknown"),
    ("Sân bay Nội Bài", 105.80, 21.22, "airport", "operating"),
    ("KCN Tiên Sơn", 106.0, 21.1, "industrial_park", "planned"),
    ("bad status", 106.1, 21.1, "industrial_park", "abandoned"),
    ("bad place", 0.0, 0.0, "seaport", "operating"),
]


def test_normalise_name():
    assert normalise_name("  Cảng ĐÌNH Vũ ") == normalise_name("cang dinh vu") == "cang dinh vu"


def test_source_mapping_require_filter_class_status():
    gdf = gpd.GeoDataFrame(
        {
            "entity_id": ["a", "b", "c", "d"],
            "name_vi": ["Cảng A", "Cảng cá B", "Cảng C", "  "],
            "status": ["unknown", "unknown", "under_construction", "unknown"],
            "port_kind": [
                "general_or_unspecified",
                "fishing_port",
                "general_or_unspecified",
                "general_or_unspecified",
            ],
            "source_row": [1, 2, 3, 4],
        },
        geometry=[Point(106.7, 20.8)] * 4,
        crs=4326,
    )
    before = gdf.copy()
    spec = CONFIG.types["seaport"].sources[0]
    issues = Issues()
    # the region config leaves class rules of seaports to its official units (geo.units); the
    # source-level rule is tested on a config that rejects fishing ports
    sea = dataclasses.replace(CONFIG.types["seaport"], exclude_classes=("fishing",))
    config = dataclasses.replace(CONFIG, types={**CONFIG.types, "seaport": sea})
    out = facilities_from_source(
        gdf, spec, type_name="seaport", config=config, source="s", issues=issues
    )
    pd.testing.assert_frame_equal(gdf, before)
    assert list(out["facility_id"]) == ["seaport:a", "seaport:c"]
    assert list(out["status"]) == ["operating", "planned"] and list(out["status_source"]) == [
        "assumed",
        "source",
    ]
    rej = {r["row"]: r["reason"] for r in issues.rejects}
    assert rej[2] == "class fishing is not a seaport by default" and "name" in rej[4]


def test_require_field_excludes_not_rejects():
    gdf = gpd.GeoDataFrame(
        {
            "entity_id": ["x", "y"],
            "name_vi": ["SB X", "SB quân sự"],
            "status": ["unknown"] * 2,
            "iata": ["HAN", None],
            "source_row": [1, 2],
        },
        geometry=[Point(105.8, 21.2)] * 2,
        crs=4326,
    )
    issues, excluded = Issues(), []
    spec = CONFIG.types["airport"].sources[0]
    out = facilities_from_source(
        gdf, spec, type_name="airport", config=CONFIG, issues=issues, excluded=excluded
    )
    assert list(out["class"]) == ["international"]
    assert not issues.rejects and [e["row"] for e in excluded] == [2]


def test_merge_duplicates_by_distance_and_name():
    fac = gpd.GeoDataFrame(
        {
            "facility_id": ["s:2", "s:1", "s:3", "a:1", "s:4"],
            "name": ["Cảng X", "Cang X bis", "Cảng Đình Vũ", "Airport", "cang dinh vu"],
            "type": ["seaport", "seaport", "seaport", "airport", "seaport"],
            "prov63_code": ["31", "31", "31", "31", "31"],
        },
        geometry=[
            Point(106.7, 20.8),
            Point(106.701, 20.8),
            Point(106.9, 20.9),
            Point(106.7, 20.8),
            Point(106.5, 20.6),
        ],
        crs=4326,
    )
    out, merged = merge_duplicates(fac, distance_m=500, metric_crs="EPSG:3405")
    assert list(out["facility_id"]) == ["a:1", "s:1", "s:3"], (
        "an airport is never a duplicate of a seaport"
    )
    assert dict(zip(merged["merged_id"], merged["kept_id"], strict=True)) == {
        "s:2": "s:1",
        "s:4": "s:3",
    }
    assert "same name" in merged.set_index("merged_id").loc["s:4", "reason"]


def user_csv(path: Path, rows) -> Path:
    pd.DataFrame(rows, columns=["name", "lon", "lat", "type", "status"]).to_csv(path, index=False)
    return path


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.permutations(range(len(ROWS))))
def test_row_order_does_not_change_the_result(tmp_path, order):
    base, _ = facilities_from_user_file(user_csv(tmp_path / "a.csv", ROWS), config=CONFIG)
    shuffled, issues = facilities_from_user_file(
        user_csv(tmp_path / "b.csv", [ROWS[i] for i in order]), config=CONFIG
    )
    cols = [c for c in base.columns if c not in ("source", "source_row")]
    pd.testing.assert_frame_equal(base[cols], shuffled[cols])
    assert len(shuffled) + len(issues.rejects) == len(ROWS), (
        "every row is either loaded or rejected"
    )


@pytest.fixture(scope="module")
def mirror_load():
    if not (DATA / "transport_facilities_osm.gpkg").is_file():
        pytest.skip(f"mirror not found at {DATA} (set INFRA_OVERLAP_DATA)")
    return load_region_facilities(DATA, CONFIG)


@pytest.mark.integration
def test_mirror_counts(mirror_load):
    counts = mirror_load.counts.set_index("type")
    print(counts.drop(columns="official_source").to_string())
    air, sea, park = counts.loc["airport"], counts.loc["seaport"], counts.loc["industrial_park"]
    # official units: 22 civil airports in operation + Long Thành (planned); 42 OSM aerodromes:
    # 23 are sites of a listed airport, 17 without IATA or not listed (heliport, military), 1
    # abandoned (rejected)
    assert air["loaded"] == 23 and air["member_sites"] == 23, air
    assert air["excluded"] == 18 and air["rejected"] == 1, air
    # 36 seaports of Decision 1579: those with a mapped terminal are loaded, the rest missing
    assert sea["loaded"] + sea["missing"] == 36 and sea["missing"] == len(mirror_load.missing)
    assert park["loaded"] + park["merged_duplicates"] == 279, "one point per primary name group"
    excl = mirror_load.excluded
    sea_excl = excl.loc[excl["type"] == "seaport", "reason"]
    # 13 inland river ports of Hà Nội, Bắc Ninh, Phú Thọ: no 1579 seaport in their province
    assert sea_excl.str.contains("no official seaport in").sum() == 13
    assert sea_excl.str.contains("fishing port").sum() >= 14
    for t, c in counts.iterrows():
        kept = c["member_sites"] if t in ("seaport", "airport") else c["loaded"]
        assert kept + c["excluded"] + c["rejected"] + c["merged_duplicates"] == c["input_rows"], (
            f"{t}: rows unaccounted"
        )


@pytest.mark.integration
def test_mirror_facilities(mirror_load):
    fac = mirror_load.facilities
    assert list(fac.columns[: len(FACILITY_COLUMNS)]) == list(FACILITY_COLUMNS)
    assert fac["facility_id"].is_unique and fac.crs.to_epsg() == 4326
    assert fac.equals(fac.sort_values(["type", "facility_id"], ignore_index=True))
    air = fac[fac["type"] == "airport"].set_index("name")
    assert air.loc["Cảng hàng không quốc tế Nội Bài", "prov63_code"] == "01"
    assert air.loc["Cảng hàng không quốc tế Long Thành", "status"] == "planned"
    assert "Sân bay Nà Sản" not in air.index
    rej = mirror_load.issues.rejects_frame()
    assert rej["reason"].str.contains("abandoned").sum() == 1
    sites = mirror_load.sites
    # the OSM terminal Cảng Đình Vũ (tagged Quảng Ninh by the ODV polygon defect) is a member of
    # the seaport of Hải Phòng, itself or through the berth it was merged into
    merged = mirror_load.merged.set_index("merged_name")["kept_id"]
    dv_id = merged.get("Cảng Đình Vũ")
    dv = sites[sites["site_id"] == dv_id] if dv_id else sites[sites["name"] == "Cảng Đình Vũ"]
    assert len(dv) == 1 and dv["unit_id"].iloc[0] == "seaport:cang-bien-hai-phong"
    assert dv["prov63_name"].iloc[0] == "Hải Phòng"
    # the Hải Phòng berth layer (mirror only) adds terminals to the seaport of Hải Phòng
    hp = sites[(sites["unit_id"] == "seaport:cang-bien-hai-phong")]
    assert hp["kind"].str.startswith("ports_haiphong_berths").sum() > 5
    parks = fac[fac["type"] == "industrial_park"]
    assert parks["area_wkb"].notna().sum() >= 260, "park polygons must be kept"
