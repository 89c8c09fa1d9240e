"""Reductions merged from facility blocks (analysis.blocks) = the whole-array computation.

A small random road graph (the kernel tests' generator), 40 facilities of which some are
planned or off-road, 70 provinces (two words of province bits) and facilities with no province.
Every measure reduced by blocks is compared, bit for bit, with the current whole-array code
(``overlap.coverage_measures``, ``catchments.nearest_two``) for block sizes from one facility to
all of them; the nearest times also against networkx; and the Dask path (a LocalCluster, and a
separately started ``dask scheduler`` + ``dask worker`` on 127.0.0.1) against the local one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from analysis import blocks, kernel
from analysis.catchments import Access, TravelTimes, cell_offsets, nearest_two, source_arcs
from analysis.network import snap_points
from analysis.overlap import coverage_measures
from tests.test_kernel import _random_graph

REPO = Path(__file__).resolve().parents[1]
LIMIT_S = 1_500.0
BREAKS_S = (600.0, 1_000.0, 1_500.0)
N_PROV = 70


@pytest.fixture(scope="module")
def case() -> dict[str, Any]:
    graph, _, rng = _random_graph(5)
    cells = Access.from_snap(
        snap_points(graph, rng.uniform(0, 20_000, size=(2_000, 2))), access_speed_kmh=20.0
    )
    fac = Access.from_snap(
        # the last facility is 60 km off the map: no road within 2 km
        snap_points(
            graph,
            np.vstack([rng.uniform(0, 20_000, size=(39, 2)), [[8e4, 8e4]]]),
            max_dist_m=2_000.0,
        ),
        access_speed_kmh=20.0,
    )
    base = (rng.random(40) < 0.75) & (fac.snap.edge >= 0)
    fac_prov = rng.integers(-1, N_PROV, 40)
    fac_prov[:6] = [3, 3, 66, 66, -1, 64]  # shared provinces, one without, the second word
    demand = rng.gamma(1.5, 200.0, 2_000)
    tt = kernel.travel_times(graph, fac, cells, limit_s=LIMIT_S, threads=1)
    assert tt.fac.size > 1_000 and (~base).any() and (fac.snap.edge < 0).any(), "weak fixture"
    params = {"base": base, "demand": demand, "fac_prov": fac_prov}
    return {"graph": graph, "cells": cells, "fac": fac, "tt": tt, "params": params}


def _reduce(tt: TravelTimes, params: dict[str, Any], per_block: int) -> Any:
    red = blocks.reduce_blocks(
        blocks.split_blocks(tt, per_block),
        n_fac=tt.n_fac,
        n_cells=tt.n_cells,
        breaks_s=BREAKS_S,
        n_prov=N_PROV,
        **params,
    )
    return red, blocks.facility_measures(blocks.split_blocks(tt, per_block), red, **params)


def _assert_same(red: Any, measures: Any, red2: Any, measures2: Any) -> None:
    for name in ("count", "prov_bits", "f1", "t1", "f2", "t2", "coverage"):
        assert np.array_equal(getattr(red, name), getattr(red2, name)), name
    for m, m2 in zip(measures, measures2, strict=True):
        for name in ("coverage", "unique", "other_province", "count_per_cell"):
            assert np.array_equal(getattr(m, name), getattr(m2, name)), name


@pytest.mark.parametrize("per_block", [1, 3, 7, 40, 1_000])
def test_block_reductions_equal_the_whole_array_measures(case: dict, per_block: int) -> None:
    tt, params = case["tt"], case["params"]
    base, demand, fac_prov = params["base"], params["demand"], params["fac_prov"]
    red, measures = _reduce(tt, params, per_block)
    for k, b in enumerate(BREAKS_S):
        want = coverage_measures(tt.within(b), demand, fac_prov, N_PROV, base=base)
        got = measures[k]
        assert want.coverage.max() > 0 and (want.unique > 0).any(), "nothing to compare"
        assert (want.other_province > 0).any() and (want.count_per_cell > 1).any()
        for name in ("coverage", "unique", "other_province", "count_per_cell"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), (
                f"{name} at {b} s differs with {per_block} facilities per block"
            )
        assert np.array_equal(red.coverage[k], want.coverage)
        assert np.array_equal(red.count[k], want.count_per_cell.astype(np.int32))
    keep = base[tt.fac]
    tb = TravelTimes(tt.fac[keep], tt.cell[keep], tt.time_s[keep], tt.n_fac, tt.n_cells, LIMIT_S)
    f1, t1, f2, t2 = nearest_two(tb)
    assert (f2 >= 0).sum() > 100, "too few cells with a second-nearest facility"
    for name, want_v in (("f1", f1), ("t1", t1), ("f2", f2), ("t2", t2)):
        assert np.array_equal(getattr(red, name), want_v), f"{name} with {per_block} per block"


def test_province_bits_name_the_provinces_within_each_break(case: dict) -> None:
    tt, params = case["tt"], case["params"]
    red, _ = _reduce(tt, params, 4)
    base, fac_prov = params["base"], params["fac_prov"]
    for k, b in enumerate(BREAKS_S):
        m = (tt.time_s <= b) & base[tt.fac] & (fac_prov[tt.fac] >= 0)
        for p in (3, 64, 66):
            want = np.zeros(tt.n_cells, bool)
            want[tt.cell[m & (fac_prov[tt.fac] == p)]] = True
            got = (red.prov_bits[k, p // 64] >> np.uint64(p % 64)) & np.uint64(1)
            assert np.array_equal(got.astype(bool), want), f"province {p} at {b} s"
        assert want.any(), "province 66 reaches no cell: the check is empty"


def test_merge_order_and_kernel_blocks_do_not_change_the_result(case: dict) -> None:
    tt, params = case["tt"], case["params"]
    red, measures = _reduce(tt, params, 5)
    rev = list(blocks.split_blocks(tt, 5))[::-1]
    red_rev = blocks.reduce_blocks(
        rev, n_fac=tt.n_fac, n_cells=tt.n_cells, breaks_s=BREAKS_S, n_prov=N_PROV, **params
    )
    _assert_same(red, measures, red_rev, blocks.facility_measures(rev, red_rev, **params))
    for per_block in (1, 6):
        got = list(
            blocks.kernel_blocks(
                case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S, per_block=per_block
            )
        )
        assert len(got) >= (case["fac"].snap.edge >= 0).sum() // per_block
        assert max(np.unique(g.fac).size for g in got) <= per_block
        for name in ("fac", "cell", "time_s"):
            assert np.array_equal(
                np.concatenate([getattr(g, name) for g in got]), getattr(tt, name)
            )
    local = blocks.cell_reductions(
        case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S, breaks_s=BREAKS_S,
        n_prov=N_PROV, per_block=3, **params,
    )  # fmt: skip
    _assert_same(red, measures, *local)


def test_nearest_times_and_counts_match_networkx(case: dict) -> None:
    """The nearest existing facility's time per cell, and the count within each break, from
    networkx's multi-source Dijkstra on the graph with virtual facility and cell nodes."""
    graph, fac, cells, params = case["graph"], case["fac"], case["cells"], case["params"]
    base = params["base"]
    coo = graph.csr.tocoo()
    G = nx.DiGraph()
    G.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    ok, ce, from_u, from_v = cell_offsets(graph, cells)
    for c, e, a, b in zip(ok, ce, from_u, from_v, strict=True):
        G.add_edge(int(graph.edge_u[e]), ("c", int(c)), weight=float(a))
        if np.isfinite(b):
            G.add_edge(int(graph.edge_v[e]), ("c", int(c)), weight=float(b))
    fok, fe, to_v, to_u, two = source_arcs(graph, fac)
    times = np.full((fac.snap.edge.size, cells.snap.edge.size), np.inf)
    for i, e, tv, tu, t2 in zip(fok, fe, to_v, to_u, two, strict=True):
        H = G.copy()
        H.add_edge("s", int(graph.edge_v[e]), weight=float(tv))
        if t2:
            H.add_edge("s", int(graph.edge_u[e]), weight=float(tu))
        same = ok[ce == e]  # a cell on the facility's own edge is reached along it
        for c in same:
            d = cells.snap.along_m[c] - fac.snap.along_m[i]
            sp = graph.edge_speed_ms[e]
            t = d / sp if d >= 0 else (np.inf if graph.edge_oneway[e] else -d / sp)
            if np.isfinite(t):
                H.add_edge("s", ("c", int(c)), weight=float(t))
        dist = nx.single_source_dijkstra_path_length(H, "s", cutoff=LIMIT_S)
        for node, t in dist.items():
            if isinstance(node, tuple):
                times[i, node[1]] = t + fac.access_s[i] + cells.access_s[node[1]]
    times[times > LIMIT_S] = np.inf
    red, _ = _reduce(case["tt"], params, 2)
    want_t1 = np.where(base[:, None], times, np.inf).min(axis=0)
    assert np.isfinite(want_t1).sum() > 500
    np.testing.assert_allclose(red.t1, want_t1, rtol=0, atol=1e-6)
    for k, b in enumerate(BREAKS_S):
        want = ((times <= b) & base[:, None]).sum(axis=0)
        assert np.array_equal(red.count[k], want), f"count within {b} s differs from networkx"


