"""The compiled kernel (analysis.kernel) against networkx and against the scipy kernel."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis import kernel
from analysis.catchments import Access
from analysis.catchments import travel_times_scipy as scipy_travel_times
from analysis.network import graph_from_edges, snap_points


def _random_graph(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, size=(n, 2))
    # connect each node to its 3 nearest neighbours, some one-way
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    nb = np.argsort(d, axis=1)[:, 1:4]
    u = np.repeat(np.arange(n), 3)
    v = nb.ravel()
    keep = u < v
    u, v = u[keep], v[keep]
    length = d[u, v] * rng.uniform(1.0, 1.3, u.size)
    edges = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "u": u,
                "v": v,
                "length_m": length,
                "speed_kmh": rng.choice([20.0, 40.0, 60.0], u.size),
                "oneway": rng.random(u.size) < 0.3,
            }
        ),
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs="EPSG:3405",
    )
    return graph_from_edges(edges, xy, crs="EPSG:3405"), xy, rng


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_node_kernel_matches_networkx(seed: int) -> None:
    graph, _, rng = _random_graph(seed)
    csr = graph.csr
    G = nx.DiGraph()
    coo = csr.tocoo()
    G.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=False)
    )
    sources = rng.choice(graph.n_nodes, 25, replace=False)
    limit = 900.0
    got = kernel.reachable_nodes(csr.indptr, csr.indices, csr.data, sources, limit_s=limit)
    for s, nodes in zip(sources, got, strict=False):
        want = (
            nx.single_source_dijkstra_path_length(G, int(s), cutoff=limit)
            if int(s) in G
            else {int(s): 0}
        )
        assert sorted(want) == sorted(nodes.tolist()), (
            f"reachable set from node {s} differs from networkx"
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("limit_s", [200.0, 1_500.0])  # small catchments sorted, wide ones swept
def test_travel_times_identical_to_scipy_kernel(seed: int, threads: int, limit_s: float) -> None:
    graph, _, rng = _random_graph(seed)
    cells_xy = rng.uniform(0, 20_000, size=(2_000, 2))
    fac_xy = rng.uniform(0, 20_000, size=(40, 2))
    cells = Access.from_snap(snap_points(graph, cells_xy), access_speed_kmh=20.0)
    fac = Access.from_snap(snap_points(graph, fac_xy, max_dist_m=2_000.0), access_speed_kmh=20.0)
    want = scipy_travel_times(graph, fac, cells, limit_s=limit_s)
    got = kernel.travel_times(graph, fac, cells, limit_s=limit_s, threads=threads)
    assert want.fac.size > 0, "fixture reaches nothing: the comparison would be empty"
    assert np.array_equal(got.fac, want.fac) and np.array_equal(got.cell, want.cell), (
        "different (facility, cell) pairs"
    )
    np.testing.assert_allclose(
        got.time_s, want.time_s, rtol=0, atol=1e-9, err_msg="different travel times"
    )


def test_facility_on_a_loop_edge_takes_the_shorter_way_out() -> None:
    """A facility on a loop road (u == v, e.g. a cul-de-sac loop) leaves it by the shorter
    side: 250 m at 10 m/s = 25 s to the node, not the sum of both sides."""
    from analysis.network import Snap

    xy = np.array([[0.0, 0.0], [1000.0, 0.0]])
    edges = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "u": [0, 1],
                "v": [1, 1],
                "length_m": [1000.0, 500.0],
                "speed_kmh": [36.0, 36.0],
                "oneway": [False, False],
            }
        ),
        geometry=[
            shapely.LineString([(0, 0), (1000, 0)]),
            shapely.LineString([(1000, 0), (1100, 100), (1100, -100), (1000, 0)]),
        ],
        crs="EPSG:3405",
    )
    graph = graph_from_edges(edges, xy, crs="EPSG:3405")
    one = np.ones(1)
    fac = Access(
        Snap(edge=np.array([1]), dist_m=0 * one, along_m=250 * one, component=0 * one.astype(int)),
        access_s=0 * one,
    )
    cell = Access(
        Snap(edge=np.array([0]), dist_m=0 * one, along_m=0 * one, component=0 * one.astype(int)),
        access_s=0 * one,
    )
    got = kernel.travel_times(graph, fac, cell, limit_s=1_000.0)
    assert got.time_s.tolist() == [125.0], (
        f"25 s off the loop + 100 s along the road, got {got.time_s}"
    )


def test_thread_count_without_sched_getaffinity(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows have no os.sched_getaffinity: the kernel counts CPUs with
    os.cpu_count() there and still runs (issue 18: no Linux-only call on the default path)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        assert kernel.default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert kernel.default_threads() == (os.cpu_count() or 1)
    # the default path (threads=None) runs without the call and finds the same nodes as 1 thread
    graph, _, _ = _random_graph(3, n=120)
    csr = graph.csr
    sources = np.array([0, 5, 17, 60], dtype=np.int64)
    got = kernel.reachable_nodes(csr.indptr, csr.indices, csr.data, sources, limit_s=600.0)
    one = kernel.reachable_nodes(
        csr.indptr, csr.indices, csr.data, sources, limit_s=600.0, threads=1
    )
    assert len(got) == sources.size
    assert all(np.array_equal(np.sort(a), np.sort(b)) for a, b in zip(got, one, strict=True))
    assert any(a.size > 1 for a in got), "the graph must let some source reach other nodes"
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # cpu_count may be undeterminable
    assert kernel.default_threads() == 1
