"""The numba nearest-segment snapper (analysis.snap) against the shapely implementation it
replaced (copied here as the reference): same edge, same distance, same position along."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from geopandas import GeoDataFrame
from shapely.geometry import LineString

from analysis.network import Graph, Snap, graph_from_edges, snap_points
from analysis.snap import build_index


def snap_points_shapely(
    graph: Graph,
    xy: np.ndarray,
    *,
    min_component_km: float = 0.0,
    max_dist_m: float | None = None,
) -> Snap:
    """The implementation before analysis.snap (STRtree.query_nearest on all points)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = xy.shape[0]
    eligible = np.flatnonzero(graph.component_length_km[graph.edge_component] >= min_component_km)
    if eligible.size == 0:
        eligible = np.arange(graph.edge_u.size)
    tree = shapely.STRtree(graph.edge_geom[eligible])
    pts = np.asarray(shapely.points(xy))
    edge = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if n:
        idx, d = tree.query_nearest(
            pts, max_distance=max_dist_m, return_distance=True, all_matches=True
        )
        pi, ti = idx
        cand = eligible[ti]
        order = np.lexsort((cand, d, pi))
        pi, cand, d = pi[order], cand[order], d[order]
        first = np.ones(pi.size, bool)
        first[1:] = pi[1:] != pi[:-1]
        edge[pi[first]] = cand[first]
        dist[pi[first]] = d[first]
    along = np.zeros(n)
    ok = edge >= 0
    if ok.any():
        geoms = graph.edge_geom[edge[ok]]
        frac = shapely.line_locate_point(geoms, pts[ok], normalized=True)
        along[ok] = np.nan_to_num(frac) * graph.edge_len_m[edge[ok]]
    comp = np.where(ok, graph.edge_component[np.maximum(edge, 0)], -1)
    return Snap(edge=edge, dist_m=dist, along_m=along, component=comp)


def _graph(lines: list[LineString], *, length_scale: float = 1.0) -> Graph:
    """A graph whose nodes are the lines' end points (shared where they coincide)."""
    ends = np.array([[ln.coords[0], ln.coords[-1]] for ln in lines]).reshape(-1, 2)
    node_xy, inv = np.unique(ends, axis=0, return_inverse=True)
    inv = inv.reshape(-1, 2)
    edges = GeoDataFrame(
        {
            "u": inv[:, 0],
            "v": inv[:, 1],
            # not the geometry's length: along_m must scale the geometry's fraction by this
            "length_m": [max(ln.length, 1.0) * length_scale for ln in lines],
            "speed_kmh": 30.0,
            "oneway": False,
        },
        geometry=lines,
        crs="EPSG:3405",
    )
    return graph_from_edges(edges, node_xy, crs="EPSG:3405")


def _assert_same(got: Snap, ref: Snap, what: str) -> None:
    bad = np.flatnonzero(got.edge != ref.edge)
    assert bad.size == 0, (
        f"{what}: {bad.size} points snap to another edge, first: point {bad[0]} "
        f"got edge {got.edge[bad[0]]} at {got.dist_m[bad[0]]!r} m, "
        f"shapely edge {ref.edge[bad[0]]} at {ref.dist_m[bad[0]]!r} m"
    )
    np.testing.assert_array_equal(got.dist_m, ref.dist_m, err_msg=f"{what}: dist_m")
    np.testing.assert_array_equal(got.along_m, ref.along_m, err_msg=f"{what}: along_m")
    np.testing.assert_array_equal(got.component, ref.component, err_msg=f"{what}: component")


def _random_lines(rng: np.random.Generator, n: int, span: int, step: float) -> list[LineString]:
    """Lines on an integer lattice (so many points are equidistant to several edges), 2 to 6
    vertices, some repeated (zero-length segments), a few fully degenerate, a few long."""
    lines = []
    for i in range(n):
        k = int(rng.integers(2, 7))
        start = rng.integers(0, span, 2)
        walk = start + np.cumsum(rng.integers(-3, 4, (k, 2)), axis=0) * (8 if i % 7 == 0 else 1)
        walk[0] = start
        if i % 5 == 0:  # a repeated vertex: a zero-length segment inside the edge
            j = int(rng.integers(0, k))
            walk = np.insert(walk, j, walk[j], axis=0)
        if i % 23 == 0:  # every vertex the same point: a zero-length edge
            walk = np.repeat(walk[:1], 2, axis=0)
        lines.append(LineString(walk * step))
    return lines


