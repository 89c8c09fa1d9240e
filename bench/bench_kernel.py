"""``run_bench.py`` sections ``kernel`` and ``scaling``: the catchment kernel against scipy,
networkx and the osmnx ego graph on real and tiled graphs (moved from ``run_bench.py``; see its
docstring)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from bench_common import (
    PREFIX_BUDGET_S,
    VIETNAM_DATA,
    emit,
    peak_rss_mb,
    timed,
)


# ----------------------------------------------------------------------------- kernel
def _node_access(graph, nodes: np.ndarray, *, as_source: bool):
    """Access objects that put points exactly on graph nodes (facilities or cells at nodes)."""
    from analysis.catchments import Access
    from analysis.network import Snap

    m = graph.edge_u.size
    # as a source: the end v of an edge (along = length); as a cell: the start u (along = 0)
    first_u = np.full(graph.n_nodes, -1, np.int64)
    first_v = np.full(graph.n_nodes, -1, np.int64)
    first_u[graph.edge_u[::-1]] = np.arange(m)[::-1]
    first_v[graph.edge_v[::-1]] = np.arange(m)[::-1]
    if as_source:
        e = np.where(first_v[nodes] >= 0, first_v[nodes], first_u[nodes])
        along = np.where(first_v[nodes] >= 0, graph.edge_len_m[e], 0.0)
    else:
        e = np.where(first_u[nodes] >= 0, first_u[nodes], first_v[nodes])
        along = np.where(first_u[nodes] >= 0, 0.0, graph.edge_len_m[e])
    snap = Snap(
        edge=e, dist_m=np.zeros(nodes.size), along_m=along, component=graph.edge_component[e]
    )
    return Access(snap=snap, access_s=np.zeros(nodes.size))


def _per_facility(fn, facilities: np.ndarray) -> tuple[float, int, list]:
    """Time a per-facility method on the prefix that fits the budget; (seconds for all, k run, results)."""
    res = []
    t0 = time.perf_counter()
    for f in facilities:
        res.append(fn(int(f)))
        if time.perf_counter() - t0 > PREFIX_BUDGET_S:
            break
    dt = time.perf_counter() - t0
    return dt / len(res) * facilities.size, len(res), res


def kernel_section(
    out: Path, name: str, graph, k: int, cutoff_min: float, *, slow_peers: bool = True
) -> None:
    from scipy.sparse.csgraph import dijkstra

    from analysis import kernel
    from analysis.catchments import travel_times as tt_chain
    from analysis.catchments import travel_times_scipy as tt_scipy

    limit = cutoff_min * 60.0
    csr = graph.csr
    n = graph.n_nodes
    rng = np.random.default_rng(42)
    fac = np.sort(rng.choice(n, size=k, replace=False))
    row = {
        "section": "kernel",
        "graph": name,
        "n": n,
        "m": int(csr.nnz),
        "K": k,
        "cutoff_min": cutoff_min,
    }

    def scipy_raw() -> list[np.ndarray]:
        bs = max(1, min(k, (256 << 20) // (8 * n)))
        res = []
        for i in range(0, k, bs):
            for r in dijkstra(csr, directed=True, indices=fac[i : i + bs], limit=limit):
                res.append(np.flatnonzero(r <= limit))
        return res

    ref, t_scipy = timed(scipy_raw)
    _, t_multi = timed(dijkstra, csr, directed=True, indices=fac, limit=limit, min_only=True)
    kernel.reachable_nodes(
        csr.indptr, csr.indices, csr.data, fac[:2], limit_s=limit
    )  # compile / load cache
    ours, t_node = timed(
        kernel.reachable_nodes, csr.indptr, csr.indices, csr.data, fac, limit_s=limit
    )
    ours1, t_node1 = timed(
        kernel.reachable_nodes, csr.indptr, csr.indices, csr.data, fac, limit_s=limit, threads=1
    )
    fa = _node_access(graph, fac, as_source=True)
    ca = _node_access(graph, np.arange(n), as_source=False)
    tt_old, t_chain_old = timed(tt_scipy, graph, fa, ca, limit_s=limit)
    tt_new, t_chain_new = timed(tt_chain, graph, fa, ca, limit_s=limit)
    mism = sum(int(np.setxor1d(a, b).size) for a, b in zip(ours, ref, strict=False)) + sum(
        int(np.setxor1d(a, b).size) for a, b in zip(ours1, ref, strict=False)
    )
    same_chain = _same_pairs(tt_old, tt_new)
    row.update(
        scipy_s=t_scipy,
        scipy_multi_min_only_s=t_multi,
        ours_node_s=t_node,
        ours_node_1thread_s=t_node1,
        chain_scipy_s=t_chain_old,
        chain_kernel_s=t_chain_new,
        pairs=int(sum(r.size for r in ref)),
        ours_vs_scipy_mismatch_nodes=mism,
        chain_kernel_equals_chain_scipy=same_chain,
    )
    if slow_peers:
        import networkx as nx

        G, t_nx_setup = timed(_nx_graph, csr)
        t_nx, k_nx, res_nx = _per_facility(
            lambda f: nx.single_source_dijkstra_path_length(
                G, f, cutoff=limit, weight="travel_time"
            ),
            fac,
        )
        t_ego, k_ego, _ = _per_facility(
            lambda f: nx.ego_graph(G, f, radius=limit, distance="travel_time"), fac
        )
        nx_mism = 0
        for d, r in zip(res_nx, ref, strict=False):
            diff = np.setxor1d(np.fromiter(d.keys(), np.int64), r)
            nx_mism += int(diff.size)
        row.update(
            nx_s=t_nx,
            nx_prefix=k_nx,
            nx_setup_s=t_nx_setup,
            osmnx_ego_s=t_ego,
            osmnx_ego_prefix=k_ego,
            nx_vs_scipy_mismatch_nodes=nx_mism,
        )
        del G
    row["peak_rss_mb"] = peak_rss_mb()
    emit(out, row)
    print(json.dumps(row), flush=True)


def _same_pairs(a, b, tol: float = 1e-6) -> bool:
    """The same (facility, cell) pairs with the same times; a pair may be missing from one side
    only if its time lies within ``tol`` s of the limit (the two sum the same terms in a
    different order, so a pair at the limit may fall either way by a rounding error)."""
    ka = a.fac.astype(np.int64) * (a.n_cells + 1) + a.cell
    kb = b.fac.astype(np.int64) * (b.n_cells + 1) + b.cell
    _, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    only_a = np.setdiff1d(np.arange(ka.size), ia)
    only_b = np.setdiff1d(np.arange(kb.size), ib)
    near = bool(
        (a.time_s[only_a] >= a.limit_s - tol).all() and (b.time_s[only_b] >= b.limit_s - tol).all()
    )
    return near and bool(np.allclose(a.time_s[ia], b.time_s[ib], rtol=0, atol=tol))


def _nx_graph(csr):
    import networkx as nx

    coo = csr.tocoo()
    G = nx.DiGraph()
    G.add_nodes_from(range(csr.shape[0]))
    G.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=False),
        weight="travel_time",
    )
    return G


def _graph(net):
    from analysis.network import graph_from_edges

    return graph_from_edges(net.edges, net.node_xy, crs=net.crs)


def run_kernel(out: Path) -> None:
    import graphs as bg

    from analysis.run import RunOptions
    from geo.config import load_region_config
    from pipeline import load_shared

    cfg = load_region_config(region="vietnam")
    shared = load_shared(cfg, RunOptions(), VIETNAM_DATA)
    kernel_section(out, "vietnam_real_roads", _graph(shared.network), 366, 120.0)
    del shared
    base = bg.load_base()
    kernel_section(out, "sao_paulo_real", _graph(bg.tile_grid(base, target_arcs=1)), 500, 6.0)
    kernel_section(out, "sp_tiled_500k", _graph(bg.tile_grid(base, target_arcs=500_000)), 100, 30.0)
    kernel_section(out, "sp_tiled_2m", _graph(bg.tile_grid(base, target_arcs=2_000_000)), 100, 30.0)


def run_scaling(out: Path) -> None:
    import graphs as bg

    base = bg.load_base()
    for mult in (1, 4, 10):
        g = _graph(bg.tile_grid(base, target_arcs=200_000 * mult))
        # 10 min: a catchment fits inside even the 1x graph, so work per facility is the same
        kernel_section(out, f"scaling_{mult}x", g, 40 * mult, 10.0, slow_peers=False)
