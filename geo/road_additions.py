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

CLIPPED_FIELD = "clipped_at_boundary"
MAX_GAP_M = 3000.0
MAX_TURN_DEG = 50.0
DANGLE_M = 15.0  # an end with another line this close continues (junction gaps: p90 15 m)
MIN_GAP_M = 100.0  # shorter gaps are closed by the topology repair's snap


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


def clip_gap_links(
    gdf: gpd.GeoDataFrame,
    *,
    metric_crs: str,
    status_field: str | None = "status",
    open_statuses: Any = ("unknown",),
    ref_field: str = "ref",
    max_gap_m: float = MAX_GAP_M,
    max_turn_deg: float = MAX_TURN_DEG,
    dangle_m: float = DANGLE_M,
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Lines that rejoin the clipped ends of one road (see the module docstring).

    Returns the new lines (the columns of ``gdf``, in its CRS, plus ``addition`` = "clip gap")
    and one record per line: ref, name, road_class, gap_m, lon/lat of both ends, the two source
    rows (0-based). Empty when ``gdf`` has no ``clipped_at_boundary`` or ``ref`` column."""
    empty = gdf.iloc[0:0].assign(addition=pd.Series(dtype=object))
    if CLIPPED_FIELD not in gdf.columns or ref_field not in gdf.columns or len(gdf) == 0:
        return empty, []
    metric = gdf.geometry.to_crs(metric_crs)
    single = shapely.get_type_id(metric.to_numpy()) == 1
    ok = (
        single
        & _open_lines(gdf, status_field, open_statuses)
        & gdf[CLIPPED_FIELD].fillna(False).astype(bool).to_numpy()
        & gdf[ref_field].notna().to_numpy()
    )
    rows = np.flatnonzero(ok)
    if rows.size < 2:
        return empty, []
    geom = metric.to_numpy()[rows]
    first, dfirst, last, dlast = _ends(geom)
    pts = np.concatenate([first, last])
    outward = np.concatenate([dfirst, dlast])
    owner = np.concatenate([rows, rows])
    ref = gdf[ref_field].astype(str).to_numpy()[owner]
    open_all = metric.to_numpy()[_open_lines(gdf, status_field, open_statuses)]
    tree = shapely.STRtree(open_all)
    points = shapely.points(pts)
    near_idx = tree.query(points, predicate="dwithin", distance=dangle_m)
    # lines near an end, other than its own and the clipped lines of the same road (the other
    # carriageway of a dual road, cut at the same shore, ends beside it)
    open_rows = np.flatnonzero(_open_lines(gdf, status_field, open_statuses))
    near_row = open_rows[near_idx[1]]
    all_ref = gdf[ref_field].astype(str).to_numpy()
    twin = ok[near_row] & (all_ref[near_row] == ref[near_idx[0]])
    other = ~twin & (near_row != owner[near_idx[0]])
    dangling = np.bincount(near_idx[0][other], minlength=len(pts)) == 0
    cos_max = np.cos(np.radians(max_turn_deg))
    cand = np.flatnonzero(dangling)
    best: dict[int, tuple[float, int]] = {}
    for i in cand:
        d = np.hypot(*(pts[cand] - pts[i]).T)
        same = (
            (ref[cand] == ref[i]) & (owner[cand] != owner[i]) & (d > MIN_GAP_M) & (d <= max_gap_m)
        )
        for j in cand[same]:
            gap = pts[j] - pts[i]
            g = gap / np.hypot(*gap)
            if outward[i] @ g >= cos_max and outward[j] @ (-g) >= cos_max:
                dist = float(np.hypot(*gap))
                if i not in best or dist < best[i][0]:
                    best[i] = (dist, int(j))
    pairs = sorted(
        {(min(i, j), max(i, j)) for i, (_, j) in best.items() if best.get(j, (0, -1))[1] == i}
    )
    return _link_frame(gdf, metric_crs, pts, owner, pairs)


def _link_frame(
    gdf: gpd.GeoDataFrame,
    metric_crs: str,
    pts: np.ndarray,
    owner: np.ndarray,
    pairs: list[tuple[int, int]],
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    if not pairs:
        return gdf.iloc[0:0].assign(addition=pd.Series(dtype=object)), []
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    metric_lines = shapely.linestrings(np.stack([pts[a], pts[b]], axis=1))
    geo = gpd.GeoSeries(metric_lines, crs=metric_crs).to_crs(gdf.crs)
    out = gdf.iloc[owner[a]].copy().reset_index(drop=True)
    out = out.set_geometry(geo.to_numpy()).assign(addition="clip gap")
    lonlat = gpd.GeoSeries(shapely.points(np.concatenate([pts[a], pts[b]])), crs=metric_crs)
    ll = shapely.get_coordinates(lonlat.to_crs("EPSG:4326").to_numpy())
    k = len(pairs)
    records = []
    for n in range(k):
        src = gdf.iloc[int(owner[a[n]])]
        records.append(
            {
                "kind": "clip gap",
                "ref": _text(src.get("ref")),
                "name": _text(src.get("name")),
                "road_class": _text(src.get("road_class")),
                "gap_m": round(float(np.hypot(*(pts[b[n]] - pts[a[n]]))), 1),
                "from_lon": round(float(ll[n, 0]), 5),
                "from_lat": round(float(ll[n, 1]), 5),
                "to_lon": round(float(ll[k + n, 0]), 5),
                "to_lat": round(float(ll[k + n, 1]), 5),
                "source_rows": [int(owner[a[n]]), int(owner[b[n]])],
                "source": "mirror roads_trunk_osm.gpkg: both lines clipped_at_boundary "
                "(generalised coastline cut the crossing; PROVENANCE.md)",
            }
        )
    return out, records


def _text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
