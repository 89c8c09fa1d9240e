"""Cut edges of a road network at points on them (where repair connectors meet a road)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import ops


def split_edges(
    edges: gpd.GeoDataFrame, node_xy: np.ndarray, cuts: list[tuple[int, shapely.Point]]
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[int]]:
    """Cut edges at points on them; returns the edges, the nodes and the node id of each cut.

    A cut at an edge end returns that end's node; cuts on one edge are applied in order along it.
    """
    node_of_cut = [-1] * len(cuts)
    new_xy: list[tuple[float, float]] = []
    n0 = len(node_xy)
    by_edge: dict[int, list[tuple[float, int]]] = {}
    geoms = np.asarray(edges.geometry.array, dtype=object)
    for k, (e, pt) in enumerate(cuts):  # one per connector end: tens of repairs
        line = geoms[e]
        d = float(line.project(pt))
        if d <= 0.5:
            node_of_cut[k] = int(edges["u"].iat[e])
        elif d >= line.length - 0.5:
            node_of_cut[k] = int(edges["v"].iat[e])
        else:
            by_edge.setdefault(e, []).append((d, k))
    drop, pieces = [], []
    for e, cut in by_edge.items():
        line = geoms[e]
        row = edges.iloc[e]
        stops = sorted(set(d for d, _ in cut))
        ids = []
        for d in stops:
            p = line.interpolate(d)
            new_xy.append((p.x, p.y))
            ids.append(n0 + len(new_xy) - 1)
        for d, k in cut:
            node_of_cut[k] = ids[stops.index(d)]
        ends = [0.0, *stops, float(line.length)]
        nodes = [int(row["u"]), *ids, int(row["v"])]
        for a, b, na, nb in zip(ends[:-1], ends[1:], nodes[:-1], nodes[1:], strict=True):
            piece = row.copy()
            piece["geometry"] = ops.substring(line, a, b)
            piece["u"], piece["v"], piece["length_m"] = na, nb, b - a
            pieces.append(piece)
        drop.append(e)
    if drop:
        kept = edges.drop(index=edges.index[drop])
        edges = gpd.GeoDataFrame(
            pd.concat([kept, gpd.GeoDataFrame(pieces, crs=edges.crs)], ignore_index=True),
            crs=edges.crs,
        )
    if new_xy:
        node_xy = np.vstack([node_xy, np.asarray(new_xy)])
    return edges, node_xy, node_of_cut
