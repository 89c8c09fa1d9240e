"""One-way roads whose way back is a long detour: the opposite carriageway that the generalised
layer lost (used by :func:`geo.road_repairs.repair_network`; METHOD.md, "Road network").

A divided road is drawn in OSM as two one-way carriageways; a town's one-way couplet as two
one-way streets. The generalised layers keep one of the pair where the other is tagged or
drawn differently (QL.27 through Tân Sơn, Ninh Thuận: the southbound street is in the trunk layer,
the northbound one is not), or they have no U-turn openings or cross streets between the
carriageways for kilometres. Routes in the other direction then take a long detour, which the
dead-end rule (largest strongly connected component) does not see, since the detour exists.

Rule: a one-way road edge of the main network, not of an expressway or a ramp (their
carriageways are joined only at interchanges, kilometres apart, and that detour is real),
whose shortest way back (from its end to its start, over the directed network) is more than
``detour_m`` longer than the edge itself, is made two-way. In a complete network the way back
runs within a block or two, over the other carriageway, a U-turn opening or a parallel street.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

KIND_ONEWAY_DETOUR = "oneway_detour"
DETOUR_M = 5000.0  # the same detour as the missing links' (geo.road_links)
# carriageways joined only at interchanges: their way back is a real detour
SEPARATED_CLASSES = ("expressway", "motorway")


def _is_link(cls: np.ndarray) -> np.ndarray:
    return np.char.endswith(cls.astype(str), "_link")


def long_way_back(
    edges: gpd.GeoDataFrame, n_nodes: int, *, detour_m: float = DETOUR_M, chunk: int = 256
) -> np.ndarray:
    """Indices of the one-way road edges of component 0 (not expressways or ramps) whose way
    back over the directed network is more than ``detour_m`` longer than the edge."""
    if detour_m <= 0 or len(edges) == 0:
        return np.zeros(0, np.int64)
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    length = edges["length_m"].to_numpy(np.float64)
    ow = edges["oneway"].to_numpy(bool)
    cls = edges["road_class"].astype(str).to_numpy()
    cand = np.flatnonzero(
        ow
        & (edges["component"].to_numpy() == 0)
        & (edges["edge_kind"].to_numpy() == "road")
        & ~np.isin(cls, SEPARATED_CLASSES)
        & ~_is_link(cls)
    )
    if cand.size == 0:
        return cand
    rows = np.concatenate([u, v[~ow]])
    cols = np.concatenate([v, u[~ow]])
    w = np.concatenate([length, length[~ow]]) + 1e-3  # a zero length would read as no edge
    graph = coo_matrix((w, (rows, cols)), shape=(n_nodes, n_nodes)).tocsr()
    back = np.full(cand.size, np.inf)
    src, inv = np.unique(v[cand], return_inverse=True)
    for s0 in range(0, len(src), chunk):  # a few chunks of bounded, vectorised Dijkstra
        k = np.flatnonzero((inv >= s0) & (inv < s0 + chunk))
        limit = float(length[cand[k]].max() + detour_m)
        d = dijkstra(graph, directed=True, indices=src[s0 : s0 + chunk], limit=limit)
        back[k] = d[inv[k] - s0, u[cand[k]]]
    return cand[back > length[cand] + detour_m]


def mend_long_way_back(
    edges: gpd.GeoDataFrame, n_nodes: int, *, detour_m: float = DETOUR_M
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Make two-way the edges of :func:`long_way_back`; one repair row per edge."""
    idx = long_way_back(edges, n_nodes, detour_m=detour_m)
    geoms = np.asarray(edges.geometry.array, dtype=object)
    km = detour_m / 1000.0
    repairs = [
        {
            "kind": KIND_ONEWAY_DETOUR,
            "edge": int(e),
            "component_km": round(float(edges["length_m"].iat[e]) / 1000.0, 3),
            "geometry": geoms[e],
            "length_m": float(edges["length_m"].iat[e]),
            "note": f"one-way {edges['road_class'].iat[e]} edge whose way back is over "
            f"{km:g} km longer, made two-way",
        }
        for e in idx
    ]
    if len(idx):
        edges = edges.copy()
        edges.loc[edges.index[idx], "oneway"] = False
    return edges, repairs
