"""Car ferries as links of the road network (``[[roads.ferries]]`` of the region config).

A ferry is a two-way link between its two landings (OSM ``amenity=ferry_terminal`` nodes of
``ferry_terminals_osm.gpkg``, copied into the config with their node ids), whose time is the
stated crossing time plus the mean wait (half the stated headway), both with their source. Each
landing is joined to the nearest road within ``max_landing_m``; the walk from landing to road is
driven at the connector speed. A generalised layer sometimes draws the road straight across the
water where the ferry runs (the ODV national layer does at Bình Khánh): with
``drawn_road_crossing`` the road edges that cross the ferry's line between its landings are
removed, since the crossing is the ferry, not a bridge. See METHOD.md, "Road network: ferries".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import ops

from geo.edge_split import split_edges
from geo.topology import label_components

KIND_FERRY = "ferry"


@dataclass(frozen=True)
class Ferry:
    """One car ferry: landings (lon, lat), crossing and mean wait (minutes), source."""

    name: str
    a: tuple[float, float]
    b: tuple[float, float]
    crossing_min: float
    wait_min: float
    source: str
    drawn_road_crossing: bool = False

    @classmethod
    def from_config(cls, item: dict[str, Any]) -> Ferry:
        return cls(
            name=str(item["name"]),
            a=(float(item["a"][0]), float(item["a"][1])),
            b=(float(item["b"][0]), float(item["b"][1])),
            crossing_min=float(item["crossing_min"]),
            wait_min=float(item["wait_min"]),
            source=str(item["source"]),
            drawn_road_crossing=bool(item.get("drawn_road_crossing", False)),
        )


def _drawn_crossings(
    geoms: np.ndarray, road: np.ndarray, line: shapely.LineString, corridor_m: float = 150.0
) -> np.ndarray:
    """Road edges drawn across the water where the ferry runs: edges that cross the inner 80 %
    of the ferry's line, or run along it (within ``corridor_m``) for half its inner length."""
    inner = ops.substring(line, 0.1, 0.9, normalized=True)
    near = shapely.dwithin(geoms, inner, corridor_m) & road
    idx = np.flatnonzero(near)
    along = shapely.length(shapely.intersection(geoms[idx], inner.buffer(corridor_m)))
    hit = shapely.intersects(geoms[idx], inner) | (along >= 0.5 * inner.length)
    return idx[hit]


