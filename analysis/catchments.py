"""Bounded shortest paths from every facility of a type to every demand cell, in one pass.

Travel time from facility i to cell c (seconds) =
    access(i)            facility -> its snapped point on the nearest road, at the access speed
  + network(i, c)        along the roads, from i's snapped point to c's snapped point
  + access(c)            c's snapped point -> cell centre, at the access speed.

Snapped points lie inside edges: each facility becomes a virtual source node joined to both
ends of its edge (only the forward end on a one-way edge), so the times are exact for the
snapped positions, not rounded to the nearest node. Cells read the time at both ends of their
edge. Only (facility, cell, time) triples within the limit are kept.

Two implementations give the same pairs and times:

- ``numba`` (default): the compiled kernel of :mod:`analysis.kernel`,
  one bounded Dijkstra per facility that touches only the nodes it settles, facilities spread
  over threads;
- ``scipy``: ``scipy.sparse.csgraph.dijkstra(..., limit=)`` on the graph augmented with the
  virtual sources, in chunks (bounded memory). The reference the kernel is tested against.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from analysis.access import Access, TravelTimes, along_edge_s, cell_offsets, source_arcs
from analysis.network import Graph

log = logging.getLogger(__name__)

__all__ = [
    "Access",
    "TravelTimes",
    "along_edge_s",
    "cell_offsets",
    "nearest_two",
    "nearest_two_arrays",
    "source_arcs",
    "travel_times",
    "travel_times_scipy",
]


def _augmented(graph: Graph, fac: Access) -> sp.csr_matrix:
    """The graph plus one virtual source node per facility joined to its edge's ends."""
    n = graph.n_nodes
    k = fac.snap.edge.size
    ok, e, to_v, to_u, two = source_arcs(graph, fac)
    src = n + ok
    rows = [src, src[two]]
    cols = [graph.edge_v[e], graph.edge_u[e][two]]
    w = [to_v, to_u[two]]
    base = graph.csr.tocoo()
    # all arcs together, the minimum kept where two coincide: a facility on a loop edge (u == v)
    # has two virtual arcs to the same node, which a sparse sum would add up
    r = np.concatenate([base.row, *rows])
    c = np.concatenate([base.col, *cols])
    t = np.concatenate([base.data, *w])
    order = np.lexsort((t, c, r))
    r, c, t = r[order], c[order], t[order]
    first = np.ones(r.size, bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return sp.csr_matrix((t[first], (r[first], c[first])), shape=(n + k, n + k))


def travel_times(
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    method: str = "numba",
    chunk: int = 32,
    threads: int | None = None,
) -> TravelTimes:
    """Travel times from every facility to every cell within ``limit_s`` seconds.

    Parameters
    ----------
    graph
        The directed road graph (times in seconds).
    facilities, cells
        Snapped positions and access times of the facilities and of the demand cells.
    limit_s
        The largest break of the type, in seconds; longer pairs are not kept.
    method
        ``"numba"`` or ``"scipy"``; see the module docstring.
    chunk
        scipy only: facilities solved per dijkstra call (memory: chunk x n_nodes float64).
    threads
        numba only: worker threads (default: the CPUs this process may use).

    Returns
    -------
    TravelTimes
        Sorted by (facility, cell). Facilities or cells with no eligible road get no pairs.
    """
    if method == "numba":
        from analysis import kernel  # compiled on first use, cached on disk

        return kernel.travel_times(graph, facilities, cells, limit_s=limit_s, threads=threads)
    if method != "scipy":
        raise ValueError(f"travel_times: unknown method {method!r} (numba or scipy)")
    return travel_times_scipy(graph, facilities, cells, limit_s=limit_s, chunk=chunk)


def travel_times_scipy(
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    chunk: int = 32,
) -> TravelTimes:
    """:func:`travel_times` with scipy's dijkstra (the reference implementation); same
    parameters (``chunk``: facilities per dijkstra call, memory chunk x n_nodes float64) and
    the same result."""
    n = graph.n_nodes
    n_fac = facilities.snap.edge.size
    n_cells = cells.snap.edge.size
    aug = _augmented(graph, facilities)
    cell_ok, ce, c_from_u, c_from_v = cell_offsets(graph, cells)
    cu, cv = graph.edge_u[ce], graph.edge_v[ce]
    c_access = cells.access_s[cell_ok]
    fac_ok = np.flatnonzero(facilities.snap.edge >= 0)
    out_f, out_c, out_t = [], [], []
    for start in range(0, fac_ok.size, chunk):
        block = fac_ok[start : start + chunk]
        dist = dijkstra(aug, directed=True, indices=n + block, limit=limit_s)
        t = np.minimum(dist[:, cu] + c_from_u, dist[:, cv] + c_from_v)
        # a cell on the facility's own edge is reached directly along the edge
        fe = facilities.snap.edge[block]
        fa = facilities.snap.along_m[block]
        same_r, same_c = np.nonzero(fe[:, None] == ce[None, :])
        if same_r.size:
            d_along = cells.snap.along_m[cell_ok][same_c] - fa[same_r]
            direct = along_edge_s(graph, ce[same_c], d_along)
            t[same_r, same_c] = np.minimum(t[same_r, same_c], direct)
        t = t + facilities.access_s[block][:, None] + c_access[None, :]
        r, c = np.nonzero(t <= limit_s)
        out_f.append(block[r])
        out_c.append(cell_ok[c])
        out_t.append(t[r, c])
    if out_f:
        f = np.concatenate(out_f).astype(np.int64)
        c = np.concatenate(out_c).astype(np.int64)
        tt = np.concatenate(out_t)
    else:
        f = c = np.zeros(0, np.int64)
        tt = np.zeros(0)
    order = np.lexsort((c, f))
    log.debug(
        "travel_times: %d facilities, %d cells, %d pairs within %.0f s",
        n_fac,
        n_cells,
        f.size,
        limit_s,
    )
    return TravelTimes(
        fac=f[order], cell=c[order], time_s=tt[order], n_fac=n_fac, n_cells=n_cells, limit_s=limit_s
    )


def nearest_two(tt: TravelTimes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest and second-nearest facility of every cell (index, time); -1 / inf where none.

    Ties in time go to the lower facility index, so the result does not depend on input order
    once facilities are sorted by id.
    """
    return nearest_two_arrays(tt.cell, tt.fac, tt.time_s, tt.n_cells)


def nearest_two_arrays(
    cell: np.ndarray, fac: np.ndarray, t: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`nearest_two` of (cell, facility, time) arrays; also the merge step of the
    facility blocks (``analysis.blocks``)."""
    f1 = np.full(n_cells, -1, np.int64)
    f2 = np.full(n_cells, -1, np.int64)
    t1 = np.full(n_cells, np.inf)
    t2 = np.full(n_cells, np.inf)
    if cell.size == 0:
        return f1, t1, f2, t2
    order = np.lexsort((fac, t, cell))
    c, f, t = cell[order], fac[order], t[order]
    start = np.ones(c.size, bool)
    start[1:] = c[1:] != c[:-1]
    first = np.flatnonzero(start)
    f1[c[first]] = f[first]
    t1[c[first]] = t[first]
    second = first + 1
    has2 = second < c.size
    has2[has2] = ~start[second[has2]]
    s = second[has2]
    f2[c[s]] = f[s]
    t2[c[s]] = t[s]
    return f1, t1, f2, t2
