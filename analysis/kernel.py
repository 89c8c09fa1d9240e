"""Bounded travel times from facilities to demand cells: the compiled (numba) implementation
behind ``analysis.catchments.travel_times``.

Same inputs, same ``TravelTimes`` (same pairs, same times, same (fac, cell) order) as the
scipy reference (``analysis.catchments.travel_times_scipy``); what changes is where the work
goes:

- the scipy version runs ``dijkstra(indices=chunk, limit=)`` on the augmented CSR and then
  reads every cell's two edge ends from a dense (chunk x n_nodes) distance block, so each
  facility costs O(n_nodes + n_cells) on top of the nodes it actually reaches;
- here one bounded Dijkstra per facility touches only the nodes it settles; each settled node
  hands its time to the cells snapped to its edges through a node -> cell table, and only the
  touched entries are reset. Cost per facility is proportional to its catchment, so the whole
  call grows with (facilities x catchment size), not with (facilities x graph size).

Facilities are split into contiguous blocks run on a thread pool (the compiled function
releases the GIL); blocks are concatenated in order, so the output is already sorted by
(facility, cell) and does not depend on the number of threads.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np

from analysis.access import Access, TravelTimes, along_edge_s, source_arcs
from analysis.kernel_table import cell_attachments, cells_access_s, csr_by, on_edges
from analysis.network import Graph

log = logging.getLogger(__name__)


def default_threads() -> int:
    """Threads the kernel uses when not told: the CPUs this process may run on.

    Linux reports them through ``os.sched_getaffinity`` (which honours ``taskset`` and container
    CPU sets); macOS and Windows have no such call, so there it is ``os.cpu_count()``.

    Returns
    -------
    int
        At least 1.
    """
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


def _heap_push(hk: np.ndarray, hv: np.ndarray, size: int, key: float, val: int) -> int:
    i = size
    hk[i] = key
    hv[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hv[p], hv[i] = hv[i], hv[p]
        i = p
    return size + 1


def _heap_pop(hk: np.ndarray, hv: np.ndarray, size: int) -> int:
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        c = left
        if left + 1 < size and hk[left + 1] < hk[left]:
            c = left + 1
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return size


def _block(  # noqa: C901, PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    indptr, indices, weights, n_nodes,
    seed_ptr, seed_node, seed_w, fac_access, fac_index,
    att_ptr, att_cell, att_off,
    same_ptr, same_cell, same_t,
    cell_access, n_cells, limit_s,
):  # fmt: skip
    """Bounded Dijkstra from each facility of the block; (fac, cell, time) within limit_s."""
    dist = np.full(n_nodes, np.inf)
    done = np.zeros(n_nodes, np.bool_)
    touched = np.empty(n_nodes, np.int64)
    best = np.full(n_cells, np.inf)
    cell_touched = np.empty(n_cells, att_cell.dtype)  # int32 where the cells fit (prepare)
    cap = indices.size + seed_node.size + 1
    hk = np.empty(cap, np.float64)
    hv = np.empty(cap, np.int64)
    out_cap = 1 << 16
    of = np.empty(out_cap, np.int64)
    oc = np.empty(out_cap, np.int64)
    ot = np.empty(out_cap, np.float64)
    n_out = 0
    for k in range(fac_index.size):
        fa = fac_access[k]
        n_t = 0
        n_c = 0
        size = 0
        for s in range(seed_ptr[k], seed_ptr[k + 1]):
            v = seed_node[s]
            w = seed_w[s]
            if w < dist[v]:
                if dist[v] == np.inf:
                    touched[n_t] = v
                    n_t += 1
                dist[v] = w
                size = _heap_push(hk, hv, size, w, v)
        while size > 0:
            d = hk[0]
            u = hv[0]
            size = _heap_pop(hk, hv, size)
            if done[u] or d > dist[u]:
                continue
            if d > limit_s:
                break
            done[u] = True
            for a in range(att_ptr[u], att_ptr[u + 1]):
                c = att_cell[a]
                t = d + att_off[a]
                if t < best[c]:
                    if best[c] == np.inf:
                        cell_touched[n_c] = c
                        n_c += 1
                    best[c] = t
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = d + weights[e]
                if nd < dist[v] and nd <= limit_s:
                    if dist[v] == np.inf:
                        touched[n_t] = v
                        n_t += 1
                    dist[v] = nd
                    size = _heap_push(hk, hv, size, nd, v)
        for a in range(same_ptr[k], same_ptr[k + 1]):
            c = same_cell[a]
            t = same_t[a]
            if t < best[c]:
                if best[c] == np.inf:
                    cell_touched[n_c] = c
                    n_c += 1
                best[c] = t
        if n_out + n_c > out_cap:
            while n_out + n_c > out_cap:
                out_cap *= 2
            of2 = np.empty(out_cap, np.int64)
            oc2 = np.empty(out_cap, np.int64)
            ot2 = np.empty(out_cap, np.float64)
            of2[:n_out] = of[:n_out]
            oc2[:n_out] = oc[:n_out]
            ot2[:n_out] = ot[:n_out]
            of, oc, ot = of2, oc2, ot2
        # the cells in ascending order: sorted when few, else read off ``best`` in one
        # sequential sweep of their range (a wide catchment at 100 m touches millions of cells,
        # whose sort would cost more than the search itself)
        lo_c, hi_c = n_cells, -1
        for j in range(n_c):
            c = cell_touched[j]
            lo_c = min(lo_c, c)
            hi_c = max(hi_c, c)
        if n_c * 16 < hi_c - lo_c:
            cs = np.sort(cell_touched[:n_c])
        else:
            cs = cell_touched[:n_c]
            m = 0
            for c in range(lo_c, hi_c + 1):
                if best[c] < np.inf:
                    cs[m] = c
                    m += 1
        for j in range(n_c):
            c = cs[j]
            t = best[c] + fa + cell_access[c]
            best[c] = np.inf
            if t <= limit_s:
                of[n_out] = fac_index[k]
                oc[n_out] = c
                ot[n_out] = t
                n_out += 1
        for j in range(n_t):
            v = touched[j]
            dist[v] = np.inf
            done[v] = False
    # trimmed copies: a view would keep the doubled buffers (up to twice the pairs) alive for
    # as long as the block is held (analysis.block_store keeps the times as they come)
    return of[:n_out].copy(), oc[:n_out].copy(), ot[:n_out].copy()


_heap_push = numba.njit(cache=True, nogil=True)(_heap_push)
_heap_pop = numba.njit(cache=True, nogil=True)(_heap_pop)
_block = numba.njit(cache=True, nogil=True)(_block)


@dataclass(frozen=True)
class KernelInputs:
    """Everything one facility block needs (plain arrays, picklable for Dask workers).

    Built once per type by :func:`prepare`; :func:`run_block` solves facilities
    ``fac_ok[a:z]`` (the facilities with a road, in index order) from it.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    n_nodes: int
    seed_ptr: np.ndarray
    seed_node: np.ndarray
    seed_w: np.ndarray
    fac_access: np.ndarray
    fac_ok: np.ndarray
    att_ptr: np.ndarray
    att_cell: np.ndarray
    att_off: np.ndarray
    same_ptr: np.ndarray
    same_cell: np.ndarray
    same_t: np.ndarray
    cell_access: np.ndarray
    n_fac: int
    n_cells: int
    limit_s: float


