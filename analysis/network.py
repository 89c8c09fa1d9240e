"""Road network to compact arrays: a CSR matrix of travel times, snapping and components.

Everything here is in the region's metric CRS (metres) and seconds. The input is the edge table
of ``geo.roads.RoadNetwork`` (columns ``u``, ``v``, ``length_m``, ``speed_kmh``, ``oneway``,
geometry LineString from u to v) and its ``node_xy`` array.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from analysis.snap import SegmentIndex, build_index, nearest_segments
from geo.errors import NetworkError

log = logging.getLogger(__name__)

MIN_EDGE_TIME_S = 1e-3  # explicit zeros would be dropped by scipy.sparse; clamp to 1 ms


@dataclass(frozen=True)
class Graph:
    """A directed road graph as arrays.

    Attributes
    ----------
    csr
        (n_nodes, n_nodes) travel time in seconds; the minimum over parallel edges.
    node_xy
        (n_nodes, 2) metric coordinates.
    edge_u, edge_v
        Endpoints of every road edge (index into nodes), in the edge table's order.
    edge_len_m, edge_speed_ms
        Length in metres and speed in m/s of every edge (speed factor applied).
    edge_oneway
        True where only u -> v may be travelled.
    edge_geom
        The edge geometries (metric CRS), used for snapping.
    edge_component
        Component rank of every edge on the undirected graph (0 = longest).
    component_length_km
        Total length of each component, by rank.
    """

    csr: sp.csr_matrix
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len_m: np.ndarray
    edge_speed_ms: np.ndarray
    edge_oneway: np.ndarray
    edge_geom: np.ndarray
    edge_component: np.ndarray
    component_length_km: np.ndarray
    crs: str

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])


def graph_from_edges(
    edges: gpd.GeoDataFrame, node_xy: np.ndarray, *, crs: str, speed_factor: float = 1.0
) -> Graph:
    """Build the CSR travel-time graph from an edge table.

    Parameters
    ----------
    edges
        Columns ``u``, ``v``, ``length_m``, ``speed_kmh``, ``oneway`` and a LineString geometry
        in ``crs`` drawn from u to v.
    node_xy
        (n_nodes, 2) node coordinates in ``crs``.
    crs
        The metric CRS of ``edges`` and ``node_xy``.
    speed_factor
        Multiplies every speed (the sensitivity check uses 0.8 and 1.2).

    Returns
    -------
    Graph
    """
    if len(edges) == 0:
        raise NetworkError(
            "the road layer has no usable edges (after filtering by status and geometry)"
        )
    if speed_factor <= 0:
        raise NetworkError(f"speed factor must be > 0, got {speed_factor}")
    n = int(node_xy.shape[0])
    u = edges["u"].to_numpy(np.int64)
    v = edges["v"].to_numpy(np.int64)
    length = edges["length_m"].to_numpy(np.float64)
    speed = edges["speed_kmh"].to_numpy(np.float64) / 3.6 * speed_factor
    oneway = edges["oneway"].to_numpy(bool)
    t = np.maximum(length / speed, MIN_EDGE_TIME_S)
    rows = np.concatenate([u, v[~oneway]])
    cols = np.concatenate([v, u[~oneway]])
    w = np.concatenate([t, t[~oneway]])
    keep = rows != cols
    rows, cols, w = rows[keep], cols[keep], w[keep]
    # minimum over parallel edges: sort by (row, col, w) and keep the first of each pair
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.ones(rows.size, bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    csr = sp.csr_matrix((w[first], (rows[first], cols[first])), shape=(n, n))
    csr.sort_indices()

    undirected = sp.csr_matrix((np.ones(u.size), (u, v)), shape=(n, n))
    _, node_label = connected_components(undirected, directed=False)
    edge_label = node_label[u]
    comp_len = np.bincount(edge_label, weights=length, minlength=node_label.max() + 1)
    # rank components by length (ties by label for determinism)
    rank_of_label = np.empty_like(comp_len, dtype=np.int64)
    order_c = np.lexsort((np.arange(comp_len.size), -comp_len))
    rank_of_label[order_c] = np.arange(comp_len.size)
    return Graph(
        csr=csr,
        node_xy=np.asarray(node_xy, dtype=np.float64),
        edge_u=u,
        edge_v=v,
        edge_len_m=length,
        edge_speed_ms=speed,
        edge_oneway=oneway,
        edge_geom=np.asarray(edges.geometry.values, dtype=object),
        edge_component=rank_of_label[edge_label],
        component_length_km=comp_len[order_c] / 1000.0,
        crs=crs,
    )


@dataclass(frozen=True)
class Snap:
    """Where points meet the network.

    ``edge`` is -1 for points with no eligible edge within the maximum distance. ``along_m``
    is the distance from the edge's u end to the snapped point along the edge. ``edge`` and
    ``component`` are int32 where the edges count under 2**31 (``snap_points``).
    """

    edge: np.ndarray
    dist_m: np.ndarray
    along_m: np.ndarray
    component: np.ndarray


# The segment grid of the last graph snapped to (a run snaps its cells, then each type's
# facilities, to the same graph with the same eligibility): one entry, dropped with its graph.
_SEGMENT_INDEX: list[tuple[weakref.ref[Graph], float, SegmentIndex]] = []


def _segment_index(graph: Graph, min_component_km: float) -> SegmentIndex:
    """The eligible edges' segment grid, built once per graph and ``min_component_km``."""
    for ref, key, index in list(_SEGMENT_INDEX):
        if ref() is graph and key == min_component_km:
            return index
    eligible = np.flatnonzero(graph.component_length_km[graph.edge_component] >= min_component_km)
    if eligible.size == 0:
        eligible = np.arange(graph.edge_u.size)
    index = build_index(graph.edge_geom[eligible], eligible)

    def forget(dead: weakref.ref[Graph]) -> None:
        _SEGMENT_INDEX[:] = [e for e in _SEGMENT_INDEX if e[0] is not dead]

    _SEGMENT_INDEX[:] = [(weakref.ref(graph, forget), min_component_km, index)]
    return index


