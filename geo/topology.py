"""Topology repair of road line layers: noding, crossing splits, gap joins, components.

A GIS road layer is rarely a routable graph: lines end a few metres short of the road they join,
cross without a shared vertex, or were generalised so that junction vertices moved. This module
turns a line layer (in a metric CRS) into a noded graph whose edges are pieces of the input lines
plus short ``connector`` edges that close gaps, and reports what it changed.

Steps (all vectorised with numpy, shapely 2 and scipy; no Python loop over features):

1. explode to single LineStrings; split every line into vertex-to-vertex segments; nodes are the
   unique vertices after quantising coordinates to ``quantum_m`` (1 cm), so lines that share a
   vertex are joined there;
2. split at crossings: segments that cross or touch in their interior without a shared vertex get
   a node at the intersection point (both are split). Whether a crossing is at grade or a bridge
   cannot be known from a plain line layer: every crossing becomes a junction (the report says
   so), which can only make the network better connected than it is;
3. join open line ends within ``snap_tolerance_m``: dangling ends (degree 1) and ends where two
   lines merely continue into each other (degree 2; generalisation often moved the junction
   vertex of a road that ends on another one). Per end, one join to the nearest target in each
   connected component within reach: an existing node, unless a point on a line is closer by
   more than ``node_preference_m`` (then a node is inserted there). Continuation ends only join
   other components. Each join is a two-way ``connector`` edge whose length is the gap. A
   target already within twice the tolerance over the network (including the end's own line)
   is never joined: that short-cut would only bridge a line to itself;
4. degree-2 vertices inside one input line are contracted: an edge runs along its input line from
   node to node, with the merged geometry;
5. connected components on the undirected graph (scipy.sparse.csgraph), ranked by length.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.errors import NetworkError

logger = logging.getLogger(__name__)

QUANTUM_M = 0.01
EDGE_COLUMNS = (
    "u",
    "v",
    "length_m",
    "speed_kmh",
    "oneway",
    "road_class",
    "edge_kind",
    "status",
    "name",
    "component",
)
GRADE_NOTE = (
    "every crossing of two lines was made a junction: a plain line layer does not say which "
    "crossings are bridges or tunnels, so grade-separated crossings are joined too"
)


@dataclass(frozen=True)
class RepairedGraph:
    """A noded, repaired road graph (metric CRS).

    Attributes
    ----------
    node_xy
        (n_nodes, 2) float64 metric coordinates; node ids are row numbers.
    edges
        GeoDataFrame with the columns of ``EDGE_COLUMNS`` and a LineString from u to v.
    report
        JSON-serialisable counts, see :func:`repair_topology`.
    """

    node_xy: np.ndarray
    edges: gpd.GeoDataFrame
    report: dict[str, Any]


@dataclass
class _Segments:
    """Straight segments of the input parts, in part order then along each part."""

    p0: np.ndarray  # (n, 2) start, quantised
    p1: np.ndarray  # (n, 2) end, quantised
    part: np.ndarray  # (n,) index of the exploded part (its row in ``part_row``)
    m0: np.ndarray  # (n,) distance along the part at the start, metres

    @property
    def length(self) -> np.ndarray:
        return np.hypot(*(self.p1 - self.p0).T)


def _quantise(xy: np.ndarray, quantum: float) -> np.ndarray:
    return np.round(xy / quantum) * quantum


def _keys(xy: np.ndarray, quantum: float) -> np.ndarray:
    return np.round(xy / quantum).astype(np.int64)


def _segments_from_parts(parts: np.ndarray, quantum: float) -> _Segments:
    coords, pidx = shapely.get_coordinates(parts, return_index=True)
    coords = _quantise(coords, quantum)
    s0 = np.flatnonzero(pidx[1:] == pidx[:-1])
    p0, p1, part = coords[s0], coords[s0 + 1], pidx[s0]
    keep = ~np.all(p0 == p1, axis=1)
    p0, p1, part = p0[keep], p1[keep], part[keep]
    length = np.hypot(*(p1 - p0).T)
    cum = np.cumsum(length)
    _, first = np.unique(part, return_index=True)
    base = np.repeat(cum[first] - length[first], np.diff(np.append(first, len(part))))
    return _Segments(p0, p1, part.astype(np.int64), cum - length - base)


def _apply_splits(seg: _Segments, split_seg: np.ndarray, split_xy: np.ndarray) -> _Segments:
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
    return _Segments(xy[pair], xy[pair + 1], seg.part[s], seg.m0[s] + t[pair] * np.sqrt(len2[s]))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def _crossing_splits(seg: _Segments, quantum: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Split points where segments cross or touch without sharing a vertex.

    Returns (segment index, split point, number of junctions, collinear overlaps).
    """
    geoms = np.asarray(shapely.linestrings(np.stack([seg.p0, seg.p1], axis=1)))
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    m = i < j
    i, j = i[m], j[m]
    k0, k1 = _keys(seg.p0, quantum), _keys(seg.p1, quantum)

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
    pt = _quantise(pt, quantum)
    out_seg += [i[i_inner], j[j_inner]]
    out_xy += [pt[i_inner], pt[j_inner]]
    n_junctions = int(np.count_nonzero(i_inner | j_inner))
    return (
        np.concatenate(out_seg).astype(np.int64),
        np.concatenate(out_xy).reshape(-1, 2),
        n_junctions,
        int(np.count_nonzero(parallel)),
    )