def prepare(graph: Graph, facilities: Access, cells: Access, *, limit_s: float) -> KernelInputs:
    """The kernel's inputs for one type: graph arrays, facility seeds, node -> cell table."""
    n = graph.n_nodes
    n_cells = cells.snap.edge.size
    csr = graph.csr
    # cells: offsets from each end of their edge (the access time is added last, as in scipy)
    att_ptr, att_cell, att_off = cell_attachments(graph, cells)
    cell_access = cells_access_s(cells)

    # facilities: the virtual source's two arcs (as ``catchments._augmented``)
    fac_ok, fe, to_v, to_u, two = source_arcs(graph, facilities)
    # only the cells on a facility's edge matter below (a few): found through an edge table
    on_fac_edge = np.zeros(graph.edge_u.size, bool)
    on_fac_edge[fe] = True
    cell_ok = np.flatnonzero(on_edges(cells.snap.edge, on_fac_edge))
    ce = cells.snap.edge[cell_ok].astype(np.int64)
    fa = facilities.snap.along_m[fac_ok]
    k_idx = np.arange(fac_ok.size)
    seed_k = np.concatenate([k_idx, k_idx[two]])
    seed_node = np.concatenate([graph.edge_v[fe], graph.edge_u[fe][two]]).astype(np.int64)
    seed_w = np.concatenate([to_v, to_u[two]])
    seed_ptr, seed_node, seed_w = csr_by(seed_k, fac_ok.size, seed_node, seed_w)

    # cells on the facility's own edge are reached directly along it
    e_order = np.argsort(ce, kind="stable")
    ce_sorted = ce[e_order]
    lo = np.searchsorted(ce_sorted, fe, side="left")
    hi = np.searchsorted(ce_sorted, fe, side="right")
    cnt = hi - lo
    sk = np.repeat(k_idx, cnt)
    pos = e_order[
        np.repeat(lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    ]
    direct = along_edge_s(graph, ce[pos], cells.snap.along_m[cell_ok[pos]] - fa[sk])
    same_ptr, same_cell, same_t = csr_by(sk, fac_ok.size, cell_ok[pos], direct)
    return KernelInputs(
        indptr=csr.indptr.astype(np.int64),
        indices=csr.indices.astype(np.int64),
        weights=csr.data.astype(np.float64),
        n_nodes=n,
        seed_ptr=seed_ptr,
        seed_node=seed_node,
        seed_w=seed_w,
        fac_access=facilities.access_s[fac_ok].astype(np.float64),
        fac_ok=fac_ok.astype(np.int64),
        att_ptr=att_ptr,
        att_cell=att_cell,
        att_off=att_off,
        same_ptr=same_ptr,
        same_cell=same_cell,
        same_t=same_t,
        cell_access=cell_access,
        n_fac=facilities.snap.edge.size,
        n_cells=n_cells,
        limit_s=float(limit_s),
    )


def run_block(ki: KernelInputs, a: int, z: int) -> TravelTimes:
    """The pairs of facilities ``ki.fac_ok[a:z]`` (sorted by facility, cell) as a TravelTimes
    over all facilities (``n_fac``), so blocks concatenate into the whole result."""
    sp_ = ki.seed_ptr[a : z + 1]
    sm_ = ki.same_ptr[a : z + 1]
    f, c, t = _block(
        ki.indptr, ki.indices, ki.weights, ki.n_nodes,
        sp_ - sp_[0], ki.seed_node[sp_[0] : sp_[-1]], ki.seed_w[sp_[0] : sp_[-1]],
        ki.fac_access[a:z], ki.fac_ok[a:z],
        ki.att_ptr, ki.att_cell, ki.att_off,
        sm_ - sm_[0], ki.same_cell[sm_[0] : sm_[-1]], ki.same_t[sm_[0] : sm_[-1]],
        ki.cell_access, ki.n_cells, ki.limit_s,
    )  # fmt: skip
    return TravelTimes(
        fac=f, cell=c, time_s=t, n_fac=ki.n_fac, n_cells=ki.n_cells, limit_s=ki.limit_s
    )


def block_bounds(n: int, n_blocks: int) -> np.ndarray:
    """Bounds of ``n_blocks`` contiguous blocks over ``n`` facilities (``n_blocks + 1`` ints)."""
    return np.linspace(0, n, max(1, min(n, n_blocks)) + 1).astype(np.int64)


def travel_times(
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    threads: int | None = None,
) -> TravelTimes:
    """Travel times from every facility to every cell within ``limit_s`` seconds.

    Called by :func:`analysis.catchments.travel_times` (parameters and result documented
    there; ``threads`` default: the CPUs this process may use); the result is identical to the
    scipy reference ``travel_times_scipy``.
    """
    ki = prepare(graph, facilities, cells, limit_s=limit_s)
    # contiguous blocks keep the output sorted by facility; more blocks than threads balance load
    threads = threads or default_threads()
    bounds = block_bounds(ki.fac_ok.size, threads * 8)

    def run(b: int) -> TravelTimes:
        return run_block(ki, int(bounds[b]), int(bounds[b + 1]))

    n_blocks = bounds.size - 1
    if ki.fac_ok.size == 0:
        parts: list[TravelTimes] = []
    elif threads == 1:
        parts = [run(b) for b in range(n_blocks)]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(run, range(n_blocks)))
    if parts:
        f = np.concatenate([p.fac for p in parts])
        c = np.concatenate([p.cell for p in parts])
        tt = np.concatenate([p.time_s for p in parts])
    else:
        f = c = np.zeros(0, np.int64)
        tt = np.zeros(0)
    log.debug(
        "kernel.travel_times: %d facilities, %d cells, %d pairs within %.0f s",
        ki.n_fac,
        ki.n_cells,
        f.size,
        limit_s,
    )
    return TravelTimes(
        fac=f, cell=c, time_s=tt, n_fac=ki.n_fac, n_cells=ki.n_cells, limit_s=limit_s
    )


