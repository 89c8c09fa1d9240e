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

Steps 1-2 live in :mod:`geo.topology_segments`, step 3 in :mod:`geo.topology_gaps`, the edges
of step 4 in :mod:`geo.topology_edges`; this module puts them together.
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

from geo.errors import NetworkError
from geo.topology_edges import edges_frame, sorted_edges
from geo.topology_gaps import Gaps, join_gaps
from geo.topology_segments import (
    Segments,
    apply_splits,
    components,
    crossing_splits,
    node_ids,
    segments_from_parts,
)

logger = logging.getLogger(__name__)

QUANTUM_M = 0.01
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
        GeoDataFrame with the columns of ``geo.topology_edges.EDGE_COLUMNS`` and a LineString from u to v.
    report
        JSON-serialisable counts, see :func:`repair_topology`.
    """

    node_xy: np.ndarray
    edges: gpd.GeoDataFrame
    report: dict[str, Any]


def _runs(seg: Segments, u: np.ndarray, v: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Run id per segment: a run follows one part and stops at nodes of degree other than 2."""
    start = np.ones(len(u), dtype=bool)
    start[1:] = (seg.part[1:] != seg.part[:-1]) | (u[1:] != v[:-1]) | (deg[u[1:]] != 2)
    return np.cumsum(start) - 1


def _graph_stats(u: np.ndarray, v: np.ndarray, n_nodes: int) -> dict[str, int]:
    """Counts of a graph given by its (contracted) edges; isolated node ids are ignored."""
    used, compact = np.unique(np.concatenate([u, v]), return_inverse=True)
    deg = np.bincount(compact, minlength=len(used))
    n_comp, _ = components(compact[: len(u)], compact[len(u) :], len(used))
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
    parts, part_row, seg = _segments(lines, quantum_m)
    report: dict[str, Any] = {
        "snap_tolerance_m": float(snap_tolerance_m),
        "quantum_m": float(quantum_m),
        "input_lines": len(lines),
        "input_parts": len(parts),
        "grade_separation": GRADE_NOTE
        if split_crossings
        else "crossings without a vertex kept apart",
    }

    node_xy, u, v, report["before"] = _before(seg, quantum_m)

    if split_crossings:
        s_seg, s_xy, n_cross, n_collinear = crossing_splits(seg, quantum_m)
        seg = apply_splits(seg, s_seg, s_xy)
        node_xy, inv = node_ids(np.concatenate([seg.p0, seg.p1]), quantum_m)
        u, v = inv[: len(seg.part)], inv[len(seg.part) :]
    else:
        n_cross = n_collinear = 0
    report["crossings_split"] = n_cross
    report["collinear_overlaps"] = n_collinear

    gaps = join_gaps(
        seg,
        u,
        v,
        node_xy,
        tol=snap_tolerance_m,
        node_preference_m=node_preference_m,
        quantum=quantum_m,
    )
    node_xy, edges = _edges(lines, seg, part_row, gaps, quantum_m, connector_speed_kmh)

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


def _segments(lines: gpd.GeoDataFrame, quantum_m: float) -> tuple[np.ndarray, np.ndarray, Segments]:
    """The line parts of a metric layer, the input row of each, and their segments."""
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
    seg = segments_from_parts(parts, quantum_m)
    if len(seg.part) == 0:
        raise NetworkError("no road line with a length is left to build a network from")
    return parts, part_row, seg


def _before(
    seg: Segments, quantum_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Nodes and segment ends of the layer as given, and the counts of its graph before repair."""
    node_xy, inv = node_ids(np.concatenate([seg.p0, seg.p1]), quantum_m)
    u, v = inv[: len(seg.part)], inv[len(seg.part) :]
    deg = np.bincount(inv, minlength=len(node_xy))
    run = _runs(seg, u, v, deg)
    first = np.searchsorted(run, np.arange(run[-1] + 1))
    last = np.append(first[1:], len(run)) - 1
    stats = _graph_stats(u[first], v[last], len(node_xy))
    stats["vertices"] = len(node_xy)
    return node_xy, u, v, stats


def _edges(
    lines: gpd.GeoDataFrame,
    seg: Segments,
    part_row: np.ndarray,
    gaps: Gaps,
    quantum_m: float,
    connector_speed_kmh: float,
) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """The repaired graph's nodes and edges: segments cut at the joins, runs contracted,
    connectors added, nodes renumbered."""
    seg = apply_splits(seg, gaps.seg_split, gaps.xy_split)
    n_road = len(seg.part)
    node_xy, inv = node_ids(np.concatenate([seg.p0, gaps.conn_a, seg.p1, gaps.conn_b]), quantum_m)
    n_all = n_road + len(gaps.conn_a)
    su, sv = inv[:n_all], inv[n_all:]
    deg = np.bincount(inv, minlength=len(node_xy))
    run = _runs(seg, su[:n_road], sv[:n_road], deg)
    edges = edges_frame(lines, seg, part_row, run, su, sv, node_xy, gaps, connector_speed_kmh)
    # Vertices inside contracted runs are not graph nodes: renumber (order kept, so ids stay sorted).
    used, compact = np.unique(np.concatenate([edges["u"], edges["v"]]), return_inverse=True)
    node_xy = node_xy[used]
    edges["u"], edges["v"] = compact[: len(edges)], compact[len(edges) :]

    return node_xy, edges


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
    n_comp, label = components(u, v, n_nodes)
    comp_len = np.bincount(label[u], weights=edges["length_m"].to_numpy(), minlength=n_comp)
    first_node = np.full(n_comp, n_nodes)
    np.minimum.at(first_node, label, np.arange(n_nodes))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[np.lexsort((first_node, -comp_len))] = np.arange(n_comp)
    edges = edges.copy()
    edges["component"] = rank[label[u]]
    edges = sorted_edges(edges)
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
