"""Gap joins of a road graph: what every open line end joins within the snap tolerance.

Step 3 of :mod:`geo.topology`: dangling ends and continuation ends join the nearest node or line
in each connected component within reach, unless the network already links them closely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geo.topology_segments import Segments, components, grid_keys, quantise


@dataclass(frozen=True)
class Gaps:
    seg_split: np.ndarray  # segment indices to cut
    xy_split: np.ndarray  # where
    conn_a: np.ndarray  # (k, 2) connector start (the dangling end)
    conn_b: np.ndarray  # (k, 2) connector end
    to_node: int
    to_dangling: int
    to_line: int


def _network_near(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, n_nodes: int, sources: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Network distances up to ``limit`` from each source node (undirected).

    A bounded multi-source Dijkstra done as vectorised label-correcting rounds over
    (source, node) pairs, so that memory grows with the pairs reached, not sources × nodes.
    Returns sorted keys ``source_index * n_nodes + node`` and their distances.
    """
    rows, cols, ww = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
    order = np.argsort(rows, kind="stable")
    cols, ww = cols[order], ww[order]
    indptr = np.searchsorted(rows[order], np.arange(n_nodes + 1))
    known_key = np.arange(len(sources), dtype=np.int64) * n_nodes + sources
    order = np.argsort(known_key)
    known_key, known_d = known_key[order], np.zeros(len(sources))
    f_key, f_d = known_key, known_d
    while len(f_key):
        f_src, f_node = np.divmod(f_key, n_nodes)
        count = indptr[f_node + 1] - indptr[f_node]
        rep = np.repeat(np.arange(len(f_key)), count)
        edge = (
            np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count) + indptr[f_node][rep]
        )
        c_key = f_src[rep] * n_nodes + cols[edge]
        c_d = f_d[rep] + ww[edge]
        ok = c_d <= limit
        c_key, c_d = c_key[ok], c_d[ok]
        order = np.lexsort((c_d, c_key))
        c_key, c_d = c_key[order], c_d[order]
        first = np.ones(len(c_key), bool)
        first[1:] = c_key[1:] != c_key[:-1]
        c_key, c_d = c_key[first], c_d[first]
        pos = np.clip(np.searchsorted(known_key, c_key), 0, max(len(known_key) - 1, 0))
        found = known_key[pos] == c_key
        better = ~found | (c_d < known_d[pos] - 1e-9)
        f_key, f_d = c_key[better], c_d[better]
        upd = found & better
        known_d[pos[upd]] = c_d[upd]
        new = ~found
        known_key = np.concatenate([known_key, c_key[new]])
        known_d = np.concatenate([known_d, c_d[new]])
        order = np.argsort(known_key, kind="stable")
        known_key, known_d = known_key[order], known_d[order]
    return known_key, known_d


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    pos = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
    return np.where(keys[pos] == query, values[pos], np.inf)