# --------------------------------------------------------------------------- over a Dask cluster


def _on_client(case: dict, client: Any) -> Any:
    return blocks.cell_reductions(
        case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S, breaks_s=BREAKS_S,
        n_prov=N_PROV, per_block=4, client=client, **case["params"],
    )  # fmt: skip


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_local_cluster_gives_identical_reductions(case: dict) -> None:
    from batch import dask_client

    local = _reduce(case["tt"], case["params"], 4)
    with dask_client(n_workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        remote = _on_client(case, client)
    _assert_same(*local, *remote)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_separate_scheduler_and_workers_give_identical_reductions(case: dict) -> None:
    from batch import dask_client

    dask = Path(sys.executable).parent / "dask"
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    quiet = {"cwd": REPO, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,  # type: ignore[call-overload]
        )
    ]
    try:
        time.sleep(3)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [str(dask), "worker", addr, "--nthreads", "1", "--no-dashboard"],
                    **quiet,  # type: ignore[call-overload]
                )
            )
        local = _reduce(case["tt"], case["params"], 4)
        with dask_client(addr, connect_timeout_s=10.0) as client:
            client.wait_for_workers(2, timeout=60)
            remote = _on_client(case, client)
        _assert_same(*local, *remote)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.parametrize("per_block", [1, 6, 1_000])