def reachable_nodes(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    *,
    limit_s: float,
    threads: int | None = None,
) -> list[np.ndarray]:
    """Nodes within ``limit_s`` of each source on a plain CSR graph (one array per source).

    The node-level form of the same kernel (every node is its own "cell" at offset 0), for
    benchmarks against other graph libraries.
    """
    n = indptr.size - 1
    k = np.asarray(sources, np.int64)
    indptr = np.asarray(indptr, np.int64)
    indices = np.asarray(indices, np.int64)
    weights = np.asarray(weights, np.float64)
    att_ptr = np.arange(n + 1, dtype=np.int64)
    att_cell = np.arange(n, dtype=np.int64)
    att_off = np.zeros(n)
    zero_ptr = np.zeros(k.size + 1, np.int64)
    threads = threads or default_threads()
    n_blocks = min(k.size, max(1, threads * 8))
    bounds = np.linspace(0, k.size, n_blocks + 1).astype(np.int64)

    def run(b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, z = bounds[b], bounds[b + 1]
        out: tuple[np.ndarray, np.ndarray, np.ndarray] = _block(
            indptr, indices, weights, n,
            np.arange(z - a + 1, dtype=np.int64), k[a:z], np.zeros(z - a),
            np.zeros(z - a), np.arange(a, z, dtype=np.int64),
            att_ptr, att_cell, att_off,
            zero_ptr[: z - a + 1], np.zeros(0, np.int64), np.zeros(0),
            np.zeros(n), n, float(limit_s),
        )  # fmt: skip
        return out

    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = list(pool.map(run, range(n_blocks)))
    f = np.concatenate([p[0] for p in parts])
    c = np.concatenate([p[1] for p in parts])
    split = np.searchsorted(f, np.arange(1, k.size))
    return np.split(c, split)
