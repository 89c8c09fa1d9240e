"""Ferries, city / facility connectors and false junctions (geo.ferries, geo.point_connectors,
geo.road_links.split_false_junctions) on hand-made networks; times checked against networkx."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.geometry import Point as ShapelyPoint

from analysis.network import graph_from_edges, snap_points
from analysis.road_repairs import road_repairs_layer
from geo.ferries import Ferry
from geo.point_connectors import KIND_CITY, KIND_FACILITY, Point, add_point_connectors
from geo.road_repairs import repair_network
from geo.roads import RoadNetwork
from geo.topology import repair_topology

CRS = "EPSG:3405"
X0, Y0 = 600_000.0, 1_200_000.0
TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LL.transform(X0 + x, Y0 + y)
    return (float(lon), float(lat))


def network(*coords, classes=None, speed=36.0):
    lines = [LineString([(X0 + x, Y0 + y) for x, y in c]) for c in coords]
    cols = {
        "oneway": [False] * len(lines),
        "speed_kmh": [speed] * len(lines),
        "road_class": classes or ["secondary"] * len(lines),
    }
    r = repair_topology(gpd.GeoDataFrame(cols, geometry=lines, crs=CRS), snap_tolerance_m=0)
    return r.node_xy, r.edges


def node_at(node_xy: np.ndarray, x: float, y: float) -> int:
    return int(np.argmin(np.hypot(node_xy[:, 0] - X0 - x, node_xy[:, 1] - Y0 - y)))


def ferry(**kw) -> Ferry:
    base = dict(
        name="Phà thử",
        a=ll(5_000, 100),
        b=ll(5_000, 2_900),
        crossing_min=10.0,
        wait_min=5.0,
        source="test",
    )
    return Ferry(**{**base, **kw})


def test_ferry_reconnects_a_fragment_with_the_crossing_and_wait_time():
    # main road on y=0 (0..10 km), a 2 km road across a river at y=3000; landings 100 m off
    node_xy, edges = network([(0, 0), (10_000, 0)], [(5_000, 3_000), (7_000, 3_000)])
    rep = repair_network(
        node_xy,
        edges,
        crs=CRS,
        max_connector_m=1_000,  # the fragment is 3 km away: no connector can join it
        connector_speed_kmh=20.0,
        link_radius_m=0,
        ferries=[ferry()],
    )
    assert list(rep.table["kind"]) == ["ferry"], rep.table
    assert "10 min crossing + 5 min mean wait" in rep.table["note"].iloc[0]
    assert (rep.edges["component"] == 0).all(), "the ferry did not join the fragment"
    g = graph_from_edges(rep.edges, rep.node_xy, crs=CRS)
    start = node_at(rep.node_xy, 0, 0)
    end = node_at(rep.node_xy, 7_000, 3_000)
    model_s = dijkstra(g.csr, indices=start)[end]
    # the same trip on an independent networkx graph: road 5 km at 10 m/s, 100 m landing walk at
    # 20 km/h on each side, 15 min on the ferry, then 2 km at 10 m/s
    ref = nx.Graph()
    ref.add_edge("A", "landing road N", weight=500.0)
    ref.add_edge("landing road N", "landing road S", weight=15 * 60 + 200 / (20 / 3.6))
    ref.add_edge("landing road S", "B", weight=200.0)
    ref.add_edge("A", "end of main", weight=1_000.0)
    assert model_s == pytest.approx(
        nx.shortest_path_length(ref, "A", "B", weight="weight"), rel=1e-3
    )
    # people and a facility on the far bank count for the ferry
    cells = np.array([[X0 + 6_000, Y0 + 3_100], [X0 + 1_000, Y0 + 100]])
    layer = road_repairs_layer(
        rep.table,
        rep.edges["repair_id"].to_numpy(),
        cell_snap=snap_points(g, cells),
        population=np.array([700.0, 900.0]),
        facility_snaps=[(["KCN bờ nam"], snap_points(g, np.array([[X0 + 6_800, Y0 + 3_050]])))],
    )
    assert layer["people_reconnected"].iloc[0] == 700
    assert layer["facilities_reconnected"].iloc[0] == "KCN bờ nam"


def test_road_drawn_across_the_water_is_replaced_by_the_ferry():
    # a generalised layer draws the road straight over the river where the ferry runs
    node_xy, edges = network(
        [(0, 0), (10_000, 0)], [(5_000, 0), (5_030, 3_000)], [(5_030, 3_000), (7_000, 3_000)]
    )
    plain = repair_network(node_xy, edges, crs=CRS, max_connector_m=1_000, link_radius_m=0)
    g0 = graph_from_edges(plain.edges, plain.node_xy, crs=CRS)
    end0 = node_at(plain.node_xy, 7_000, 3_000)
    fast = dijkstra(g0.csr, indices=node_at(plain.node_xy, 0, 0))[end0]
    rep = repair_network(
        node_xy,
        edges,
        crs=CRS,
        max_connector_m=1_000,
        link_radius_m=0,
        ferries=[ferry(drawn_road_crossing=True)],
    )
    assert "1 road edge(s) drawn across the water removed" in rep.table["note"].iloc[0]
    g = graph_from_edges(rep.edges, rep.node_xy, crs=CRS)
    slow = dijkstra(g.csr, indices=node_at(rep.node_xy, 0, 0))[node_at(rep.node_xy, 7_000, 3_000)]
    # the 3 km drawn road (300 s) is replaced by 15 min on the ferry plus ~200 m of landing walk
    assert slow - fast == pytest.approx(15 * 60 + 200 / (20 / 3.6) - 300, abs=15), (
        "the drawn road still carries the crossing"
    )


def test_ferry_whose_landing_is_far_from_any_road_is_listed_not_added():
    node_xy, edges = network([(0, 0), (10_000, 0)], [(5_000, 3_000), (7_000, 3_000)])
    rep = repair_network(
        node_xy,
        edges,
        crs=CRS,
        max_connector_m=1_000,
        link_radius_m=0,
        ferries=[ferry(b=ll(5_000, 6_000))],
    )
    assert len(rep.table) == 0
    assert rep.report["ferries_not_added"][0]["name"] == "Phà thử"


def test_city_and_facility_connectors_are_the_shortest_and_listed():
    node_xy, edges = network([(0, 0), (10_000, 0)])
    rep = repair_network(node_xy, edges, crs=CRS, max_connector_m=1_000, link_radius_m=0)
    net = RoadNetwork(CRS, rep.node_xy, rep.edges, {"road_repairs": rep.report}, "test", rep.table)
    points = [
        Point("Thành phố xa", *ll(3_000, 4_000), KIND_CITY, 2_000.0),
        Point("Thị trấn gần", *ll(6_000, 1_000), KIND_CITY, 2_000.0),  # 1 km: close enough
        Point("KCN xa", *ll(8_000, -11_000), KIND_FACILITY, 10_000.0),
    ]
    out = add_point_connectors(net, points, connector_speed_kmh=20.0)
    t = out.repairs
    assert list(t["kind"]) == [KIND_CITY, KIND_FACILITY]
    assert t["length_m"].tolist() == pytest.approx([4_000.0, 11_000.0], abs=1.0)
    assert "Thành phố xa" in t["note"].iloc[0]
    assert out.report["road_repairs"]["point_connectors"][KIND_CITY]["count"] == 1
    # the facility's connector is an edge: its point is a node, 11 km at 20 km/h from the road;
    # the city's is listed only (no node at the city point)
    g = graph_from_edges(out.edges, out.node_xy, crs=CRS)
    d = dijkstra(g.csr, indices=node_at(out.node_xy, 8_000, 0))
    assert d[node_at(out.node_xy, 8_000, -11_000)] == pytest.approx(11_000 / (20 / 3.6), rel=1e-3)
    city = np.array([X0 + 3_000, Y0 + 4_000])
    assert np.hypot(*(out.node_xy - city).T).min() > 1_000
    # only the facility connector edge carries a repair id
    rid = out.edges["repair_id"].to_numpy()
    assert rid[rid >= 0].tolist() == [t["repair_id"].iloc[1]]


def test_city_on_an_island_gets_no_connector():
    node_xy, edges = network([(0, 0), (10_000, 0)])
    rep = repair_network(node_xy, edges, crs=CRS, max_connector_m=1_000, link_radius_m=0)
    net = RoadNetwork(CRS, rep.node_xy, rep.edges, {"road_repairs": rep.report}, "test", rep.table)
    x0, y0 = ll(2_000, 3_000)
    x1, y1 = ll(4_000, 5_000)
    out = add_point_connectors(
        net,
        [Point("Đảo", *ll(3_000, 4_000), KIND_CITY, 2_000.0)],
        connector_speed_kmh=20.0,
        island_bboxes=[(x0, y0, x1, y1)],
    )
    assert out is net


def test_false_junction_under_an_expressway_is_split():
    # an expressway over a local road: the line layer made the crossing a junction; the local
    # road's north end also meets a side road back to the expressway's start
    node_xy, edges = network(
        [(0, 0), (10_000, 0)],
        [(5_000, -3_000), (5_000, 3_000)],
        [(0, 0), (0, 3_000), (5_000, 3_000)],
        classes=["expressway", "secondary", "secondary"],
    )
    kw = dict(crs=CRS, max_connector_m=1_000, link_radius_m=0)
    before = repair_network(node_xy, edges, **kw)
    item = {"name": "cầu vượt", "at": list(ll(5_000, 0)), "radius_m": 200.0, "source": "test"}
    after = repair_network(node_xy, edges, no_junctions=[item], **kw)
    assert list(after.table["kind"]) == ["no_junction"]

    def time(rep):
        g = graph_from_edges(rep.edges, rep.node_xy, crs=CRS)
        src = node_at(rep.node_xy, 0, 0)
        return dijkstra(g.csr, indices=src)[node_at(rep.node_xy, 5_000, -3_000)]

    # 5 km on the expressway + 3 km south before; 3 + 5 + 6 km round the side road after
    assert time(before) == pytest.approx(800.0, rel=1e-3)
    assert time(after) == pytest.approx(1_400.0, rel=1e-3), "the local road still joins it"


def test_region_config_ferries_and_false_junctions_are_validated(tmp_path):
    from geo.config import load_region_config
    from geo.errors import ConfigError

    cfg = load_region_config(None, region="vietnam")
    ferries = [Ferry.from_config(f) for f in cfg.roads.ferries]
    assert ferries and all("http" in f.source for f in ferries)
    assert all(f.crossing_min > 0 and f.wait_min >= 0 for f in ferries)
    assert cfg.roads.no_junctions and all("http" in j["source"] for j in cfg.roads.no_junctions)
    # a ferry with an unknown key is refused with the key named
    text = (Path(__file__).resolve().parents[1] / "data" / "vietnam.toml").read_text(
        encoding="utf-8"
    )
    bad = text.replace("drawn_road_crossing = true", "drawn_road_crossing = true\nspeed = 3", 1)
    p = tmp_path / "vietnam.toml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match="speed"):
        load_region_config(p, region="vietnam")


def test_facility_connector_runs_at_the_local_road_speed_so_a_cell_on_it_is_not_held_back(tmp_path):
    """The region's network gives a far facility's connector the speed of its
    ``point_connector_class`` (tertiary: a missing local road), never below the access speed, not
    the repairs' 20 km/h: a cell that snaps to it goes up the missing road at that speed."""
    from dataclasses import replace

    from analysis.catchments import Access, travel_times
    from geo.config import load_region_config
    from geo.roads import point_connector_speed, road_network_for_region

    road = LineString([ll(0, 0), ll(20_000, 0)])
    gpd.GeoDataFrame(
        {"road_class": ["national_highway"], "status": ["unknown"]}, geometry=[road], crs=4326
    ).to_file(tmp_path / "roads.gpkg", layer="roads", driver="GPKG")
    cfg = load_region_config(Path(__file__).resolve().parent.parent / "data" / "vietnam.toml")
    roads = replace(
        cfg.roads,
        file="roads.gpkg",
        merge_second=False,
        extra_files=(),
        city_connectors_file=None,
        ferries=(),
        no_junctions=(),
    )
    cfg = replace(cfg, roads=roads)
    far = Point("KCN xa", *ll(10_000, -12_000), KIND_FACILITY, 10_000.0)
    net = road_network_for_region(tmp_path, cfg, points=[far])
    conn = net.edges[net.edges["edge_kind"] == "connector"]
    assert len(conn) == 1 and conn["length_m"].iloc[0] == pytest.approx(12_000, rel=1e-3)
    conn_kmh = roads.speed_kmh[roads.point_connector_class]
    assert conn_kmh > cfg.access_speed_kmh, "tertiary slower than access: the test shows nothing"
    assert conn_kmh != roads.speed_kmh["connector"]  # else the test shows nothing
    assert conn["speed_kmh"].iloc[0] == pytest.approx(conn_kmh) == point_connector_speed(cfg)
    slow = replace(cfg, access_speed_kmh=conn_kmh + 5.0)  # never below the access speed
    assert point_connector_speed(slow) == pytest.approx(conn_kmh + 5.0)
    # a facility on the road 5 km east of the connector's foot; a cell 3 km beside the connector
    # (the road is 6 km away) snaps to it and goes up it at the connector's speed
    g = graph_from_edges(net.edges, net.node_xy, crs=CRS)
    acc = cfg.access_speed_kmh / 3.6
    fac = snap_points(g, np.array([[X0 + 15_000, Y0]]))
    cell = snap_points(g, np.array([[X0 + 7_000, Y0 - 6_000]]))
    assert net.edges["edge_kind"].iloc[cell.edge[0]] == "connector"
    tt = travel_times(
        g,
        Access.from_snap(fac, access_speed_kmh=cfg.access_speed_kmh),
        Access.from_snap(cell, access_speed_kmh=cfg.access_speed_kmh),
        limit_s=7_200.0,
        method="scipy",
    )
    road_ms = net.edges.loc[net.edges["edge_kind"] == "road", "speed_kmh"].iloc[0] / 3.6
    expected = 5_000 / road_ms + 6_000 / (conn_kmh / 3.6) + 3_000 / acc
    assert tt.time_s.tolist() == pytest.approx([expected], rel=2e-3)


