"""Missing links of a generalised road layer: road ends a short gap away from a road they
reach only by a long detour (a junction lost in generalisation, a gap just wider than the snap
tolerance). Used by :func:`geo.road_repairs.repair_network`; see METHOD.md, "Road network".
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from geo.edge_split import split_edges

KIND_LINK = "missing_link"


SPLIT_OFFSET_M = 0.01  # how far a split crossing's second node lies from the first


def missing_links(
    edges: gpd.GeoDataFrame, node_xy: np.ndarray, *, radius_m: float, detour_m: float
) -> list[dict[str, Any]]:
    """Line ends of the main network within ``radius_m`` of a road they reach only by a detour.

    A road end (one road edge; gap connectors not counted) whose nearest point on another edge of component 0 is at
    most ``radius_m`` away while both ends of that edge are more than ``detour_m`` away over the
    network: the link between them (a junction lost in generalisation, a gap wider than the snap
    tolerance) is missing. One connector per end, the closest; pairs already joined are skipped.
    """
    if radius_m <= 0 or len(edges) == 0:
        return []
    main = edges["component"].to_numpy() == 0
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    n = len(node_xy)
    # Road ends: one road edge (the short gap joins of geo.topology, e.g. between the two
    # carriageways of a dual road that stops short, do not count).
    road = main & (edges["edge_kind"].to_numpy() == "road")
    deg = np.bincount(np.concatenate([u[road], v[road]]), minlength=n)
    ends = np.flatnonzero(deg == 1)
    geoms = np.asarray(edges.geometry.array, dtype=object)
    idx = np.flatnonzero(main)
    pi, ej = shapely.STRtree(geoms[idx]).query(
        shapely.points(node_xy[ends]), predicate="dwithin", distance=radius_m
    )
    ej = idx[ej]
    node = ends[pi]
    ok = (u[ej] != node) & (v[ej] != node)
    node, ej = node[ok], ej[ok]
    if len(node) == 0:
        return []
    far = farther_than(
        u[main], v[main], edges["length_m"].to_numpy()[main], n, node, ej, u, v, detour_m
    )
    node, ej = node[far], ej[far]
    pts = shapely.points(node_xy[node])
    gap = shapely.distance(pts, geoms[ej])
    order = np.lexsort((ej, node, gap))
    out: list[dict[str, Any]] = []
    used: set[int] = set()
    for k in order:  # candidates after the filters: a few dozen
        a = int(node[k])
        if a in used or int(u[ej[k]]) in used or int(v[ej[k]]) in used:
            continue
        used |= {a, int(u[ej[k]]), int(v[ej[k]])}
        b = shapely.get_coordinates(shapely.shortest_line(pts[k], geoms[ej[k]]))[1]
        out.append({"node": a, "edge": int(ej[k]), "b": b, "gap": float(gap[k])})
    return out


def farther_than(  # noqa: PLR0913 (keyword options of a network repair)
    gu: np.ndarray,
    gv: np.ndarray,
    w: np.ndarray,
    n: int,
    node: np.ndarray,
    ej: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    limit: float,
    chunk: int = 256,
) -> np.ndarray:
    """Per (node, edge) pair: both ends of the edge farther than ``limit`` over the network.

    Bounded Dijkstra (scipy, undirected) from the distinct nodes, a chunk of sources at a time so
    that the dense distance rows stay small.
    """
    graph = coo_matrix((w, (gu, gv)), shape=(n, n)).tocsr()
    src, inv = np.unique(node, return_inverse=True)
    far = np.zeros(len(node), bool)
    for s0 in range(0, len(src), chunk):  # a few chunks of vectorised Dijkstra
        rows = np.flatnonzero((inv >= s0) & (inv < s0 + chunk))
        d = dijkstra(graph, directed=False, indices=src[s0 : s0 + chunk], limit=limit)
        r = inv[rows] - s0
        far[rows] = ~np.isfinite(d[r, u[ej[rows]]]) & ~np.isfinite(d[r, v[ej[rows]]])
    return far


def add_links(
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    links: list[dict[str, Any]],
    *,
    connector_speed_kmh: float,
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict[str, Any]]]:
    """Add the connectors of :func:`missing_links` (target edges cut where they are met)."""
    cuts = [(lk["edge"], shapely.Point(lk["b"])) for lk in links]
    edges, node_xy, node_of_cut = split_edges(edges, node_xy, cuts)
    rows, repairs = [], []
    for lk, nb in zip(links, node_of_cut, strict=True):
        line = shapely.LineString([node_xy[lk["node"]], node_xy[nb]])
        rows.append(
            {
                "u": lk["node"],
                "v": nb,
                "length_m": max(float(line.length), 0.01),
                "speed_kmh": float(connector_speed_kmh),
                "oneway": False,
                "road_class": "connector",
                "edge_kind": "connector",
                "status": "repair",
                "name": None,
                "component": 0,
                "_old_component": -1,
                "geometry": line,
            }
        )
        repairs.append(
            {
                "kind": KIND_LINK,
                "component": -1,
                "component_km": 0.0,
                "geometry": line,
                "length_m": float(line.length),
                "note": f"line end {line.length:.0f} m from a road it reached only by a detour",
            }
        )
    if rows:
        edges = gpd.GeoDataFrame(
            pd.concat([edges, gpd.GeoDataFrame(rows, crs=edges.crs)], ignore_index=True),
            crs=edges.crs,
        )
    return edges, node_xy, repairs


KIND_NO_JUNCTION = "no_junction"


def split_false_junctions(
    edges: gpd.GeoDataFrame, node_xy: np.ndarray, items: list[dict[str, Any]], *, crs: str
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict[str, Any]]]:
    """Undo junctions that a line layer's crossings made where one road passes over another.

    A plain line layer does not say which crossings are bridges (:mod:`geo.topology` joins every
    crossing). For each configured item (``at`` = [lon, lat], ``radius_m``, ``over_class``,
    ``name``, ``source``), every node within the radius where an edge of ``over_class`` meets
    an edge of another class is split: the ``over_class`` edges move to a new node at the same
    place, so the road passing over no longer connects there. One repair row per item.
    """
    from pyproj import Transformer

    if not items:
        return edges, node_xy, []
    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    edges = edges.reset_index(drop=True).copy()
    u, v = edges["u"].to_numpy().copy(), edges["v"].to_numpy().copy()
    cls = edges["road_class"].to_numpy(object)
    kind = edges["edge_kind"].to_numpy(object)
    geoms = np.asarray(edges.geometry.array, dtype=object)
    new_xy: list[np.ndarray] = []
    rows: list[dict[str, Any]] = []
    for it in items:  # a handful of configured crossings
        x, y = to_m.transform(float(it["at"][0]), float(it["at"][1]))
        d = np.hypot(node_xy[:, 0] - x, node_xy[:, 1] - y)
        near = np.flatnonzero(d <= float(it.get("radius_m", 300.0)))
        over = cls == it.get("over_class", "expressway")
        split, moved = 0, []
        for nd in near:
            at = (u == nd) | (v == nd)
            if not (at & over).any() or not (at & ~over & (kind != "ferry")).any():
                continue
            nid = len(node_xy) + len(new_xy)
            # 1 cm apart: distinct positions, so a GIS that nodes lines by position (QGIS's
            # service area) does not merge the two nodes back into the junction
            new = node_xy[nd] + np.array([0.0, SPLIT_OFFSET_M])
            new_xy.append(new)
            for e in np.flatnonzero(at & over):
                u[e] = nid if u[e] == nd else u[e]
                v[e] = nid if v[e] == nd else v[e]
                xy = shapely.get_coordinates(geoms[e])
                if u[e] == nid:
                    xy[0] = new
                if v[e] == nid:
                    xy[-1] = new
                geoms[e] = shapely.linestrings(xy)
                moved.append(e)
            split += 1
        if split:
            line = shapely.line_merge(shapely.union_all(geoms[sorted(set(moved))]))
            rows.append(
                {
                    "kind": KIND_NO_JUNCTION,
                    "component": -1,
                    "component_km": 0.0,
                    "geometry": line if line.geom_type == "LineString" else geoms[moved[0]],
                    "length_m": 0.0,
                    "note": (
                        f"{it['name']}: the {it.get('over_class', 'expressway')} passes over without "
                        f"a junction; {split} crossing node(s) split (source: {it['source']})"
                    ),
                }
            )
    edges["u"], edges["v"] = u, v
    if new_xy:
        edges[edges.geometry.name] = gpd.GeoSeries(geoms, index=edges.index, crs=edges.crs)
        node_xy = np.vstack([node_xy, np.asarray(new_xy)])
    return edges, node_xy, rows
