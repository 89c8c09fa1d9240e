"""The kernel's node -> cell table and the arrays ``analysis.kernel.prepare`` builds from the
cells (moved from ``analysis.kernel``): which cells each node reaches along its edges, at what
offset, built by a counting sort in numba (no whole-length sort temporaries at 27.9 M cells)."""

from __future__ import annotations

import numba
import numpy as np

from analysis.access import Access
from analysis.network import Graph


def _attach(  # noqa: PLR0913 (numba: flat arrays in nopython mode, no objects)
    cell_edge, along_m, edge_u, edge_v, edge_len_m, edge_speed_ms, edge_oneway,
    n_nodes, att_ptr, att_cell, att_off, fill,
):  # fmt: skip
    """The node -> cell table by counting sort, in the order of a stable sort by node of the
    cells' offsets from their edge's start u (cells ascending), then from its end v: counts
    into ``att_ptr[1:]`` when not ``fill``; else (``att_ptr`` the cumulated counts) the cells
    and offsets. Offsets as ``analysis.access.cell_offsets`` computes them (finite ones only)."""
    cursor = att_ptr[:-1].copy() if fill else att_ptr[:0]
    for end in range(2):
        for c in range(cell_edge.size):
            e = cell_edge[c]
            if e < 0:
                continue
            speed = edge_speed_ms[e]
            if end == 0:
                node = edge_u[e]
                off = along_m[c] / speed
            else:
                node = edge_v[e]
                off = np.inf if edge_oneway[e] else (edge_len_m[e] - along_m[c]) / speed
            if not np.isfinite(off):
                continue
            if fill:
                a = cursor[node]
                att_cell[a] = c
                att_off[a] = off
                cursor[node] = a + 1
            else:
                att_ptr[node + 1] += 1


_attach = numba.njit(cache=True, nogil=True)(_attach)


def cell_attachments(graph: Graph, cells: Access) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(att_ptr, att_cell, att_off): the cells reached from each node (CSR by node) and the
    seconds from the node to each along its edge; the cells as int32 where they fit. Built in
    place (two passes over the cells), without the whole-length temporaries of sorting."""
    n = graph.n_nodes
    edge, along = cells.snap.edge, np.ascontiguousarray(cells.snap.along_m, np.float64)
    args = (edge, along, graph.edge_u, graph.edge_v, graph.edge_len_m, graph.edge_speed_ms,
            graph.edge_oneway, n)  # fmt: skip
    att_ptr = np.zeros(n + 1, np.int64)
    cell_dtype = np.int32 if edge.size < 2**31 else np.int64
    _attach(*args, att_ptr, np.zeros(0, cell_dtype), np.zeros(0), False)
    np.cumsum(att_ptr, out=att_ptr)
    att_cell = np.empty(int(att_ptr[-1]), cell_dtype)
    att_off = np.empty(int(att_ptr[-1]))
    _attach(*args, att_ptr, att_cell, att_off, True)
    return att_ptr, att_cell, att_off


def csr_by(key: np.ndarray, n: int, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """Group rows by ``key`` (0..n-1): (indptr, *cols sorted by key, stable)."""
    order = np.argsort(key, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(key, minlength=n), out=ptr[1:])
    return (ptr, *(c[order] for c in cols))


def on_edges(edge: np.ndarray, table: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """``table[edge]`` (False where ``edge`` is -1), a chunk of points at a time."""
    out = np.zeros(edge.size, bool)
    for a in range(0, edge.size, chunk):
        e = edge[a : a + chunk]
        out[a : a + chunk] = table[np.maximum(e, 0)] & (e >= 0)
    return out


def cells_access_s(cells: Access) -> np.ndarray:
    """The cells' access seconds, inf where a cell has no road: ``cells.access_s`` itself when
    it already is so (``Access.from_snap``'s), never a copy of the whole grid then."""
    a = cells.access_s
    if a.dtype == np.float64 and a.flags.c_contiguous:
        no_road = np.flatnonzero(cells.snap.edge < 0)
        if bool(np.all(a[no_road] == np.inf)):
            return a
    return np.where(cells.snap.edge >= 0, a, np.inf).astype(np.float64)