def test_facility_connector_threshold_is_a_config_value(tmp_path):
    """``[roads] facility_connector_min_m``: an operating facility 3 km from every road gets a
    connector at 2 km (Viet Nam's value), none at the 10 km access limit (the default)."""
    from dataclasses import replace

    from geo.config import load_region_config
    from geo.point_connectors import facilities_to_connect
    from geo.roads import road_network_for_region

    road = LineString([ll(0, 0), ll(20_000, 0)])
    gpd.GeoDataFrame(
        {"road_class": ["national_highway"], "status": ["unknown"]}, geometry=[road], crs=4326
    ).to_file(tmp_path / "roads.gpkg", layer="roads", driver="GPKG")
    cfg = load_region_config(Path(__file__).resolve().parent.parent / "data" / "vietnam.toml")
    assert cfg.roads.facility_connector_min_m == 2000.0
    roads = replace(
        cfg.roads, file="roads.gpkg", merge_second=False, extra_files=(),
        city_connectors_file=None, ferries=(), no_junctions=(),
    )  # fmt: skip
    cfg = replace(cfg, roads=roads)
    fac = gpd.GeoDataFrame(
        {"name": ["KCN gần", "KCN đã đóng"], "status": ["operating", "closed"]},
        geometry=[ShapelyPoint(ll(8_000, -3_000)), ShapelyPoint(ll(9_000, -3_000))],
        crs=4326,
    )
    for gap, n in ((roads.facility_connector_min_m, 1), (cfg.max_facility_access_km * 1000, 0)):
        points = facilities_to_connect(fac, min_gap_m=gap)
        net = road_network_for_region(tmp_path, cfg, points=points)
        conn = net.edges[net.edges["edge_kind"] == "connector"]
        assert len(conn) == n, (gap, len(conn))