def test_province_matrices_from_block_bits_equal_the_sparse_products(
    case: dict, per_block: int
) -> None:
    from analysis.overlap import province_matrices

    tt, params = case["tt"], case["params"]
    base, demand, fac_prov = params["base"], params["demand"], params["fac_prov"]
    cell_prov = np.random.default_rng(9).integers(-1, N_PROV, tt.n_cells)
    for b in BREAKS_S:
        wb = tt.within(b).multiply(base[:, None]).tocsr()
        want = province_matrices(wb, demand, fac_prov, cell_prov, N_PROV)
        bits = blocks.province_bits(
            blocks.split_blocks(tt, per_block),
            threshold_s=b,
            base=base,
            fac_prov=fac_prov,
            n_prov=N_PROV,
        )
        got = blocks.province_matrices_from_bits(bits, demand, cell_prov, N_PROV)
        # the same from the cells' lists of every facility (planned and unlocated among them)
        sets = blocks.facility_sets(
            blocks.split_blocks(tt, per_block), threshold_s=b, n_fac=tt.n_fac, n_cells=tt.n_cells
        )
        lists = blocks.province_matrices_from_lists(
            sets, demand, cell_prov, N_PROV, fac_prov=fac_prov, base=base
        )
        assert (want[1] > 0).sum() > 20 and (want[2] > 0).sum() > 20, "weak fixture"
        for name, g, h, w in zip(
            ("served_by", "duplicated", "covered_by_others"), got, lists, want, strict=True
        ):
            assert g.shape == w.shape and np.array_equal(g, w), name  # to the last bit
            assert h.shape == w.shape and np.array_equal(h, w), name


@pytest.mark.parametrize("per_block", [1, 9, 1_000])
def test_pairwise_overlaps_from_merged_cell_sets_equal_the_sparse_product(
    case: dict, per_block: int
) -> None:
    from analysis.overlap import pairwise_overlaps

    tt, demand = case["tt"], case["params"]["demand"]
    for b in BREAKS_S:
        within = tt.within(b)
        cov = np.asarray(within.astype(float) @ demand).ravel()
        want = pairwise_overlaps(within, demand, cov)
        sets = blocks.facility_sets(
            blocks.split_blocks(tt, per_block), threshold_s=b, n_fac=tt.n_fac, n_cells=tt.n_cells
        )
        got = blocks.pairwise_overlaps_from_sets(sets, demand, cov)
        assert len(want) > 30, "too few overlapping pairs to compare"
        assert np.array_equal(got[["i", "j"]].to_numpy(), want[["i", "j"]].to_numpy())
        assert got.equals(want)  # to the last bit: the sparse product's order of sums