def join_gaps(
    seg: Segments,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    *,
    tol: float,
    node_preference_m: float,
    quantum: float,
) -> Gaps:
    """Choose what every open line end joins within ``tol`` (see :func:`repair_topology`)."""
    n_nodes = len(node_xy)
    empty = np.empty((0, 2))
    nothing = Gaps(np.empty(0, np.int64), empty, empty, empty, 0, 0, 0)
    if tol <= 0:
        return nothing
    deg = np.bincount(np.concatenate([u, v]), minlength=n_nodes)
    part_end = np.zeros(n_nodes, bool)
    new_part = np.ones(len(u), bool)
    new_part[1:] = seg.part[1:] != seg.part[:-1]
    part_end[u[new_part]] = True
    last = np.append(new_part[1:], True)
    part_end[v[last]] = True
    d_node = np.flatnonzero(part_end & (deg <= 2))
    if len(d_node) == 0:
        return nothing
    d_xy = node_xy[d_node]
    c = _candidates(seg, u, v, node_xy, d_node, deg, tol)
    di, sj, near, dl, cand_node, dn, comp = c.di, c.sj, c.near, c.dl, c.cand_node, c.dn, c.comp
    line_ok, node_ok, pt = c.line_ok, c.node_ok, c.pt

    # One join per open end and per component within reach: the nearest target in its own
    # component (a short-cut) and the nearest in each other component (what joins pieces).
    _, group = np.unique(np.stack([di, comp[u[sj]]], axis=1), axis=0, return_inverse=True)
    group = group.reshape(-1)
    n_group = int(group.max()) + 1 if len(group) else 0
    group_end = np.zeros(n_group, dtype=np.int64)
    group_end[group] = di

    def best(dist: np.ndarray, tie: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per group: the pair with the smallest ``dist`` (ties broken by position), or -1."""
        idx = np.flatnonzero(mask)
        order = idx[np.lexsort((tie[idx, 1], tie[idx, 0], dist[idx], group[idx]))]
        groups, first = np.unique(group[order], return_index=True)
        out = np.full(n_group, -1)
        out[groups] = order[first]
        return out

    # Ties are broken by coordinates, not by row order, so that shuffled input gives one answer.
    best_line = best(dl, grid_keys(near, quantum), line_ok)
    best_node = best(dn, grid_keys(node_xy[cand_node], quantum), node_ok)
    has_line, has_node = best_line >= 0, best_node >= 0
    line_d = np.where(has_line, dl[np.maximum(best_line, 0)], np.inf)
    node_d = np.where(has_node, dn[np.maximum(best_node, 0)], np.inf)
    use_node = has_node & (node_d <= line_d + node_preference_m)
    use_line = has_line & ~use_node
    target_node = cand_node[best_node[use_node]]
    line_pick = best_line[use_line]
    # An end lying on a line (closer than the quantum) is joined by cutting the line there.
    on_line = dl[line_pick] <= quantum
    touch_seg, touch_xy = sj[line_pick[on_line]], pt[line_pick[on_line]]
    line_pick = line_pick[~on_line]
    line_end = group_end[use_line][~on_line]
    conn_a = np.concatenate([d_xy[group_end[use_node]], d_xy[line_end]])
    conn_b = quantise(np.concatenate([node_xy[target_node], near[line_pick]]), quantum)
    # Two open ends joining each other give the same connector twice: keep one.
    ka, kb = grid_keys(conn_a, quantum), grid_keys(conn_b, quantum)
    swap = (ka[:, 0] > kb[:, 0]) | ((ka[:, 0] == kb[:, 0]) & (ka[:, 1] > kb[:, 1]))
    lo, hi = np.where(swap[:, None], kb, ka), np.where(swap[:, None], ka, kb)
    _, first = np.unique(np.hstack([lo, hi]), axis=0, return_index=True)
    first = np.sort(first)
    is_node_join = np.arange(len(conn_a)) < len(target_node)
    to_dangling = np.concatenate([deg[target_node] == 1, np.zeros(len(line_pick), bool)])
    return Gaps(
        np.concatenate([sj[line_pick], touch_seg]),
        quantise(np.concatenate([near[line_pick], touch_xy]), quantum),
        conn_a[first],
        conn_b[first],
        int(np.count_nonzero(is_node_join[first])),
        int(np.count_nonzero(to_dangling[first])),
        int(np.count_nonzero(~is_node_join[first])),
    )


@dataclass(frozen=True)
class _Candidates:
    """Pairs (open end ``di``, segment ``sj``) within the tolerance, with the nearest point on the
    segment (``near``, ``dl`` away) and the nearer segment end (``cand_node``, ``dn`` away);
    ``line_ok`` / ``node_ok``: that target may be joined; ``comp``: component of every node."""

    di: np.ndarray
    sj: np.ndarray
    pt: np.ndarray
    near: np.ndarray
    dl: np.ndarray
    cand_node: np.ndarray
    dn: np.ndarray
    line_ok: np.ndarray
    node_ok: np.ndarray
    comp: np.ndarray


def _candidates(
    seg: Segments,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    d_node: np.ndarray,
    deg: np.ndarray,
    tol: float,
) -> _Candidates:
    """What each open end (``d_node``) could join within ``tol`` (see :func:`join_gaps`)."""
    n_nodes = len(node_xy)
    d_xy = node_xy[d_node]
    seg_len = seg.length
    limit = 2.0 * tol
    near_key, near_d = _network_near(u, v, seg_len, n_nodes, d_node, limit)
    geoms = np.asarray(shapely.linestrings(np.stack([seg.p0, seg.p1], axis=1)))
    di, sj = shapely.STRtree(geoms).query(shapely.points(d_xy), predicate="dwithin", distance=tol)
    pt, a, ab = d_xy[di], seg.p0[sj], seg.p1[sj] - seg.p0[sj]
    t = np.clip(np.einsum("ij,ij->i", pt - a, ab) / np.einsum("ij,ij->i", ab, ab), 0.0, 1.0)
    near = a + t[:, None] * ab
    dl = np.hypot(*(pt - near).T)
    base = di.astype(np.int64) * n_nodes
    net_u = _lookup(near_key, near_d, base + u[sj])
    net_v = _lookup(near_key, near_d, base + v[sj])
    # A target already this close over the network gains nothing from a connector.
    line_ok = (dl <= tol) & (
        np.minimum(net_u + t * seg_len[sj], net_v + (1 - t) * seg_len[sj]) >= limit
    )
    d0 = np.hypot(*(pt - seg.p0[sj]).T)
    d1 = np.hypot(*(pt - seg.p1[sj]).T)
    at_u = d0 <= d1
    cand_node = np.where(at_u, u[sj], v[sj])
    dn = np.minimum(d0, d1)
    node_ok = (dn <= tol) & (np.where(at_u, net_u, net_v) >= limit)
    # An end where two lines continue into each other only joins other components: short-cuts
    # from there mostly link the two carriageways of a dual road.
    _, comp = components(u, v, n_nodes)
    through = (deg[d_node[di]] == 2) & (comp[u[sj]] == comp[d_node[di]])
    line_ok &= ~through
    node_ok &= ~through

    return _Candidates(di, sj, pt, near, dl, cand_node, dn, line_ok, node_ok, comp)