def _node_ids(points: np.ndarray, quantum: float) -> tuple[np.ndarray, np.ndarray]:
    """Unique quantised points (sorted, so ids do not depend on input order) and inverse."""
    keys = _keys(points, quantum)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return uniq * quantum, inverse.reshape(-1)


def _components(u: np.ndarray, v: np.ndarray, n_nodes: int) -> tuple[int, np.ndarray]:
    graph = coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n_nodes, n_nodes))
    return connected_components(graph.tocsr(), directed=False)


@dataclass(frozen=True)
class _Gaps:
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


def _join_gaps(
    seg: _Segments,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    *,
    tol: float,
    node_preference_m: float,
    quantum: float,
) -> _Gaps:
    """Choose what every open line end joins within ``tol`` (see :func:`repair_topology`)."""
    n_nodes = len(node_xy)
    empty = np.empty((0, 2))
    nothing = _Gaps(np.empty(0, np.int64), empty, empty, empty, 0, 0, 0)
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
    _, comp = _components(u, v, n_nodes)
    through = (deg[d_node[di]] == 2) & (comp[u[sj]] == comp[d_node[di]])
    line_ok &= ~through
    node_ok &= ~through

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
    best_line = best(dl, _keys(near, quantum), line_ok)
    best_node = best(dn, _keys(node_xy[cand_node], quantum), node_ok)
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
    conn_b = _quantise(np.concatenate([node_xy[target_node], near[line_pick]]), quantum)
    # Two open ends joining each other give the same connector twice: keep one.
    ka, kb = _keys(conn_a, quantum), _keys(conn_b, quantum)
    swap = (ka[:, 0] > kb[:, 0]) | ((ka[:, 0] == kb[:, 0]) & (ka[:, 1] > kb[:, 1]))
    lo, hi = np.where(swap[:, None], kb, ka), np.where(swap[:, None], ka, kb)
    _, first = np.unique(np.hstack([lo, hi]), axis=0, return_index=True)
    first = np.sort(first)
    is_node_join = np.arange(len(conn_a)) < len(target_node)
    to_dangling = np.concatenate([deg[target_node] == 1, np.zeros(len(line_pick), bool)])
    return _Gaps(
        np.concatenate([sj[line_pick], touch_seg]),
        _quantise(np.concatenate([near[line_pick], touch_xy]), quantum),
        conn_a[first],
        conn_b[first],
        int(np.count_nonzero(is_node_join[first])),
        int(np.count_nonzero(to_dangling[first])),
        int(np.count_nonzero(~is_node_join[first])),
    )


