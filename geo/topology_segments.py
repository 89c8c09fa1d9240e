"""Segments of a road line layer: quantised vertex-to-vertex pieces, split at crossings.

Steps 1 and 2 of :mod:`geo.topology` (noding and crossing splits), and the node ids and connected
components they lead to; all vectorised with numpy, shapely 2 and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass
class Segments:
    """Straight segments of the input parts, in part order then along each part."""

    p0: np.ndarray  # (n, 2) start, quantised
    p1: np.ndarray  # (n, 2) end, quantised
    part: np.ndarray  # (n,) index of the exploded part (its row in ``part_row``)
    m0: np.ndarray  # (n,) distance along the part at the start, metres

    @property
    def length(self) -> np.ndarray:
        return np.hypot(*(self.p1 - self.p0).T)


def quantise(xy: np.ndarray, quantum: float) -> np.ndarray:
    return np.round(xy / quantum) * quantum


def grid_keys(xy: np.ndarray, quantum: float) -> np.ndarray:
    return np.round(xy / quantum).astype(np.int64)


def segments_from_parts(parts: np.ndarray, quantum: float) -> Segments:
    coords, pidx = shapely.get_coordinates(parts, return_index=True)
    coords = quantise(coords, quantum)
    s0 = np.flatnonzero(pidx[1:] == pidx[:-1])
    p0, p1, part = coords[s0], coords[s0 + 1], pidx[s0]
    keep = ~np.all(p0 == p1, axis=1)
    p0, p1, part = p0[keep], p1[keep], part[keep]
    length = np.hypot(*(p1 - p0).T)
    cum = np.cumsum(length)
    _, first = np.unique(part, return_index=True)
    base = np.repeat(cum[first] - length[first], np.diff(np.append(first, len(part))))
    return Segments(p0, p1, part.astype(np.int64), cum - length - base)


def apply_splits(seg: Segments, split_seg: np.ndarray, split_xy: np.ndarray) -> Segments:
    """Cut segments at the given points (which lie on them); drop zero-length pieces."""
    if len(split_seg) == 0:
        return seg
    n = len(seg.part)
    d = seg.p1 - seg.p0
    len2 = np.einsum("ij,ij->i", d, d)
    t_split = np.einsum("ij,ij->i", split_xy - seg.p0[split_seg], d[split_seg]) / len2[split_seg]
    sid = np.concatenate([np.arange(n), np.arange(n), split_seg])
    t = np.concatenate([np.zeros(n), np.ones(n), np.clip(t_split, 0.0, 1.0)])
    xy = np.concatenate([seg.p0, seg.p1, split_xy])
    order = np.lexsort((t, sid))
    sid, t, xy = sid[order], t[order], xy[order]
    pair = np.flatnonzero(sid[1:] == sid[:-1])
    a, b = xy[pair], xy[pair + 1]
    keep = ~np.all(a == b, axis=1)
    pair = pair[keep]
    s = sid[pair]
    return Segments(xy[pair], xy[pair + 1], seg.part[s], seg.m0[s] + t[pair] * np.sqrt(len2[s]))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def crossing_splits(seg: Segments, quantum: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Split points where segments cross or touch without sharing a vertex.

    Returns (segment index, split point, number of junctions, collinear overlaps).
    """
    geoms = np.asarray(shapely.linestrings(np.stack([seg.p0, seg.p1], axis=1)))
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    m = i < j
    i, j = i[m], j[m]
    k0, k1 = grid_keys(seg.p0, quantum), grid_keys(seg.p1, quantum)

    def same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.all(a == b, axis=1)

    shared = same(k0[i], k0[j]) | same(k0[i], k1[j]) | same(k1[i], k0[j]) | same(k1[i], k1[j])
    i, j = i[~shared], j[~shared]
    p, r = seg.p0[i], seg.p1[i] - seg.p0[i]
    q, s = seg.p0[j], seg.p1[j] - seg.p0[j]
    len_r, len_s = np.hypot(*r.T), np.hypot(*s.T)
    den = _cross(r, s)
    parallel = np.abs(den) <= 1e-9 * len_r * len_s
    eps = quantum
    out_seg: list[np.ndarray] = []
    out_xy: list[np.ndarray] = []

    # Collinear overlaps: cut each segment at the other's end points that lie inside it.
    ci, cj = i[parallel], j[parallel]
    for a, b in ((ci, cj), (cj, ci)):
        a0, da = seg.p0[a], seg.p1[a] - seg.p0[a]
        la2 = np.einsum("ij,ij->i", da, da)
        for pt in (seg.p0[b], seg.p1[b]):
            tt = np.einsum("ij,ij->i", pt - a0, da) / la2
            inside = (tt * np.sqrt(la2) > eps) & ((1 - tt) * np.sqrt(la2) > eps)
            out_seg.append(a[inside])
            out_xy.append(pt[inside])

    # Proper crossings and T-touches.
    x = ~parallel
    i, j, p, r, q, s = i[x], j[x], p[x], r[x], q[x], s[x]
    len_r, len_s, den = len_r[x], len_s[x], den[x]
    qp = q - p
    t = np.clip(_cross(qp, s) / den, 0.0, 1.0)
    u = np.clip(_cross(qp, r) / den, 0.0, 1.0)
    i_inner = (t * len_r > eps) & ((1 - t) * len_r > eps)
    j_inner = (u * len_s > eps) & ((1 - u) * len_s > eps)
    pt = p + t[:, None] * r
    # An end of one segment on the interior of the other: split there, at that exact vertex.
    pt = np.where((~i_inner)[:, None], np.where((t < 0.5)[:, None], p, p + r), pt)
    pt = np.where((i_inner & ~j_inner)[:, None], np.where((u < 0.5)[:, None], q, q + s), pt)
    pt = quantise(pt, quantum)
    out_seg += [i[i_inner], j[j_inner]]
    out_xy += [pt[i_inner], pt[j_inner]]
    n_junctions = int(np.count_nonzero(i_inner | j_inner))
    return (
        np.concatenate(out_seg).astype(np.int64),
        np.concatenate(out_xy).reshape(-1, 2),
        n_junctions,
        int(np.count_nonzero(parallel)),
    )


def node_ids(points: np.ndarray, quantum: float) -> tuple[np.ndarray, np.ndarray]:
    """Unique quantised points (sorted, so ids do not depend on input order) and inverse."""
    keys = grid_keys(points, quantum)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return uniq * quantum, inverse.reshape(-1)


def components(u: np.ndarray, v: np.ndarray, n_nodes: int) -> tuple[int, np.ndarray]:
    graph = coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n_nodes, n_nodes))
    return connected_components(graph.tocsr(), directed=False)
