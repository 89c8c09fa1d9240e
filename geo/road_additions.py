"""Road pieces restored where the generalised trunk layer lost them (issue 15, item 3).

The OSM trunk layer of the mirror (``roads_trunk_osm.gpkg``, PROVENANCE.md) was clipped to a
generalised national polygon: where an expressway or national highway crosses an estuary, a bay
or a river mouth that the polygon leaves out, the bridge is cut away (1,550 ways were clipped;
the gaps measured there run from ~100 m to over 1 km). The road is then split into pieces that
the topology repair (snap tolerance 100 m) does not rejoin, and routes take long detours: the
Vân Đồn – Móng Cái expressway (opened 1 Sep 2022) was cut at the Tiên Yên / Đầm Hà estuaries,
Hạ Long – Hải Phòng at the Bạch Đằng bridge.

:func:`clip_gap_links` restores such a crossing as a straight line between the two cut ends:
both ends belong to lines flagged ``clipped_at_boundary`` by the mirror, carry the same ``ref``
(the same road), are open (the layer's open statuses), dangle (no other line within the snap
tolerance), lie at most ``max_gap_m`` apart, and the link continues both lines (the angle
between each line's direction at its end and the link is under ``max_turn_deg``, so the two
carriageways of one dual road are never joined across). The link carries the road's own
attributes (class, ref, name, highway, maxspeed), so it is routed at the road's speed. Every
link is listed (``road_additions`` in the network report) with its length and road.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

CLIPPED_FIELD = "clipped_at_boundary"
SOURCES = {
    "clip gap": "roads_trunk_osm.gpkg: a line clipped_at_boundary (the generalised coastline cut "
    "the crossing; mirror PROVENANCE.md) and the same road's next line facing it",
    "same-road gap": "roads_national_odv.gpkg: two parts of one named road facing each other "
    "across a gap wider than the snap tolerance",
}
SAME_ROAD_MAX_GAP_M = 1500.0
MAX_GAP_M = 3000.0
MAX_TURN_DEG = 50.0
DANGLE_M = 15.0  # an end with another line this close continues (junction gaps: p90 15 m)
MIN_GAP_M = 20.0  # shorter gaps: junction offsets of the generalisation, snapped by the repair
PROBE_M = 40.0
CLOSED_NEAR_M = 30.0


def _ends(geom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First and last point of each line, and the unit direction pointing out of the line there."""
    first = np.array([np.asarray(g.coords[0]) for g in geom])
    second = np.array([np.asarray(g.coords[1]) for g in geom])
    last = np.array([np.asarray(g.coords[-1]) for g in geom])
    before = np.array([np.asarray(g.coords[-2]) for g in geom])

    def unit(v: np.ndarray) -> np.ndarray:
        n = np.hypot(v[:, 0], v[:, 1])
        return v / np.where(n > 0, n, 1.0)[:, None]

    return first, unit(first - second), last, unit(last - before)


def _open_lines(gdf: gpd.GeoDataFrame, status_field: str | None, open_statuses: Any) -> np.ndarray:
    ok = np.ones(len(gdf), bool)
    if status_field and status_field in gdf.columns and open_statuses is not None:
        ok &= gdf[status_field].fillna("").astype(str).isin(list(open_statuses)).to_numpy()
    return ok


