"""Connectors from cities and facilities far from the main road network (issue 15, item 2).

The generalised road layers hold expressways, national and some provincial roads: a city whose
GeoNames point lies kilometres from any of them, or a facility beyond the facility access limit,
stands on local roads the layers do not have. Such a point gets the **shortest connector** to
the main network (component 0): a straight two-way ``connector`` edge at the given speed (the
region's ``point_connector_class`` speed, :func:`geo.roads.point_connector_speed`) from the point to the nearest
point of the nearest main-network edge, standing for the missing local road. Each is a row of
the repairs table (``kind`` "city_connector" or "facility_connector", its length and the point's
name), so the missing road is visible, not hidden in the access distance. Points on an island without a bridge are left alone.

Only a facility's connector becomes an edge of the graph (a facility beyond the access limit
would otherwise have no road). A city's connector is listed, not added: the demand cells of the
city already reach the network at the access speed (the speed of such an edge), and an edge
would only make the cells and facilities near it, which would snap to it, take a dog-leg
(measured on the default data: 2.5–8.6 min more for the five facilities it captured).

A facility's connector runs at the speed of ``[roads] point_connector_class`` (tertiary: it
stands for a missing local road, not for the last metres a cell's access leg covers), never
below the access speed. At the access speed it held back the cells that snap to it: with the
access speed fitted to 17.6 km/h (December 2026), the cell of Tân Uyên, snapped to the 12 km
connector of KCN Đất Cuốc (Khu B), reached no airport within 120 min and the Đất Cuốc parks
fewer than 35,000 people within 45 min.
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

from geo.edge_split import split_edges

KIND_CITY = "city_connector"
KIND_FACILITY = "facility_connector"


@dataclass(frozen=True)
class Point:
    """A point that must reach the main network: ``kind`` is KIND_CITY or KIND_FACILITY."""

    name: str
    lon: float
    lat: float
    kind: str
    min_gap_m: float

    @property
    def as_edge(self) -> bool:
        """A facility's connector is an edge; a city's is listed only (module docstring)."""
        return self.kind == KIND_FACILITY


def _in_bbox(lon: float, lat: float, boxes: Sequence[Sequence[float]]) -> bool:
    return any(b[0] <= lon <= b[2] and b[1] <= lat <= b[3] for b in boxes)


def connect_points(
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    points: Sequence[Point],
    *,
    crs: str,
    connector_speed_kmh: float,
    island_bboxes: Sequence[Sequence[float]] = (),
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict[str, Any]]]:
    """Join each point farther than its ``min_gap_m`` from the main network by a connector.

    ``edges`` must carry ``component`` (0 = main network). Returns the edges (connectors
    appended last, ``component`` 0, for the points whose connector is an edge), the nodes (the
    cut points, then one new node per such point) and one repair row per connector (``kind``,
    ``length_m``, ``component_km`` 0, ``as_edge``, ``note``, geometry). Points closer than their
    gap, or on an island, get none.
    """
    if not points or len(edges) == 0:
        return edges, node_xy, []
    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    geoms = np.asarray(edges.geometry.array, dtype=object)
    main = np.flatnonzero(edges["component"].to_numpy() == 0)
    tree = shapely.STRtree(geoms[main])
    xs, ys = to_m.transform([p.lon for p in points], [p.lat for p in points])
    pts = np.asarray(shapely.points(np.column_stack([xs, ys])), dtype=object)
    (pi, mi), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    best = np.full(len(points), -1)
    gap = np.full(len(points), np.inf)
    best[pi], gap[pi] = main[mi], dist
    chosen = [
        k
        for k, p in enumerate(points)
        if best[k] >= 0 and gap[k] > p.min_gap_m and not _in_bbox(p.lon, p.lat, island_bboxes)
    ]
    if not chosen:
        return edges, node_xy, []
    cuts = [
        (
            int(best[k]),
            shapely.Point(
                shapely.get_coordinates(shapely.shortest_line(pts[k], geoms[best[k]]))[1]
            ),
        )
        for k in chosen
    ]
    names = edges["name"].to_numpy(object) if "name" in edges else np.full(len(edges), None)
    classes = edges["road_class"].to_numpy(object)
    target = [(names[best[k]], classes[best[k]]) for k in chosen]
    as_edge = [points[k].as_edge for k in chosen]
    listed_lines = [
        shapely.LineString([(xs[k], ys[k]), cut[1].coords[0]])
        for k, cut in zip(chosen, cuts, strict=True)
    ]
    edge_cuts = [c for c, e in zip(cuts, as_edge, strict=True) if e]
    edges, node_xy, node_of_cut = split_edges(edges, node_xy, edge_cuts)
    n0 = len(node_xy)
    node_xy = np.vstack(
        [node_xy, np.column_stack([xs, ys])[[k for k, e in zip(chosen, as_edge, strict=True) if e]]]
    )
    rows, repairs = [], []
    j_edge = 0
    for j, k in enumerate(chosen):
        p = points[k]
        road_name, road_class = target[j]
        to_what = f"{road_name} ({road_class})" if isinstance(road_name, str) else str(road_class)
        if not p.as_edge:
            line = listed_lines[j]
            repairs.append(
                {
                    "kind": p.kind,
                    "component": -1,
                    "component_km": 0.0,
                    "geometry": line,
                    "length_m": float(line.length),
                    "as_edge": False,
                    "note": (
                        f"city {p.name}: {line.length / 1000:.1f} km from the main network "
                        f"(nearest: {to_what}); the local roads between are missing from the "
                        "layers; listed, not added (its cells reach the road at the access speed)"
                    ),
                }
            )
            continue
        line = shapely.LineString([node_xy[n0 + j_edge], node_xy[node_of_cut[j_edge]]])
        u_node, v_node = n0 + j_edge, node_of_cut[j_edge]
        j_edge += 1
        rows.append(
            {
                "u": u_node,
                "v": v_node,
                "length_m": max(float(line.length), 0.01),
                "speed_kmh": float(connector_speed_kmh),
                "oneway": False,
                "road_class": "connector",
                "edge_kind": "connector",
                "status": "repair",
                "name": None,
                "component": 0,
                "geometry": line,
            }
        )
        repairs.append(
            {
                "kind": p.kind,
                "component": -1,
                "component_km": 0.0,
                "geometry": line,
                "length_m": float(line.length),
                "as_edge": True,
                "note": (
                    f"facility {p.name}: {line.length / 1000:.1f} km from the main network, "
                    f"more than {p.min_gap_m / 1000:g} km; shortest connector to {to_what}, "
                    "standing for local roads the layers lack"
                ),
            }
        )
    if not rows:
        return edges, node_xy, repairs
    edges = gpd.GeoDataFrame(
        pd.concat([edges, gpd.GeoDataFrame(rows, crs=edges.crs)], ignore_index=True),
        crs=edges.crs,
    )
    return edges, node_xy, repairs


def cities_to_connect(path: Any, *, min_population: int, min_gap_m: float) -> list[Point]:
    """Cities of a GeoNames-style CSV (name, lon, lat, population) at least ``min_population``."""
    from geo.errors import InputError

    table = pd.read_csv(path)
    need = {"name", "lon", "lat", "population"}
    if not need <= set(table.columns):
        raise InputError(
            f"the cities file needs the columns {sorted(need)}; it has {list(table.columns)}",
            source=str(path),
        )
    big = table[pd.to_numeric(table["population"], errors="coerce") >= min_population]
    lon = pd.to_numeric(big["lon"], errors="coerce").to_numpy(np.float64)
    lat = pd.to_numeric(big["lat"], errors="coerce").to_numpy(np.float64)
    return [
        Point(str(n), float(x), float(y), KIND_CITY, min_gap_m)
        for n, x, y in zip(big["name"], lon, lat, strict=True)
        if np.isfinite(x) and np.isfinite(y)
    ]


def add_point_connectors(
    network: Any,
    points: Sequence[Point],
    *,
    connector_speed_kmh: float,
    island_bboxes: Sequence[Sequence[float]] = (),
) -> Any:
    """A repaired :class:`geo.roads.RoadNetwork` with the point connectors added and listed.

    The connectors continue the ``repair_id`` numbering of ``network.repairs``; the report's
    ``road_repairs`` gains ``point_connectors`` (count and km per kind).
    """
    from dataclasses import replace

    edges, node_xy, rows = connect_points(
        network.edges,
        network.node_xy,
        points,
        crs=network.crs,
        connector_speed_kmh=connector_speed_kmh,
        island_bboxes=island_bboxes,
    )
    if not rows:
        return network
    old = network.repairs
    n_old = 0 if old is None else len(old)
    rid = edges["repair_id"].fillna(-1).to_numpy(np.int64)
    ids = n_old + np.flatnonzero([r["as_edge"] for r in rows])
    if len(ids):
        rid[len(edges) - len(ids) :] = ids
    edges = edges.assign(repair_id=rid)
    new = gpd.GeoDataFrame(
        {
            "repair_id": n_old + np.arange(len(rows), dtype=np.int64),
            "kind": [r["kind"] for r in rows],
            "length_m": np.round([r["length_m"] for r in rows], 1),
            "component_km": [r["component_km"] for r in rows],
            "note": [r["note"] for r in rows],
        },
        geometry=[r["geometry"] for r in rows],
        crs=edges.crs,
    )
    table = (
        new
        if old is None
        else gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs=edges.crs)
    )
    report = dict(network.report)
    rr = dict(report.get("road_repairs", {}))
    by = new.groupby("kind")["length_m"].agg(["size", "sum"])
    rr["point_connectors"] = {
        str(k): {"count": int(r["size"]), "km": round(float(r["sum"]) / 1000.0, 3)}
        for k, r in by.iterrows()
    }
    rr["repairs"] = len(table)
    rr["km"] = round(float(table["length_m"].sum()) / 1000.0, 3)
    report["road_repairs"] = rr
    return replace(network, node_xy=node_xy, edges=edges, report=report, repairs=table)


def facilities_to_connect(facilities: gpd.GeoDataFrame, *, min_gap_m: float) -> list[Point]:
    """Operating facilities (``name``, ``status``, point geometry): connected when farther
    than ``min_gap_m`` (the facility access limit, beyond which they would have no road)."""
    if facilities is None or len(facilities) == 0:
        return []
    op = facilities[facilities["status"].astype(str) == "operating"].to_crs("EPSG:4326")
    pts = op.geometry.representative_point()
    return [
        Point(str(n), float(p.x), float(p.y), KIND_FACILITY, min_gap_m)
        for n, p in zip(op["name"], pts, strict=True)
    ]