def _random_points(
    rng: np.random.Generator, lines: list[LineString], n: int, span: int, step: float
) -> np.ndarray:
    verts = shapely.get_coordinates(np.array(lines, dtype=object))
    lattice = rng.integers(-5, span + 5, (n, 2)) * step
    halves = (rng.integers(-5, 2 * span + 5, (n, 2)) / 2.0) * step
    floats = rng.uniform(-10 * step, (span + 10) * step, (n, 2))
    on_vertex = verts[rng.integers(0, verts.shape[0], n)]
    far = rng.uniform(-50 * span * step, 50 * span * step, (max(n // 20, 1), 2))
    return np.concatenate([lattice, halves, floats, on_vertex, far])


@pytest.mark.parametrize("seed", range(12))
def test_equals_shapely_on_random_lattice_graphs(seed: int):
    rng = np.random.default_rng(seed)
    span, step = 40, [1.0, 10.0, 0.1, 37.5][seed % 4]
    lines = _random_lines(rng, 150, span, step)
    graph = _graph(lines, length_scale=1.0 + 0.1 * (seed % 3))
    xy = _random_points(rng, lines, 400, span, step)
    ties = 0
    for min_km in (0.0, float(np.median(graph.component_length_km)), 1e9):
        for max_d in (None, 3.0 * step, 2.0 * step, 0.5 * step):
            ref = snap_points_shapely(graph, xy, min_component_km=min_km, max_dist_m=max_d)
            got = snap_points(graph, xy, min_component_km=min_km, max_dist_m=max_d)
            _assert_same(got, ref, f"seed {seed}, min_component_km {min_km}, max {max_d}")
            ties += _n_ties(graph, xy, ref)
    assert ties > 0, "the lattice should give points equidistant to two edges"


def _n_ties(graph: Graph, xy: np.ndarray, ref: Snap) -> int:
    """Points whose distance to another edge equals their snap distance (exact ties)."""
    ok = np.flatnonzero(ref.edge >= 0)[:200]
    d = shapely.distance(shapely.points(xy[ok])[:, None], graph.edge_geom[None, :])
    return int(((d == ref.dist_m[ok, None]).sum(axis=1) > 1).sum())


def test_ties_go_to_the_lowest_edge_and_the_first_segment():
    # two parallel edges 2 m apart with a point midway; a U-shaped edge whose first and last
    # segments are equally near a point inside the U
    lines = [
        LineString([(0, 2), (10, 2)]),
        LineString([(0, 0), (10, 0)]),
        LineString([(20, 0), (20, 10), (30, 10), (30, 0)]),
    ]
    graph = _graph(lines)
    xy = np.array([[5.0, 1.0], [25.0, 1.0], [20.0, 5.0], [30.0, 0.0]])
    got = snap_points(graph, xy)
    assert got.edge.tolist() == [0, 2, 2, 2]
    assert got.dist_m.tolist() == [1.0, 5.0, 0.0, 0.0]
    # (25, 1): the U's first segment, 1 m from its start; (30, 0): the U's end
    assert got.along_m[1:].tolist() == pytest.approx([1.0, 5.0, 30.0])
    _assert_same(got, snap_points_shapely(graph, xy), "hand-made ties")


def test_max_distance_is_inclusive_and_far_points_get_no_edge():
    graph = _graph([LineString([(0, 0), (100, 0)]), LineString([(0, 50), (100, 50)])])
    xy = np.array([[50.0, -10.0], [50.0, -10.0 - 1e-9], [1e7, 1e7], [np.nan, 0.0]])
    got = snap_points(graph, xy, max_dist_m=10.0)
    assert got.edge.tolist() == [0, -1, -1, -1]
    assert np.isinf(got.dist_m[1:]).all() and got.component.tolist()[1:] == [-1, -1, -1]
    ref = snap_points_shapely(graph, xy[:3], max_dist_m=10.0)
    _assert_same(snap_points(graph, xy[:3], max_dist_m=10.0), ref, "max distance")
    # shapely raises on a NaN point given a maximum distance; without one it gives no edge
    _assert_same(snap_points(graph, xy), snap_points_shapely(graph, xy), "no maximum")
    far = snap_points(graph, xy[2:3])
    assert far.edge[0] == 1 and far.dist_m[0] == pytest.approx(np.hypot(1e7 - 100, 1e7 - 50))


def test_long_diagonal_segments_and_a_point_far_outside():
    # segments much longer than the grid's buckets, crossing many of them diagonally
    rng = np.random.default_rng(7)
    lines = [LineString(rng.uniform(0, 100_000, (2, 2))) for _ in range(60)]
    lines += [LineString(rng.uniform(0, 100, (3, 2))) for _ in range(2_000)]  # a dense corner
    graph = _graph(lines)
    index = build_index(graph.edge_geom, np.arange(len(lines)))
    # binned by the buckets each segment crosses, not by its bounding box
    a, b = index.vxy[:-1], index.vxy[1:]
    seg = index.vedge[:-1] == index.vedge[1:]
    boxes = np.prod(np.abs(b - a)[seg] // index.cell + 2, axis=1).sum()
    assert index.entries.size < boxes / 4, (index.entries.size, boxes)
    xy = np.concatenate([rng.uniform(-20_000, 120_000, (3_000, 2)), [[5e6, -3e6]]])
    _assert_same(snap_points(graph, xy), snap_points_shapely(graph, xy), "long segments")


def test_no_eligible_edge_falls_back_to_every_edge():
    graph = _graph([LineString([(0, 0), (10, 0)]), LineString([(100, 0), (110, 0)])])
    xy = np.array([[5.0, 3.0], [104.0, -2.0]])
    got = snap_points(graph, xy, min_component_km=1e6)
    assert got.edge.tolist() == [0, 1]
    _assert_same(got, snap_points_shapely(graph, xy, min_component_km=1e6), "fallback")


def test_empty_input():
    graph = _graph([LineString([(0, 0), (10, 0)])])
    got = snap_points(graph, np.zeros((0, 2)))
    assert got.edge.shape == (0,) and got.dist_m.shape == (0,)


@pytest.mark.integration
def test_equals_shapely_on_the_default_network_and_demand_grid():
    """Every demand cell of the embedded default run (≈ 340 k 1 km cells): same edge, and
    dist and along within 1e-6 m (expected: bit-identical)."""
    from pathlib import Path

    import pipeline
    from analysis.run import build_demand
    from geo.config import load_region_config
    from geo.datasets import DataDir

    data = Path(__file__).resolve().parent.parent / "data" / "vietnam"
    if not (data / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    config = load_region_config()
    opts = pipeline.RunOptions()
    inputs = pipeline.load_inputs(config, opts, DataDir(data, "embedded"))
    net = inputs.network
    graph = graph_from_edges(net.edges, net.node_xy, crs=net.crs)
    xy = build_demand(config, inputs).xy
    assert xy.shape[0] > 300_000
    for kw in (
        {"min_component_km": config.min_component_km},
        {"min_component_km": config.min_component_km, "max_dist_m": 2_000.0},
    ):
        got, ref = snap_points(graph, xy, **kw), snap_points_shapely(graph, xy, **kw)
        assert (got.edge == ref.edge).all(), f"{(got.edge != ref.edge).sum()} cells differ"
        ok = ref.edge >= 0
        assert np.abs(got.dist_m[ok] - ref.dist_m[ok]).max(initial=0) <= 1e-6
        assert np.abs(got.along_m - ref.along_m).max() <= 1e-6
        _assert_same(got, ref, f"default network, {kw}")


def test_the_segment_grid_is_built_once_per_graph_and_eligibility():
    import gc

    from analysis import network

    graph = _graph([LineString([(0, 0), (10, 0)]), LineString([(0, 5), (10, 5)])])
    xy = np.array([[1.0, 1.0]])
    snap_points(graph, xy)
    first = network._SEGMENT_INDEX[0][2]
    snap_points(graph, xy, max_dist_m=3.0)
    assert network._SEGMENT_INDEX[0][2] is first, "same graph, same eligibility: reused"
    snap_points(graph, xy, min_component_km=1.0)
    assert network._SEGMENT_INDEX[0][2] is not first and len(network._SEGMENT_INDEX) == 1
    del graph
    gc.collect()
    assert network._SEGMENT_INDEX == [], "the grid must go with its graph"