def test_overlaps_and_measures_with_more_than_64_facilities() -> None:
    """Several words of facility bits: 150 facilities over 400 cells, random pairs."""
    from analysis.overlap import pairwise_overlaps

    rng = np.random.default_rng(11)
    keep = rng.random((150, 400)) < 0.05
    f, c = np.nonzero(keep)
    t = rng.uniform(0, 1_000, f.size)
    tt = TravelTimes(f.astype(np.int64), c.astype(np.int64), t, 150, 400, 1_000.0)
    demand = rng.gamma(1.5, 200.0, 400)
    params = {
        "base": rng.random(150) < 0.8,
        "demand": demand,
        "fac_prov": rng.integers(-1, 130, 150),
    }
    for per_block in (1, 70):
        red = blocks.reduce_blocks(
            blocks.split_blocks(tt, per_block), n_fac=150, n_cells=400, breaks_s=(500.0,),
            n_prov=130, **params,
        )  # fmt: skip
        got = blocks.facility_measures(blocks.split_blocks(tt, per_block), red, **params)[0]
        want = coverage_measures(
            tt.within(500.0), demand, params["fac_prov"], 130, base=params["base"]
        )
        for name in ("coverage", "unique", "other_province", "count_per_cell"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
        sets = blocks.facility_sets(
            blocks.split_blocks(tt, per_block), threshold_s=500.0, n_fac=150, n_cells=400
        )
        ov = blocks.pairwise_overlaps_from_sets(sets, demand, want.coverage)
        ref = pairwise_overlaps(tt.within(500.0), demand, want.coverage)
        assert (ref["j"] >= 128).any() and len(ref) > 500
        assert np.array_equal(ov[["i", "j"]].to_numpy(), ref[["i", "j"]].to_numpy())
        assert ov.equals(ref)
        from analysis.covering import reduce_coverage

        cin = blocks.covering_input(sets, demand, candidates=params["base"])
        cref = reduce_coverage(tt.within(500.0), demand, candidates=params["base"])
        assert (cin.rows != cref.rows).nnz == 0 and np.array_equal(cin.weight, cref.weight)


@pytest.mark.parametrize("per_block", [1, 13])
def test_covering_input_from_cell_sets_equals_the_covering_reduction(
    case: dict, per_block: int
) -> None:
    from analysis.covering import reduce_coverage

    tt, params = case["tt"], case["params"]
    demand = params["demand"].copy()
    demand[::7] = 0.0  # cells without people are dropped
    for b in BREAKS_S:
        want = reduce_coverage(tt.within(b), demand, candidates=params["base"])
        sets = blocks.facility_sets(
            blocks.split_blocks(tt, per_block), threshold_s=b, n_fac=tt.n_fac, n_cells=tt.n_cells
        )
        got = blocks.covering_input(sets, demand, candidates=params["base"])
        assert want.rows.shape[0] > 20, "too few covering sets"
        assert (got.rows != want.rows).nnz == 0 and got.rows.shape == want.rows.shape
        assert np.array_equal(got.weight, want.weight)
        assert np.array_equal(got.cell_row, want.cell_row)


@pytest.mark.parametrize("per_block", [1, 7, 1_000])
def test_sharing_keys_from_blocks_equal_the_whole(case: dict, per_block: int) -> None:
    """Each facility's people per province in two editions (70 and 9 areas), from its block's
    rows: the same frame, row order and bits as on every pair at once."""
    from analysis.block_measures import sharing_keys_blocks
    from analysis.redundancy import sharing_keys

    tt, demand = case["tt"], case["params"]["demand"]
    rng = np.random.default_rng(4)
    editions = [
        (rng.integers(-1, N_PROV, tt.n_cells), N_PROV),
        (rng.integers(-1, 9, tt.n_cells), 9),
    ]
    for b in BREAKS_S:
        got = sharing_keys_blocks(
            blocks.split_blocks(tt, per_block), threshold_s=b, demand=demand, editions=editions
        )
        for g, (cell_prov, n_prov) in zip(got, editions, strict=True):
            want = sharing_keys(tt.within(b), demand, cell_prov, n_prov)
            assert len(want) > 100 and want["i"].nunique() > 20, "weak fixture"
            assert g.equals(want)


def test_sharing_keys_of_a_facility_cut_over_blocks_equal_the_whole() -> None:
    """Hand-built: a facility whose pairs are cut over three blocks (as ``BlockStore`` cuts a
    facility above the cap), cells in no province, a province reached first by a cell without
    people, pairs beyond the threshold, and people mixing 1e16 with units (a sum in another
    order changes its last bits): the same frame as on every pair at once, in both editions."""
    from analysis.block_measures import sharing_keys_blocks
    from analysis.redundancy import sharing_keys

    fac = np.array([0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 3], np.int64)
    cell = np.array([0, 1, 2, 3, 5, 6, 7, 1, 4, 6, 2], np.int64)
    time_s = np.array([10, 20, 30, 40, 50, 60, 900, 10, 10, 10, 10], np.float64)
    tt = TravelTimes(fac, cell, time_s, 4, 8, 1_000.0)
    demand = np.array([1.0, 1e16, 0.0, 1.0, 5.0, 1.0, 1e16, 3.0])
    editions = [
        (np.array([1, 1, 0, 0, -1, 1, 0, 2]), 3),
        (np.array([0, 0, 0, 0, 0, -1, -1, 1]), 2),
    ]
    cuts = [(0, 3), (3, 5), (5, 11)]  # facility 0 over three blocks
    parts = [TravelTimes(fac[a:b], cell[a:b], time_s[a:b], 4, 8, 1_000.0) for a, b in cuts]
    got = sharing_keys_blocks(parts, threshold_s=100.0, demand=demand, editions=editions)
    for g, (cell_prov, n_prov) in zip(got, editions, strict=True):
        want = sharing_keys(tt.within(100.0), demand, cell_prov, n_prov)
        assert len(want) >= 2, "weak fixture"
        assert g.equals(want), f"sharing keys differ:\n{g}\n{want}"


@pytest.mark.parametrize("per_block", [1, 3])
def test_catchment_polygons_from_blocks_equal_the_whole(case: dict, per_block: int) -> None:
    """Polygons traced per block = traced on every pair: same rows, same geometries."""
    import shapely

    from analysis.block_measures import catchment_polygons_blocks
    from analysis.demand import DemandGrid, GridSpec
    from analysis.polygons import catchment_polygons

    tt = case["tt"]
    h, w = 40, 50  # the 2,000 cells on a grid
    rows, cols = np.divmod(np.arange(h * w), w)
    spec = GridSpec(crs="EPSG:3405", x0=0.0, y0=20_000.0, cell_size_m=400.0, shape=(h, w))
    grid = DemandGrid(spec, rows, cols, np.ones(h * w), np.zeros(h * w, int))

    want = catchment_polygons(tt, grid, BREAKS_S)
    got = catchment_polygons_blocks(blocks.split_blocks(tt, per_block), grid, BREAKS_S)
    assert len(want) > 60, "weak fixture"
    assert [(i, b) for i, b, _ in got] == [(i, b) for i, b, _ in want]
    assert all(
        shapely.equals_exact(g, h_, 0.0) for (_, _, g), (_, _, h_) in zip(got, want, strict=True)
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"kind": "huff", "beta": 2.0},
        {"kind": "economic_huff", "decay": "exponential", "beta": 0.05, "cutoff_min": 20.0},
        {"kind": "labour", "decay": "steps", "step_weights": [1.0, 0.68, 0.22]},
    ],
)
def test_type_demand_from_blocks_equals_the_whole(case: dict, raw: dict) -> None:
    """Huff (two passes: the denominators per cell, then the shares) and E2SFCA from blocks of
    1, 7 and all facilities = on every pair at once, bit for bit; some sizes missing."""
    from analysis.type_demand import demand_spec, type_demand_columns
    from analysis.type_demand_passes import type_demand_blocks

    tt, params = case["tt"], case["params"]
    spec = demand_spec(raw)
    rng = np.random.default_rng(3)
    sizes = rng.uniform(5.0, 500.0, tt.n_fac)
    sizes[::6] = np.nan
    kw: dict[str, Any] = {
        "breaks_min": tuple(b / 60.0 for b in BREAKS_S),
        "active": params["base"],
        "area_ha": sizes,
        "size": sizes,
    }
    want = type_demand_columns(spec, tt, params["demand"], **kw)
    assert want.notna().sum().min() > 20, "weak fixture"
    for per_block in (1, 7, 1_000):
        got = type_demand_blocks(
            spec,
            lambda per_block=per_block: blocks.split_blocks(tt, per_block),
            params["demand"],
            n_fac=tt.n_fac,
            **kw,
        )
        assert got.equals(want), per_block


