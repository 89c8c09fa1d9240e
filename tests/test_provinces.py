"""Province tagging: point in polygon, nearest within tolerance, outside, overrides, both editions."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.config import load_region_config
from geo.provinces import ProvinceOverride, Provinces, load_provinces, tag_provinces

DATA = Path(os.environ.get("INFRA_OVERLAP_DATA", "/work/shared/data/vietnam"))


def tiny_provinces(overrides=()) -> Provinces:
    p63 = gpd.GeoDataFrame(
        {
            "prov_code": ["22", "31"],
            "prov_name": ["Quảng Ninh", "Hải Phòng"],
            "region6_code": ["DBSH", "DBSH"],
            "key_econ_region_vi": [None, None],
            "prov34_code": ["22", "31"],
            "prov34_name": ["Quảng Ninh", "Hải Phòng"],
        },
        geometry=[box(106.6, 20.8, 107.0, 21.2), box(106.2, 20.5, 106.6, 20.8)],
        crs=4326,
    )
    cw = pd.DataFrame({"prov63_code": ["22", "31"], "prov34_code": ["22", "31"]})
    return Provinces(
        p63=p63, p34=p63.copy(), regions6=p63.iloc[:0], crosswalk=cw, overrides=tuple(overrides)
    )


def tag(points, provs, tol=10000):
    gdf = gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in points], crs=4326)
    return tag_provinces(gdf, provs, metric_crs="EPSG:3405", tolerance_m=tol)


def test_inside_nearest_outside():
    out = tag([(106.8, 21.0), (106.4, 20.45), (110.0, 17.0)], tiny_provinces())
    assert list(out["prov63_code"][:2]) == ["22", "31"]
    assert list(out["prov_method"]) == ["point_in_polygon", "nearest_within_10000m", "outside"]
    assert out["prov_dist_m"].iloc[1] == pytest.approx(5530, rel=0.05), (
        "0.05° of latitude is about 5.5 km"
    )
    assert out["prov_dist_m"].iloc[2] > 300_000


def test_override_moves_points_inside_the_defective_polygon_only():
    ov = ProvinceOverride(
        "manual_override_dinhvu_odv_defect", (106.70, 20.78, 106.82, 20.85), "31", "22"
    )
    out = tag([(106.75, 20.82), (106.75, 20.90)], tiny_provinces([ov]))
    assert list(out["prov63_code"]) == ["31", "22"]
    assert out["prov_method"].iloc[0] == "manual_override_dinhvu_odv_defect"
    assert out["prov63_name"].iloc[0] == "Hải Phòng"


def test_input_not_mutated_and_index_kept():
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(106.8, 21.0)], crs=4326, index=[7])
    before = gdf.copy()
    out = tag_provinces(gdf, tiny_provinces(), metric_crs="EPSG:3405", tolerance_m=10)
    pd.testing.assert_frame_equal(gdf, before)
    assert list(out.index) == [7]


@pytest.mark.integration
@pytest.mark.skipif(
    not (DATA / "provinces_63.gpkg").is_file(), reason=f"mirror not found at {DATA}"
)
def test_mirror_provinces_and_tags_agree_with_mirror():
    config = load_region_config()
    provs = load_provinces(DATA, config)
    assert len(provs.p63) == 63 and len(provs.p34) == 34 and len(provs.regions6) == 6
    assert provs.p63["prov_code"].str.fullmatch(r"\d{2}").all()
    assert provs.p63.set_index("prov_code").loc["02", "prov34_code"] == "08", (
        "Hà Giang merged into Tuyên Quang"
    )
    assert provs.p34.set_index("prov_code").loc["08", "prov63_codes"] == "02|08"
    ports = gpd.read_file(DATA / "transport_facilities_osm.gpkg", layer="ports")
    out = tag_provinces(
        ports, provs, metric_crs=config.metric_crs, tolerance_m=config.province_tolerance_m
    )
    same = (out["prov63_code"] == ports["prov63_code"]) & (
        out["prov34_code"] == ports["prov34_code"]
    )
    assert same.all(), out.loc[~same, ["name_vi", "prov63_code", "prov_method"]]
