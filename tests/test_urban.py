"""Urban congestion factor (geo.urban) and its calibration (analysis.trips_run), hand-made data."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from analysis.network import graph_from_edges
from analysis.trips_run import TripInputs, _best_urban_fit
from analysis.validation import snap_trip_ends, trip_times_s
from geo.config import load_region_config
from geo.roads import RoadNetwork
from geo.urban import urban_edges, with_urban_factor

CRS = "EPSG:3405"
X0, Y0 = 600_000.0, 2_300_000.0
TABLE = {"expressway": 80.0, "primary": 45.0, "default": 30.0, "connector": 20.0}


def km(x: float, y: float) -> tuple[float, float]:
    return (X0 + x * 1000, Y0 + y * 1000)


def street_network() -> RoadNetwork:
    """A city at (0, 0) with a 6 km primary road grid, a primary road running 40 km east out
    of it, and an expressway through the city."""
    segs = [((-3, y), (3, y), "primary") for y in (-3, 0, 3)] + [
        ((x, -3), (x, 3), "primary") for x in (-3, 0, 3)
    ]
    segs += [((3, 0), (43, 0), "primary"), ((0, -20), (0, -3), "expressway")]
    segs += [((0, -3), (0, 3), "expressway")]
    pts: dict[tuple[float, float], int] = {}
    rows = []
    for p, q, cls in segs:
        ia, ib = pts.setdefault(p, len(pts)), pts.setdefault(q, len(pts))
        rows.append(
            {
                "u": ia,
                "v": ib,
                "length_m": math.dist(km(*p), km(*q)),
                "speed_kmh": TABLE[cls],
                "oneway": False,
                "road_class": cls,
                "edge_kind": "road",
                "geometry": LineString([km(*p), km(*q)]),
            }
        )
    xy = np.array([km(*p) for p in pts])
    edges = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    return RoadNetwork(CRS, xy, edges, {}, "hand-made")


def cities_dir(tmp_path: Path, population: int) -> Path:
    lon, lat = gpd.GeoSeries(gpd.points_from_xy([X0], [Y0]), crs=CRS).to_crs(4326).iloc[0].coords[0]
    pd.DataFrame(
        {
            "geonameid": [1],
            "name": ["Big City"],
            "lon": [lon],
            "lat": [lat],
            "population": [population],
        }
    ).to_csv(tmp_path / "cities_geonames.csv", index=False)
    return tmp_path


def test_factor_slows_exactly_the_non_expressway_roads_near_a_large_city(tmp_path: Path) -> None:
    net = street_network()
    roads = SimpleNamespace(
        urban_speed_factor=0.5, urban_min_population=1_000_000, urban_radius_km=10.0
    )
    out = with_urban_factor(net, cities_dir(tmp_path, 2_000_000), roads)
    mid = np.array([g.interpolate(0.5, normalized=True).coords[0] for g in net.edges.geometry])
    near = np.hypot(mid[:, 0] - X0, mid[:, 1] - Y0) <= 10_000
    expected = near & (net.edges["road_class"] != "expressway").to_numpy()
    assert out.edges["urban"].tolist() == expected.tolist()
    assert expected.sum() == 6 and (~expected).sum() == 3  # the rural road, the expressway
    ratio = out.edges["speed_kmh"].to_numpy() / net.edges["speed_kmh"].to_numpy()
    assert ratio.tolist() == pytest.approx(np.where(expected, 0.5, 1.0).tolist())
    assert out.report["urban"]["cities"] == ["Big City"]


def test_no_edge_is_urban_below_the_population_threshold(tmp_path: Path) -> None:
    urban, cities = urban_edges(
        street_network().edges,
        cities_dir(tmp_path, 900_000),
        min_population=1_000_000,
        radius_km=10.0,
    )
    assert not urban.any() and cities == []


def test_calibration_recovers_a_known_urban_factor(tmp_path: Path) -> None:
    truth = 0.55
    roads = SimpleNamespace(
        urban_speed_factor=1.0, urban_min_population=1_000_000, urban_radius_km=10.0
    )
    net = with_urban_factor(street_network(), cities_dir(tmp_path, 2_000_000), roads)
    graph = graph_from_edges(net.edges, net.node_xy, crs=CRS)
    # trips across town (urban streets only) and out of town (the rural primary road)
    o = [
        km(-2.9, -3.1),
        km(-3.1, 2.5),
        km(2.9, 3.1),
        km(-2, -2.9),
        km(10, 0.1),
        km(20, -0.1),
        km(15, 0.2),
    ]
    d = [
        km(2.9, 3.1),
        km(2.8, -3.1),
        km(-3.1, -2.9),
        km(-1, 3.1),
        km(40, 0.1),
        km(42, 0.2),
        km(35, -0.1),
    ]
    ends = snap_trip_ends(
        graph,
        np.array(o),
        np.array(d),
        np.zeros(len(d), bool),
        min_component_km=0.0,
        max_facility_access_km=10.0,
    )
    urban = net.edges["urban"].to_numpy(bool)
    speed = net.edges["speed_kmh"].to_numpy()
    true_graph = graph_from_edges(
        net.edges.assign(speed_kmh=np.where(urban, speed * truth, speed)), net.node_xy, crs=CRS
    )
    config = load_region_config()
    config = replace(
        config,
        access_speed_kmh=20.0,
        roads=replace(config.roads, speed_kmh=TABLE, urban_speed_factor=1.0),
    )
    minutes = trip_times_s(true_graph, ends, access_speed_kmh=20.0) / 60
    trips = pd.DataFrame(
        {"trip_row": np.arange(1, 8), "minutes_low": minutes, "minutes_high": minutes}
    )
    inputs = TripInputs(
        table=SimpleNamespace(trips=trips),  # type: ignore[arg-type]
        network=net,
        edge_key=net.edges["road_class"].to_numpy(dtype=object),
        graph=graph,
        ends=ends,
    )
    factor, _, _, fit = _best_urban_fit(inputs, config, np.ones(7, bool))
    assert factor == pytest.approx(truth)
    assert fit.lead_kmh[list(fit.lead_keys).index("primary")] == pytest.approx(45.0, rel=0.05)