def snap_points(
    graph: Graph,
    xy: np.ndarray,
    *,
    min_component_km: float = 0.0,
    max_dist_m: float | None = None,
    threads: int | None = None,
) -> Snap:
    """Snap points to the nearest point of the nearest eligible edge (metric CRS).

    An exact nearest-segment search (``analysis.snap``: the eligible edges' segments in a
    uniform grid, each point searching rings of buckets outward), with GEOS's arithmetic:
    the same edges, distances and positions as shapely's ``STRtree.query_nearest`` and
    ``line_locate_point`` (tests/test_snap.py). Memory is the segment grid (kept for the
    graph's next call while the graph lives) plus the outputs; points go in chunks over
    ``threads`` threads.

    Parameters
    ----------
    graph
        The road graph.
    xy
        (n, 2) point coordinates in the graph's metric CRS.
    min_component_km
        Edges of components shorter than this are not snapped to (slivers left by the road
        layer's broken topology would otherwise capture points and strand them). When no
        component is that long, every edge is eligible.
    max_dist_m
        Points farther than this from every eligible edge get ``edge = -1`` (a point exactly
        this far still snaps).
    threads
        Default: numba's thread count (``NUMBA_NUM_THREADS``, by default the CPUs this process
        may use, as ``analysis.kernel.default_threads``).

    Returns
    -------
    Snap
        Ties between equidistant edges go to the lowest edge index (deterministic).
    """
    if max_dist_m is not None and not max_dist_m > 0:
        raise ValueError(f"max_dist_m must be > 0, got {max_dist_m}")
    xy = np.asarray(xy).reshape(-1, 2)
    index = _segment_index(graph, float(min_component_km))
    edge, dist, along, comp = nearest_segments(
        index,
        xy,
        max_dist_m=np.inf if max_dist_m is None else float(max_dist_m),
        edge_len_m=graph.edge_len_m,
        edge_component=graph.edge_component,
        threads=threads,
    )
    return Snap(edge=edge, dist_m=dist, along_m=along, component=comp)


def component_report(graph: Graph, *, top: int = 10) -> dict[str, object]:
    """Summary of the graph's connectivity (for the report and the manifest)."""
    total = float(graph.component_length_km.sum())
    comps = [
        {
            "rank": int(i),
            "length_km": round(float(km), 1),
            "share_of_length": round(float(km) / total, 4) if total else 0.0,
        }
        for i, km in enumerate(graph.component_length_km[:top])
    ]
    return {
        "nodes": graph.n_nodes,
        "edges": int(graph.edge_u.size),
        "components": int(graph.component_length_km.size),
        "length_km": round(total, 1),
        "largest_share_of_length": round(float(graph.component_length_km[0]) / total, 4)
        if total
        else 0.0,
        "largest_components": comps,
    }