def clip_gap_links(  # noqa: PLR0913 (keyword options of a network repair)
    gdf: gpd.GeoDataFrame,
    *,
    metric_crs: str,
    status_field: str | None = "status",
    open_statuses: Any = ("unknown",),
    ref_field: str = "ref",
    max_gap_m: float = MAX_GAP_M,
    max_turn_deg: float = MAX_TURN_DEG,
    dangle_m: float = DANGLE_M,
    require_clipped: bool = True,
    kind: str = "clip gap",
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Lines that rejoin the clipped ends of one road (see the module docstring).

    ``require_clipped=False`` (a layer without the flag, e.g. the ODV national layer, whose
    multi-part roads have gaps between their parts): any two open ends of the same ``ref_field``
    value that face each other are joined (``kind`` names the record).

    Returns the new lines (the columns of ``gdf``, in its CRS, plus ``addition`` = "clip gap")
    and one record per line: ref, name, road_class, gap_m, lon/lat of both ends, the two source
    rows (0-based). Empty when ``gdf`` has no ``clipped_at_boundary`` or ``ref`` column."""
    empty = gdf.iloc[0:0].assign(addition=pd.Series(dtype=object))
    if ref_field not in gdf.columns or len(gdf) == 0:
        return empty, []
    if require_clipped and CLIPPED_FIELD not in gdf.columns:
        return empty, []
    metric = gdf.geometry.to_crs(metric_crs)
    is_open = _open_lines(gdf, status_field, open_statuses)
    rows = np.flatnonzero(
        (shapely.get_type_id(metric.to_numpy()) == 1) & is_open & gdf[ref_field].notna().to_numpy()
    )
    if rows.size < 2:
        return empty, []
    first, dfirst, last, dlast = _ends(metric.to_numpy()[rows])
    pts = np.concatenate([first, last])
    outward = np.concatenate([dfirst, dlast])
    owner = np.concatenate([rows, rows])
    ref = gdf[ref_field].astype(str).to_numpy()[owner]
    clipped = (
        gdf[CLIPPED_FIELD].fillna(False).astype(bool).to_numpy()[owner]
        if require_clipped
        else np.ones(len(owner), bool)
    )
    # An end is open when no other line runs on ahead of it: nothing within dangle_m of the
    # point PROBE_M beyond the end (the other carriageway of a dual road ends beside it and
    # runs back, so it does not count; a continuation or a road met there does).
    open_rows = np.flatnonzero(is_open)
    tree = shapely.STRtree(metric.to_numpy()[open_rows])
    probe = shapely.points(pts + outward * PROBE_M)
    pi, lj = tree.query(probe, predicate="dwithin", distance=dangle_m)
    other = open_rows[lj] != owner[pi]
    dangling = np.bincount(pi[other], minlength=len(pts)) == 0
    cand = np.flatnonzero(dangling)
    pairs_ij = cKDTree(pts[cand]).query_pairs(max_gap_m, output_type="ndarray")
    i, j = cand[pairs_ij[:, 0]], cand[pairs_ij[:, 1]]
    flow = _flow(gdf, owner, is_last=np.arange(len(pts)) >= len(rows))
    keep = (ref[i] == ref[j]) & (owner[i] != owner[j]) & (clipped[i] | clipped[j])
    # one-way carriageways: a link goes from where traffic leaves a line to where it enters one
    keep &= flow[i] * flow[j] <= 0
    i, j = i[keep], j[keep]
    gap = pts[j] - pts[i]
    dist = np.hypot(gap[:, 0], gap[:, 1])
    unit = gap / np.where(dist > 0, dist, 1.0)[:, None]
    cos_max = np.cos(np.radians(max_turn_deg))
    facing = (np.einsum("ij,ij->i", outward[i], unit) >= cos_max) & (
        np.einsum("ij,ij->i", outward[j], -unit) >= cos_max
    )
    keep = facing & (dist > MIN_GAP_M)
    i, j, dist = i[keep], j[keep], dist[keep]
    # mutual nearest: each end keeps its closest partner
    best: dict[int, tuple[float, int]] = {}
    for a, b, d in zip(i.tolist(), j.tolist(), dist.tolist(), strict=True):
        for x, y in ((a, b), (b, a)):
            if x not in best or d < best[x][0]:
                best[x] = (d, y)
    pairs = sorted({(min(a, b), max(a, b)) for a, (_, b) in best.items() if best[b][1] == a})
    # a gap along which the layer has a road not open (under construction, planned) is that
    # road's missing section, not a cut crossing
    closed = metric.to_numpy()[~is_open]
    if pairs and len(closed):
        mid = shapely.points([(pts[a] + pts[b]) / 2 for a, b in pairs])
        hit = shapely.STRtree(closed).query(mid, predicate="dwithin", distance=CLOSED_NEAR_M)[0]
        pairs = [p for k, p in enumerate(pairs) if k not in set(hit.tolist())]
    pairs, oneway = _orient(pairs, flow)
    return _link_frame(gdf, metric_crs, pts, owner, pairs, kind, ref_field, oneway)


def _flow(gdf: gpd.GeoDataFrame, owner: np.ndarray, is_last: np.ndarray) -> np.ndarray:
    """Per line end: +1 where traffic leaves a one-way line (its last point; its first with
    ``oneway=-1``), -1 where it enters one, 0 on a two-way line (or a layer without ``oneway``)."""
    if "oneway" not in gdf.columns:
        return np.zeros(len(owner), np.int64)
    from geo.road_speeds import oneway_from_tags

    highway = gdf["highway"].to_numpy() if "highway" in gdf.columns else None
    ow, rev = oneway_from_tags(gdf["oneway"].to_numpy(), highway, len(gdf))
    return np.where(ow[owner], np.where(is_last ^ rev[owner], 1, -1), 0).astype(np.int64)


def _orient(
    pairs: list[tuple[int, int]], flow: np.ndarray
) -> tuple[list[tuple[int, int]], list[bool | None]]:
    """Each link drawn in the direction of travel of the one-way line(s) it joins: from the end
    where traffic leaves a line to the end where it enters the next. Per link: True (one-way, in
    the drawn direction) or None (neither line is one-way: the copied attributes stand)."""
    out: list[tuple[int, int]] = []
    oneway: list[bool | None] = []
    for a, b in pairs:
        fa, fb = int(flow[a]), int(flow[b])
        if fa == 0 and fb == 0:
            out.append((a, b))
            oneway.append(None)
        else:  # pairs whose ends both leave (or both enter) a line were not formed
            out.append((a, b) if fa > 0 or fb < 0 else (b, a))
            oneway.append(True)
    return out, oneway


def _link_frame(
    gdf: gpd.GeoDataFrame,
    metric_crs: str,
    pts: np.ndarray,
    owner: np.ndarray,
    pairs: list[tuple[int, int]],
    kind: str,
    ref_field: str,
    oneway: list[bool | None] | None = None,
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    if not pairs:
        return gdf.iloc[0:0].assign(addition=pd.Series(dtype=object)), []
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    metric_lines = shapely.linestrings(np.stack([pts[a], pts[b]], axis=1))
    geo = gpd.GeoSeries(metric_lines, crs=metric_crs).to_crs(gdf.crs)
    out = gdf.iloc[owner[a]].copy().reset_index(drop=True)
    out = out.set_geometry(geo.to_numpy()).assign(addition=kind)
    if oneway is not None and "oneway" in out.columns:
        for n, flag in enumerate(oneway):  # drawn in the direction of travel (_orient)
            if flag is not None:
                out.loc[n, "oneway"] = "yes" if flag else "no"
    lonlat = gpd.GeoSeries(shapely.points(np.concatenate([pts[a], pts[b]])), crs=metric_crs)
    ll = shapely.get_coordinates(lonlat.to_crs("EPSG:4326").to_numpy())
    k = len(pairs)
    records = []
    for n in range(k):
        src = gdf.iloc[int(owner[a[n]])]
        records.append(
            {
                "kind": kind,
                "ref": _text(src.get(ref_field)),
                "name": _text(src.get("name", src.get("name_vi"))),
                "road_class": _text(src.get("road_class", src.get("level_en"))),
                "gap_m": round(float(np.hypot(*(pts[b[n]] - pts[a[n]]))), 1),
                "from_lon": round(float(ll[n, 0]), 5),
                "from_lat": round(float(ll[n, 1]), 5),
                "to_lon": round(float(ll[k + n, 0]), 5),
                "to_lat": round(float(ll[k + n, 1]), 5),
                "source_rows": [int(owner[a[n]]), int(owner[b[n]])],
                "source": SOURCES.get(kind, kind),
            }
        )
    return out, records


def _text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


EXPRESSWAY_CLASSES = ("expressway", "motorway")
TERMINUS_RADIUS_M = 3000.0
TERMINUS_DETOUR_M = 5000.0


def expressway_termini(
    network: Any, *, connector_speed_kmh: float
) -> tuple[Any, list[dict[str, Any]]]:
    """Join each dead end of an expressway to the nearest other road it reaches only by a detour.

    An expressway ends at an interchange with another road. In the generalised layers the
    local road that carries the last kilometres (e.g. the Lộ Tẻ – Rạch Sỏi expressway's end at
    Rạch Sỏi, 1.8 km from QL.61 / QL.80) is often not a national road and is missing, so the
    expressway stops in the fields and routes return along it. A road end (one road edge) on an
    expressway-class edge of the main network whose nearest non-expressway road of the main
    network lies within ``TERMINUS_RADIUS_M`` but more than ``TERMINUS_DETOUR_M`` away over
    the network gets a two-way connector to it (at the connector speed: the local road's class
    is not known). Returns the network and one record per connector."""
    from geo.road_links import add_links, farther_than

    edges, node_xy = network.edges.reset_index(drop=True), network.node_xy
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    main = edges["component"].to_numpy() == 0
    road = main & (edges["edge_kind"].to_numpy() == "road")
    xway = np.isin(edges["road_class"].astype(str).to_numpy(), EXPRESSWAY_CLASSES)
    n = len(node_xy)
    deg = np.bincount(np.concatenate([u[road], v[road]]), minlength=n)
    on_xway = np.zeros(n, bool)
    on_xway[u[road & xway]] = True
    on_xway[v[road & xway]] = True
    ends = np.flatnonzero((deg == 1) & on_xway)
    target = np.flatnonzero(road & ~xway)
    if ends.size == 0 or target.size == 0:
        return network, []
    geoms = np.asarray(edges.geometry.array, dtype=object)
    pts = shapely.points(node_xy[ends])
    tree = shapely.STRtree(geoms[target])
    pi, tj = tree.query_nearest(pts, max_distance=TERMINUS_RADIUS_M, all_matches=False)
    node, ej = ends[pi], target[tj]
    far = farther_than(
        u[main], v[main], edges["length_m"].to_numpy()[main], n, node, ej, u, v, TERMINUS_DETOUR_M
    )
    node, ej = node[far], ej[far]
    links = []
    for a, e in zip(node, ej, strict=True):
        p = shapely.Point(node_xy[a])
        b = shapely.get_coordinates(shapely.shortest_line(p, geoms[e]))[1]
        links.append({"node": int(a), "edge": int(e), "b": b, "gap": float(p.distance(geoms[e]))})
    if not links:
        return network, []
    new_edges, new_xy, rows = add_links(
        edges, node_xy, links, connector_speed_kmh=connector_speed_kmh
    )
    ll = gpd.GeoSeries([r["geometry"] for r in rows], crs=network.crs).to_crs("EPSG:4326")
    records = []
    for lk, r, g in zip(links, rows, ll, strict=True):
        xy = shapely.get_coordinates(g)
        records.append(
            {
                "kind": "expressway terminus",
                "ref": None,
                "name": _text(edges["name"].iat[_edge_at(edges, lk["node"], road & xway)]),
                "road_class": "connector",
                "gap_m": round(r["length_m"], 1),
                "from_lon": round(float(xy[0, 0]), 5),
                "from_lat": round(float(xy[0, 1]), 5),
                "to_lon": round(float(xy[-1, 0]), 5),
                "to_lat": round(float(xy[-1, 1]), 5),
                "to_road": _text(edges["name"].iat[lk["edge"]])
                or str(edges["road_class"].iat[lk["edge"]]),
                "source": "an expressway ends at an interchange: the missing local road is "
                "stood for by a connector (geo.road_additions)",
            }
        )
    from geo.topology import label_components

    new_edges = new_edges.drop(columns=["_old_component"], errors="ignore")
    new_edges, comp = label_components(new_edges, len(new_xy))
    report = {**network.report, **comp}
    from dataclasses import replace

    return replace(network, node_xy=new_xy, edges=new_edges, report=report), records


def _edge_at(edges: gpd.GeoDataFrame, node: int, mask: np.ndarray) -> int:
    hit = np.flatnonzero(mask & ((edges["u"].to_numpy() == node) | (edges["v"].to_numpy() == node)))
    return int(hit[0])