def test_covering_tables_on_the_cells_merged_sets_equal_the_pairs(case: dict) -> None:
    """The run's covering step on the covering input reduced from the blocks' cell sets gives
    the same cover and curve as on the pairs."""
    import pandas as pd

    from analysis.covering_tables import covering_tables
    from geo.config import TypeConfig

    tt, params = case["tt"], case["params"]
    fac = pd.DataFrame({"facility_id": [f"f{i:02d}" for i in range(tt.n_fac)]})
    tc = TypeConfig(
        name="airport", label_vi="Sân bay", label_en="Airport", breaks_min=(10.0, 25.0),
        primary_min=10.0,
    )  # fmt: skip
    base, demand = params["base"], params["demand"]

    def reduced(s: float) -> Any:
        sets = blocks.facility_sets(
            blocks.split_blocks(tt, 5), threshold_s=s, n_fac=tt.n_fac, n_cells=tt.n_cells
        )
        return blocks.covering_input(sets, demand, candidates=base)

    kw: dict[str, Any] = {"base": base, "breaks_min": (10.0, 25.0)}
    want = covering_tables(tt, demand, fac, tc, **kw)
    got = covering_tables(reduced, demand, fac, tc, **kw)
    assert want["covering"]["min_cover_size"].min() > 1, "weak fixture"
    for name in ("covering", "coverage_curve", "cover_members"):
        assert got[name].equals(want[name]), name


