"""Topology repair: hand-made layers (units) and the Vietnam mirror (integration)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from geo.topology import repair_sensitivity, repair_topology

CRS = "EPSG:3405"
X0, Y0 = 600_000.0, 1_200_000.0  # inside UTM 48N, so lon/lat bboxes are sensible
DATA = Path(os.environ.get("INFRA_OVERLAP_DATA", "/work/shared/data/vietnam"))


def layer(*coords: list[tuple[float, float]], **cols: list) -> gpd.GeoDataFrame:
    lines = [LineString([(X0 + x, Y0 + y) for x, y in c]) for c in coords]
    return gpd.GeoDataFrame(cols, geometry=lines, crs=CRS)


def test_crossing_without_vertex_is_split():
    g = layer([(0, 0), (100, 0)], [(50, -50), (50, 50)])
    r = repair_topology(g, snap_tolerance_m=50)
    e = r.edges
    assert len(e) == 4, f"two crossing lines should give 4 edges, got {len(e)}"
    assert (e["edge_kind"] == "road").all(), "a crossing needs no connector"
    assert r.report["after"]["components"] == 1
    assert r.report["crossings_split"] == 1
    centre = np.array([X0 + 50, Y0])
    assert np.isclose(np.hypot(*(r.node_xy - centre).T), 0).sum() == 1, "no node at the crossing"
    assert np.allclose(e["length_m"], 50.0)


def test_t_junction_gap_gets_connector():
    g = layer([(0, 0), (100, 0)], [(50, 4), (50, 300)])
    r = repair_topology(g, snap_tolerance_m=50)
    conn = r.edges[r.edges["edge_kind"] == "connector"]
    assert len(conn) == 1, f"expected one connector, got {len(conn)}"
    assert conn["length_m"].iloc[0] == pytest.approx(4.0, abs=0.02)
    assert r.report["after"]["components"] == 1
    assert r.report["joins_to_line"] == 1
    assert not conn["oneway"].iloc[0], "connectors are two-way"


def test_gap_wider_than_tolerance_stays_open():
    g = layer([(0, 0), (100, 0)], [(50, 200), (50, 600)])
    r = repair_topology(g, snap_tolerance_m=50)
    assert r.report["after"]["components"] == 2
    assert r.report["connectors_added"] == 0


def test_own_line_end_never_snapped_to_itself():
    # A hook whose end comes back 8 m from its own line, 62 m away along the line.
    g = layer([(0, 0), (100, 0), (100, 20), (85, 20), (85, 8)])
    r = repair_topology(g, snap_tolerance_m=50)
    assert r.report["connectors_added"] == 0, "a line's end was joined to its own line"
    assert len(r.edges) == 1


def test_long_loop_back_to_own_line_is_joined():
    # 1.2 km along the line but 8 m across: a real gap (e.g. a ring road), joined.
    g = layer([(0, 0), (500, 0), (500, 300), (100, 300), (100, 8)])
    r = repair_topology(g, snap_tolerance_m=50)
    assert r.report["connectors_added"] == 1


def test_end_joins_nearest_node_over_farther_line_point():
    # The end at (0, 4) is 4 m from line B's vertex (0, 0): it joins that node.
    g = layer([(-100, 0), (0, 0), (100, 0)], [(0, 4), (0, 200)])
    r = repair_topology(g, snap_tolerance_m=50)
    assert r.report["joins_to_node"] == 1 and r.report["joins_to_line"] == 0


def test_two_dangling_ends_clustered_once():
    g = layer([(0, 0), (100, 0)], [(103, 0), (200, 0)])
    r = repair_topology(g, snap_tolerance_m=50)
    assert r.report["connectors_added"] == 1, "a pair of facing ends must give one connector"
    assert r.report["endpoints_clustered"] == 1
    assert r.report["after"]["components"] == 1


def test_components_ranked_by_length_and_match_networkx():
    g = layer([(0, 0), (1000, 0)], [(0, 5000), (10, 5000)], [(0, 9000), (300, 9000)])
    r = repair_topology(g, snap_tolerance_m=50)
    e = r.edges
    G = nx.Graph()
    G.add_edges_from(zip(e["u"], e["v"], strict=True))
    assert nx.number_connected_components(G) == r.report["after"]["components"] == 3
    lengths = e.groupby("component")["length_m"].sum()
    assert list(lengths.index) == [0, 1, 2]
    assert lengths.is_monotonic_decreasing, "component 0 must be the longest"
    assert r.report["largest_share"] == pytest.approx(1000 / 1310, rel=1e-6)
    top = r.report["components_listed"][0]
    assert top["n_edges"] == 1 and len(top["bbox_lonlat"]) == 4


def test_edge_geometry_runs_from_u_to_v():
    g = layer([(0, 0), (30, 40), (100, 0)], [(50, -50), (50, 50)])
    r = repair_topology(g, snap_tolerance_m=0)
    start = shapely.get_point(r.edges.geometry.values, 0)
    end = shapely.get_point(r.edges.geometry.values, -1)
    assert np.allclose(shapely.get_coordinates(start), r.node_xy[r.edges["u"]])
    assert np.allclose(shapely.get_coordinates(end), r.node_xy[r.edges["v"]])
    assert np.allclose(r.edges["length_m"], r.edges.length)


def test_degree_two_vertices_are_contracted():
    g = layer([(0, 0), (10, 1), (20, 0), (30, 1), (40, 0)])
    r = repair_topology(g)
    assert len(r.edges) == 1 and len(r.node_xy) == 2
    assert len(shapely.get_coordinates(r.edges.geometry.iloc[0])) == 5


def test_shuffled_input_gives_identical_edges():
    rng = np.random.default_rng(7)
    lines = [
        [(rng.uniform(0, 2000), rng.uniform(0, 2000)) for _ in range(rng.integers(2, 6))]
        for _ in range(60)
    ]
    g = layer(*lines, road_class=[f"c{i % 3}" for i in range(60)])
    a = repair_topology(g, snap_tolerance_m=80)
    b = repair_topology(g.sample(frac=1.0, random_state=3), snap_tolerance_m=80)
    assert np.array_equal(a.node_xy, b.node_xy)
    cols = ["u", "v", "length_m", "road_class", "edge_kind", "component"]
    assert a.edges[cols].equals(b.edges[cols]), "edges depend on the input row order"
    assert a.edges.geometry.geom_equals_exact(b.edges.geometry, 0).all()


def test_geographic_crs_refused():
    g = layer([(0, 0), (100, 0)]).to_crs(4326)
    with pytest.raises(Exception, match="metric CRS"):
        repair_topology(g)


def test_sensitivity_is_monotone_on_gaps():
    g = layer([(0, 0), (100, 0)], [(50, 30), (50, 300)], [(0, 150), (0, 400)])
    s = repair_sensitivity(g, tolerances_m=(0, 40, 200))
    assert list(s["tolerance_m"]) == [0, 40, 200]
    assert list(s["components"]) == [3, 2, 1]
    assert s["largest_share"].is_monotonic_increasing


# ---------------------------------------------------------------- integration on the mirror


def _mirror(name: str) -> Path:
    p = DATA / name
    if not p.is_file():
        pytest.skip(f"{p} not found: set INFRA_OVERLAP_DATA to the Vietnam mirror folder")
    return p


@pytest.mark.integration
def test_trunk_layer_repair_beats_provenance():
    from geo.roads import read_road_layer

    gdf = read_road_layer(_mirror("roads_trunk_osm.gpkg"), layer="roads")
    lines = gdf.loc[gdf["status"] == "unknown"].to_crs(CRS)
    t0 = time.perf_counter()
    r = repair_topology(lines, snap_tolerance_m=50)
    elapsed = time.perf_counter() - t0
    rep = r.report
    print(
        f"\ntrunk (status unknown): before {rep['before']}, after {rep['after']}, "
        f"{rep['crossings_split']} crossings, {rep['connectors_added']} connectors "
        f"({rep['connector_km']} km), largest {rep['largest_km']} km = "
        f"{100 * rep['largest_share']:.1f}% in {elapsed:.1f} s"
    )
    # PROVENANCE (4) for status = unknown: 251 components, largest 18,115 km = 56.0 %.
    assert rep["largest_share"] >= 0.560, f"largest share {rep['largest_share']:.3f} < 0.560"
    assert rep["after"]["components"] <= 251
    assert rep["before"]["components"] > 2000, "before repair the layer is known to be in pieces"
    assert elapsed < 30, f"repair took {elapsed:.1f} s"


@pytest.mark.integration
def test_whole_trunk_layer_repairs_fast():
    from geo.roads import read_road_layer

    lines = read_road_layer(_mirror("roads_trunk_osm.gpkg"), layer="roads").to_crs(CRS)
    t0 = time.perf_counter()
    r = repair_topology(lines, snap_tolerance_m=50)
    elapsed = time.perf_counter() - t0
    assert elapsed < 15, f"whole trunk layer took {elapsed:.1f} s (aim < 15 s)"
    # PROVENANCE (4), all statuses: 213 components, 85.3 % in the largest.
    assert r.report["largest_share"] >= 0.853, r.report["largest_share"]


@pytest.mark.integration
def test_odv_layer_sensitivity_matches_provenance():
    from geo.roads import read_road_layer

    lines = read_road_layer(_mirror("roads_national_odv.gpkg"), layer="roads").to_crs(CRS)
    s = repair_sensitivity(lines, tolerances_m=(0, 100, 5000)).set_index("tolerance_m")
    print("\nODV sensitivity:\n", s.to_string())
    # PROVENANCE: noded 62 components (34 %); 100 m: 40 (81 %); 5 km: 10 (98 %).
    assert s.loc[0, "components"] <= 62
    assert s.loc[100, "components"] <= 40 and s.loc[100, "largest_share"] >= 0.81
    assert s.loc[5000, "components"] <= 10 and s.loc[5000, "largest_share"] >= 0.98
