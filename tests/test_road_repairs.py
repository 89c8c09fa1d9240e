"""Road repairs (geo.road_repairs) and what they reconnect (analysis.road_repairs), hand-made data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from analysis.network import graph_from_edges, snap_points
from analysis.road_repairs import road_repairs_layer
from geo.road_repairs import Island, repair_network
from geo.topology import repair_topology

CRS = "EPSG:3405"
X0, Y0 = 600_000.0, 1_200_000.0


def network(*coords: list[tuple[float, float]], oneway: list[bool] | None = None):
    lines = [LineString([(X0 + x, Y0 + y) for x, y in c]) for c in coords]
    cols = {"oneway": oneway or [False] * len(lines), "speed_kmh": [36.0] * len(lines)}
    g = gpd.GeoDataFrame(cols, geometry=lines, crs=CRS)
    r = repair_topology(g, snap_tolerance_m=0)
    return r.node_xy, r.edges


def test_fragment_joined_by_shortest_connector_with_what_it_reconnects():
    # main road 0..10 km on y=0; a 3 km fragment at y=2000 from x=4000, and a farther one
    node_xy, edges = network(
        [(0, 0), (10_000, 0)],
        [(4_000, 2_000), (7_000, 2_000)],
        [(4_000, 9_000), (5_000, 9_000)],  # 9 km away: beyond the maximum
    )
    rep = repair_network(node_xy, edges, crs=CRS, max_connector_m=5_000, link_radius_m=0)
    t = rep.table
    assert list(t["kind"]) == ["fragment_connector"], t
    assert t["length_m"].iloc[0] == pytest.approx(2_000.0, abs=0.5), "not the shortest connector"
    assert t["component_km"].iloc[0] == pytest.approx(3.0)
    assert len(rep.report["fragments_not_joined"]) == 1
    assert rep.report["fragments_not_joined"][0]["km"] == pytest.approx(1.0)
    # the connector runs from the fragment down to the main road, which is cut there
    g = graph_from_edges(rep.edges, rep.node_xy, crs=CRS)
    d = dijkstra(g.csr, indices=0)
    frag_end = np.flatnonzero(np.all(np.isclose(rep.node_xy, [X0 + 7_000, Y0 + 2_000]), axis=1))
    assert np.isfinite(d[frag_end]).all(), "fragment not reachable after the repair"
    # what it reconnects: a facility and 500 people next to the fragment, 800 next to the main road
    cells = np.array([[X0 + 5_000, Y0 + 2_100], [X0 + 1_000, Y0 + 100]])
    cell_snap = snap_points(g, cells)
    fac_snap = snap_points(g, np.array([[X0 + 6_500, Y0 + 1_950]]))
    layer = road_repairs_layer(
        rep.table,
        rep.edges["repair_id"].to_numpy(),
        cell_snap=cell_snap,
        population=np.array([500.0, 800.0]),
        facility_snaps=[(["Cảng A"], fac_snap)],
    )
    assert layer.crs.to_epsg() == 4326
    assert layer["people_reconnected"].iloc[0] == 500
    assert layer["facilities_reconnected"].iloc[0] == "Cảng A"
    assert layer["n_facilities_reconnected"].iloc[0] == 1


def test_island_fragment_is_kept_apart_with_its_source():
    node_xy, edges = network([(0, 0), (10_000, 0)], [(4_000, 2_000), (7_000, 2_000)])
    # a bbox around the fragment only (lon/lat of EPSG:3405 around X0, Y0)
    from pyproj import Transformer

    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    x0, y0 = to_ll.transform(X0 + 3_500, Y0 + 1_500)
    x1, y1 = to_ll.transform(X0 + 7_500, Y0 + 2_500)
    isl = Island("Test island", (x0, y0, x1, y1), "ferry only (test)")
    rep = repair_network(
        node_xy, edges, crs=CRS, islands=[isl], max_connector_m=5_000, link_radius_m=0
    )
    assert len(rep.table) == 0
    assert rep.report["islands"]["Test island"]["source"] == "ferry only (test)"
    assert rep.report["islands"]["Test island"]["km"] == pytest.approx(3.0)


def test_oneway_dead_end_made_two_way():
    # a two-way road 0..2000; a one-way spur drawn into a dead end at (1000, 1500)
    node_xy, edges = network(
        [(0, 0), (1_000, 0), (2_000, 0)],
        [(1_000, 0), (1_000, 1_500)],
        [(0, 0), (0, -800)],  # a real one-way on a cycle would stay one-way: none here
        oneway=[False, True, False],
    )
    g0 = graph_from_edges(edges, node_xy, crs=CRS)
    tip = int(np.flatnonzero(np.all(np.isclose(node_xy, [X0 + 1_000, Y0 + 1_500]), axis=1))[0])
    assert not np.isfinite(dijkstra(g0.csr, indices=tip)).all(), "test graph should be broken"
    rep = repair_network(node_xy, edges, crs=CRS, max_connector_m=5_000, link_radius_m=0)
    assert list(rep.table["kind"]) == ["oneway_dead_end"]
    assert rep.table["length_m"].iloc[0] == pytest.approx(1_500.0)
    assert rep.report["largest_scc_share_after"] == pytest.approx(1.0)
    g1 = graph_from_edges(rep.edges, rep.node_xy, crs=CRS)
    assert np.isfinite(dijkstra(g1.csr, indices=tip)).all()
    assert (rep.edges["repair_id"] >= 0).sum() == 1


def test_oneway_on_a_cycle_is_kept():
    # a one-way loop (a roundabout-like block) is strongly connected: nothing to mend
    node_xy, edges = network(
        [(0, 0), (1_000, 0)],
        [(1_000, 0), (1_000, 1_000)],
        [(1_000, 1_000), (0, 0)],
        oneway=[True, True, True],
    )
    rep = repair_network(node_xy, edges, crs=CRS, max_connector_m=5_000, link_radius_m=0)
    assert len(rep.table) == 0
    assert rep.edges["oneway"].all()


def test_missing_link_at_a_dead_end():
    # two roads joined far away (a 20 km loop) whose dead end stops 150 m short of the other
    node_xy, edges = network(
        [(0, 0), (5_000, 0)],
        [(5_150, 0), (10_000, 0), (10_000, 5_000), (0, 5_000), (0, 0)],
    )
    rep = repair_network(node_xy, edges, crs=CRS, max_connector_m=5_000)
    links = rep.table[rep.table["kind"] == "missing_link"]
    assert len(links) == 1
    assert links["length_m"].iloc[0] == pytest.approx(150.0, abs=0.5)


def test_repairs_table_for_check_names_the_facilities():
    from geo.road_repairs import apply_repairs, repairs_table
    from geo.roads import RoadNetwork

    node_xy, edges = network([(0, 0), (10_000, 0)], [(4_000, 2_000), (7_000, 2_000)])
    net = apply_repairs(
        RoadNetwork(CRS, node_xy, edges, {}, "test"), max_connector_m=5_000, link_radius_m=0
    )
    assert net.report["road_repairs"]["by_kind"]["fragment_connector"]["count"] == 1
    fac = gpd.GeoDataFrame(
        {"name": ["near the fragment", "far away", "on the main road"]},
        geometry=gpd.points_from_xy(
            [X0 + 5_000, X0 + 5_000, X0 + 1_000], [Y0 + 2_050, Y0 + 40_000, Y0 + 10]
        ),
        crs=CRS,
    ).to_crs("EPSG:4326")
    t = repairs_table(net, fac, max_m=10_000)
    assert list(t["facilities_reconnected"]) == ["near the fragment"]
    assert t["length_m"].iloc[0] == pytest.approx(2_000.0, abs=0.5)


def test_island_without_source_is_a_clear_config_error(tmp_path):
    from pathlib import Path

    from geo.config import load_region_config
    from geo.errors import ConfigError

    text = (Path(__file__).resolve().parent.parent / "data" / "vietnam.toml").read_text("utf-8")
    bad = text.replace('name = "Bạch Long Vĩ"', 'name = "Bạch Long Vĩ"\nsource = ""', 1)
    bad = bad.replace(
        'source = "island district of Hải Phòng, about 110 km offshore (no bridge)"', ""
    )
    cfg = tmp_path / "vietnam.toml"
    cfg.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"roads.islands\[6\]\.source"):
        load_region_config(cfg)
    assert (
        len(load_region_config(Path(__file__).parent.parent / "data/vietnam.toml").roads.islands)
        == 7
    )


def test_oneway_with_a_long_way_back_made_two_way_but_not_an_expressway():
    # a road through a town (x 0..20 km on y=0) whose one-way couplet kept only its eastbound
    # street (x 10..12 km); the way back is a 18 km loop to the south. A one-way street with a
    # parallel return 200 m north stays one-way, and so does an expressway carriageway whose
    # way back (the other carriageway, via an interchange 10 km on) is long.
    rows = [
        ([(0, 0), (10_000, 0)], False, "national_highway"),
        ([(10_000, 0), (12_000, 0)], True, "national_highway"),  # the kept street
        ([(12_000, 0), (20_000, 0)], False, "national_highway"),
        ([(12_000, 0), (12_000, -8_000), (10_000, -8_000), (10_000, 0)], False, "provincial"),
        ([(2_000, 0), (2_000, 200), (3_000, 200)], True, "tertiary"),  # a block loop
        ([(3_000, 200), (3_000, 0)], True, "tertiary"),
        ([(0, 5_000), (20_000, 5_000)], True, "expressway"),
        ([(20_000, 5_030), (0, 5_030)], True, "expressway"),
        ([(20_000, 5_000), (20_000, 5_030)], False, "expressway"),
        ([(0, 5_030), (0, 5_000)], False, "expressway"),
        ([(0, 0), (0, 5_000)], False, "provincial"),
    ]
    lines = [LineString([(X0 + x, Y0 + y) for x, y in c]) for c, _, _ in rows]
    g = gpd.GeoDataFrame(
        {
            "oneway": [o for _, o, _ in rows],
            "road_class": [c for _, _, c in rows],
            "speed_kmh": [36.0] * len(rows),
        },
        geometry=lines,
        crs=CRS,
    )
    r = repair_topology(g, snap_tolerance_m=0)
    kw = {"crs": CRS, "max_connector_m": 5_000, "link_radius_m": 0}
    assert len(repair_network(r.node_xy, r.edges, **kw).table) == 0, "off by default"
    rep = repair_network(r.node_xy, r.edges, **kw, oneway_detour_m=5_000)
    assert list(rep.table["kind"]) == ["oneway_detour"]
    assert rep.table["length_m"].iloc[0] == pytest.approx(2_000.0)
    changed = rep.edges[rep.edges["repair_id"] >= 0]
    assert changed["road_class"].tolist() == ["national_highway"]
    assert not changed["oneway"].any()
    assert rep.edges["oneway"].sum() == 4, "the block loop or the expressway was changed"
    g1 = graph_from_edges(rep.edges, rep.node_xy, crs=CRS)

    def at(x: float, y: float) -> int:
        return int(np.argmin(np.hypot(*(rep.node_xy - [X0 + x, Y0 + y]).T)))

    # westbound through the town: 2 km at 36 km/h, not the 18 km loop
    assert dijkstra(g1.csr, indices=at(12_000, 0))[at(10_000, 0)] / 60 == pytest.approx(
        2 / 36 * 60, rel=1e-3
    )