@pytest.mark.parametrize("per_block", [1, 4, 1_000])
def test_units_reduced_per_block_equal_the_whole_reduction(case: dict, per_block: int) -> None:
    """40 sites in 12 units, members interleaved (unit = a random draw, some sites in none,
    one unit with no member): the kernel's site blocks in unit order, each reduced on its own,
    = ``reduce_to_units`` of every pair; a block that splits a unit is refused."""
    from analysis import units

    rng = np.random.default_rng(8)
    site_unit = rng.integers(-1, 12, case["tt"].n_fac)
    site_unit[site_unit == 5] = 6  # unit 5 has no member
    want = units.reduce_to_units(case["tt"], site_unit, 12)
    got = units.unit_travel_times(
        case["graph"], case["fac"], case["cells"], site_unit=site_unit, n_units=12,
        limit_s=LIMIT_S, per_block=per_block,
    )  # fmt: skip
    assert want.fac.size > 1_000 and np.unique(want.fac).size >= 9, "weak fixture"
    for name in ("fac", "cell", "time_s"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert (got.n_fac, got.n_cells) == (want.n_fac, want.n_cells)
    order = units.sites_by_unit(site_unit)
    bounds = units.unit_bounds(site_unit[order], per_block)
    assert all(site_unit[order][b - 1] != site_unit[order][b] for b in bounds[1:-1])
    split = [blocks.split_blocks(case["tt"], 3)]  # index order: units cut across blocks
    with pytest.raises(ValueError, match="member sites in two blocks"):
        list(units.units_from_blocks(split[0], site_unit, 12))


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_units_on_a_local_cluster_equal_the_single_process_units(case: dict) -> None:
    """``run --workers``: multi-site units solved in site blocks on Dask workers, reduced in
    block order, = the single-process units bit for bit."""
    from analysis import units
    from batch import dask_client

    rng = np.random.default_rng(9)
    site_unit = rng.integers(-1, 10, case["tt"].n_fac)
    kw = {"site_unit": site_unit, "n_units": 10, "limit_s": LIMIT_S, "per_block": 3}
    want = units.unit_travel_times(case["graph"], case["fac"], case["cells"], **kw)
    with dask_client(n_workers=2) as client:
        got = units.unit_travel_times(
            case["graph"], case["fac"], case["cells"], client=client, **kw
        )
    assert want.fac.size > 1_000 and np.unique(want.fac).size >= 8, "weak fixture"
    for name in ("fac", "cell", "time_s"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_no_cell_means_no_member() -> None:
    """A type whose every row was rejected reaches no cell: the set reductions return nothing
    instead of failing on an empty reshape (the CLI goes on and says so)."""
    from analysis.block_sets import covering_input
    from analysis.cell_sets import facility_sets

    sets = facility_sets([], threshold_s=60.0, n_fac=3, n_cells=0)
    r, m = sets.members_of(np.zeros(0, np.int64))
    assert r.size == 0 and m.size == 0 and sets.n_cells == 0
    red = covering_input(sets, np.zeros(0), candidates=np.ones(3, bool))
    assert red.rows.shape == (0, 3) and red.weight.size == 0