def _runs(seg: _Segments, u: np.ndarray, v: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Run id per segment: a run follows one part and stops at nodes of degree other than 2."""
    start = np.ones(len(u), dtype=bool)
    start[1:] = (seg.part[1:] != seg.part[:-1]) | (u[1:] != v[:-1]) | (deg[u[1:]] != 2)
    return np.cumsum(start) - 1


def _graph_stats(u: np.ndarray, v: np.ndarray, n_nodes: int) -> dict[str, int]:
    """Counts of a graph given by its (contracted) edges; isolated node ids are ignored."""
    used, compact = np.unique(np.concatenate([u, v]), return_inverse=True)
    deg = np.bincount(compact, minlength=len(used))
    n_comp, _ = _components(compact[: len(u)], compact[len(u) :], len(used))
    return {
        "nodes": len(used),
        "edges": len(u),
        "components": int(n_comp),
        "dangling_ends": int(np.count_nonzero(deg == 1)),
    }


def repair_topology(
    lines: gpd.GeoDataFrame,
    *,
    snap_tolerance_m: float = 50.0,
    connector_speed_kmh: float = 20.0,
    split_crossings: bool = True,
    node_preference_m: float = 5.0,
    quantum_m: float = QUANTUM_M,
    n_components_listed: int = 20,
) -> RepairedGraph:
    """Node and repair a road line layer into a graph (see the module docstring for the steps).

    Parameters
    ----------
    lines
        LineStrings / MultiLineStrings in a projected metric CRS, one row per input line, with
        optional columns ``road_class`` (str), ``speed_kmh`` (float > 0), ``oneway`` (bool: only
        in digitised direction), ``status`` (str), ``name``. Rows must have valid geometry (the
        readers in :mod:`geo.roads` skip the others and say why).
    snap_tolerance_m
        Largest gap, in metres, that a dangling end is joined across; 0 joins nothing.
    connector_speed_kmh
        Speed given to connector edges.
    split_crossings
        Make a junction wherever two lines cross without a shared vertex (step 2).
    node_preference_m
        A dangling end joins an existing node rather than a new node on a line when the node is
        at most this much farther away.
    quantum_m
        Coordinates are rounded to this (metres) before nodes are matched.
    n_components_listed
        How many of the largest components the report lists.

    Returns
    -------
    RepairedGraph
        Node coordinates, the edges (LineString u->v, metric CRS, sorted by u, v, kind, class,
        length) and a report with counts before (shared identical vertices only) and after,
        ``crossings_split``, ``joins_to_node`` (``endpoints_clustered`` of them to another
        dangling end), ``joins_to_line``, ``connectors_added``, ``connector_km``, the components
        (``largest_share``, ``components_listed``) and the tolerance.

    Raises
    ------
    NetworkError
        If the layer is in a geographic CRS, or if no line is left to build a graph from.
    """
    crs = lines.crs
    if crs is None or not CRS.from_user_input(crs).is_projected:
        raise NetworkError(
            "topology repair measures gaps in metres: reproject the lines to a metric CRS "
            f"first (got {crs})"
        )
    geom = np.asarray(lines.geometry.array, dtype=object)
    parts, part_row = shapely.get_parts(geom, return_index=True)
    line_part = shapely.get_type_id(parts) == 1
    parts, part_row = parts[line_part], part_row[line_part]
    seg = _segments_from_parts(parts, quantum_m)
    if len(seg.part) == 0:
        raise NetworkError("no road line with a length is left to build a network from")
    report: dict[str, Any] = {
        "snap_tolerance_m": float(snap_tolerance_m),
        "quantum_m": float(quantum_m),
        "input_lines": len(lines),
        "input_parts": len(parts),
        "grade_separation": GRADE_NOTE
        if split_crossings
        else "crossings without a vertex kept apart",
    }

    node_xy, inv = _node_ids(np.concatenate([seg.p0, seg.p1]), quantum_m)
    u, v = inv[: len(seg.part)], inv[len(seg.part) :]
    deg = np.bincount(inv, minlength=len(node_xy))
    run = _runs(seg, u, v, deg)
    first = np.searchsorted(run, np.arange(run[-1] + 1))
    last = np.append(first[1:], len(run)) - 1
    report["before"] = _graph_stats(u[first], v[last], len(node_xy))
    report["before"]["vertices"] = len(node_xy)

    if split_crossings:
        s_seg, s_xy, n_cross, n_collinear = _crossing_splits(seg, quantum_m)
        seg = _apply_splits(seg, s_seg, s_xy)
        node_xy, inv = _node_ids(np.concatenate([seg.p0, seg.p1]), quantum_m)
        u, v = inv[: len(seg.part)], inv[len(seg.part) :]
    else:
        n_cross = n_collinear = 0
    report["crossings_split"] = n_cross
    report["collinear_overlaps"] = n_collinear

    gaps = _join_gaps(
        seg,
        u,
        v,
        node_xy,
        tol=snap_tolerance_m,
        node_preference_m=node_preference_m,
        quantum=quantum_m,
    )
    seg = _apply_splits(seg, gaps.seg_split, gaps.xy_split)
    n_road = len(seg.part)
    node_xy, inv = _node_ids(np.concatenate([seg.p0, gaps.conn_a, seg.p1, gaps.conn_b]), quantum_m)
    n_all = n_road + len(gaps.conn_a)
    su, sv = inv[:n_all], inv[n_all:]
    deg = np.bincount(inv, minlength=len(node_xy))
    run = _runs(seg, su[:n_road], sv[:n_road], deg)
    edges = _edges_frame(lines, seg, part_row, run, su, sv, node_xy, gaps, connector_speed_kmh)
    # Vertices inside contracted runs are not graph nodes: renumber (order kept, so ids stay sorted).
    used, compact = np.unique(np.concatenate([edges["u"], edges["v"]]), return_inverse=True)
    node_xy = node_xy[used]
    edges["u"], edges["v"] = compact[: len(edges)], compact[len(edges) :]

    edges, comp_report = label_components(
        edges, len(node_xy), n_components_listed=n_components_listed
    )
    conn_len = edges.loc[edges["edge_kind"] == "connector", "length_m"]
    report.update(
        {
            "joins_to_node": gaps.to_node,
            "endpoints_clustered": gaps.to_dangling,
            "joins_to_line": gaps.to_line,
            "connectors_added": len(conn_len),
            "connector_km": round(float(conn_len.sum()) / 1000.0, 3),
        }
    )
    report.update(comp_report)
    n_comp = report["after"]["components"]
    logger.info(
        "topology: %d -> %d components, %d crossings split, %d connectors (%.1f km), "
        "largest component %.1f%% of length",
        report["before"]["components"],
        n_comp,
        n_cross,
        len(conn_len),
        report["connector_km"],
        100 * report["largest_share"],
    )
    return RepairedGraph(node_xy, edges, report)


def _edges_frame(
    lines: gpd.GeoDataFrame,
    seg: _Segments,
    part_row: np.ndarray,
    run: np.ndarray,
    su: np.ndarray,
    sv: np.ndarray,
    node_xy: np.ndarray,
    gaps: _Gaps,
    connector_speed: float,
) -> gpd.GeoDataFrame:
    n_road = len(seg.part)
    n_run = int(run[-1]) + 1
    first = np.searchsorted(run, np.arange(n_run))
    last = np.append(first[1:], n_road) - 1
    # Vertices of each run: the start of each segment, then the end of the run's last segment.
    xy = np.concatenate([node_xy[su[:n_road]], node_xy[sv[last]]])
    rid = np.concatenate([run, np.arange(n_run)])
    pos = np.concatenate([np.arange(n_road), last + 0.5])
    order = np.lexsort((pos, rid))
    road_geom = shapely.linestrings(xy[order], indices=rid[order])
    row = part_row[seg.part[first]]
    attrs = _line_attributes(lines)
    n_conn = len(gaps.conn_a)
    cu, cv = su[n_road:], sv[n_road:]
    conn_geom = shapely.linestrings(np.stack([node_xy[cu], node_xy[cv]], axis=1))
    geometry = np.concatenate([road_geom, conn_geom])
    frame = pd.DataFrame(
        {
            "u": np.concatenate([su[first], cu]).astype(np.int64),
            "v": np.concatenate([sv[last], cv]).astype(np.int64),
            "length_m": shapely.length(geometry).astype(np.float64),
            "speed_kmh": np.concatenate(
                [attrs["speed_kmh"][row], np.full(n_conn, float(connector_speed))]
            ),
            "oneway": np.concatenate([attrs["oneway"][row], np.zeros(n_conn, bool)]),
            "road_class": np.concatenate([attrs["road_class"][row], np.full(n_conn, "connector")]),
            "edge_kind": np.array(["road"] * n_run + ["connector"] * n_conn, dtype=object),
            "status": np.concatenate([attrs["status"][row], np.full(n_conn, "repair")]),
            "name": np.concatenate([attrs["name"][row], np.full(n_conn, None, dtype=object)]),
        }
    )
    for col in ("road_class", "status"):
        frame[col] = frame[col].astype(object)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=lines.crs)


def _line_attributes(lines: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    n = len(lines)

    def col(name: str, default: Any) -> np.ndarray:
        if name in lines.columns:
            return lines[name].to_numpy()
        return np.full(n, default, dtype=object)

    name = col("name", None).astype(object)
    name[pd.isna(name)] = None
    return {
        "speed_kmh": np.asarray(col("speed_kmh", 30.0), dtype=np.float64),
        "oneway": np.asarray(col("oneway", False), dtype=bool),
        "road_class": col("road_class", "road").astype(str).astype(object),
        "status": col("status", "unknown").astype(str).astype(object),
        "name": name,
    }


def _sorted(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    wkb = shapely.to_wkb(np.asarray(edges.geometry.array, dtype=object), hex=True)
    key = edges.assign(_wkb=wkb, _name=edges["name"].fillna("").astype(str))
    key = key.sort_values(
        [
            "u",
            "v",
            "edge_kind",
            "road_class",
            "length_m",
            "status",
            "speed_kmh",
            "oneway",
            "_name",
            "_wkb",
        ],
        kind="mergesort",
    )
    out = edges.loc[key.index].reset_index(drop=True)
    # Columns beyond the contract (e.g. ``repair_id`` of geo.road_repairs) follow it.
    extra = [c for c in out.columns if c not in (*EDGE_COLUMNS, "geometry")]
    return out[[*EDGE_COLUMNS, *extra, "geometry"]]


def label_components(
    edges: gpd.GeoDataFrame, n_nodes: int, *, n_components_listed: int = 20
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Rank connected components (undirected) by length and describe them.

    Parameters
    ----------
    edges
        Edges with ``u``, ``v``, ``length_m``, ``edge_kind`` and geometry in a metric CRS.
    n_nodes
        Number of nodes (ids 0..n_nodes-1).
    n_components_listed
        How many of the largest components to describe.

    Returns
    -------
    (edges, report)
        A sorted copy of ``edges`` with a ``component`` column (0 = longest, ties by lowest node
        id) and a report with ``after`` counts, ``road_km``, ``largest_km``, ``largest_share``
        (road length, connectors excluded) and ``components_listed``.
    """
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    n_comp, label = _components(u, v, n_nodes)
    comp_len = np.bincount(label[u], weights=edges["length_m"].to_numpy(), minlength=n_comp)
    first_node = np.full(n_comp, n_nodes)
    np.minimum.at(first_node, label, np.arange(n_nodes))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[np.lexsort((first_node, -comp_len))] = np.arange(n_comp)
    edges = edges.copy()
    edges["component"] = rank[label[u]]
    edges = _sorted(edges)
    road = edges.loc[edges["edge_kind"] == "road"]
    total = float(road["length_m"].sum())
    largest = float(road.loc[road["component"] == 0, "length_m"].sum())
    report = {
        "after": _graph_stats(edges["u"].to_numpy(), edges["v"].to_numpy(), n_nodes),
        # Shares are of road length (connectors excluded), comparable with the input layer.
        "road_km": round(total / 1000.0, 3),
        "largest_km": round(largest / 1000.0, 3),
        "largest_share": round(largest / total, 6) if total > 0 else 0.0,
        "components_listed": _component_table(edges, edges.crs, n_components_listed),
    }
    return edges, report


def _component_table(edges: gpd.GeoDataFrame, crs: Any, n: int) -> list[dict[str, Any]]:
    bounds = shapely.bounds(np.asarray(edges.geometry.array, dtype=object))
    frame = pd.DataFrame(bounds, columns=["minx", "miny", "maxx", "maxy"])
    frame["component"] = edges["component"].to_numpy()
    frame["length_m"] = edges["length_m"].to_numpy()
    g = frame.groupby("component").agg(
        length_m=("length_m", "sum"),
        n_edges=("length_m", "size"),
        minx=("minx", "min"),
        miny=("miny", "min"),
        maxx=("maxx", "max"),
        maxy=("maxy", "max"),
    )
    g = g.sort_index().head(n)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    out = []
    for comp, r in g.iterrows():  # at most n rows: the report table, not a hot path
        ll = to_ll.transform_bounds(r.minx, r.miny, r.maxx, r.maxy)
        out.append(
            {
                "component": int(comp),  # type: ignore[call-overload]
                "length_km": round(float(r.length_m) / 1000.0, 3),
                "n_edges": int(r.n_edges),
                "bbox": [round(float(b), 1) for b in (r.minx, r.miny, r.maxx, r.maxy)],
                "bbox_lonlat": [round(float(b), 5) for b in ll],
            }
        )
    return out


def repair_sensitivity(
    lines: gpd.GeoDataFrame,
    *,
    tolerances_m: tuple[float, ...] = (0, 25, 50, 100, 250, 500),
    split_crossings: bool = True,
    node_preference_m: float = 5.0,
) -> pd.DataFrame:
    """How the repaired network changes with the snapping tolerance.

    Parameters
    ----------
    lines
        As for :func:`repair_topology` (metric CRS).
    tolerances_m
        Snap tolerances to try, metres.
    split_crossings, node_preference_m
        As for :func:`repair_topology`.

    Returns
    -------
    pandas.DataFrame
        One row per tolerance: ``tolerance_m``, ``components``, ``largest_share`` (of length),
        ``largest_km``, ``connectors``, ``km_joined``.
    """
    rows = []
    for tol in tolerances_m:  # a handful of full repairs, each vectorised
        rep = repair_topology(
            lines,
            snap_tolerance_m=float(tol),
            split_crossings=split_crossings,
            node_preference_m=node_preference_m,
            n_components_listed=1,
        ).report
        rows.append(
            {
                "tolerance_m": float(tol),
                "components": rep["after"]["components"],
                "largest_share": rep["largest_share"],
                "largest_km": rep["components_listed"][0]["length_km"],
                "connectors": rep["connectors_added"],
                "km_joined": rep["connector_km"],
            }
        )
    return pd.DataFrame(rows)
