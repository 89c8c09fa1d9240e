"""City streets (geo.city_streets): the roads_extra merge by OSM way id, on hand-made layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from geo.city_streets import merge_by_way_id, read_city_streets
from geo.errors import InputError


def _extra(path: Path, rows: list[dict]) -> Path:
    g = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "coords"} for r in rows],
        geometry=[LineString(r["coords"]) for r in rows],
        crs="EPSG:4326",
    )
    g.to_file(path, layer="roads", driver="GPKG")
    return path


def test_merge_by_way_id_national_wins_rest_added(tmp_path: Path) -> None:
    a = [(106.70, 10.77), (106.71, 10.77)]
    extra = _extra(
        tmp_path / "city.gpkg",
        [
            # way 1 is also in the national layer (with other tags): the national row stays
            {"osm_id": 1, "highway": "primary", "name": "old name", "oneway": None, "coords": a},
            {"osm_id": 2, "highway": "tertiary", "name": "Phố A", "oneway": "yes", "coords": a},
            {"osm_id": 3, "highway": "footway", "name": "path", "oneway": None, "coords": a},
            {"osm_id": 4, "highway": "secondary", "junction": "roundabout", "coords": a},
            {"osm_id": 5, "highway": "primary", "access": "private", "coords": a},
        ],
    )
    streets, report = read_city_streets([extra, tmp_path / "absent.gpkg"])
    assert sorted(streets["osm_way_id"]) == [1, 2, 4], "not drivable or private ways kept"
    assert report[0]["drivable_ways_kept"] == 3
    assert report[0]["left_out"] == {"footway": 1, "primary": 1}
    assert streets.set_index("osm_way_id").loc[4, "oneway"] == "yes", "roundabout not one-way"
    national = gpd.GeoDataFrame(
        {"osm_way_id": [1, 99], "name": ["Quốc lộ 1", "Quốc lộ 51"]},
        geometry=[LineString(a), LineString([(106.8, 10.8), (106.9, 10.8)])],
        crs="EPSG:4326",
    )
    added, merge = merge_by_way_id(national, streets)
    assert sorted(added["osm_way_id"]) == [2, 4]
    assert merge["joined_by_way_id"] == 1 and merge["added"] == 2
    assert merge["added_km"] == pytest.approx(2 * 1.094, rel=0.01)  # 0.01° of longitude at 10.77° N


def test_same_way_in_two_files_kept_once(tmp_path: Path) -> None:
    a = [(107.58, 16.46), (107.59, 16.46)]
    f1 = _extra(tmp_path / "a.gpkg", [{"osm_id": 7, "highway": "primary", "coords": a}])
    f2 = _extra(tmp_path / "b.gpkg", [{"osm_id": 7, "highway": "secondary", "coords": a}])
    streets, _ = read_city_streets([f1, f2])
    assert len(streets) == 1 and streets["highway"].iloc[0] == "primary"


def test_national_layer_without_way_ids_is_refused() -> None:
    national = gpd.GeoDataFrame({"x": [1]}, geometry=[LineString([(0, 0), (1, 1)])], crs=4326)
    streets = gpd.GeoDataFrame({"osm_way_id": [1]}, geometry=[LineString([(0, 0), (1, 1)])])
    with pytest.raises(InputError, match="osm_way_id"):
        merge_by_way_id(national, streets)