def add_ferries(
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    ferries: Sequence[Ferry],
    *,
    crs: str,
    connector_speed_kmh: float,
    max_landing_m: float = 2000.0,
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict[str, Any]], list[dict[str, Any]]]:
    """Add each ferry as a two-way edge between the roads nearest its landings.

    Returns the edges, the nodes, one repair row per ferry added (``kind`` "ferry", geometry,
    ``length_m``, ``note``, ``ends`` = the two end nodes, ``removed`` = road edges dropped as
    drawn across the water) and the ferries not added (a landing farther than ``max_landing_m``
    from every road), each with the reason.
    """
    if not ferries:
        return edges, node_xy, [], []
    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    edges = edges.reset_index(drop=True)
    road = edges["edge_kind"].to_numpy() == "road"
    drop: set[int] = set()
    n_drawn: dict[str, int] = {}
    plans: list[tuple[Ferry, np.ndarray, np.ndarray]] = []
    skipped: list[dict[str, Any]] = []
    for f in ferries:  # a handful of ferries
        pa, pb = np.array(to_m.transform(*f.a)), np.array(to_m.transform(*f.b))
        if f.drawn_road_crossing:
            geoms = np.asarray(edges.geometry.array, dtype=object)
            drawn = _drawn_crossings(geoms, road, shapely.LineString([pa, pb]))
            n_drawn[f.name] = len(drawn)
            drop |= set(drawn.tolist())
        plans.append((f, pa, pb))
    removed = sorted(drop)
    if removed:
        edges = edges.drop(index=edges.index[removed]).reset_index(drop=True)
    geoms = np.asarray(edges.geometry.array, dtype=object)
    tree = shapely.STRtree(geoms)
    cuts: list[tuple[int, shapely.Point]] = []
    kept: list[tuple[Ferry, np.ndarray, np.ndarray]] = []
    for f, pa, pb in plans:
        pts = np.asarray(shapely.points([pa, pb]), dtype=object)
        (pi, ei), _dist = tree.query_nearest(
            pts, max_distance=max_landing_m, return_distance=True, all_matches=False
        )
        if len(set(pi.tolist())) < 2:
            skipped.append(
                {
                    "name": f.name,
                    "reason": f"a landing is over {max_landing_m:.0f} m from every road",
                }
            )
            continue
        for k in range(2):
            on = shapely.get_coordinates(shapely.shortest_line(pts[k], geoms[ei[k]]))[1]
            cuts.append((int(ei[k]), shapely.Point(on)))
        kept.append((f, pa, pb))
    edges, node_xy, node_of_cut = split_edges(edges, node_xy, cuts)
    rows, repairs = [], []
    for k, (f, pa, pb) in enumerate(kept):
        na, nb = node_of_cut[2 * k], node_of_cut[2 * k + 1]
        line = shapely.LineString([node_xy[na], pa, pb, node_xy[nb]])
        walk_m = float(np.hypot(*(node_xy[na] - pa)) + np.hypot(*(node_xy[nb] - pb)))
        time_s = (f.crossing_min + f.wait_min) * 60.0 + walk_m / (connector_speed_kmh / 3.6)
        rows.append(
            {
                "u": na,
                "v": nb,
                "length_m": float(line.length),
                "speed_kmh": float(line.length) / time_s * 3.6,
                "oneway": False,
                "road_class": "ferry",
                "edge_kind": "ferry",
                "status": "repair",
                "name": f.name,
                "component": -1,
                "geometry": line,
            }
        )
        n_drop = n_drawn.get(f.name, 0)
        repairs.append(
            {
                "kind": KIND_FERRY,
                "component": -1,
                "component_km": 0.0,
                "geometry": line,
                "length_m": float(line.length),
                "ends": (na, nb),
                "time_min": round(time_s / 60.0, 1),
                "note": (
                    f"ferry {f.name}: {f.crossing_min:g} min crossing + {f.wait_min:g} min mean wait"
                    + (f"; {n_drop} road edge(s) drawn across the water removed" if n_drop else "")
                    + f" (source: {f.source})"
                ),
            }
        )
    if rows:
        edges = gpd.GeoDataFrame(
            pd.concat([edges, gpd.GeoDataFrame(rows, crs=edges.crs)], ignore_index=True),
            crs=edges.crs,
        )
    return edges, node_xy, repairs, skipped


def add_ferries_labelled(
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    ferries: Sequence[Ferry],
    crs: str,
    connector_speed_kmh: float,
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict[str, Any]], dict[str, Any]]:
    """:func:`add_ferries` on a labelled network, relabelled after; ``_ferry_id`` marks the ferry
    edges and the edges of the components (fragments before the ferries) that a ferry joined to
    the main network (for :func:`geo.road_repairs.repair_network`'s repair ids)."""
    edges = edges.assign(_ferry_id=-1)
    if not ferries:
        return edges, node_xy, [], {}
    before = edges["component"].to_numpy()
    edges = edges.assign(_pre_ferry=before)
    edges, node_xy, rows, skipped = add_ferries(
        edges, node_xy, ferries, crs=crs, connector_speed_kmh=connector_speed_kmh
    )
    pre = edges["_pre_ferry"].fillna(-1).to_numpy(np.int64)
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    ferry_id = np.full(len(edges), -1, dtype=np.int64)
    ferry_id[len(edges) - len(rows) :] = np.arange(len(rows))
    for k, rep in enumerate(rows):  # a handful of ferries
        ends = set(rep["ends"])
        touching = np.isin(u, list(ends)) | np.isin(v, list(ends))
        comps = {int(c) for c in pre[touching] if c > 0}
        for c in sorted(comps):
            ferry_id[(pre == c) & (ferry_id < 0)] = k
    edges = edges.assign(_ferry_id=ferry_id).drop(columns=["_pre_ferry"])
    edges, _ = label_components(edges, len(node_xy))
    # a fragment that a ferry did not join to the main network is not reconnected by it
    ferry_id = edges["_ferry_id"].to_numpy().copy()
    road_part = ferry_id >= 0
    ferry_id[road_part & (edges["component"].to_numpy() != 0)] = -1
    edges["_ferry_id"] = ferry_id
    info = {
        "ferries": [
            {"note": r["note"], "time_min": r["time_min"], "length_m": round(r["length_m"], 1)}
            for r in rows
        ],
        "ferries_not_added": skipped,
    }
    for r in rows:
        r.pop("ends")
    return edges, node_xy, rows, info
