"""Edges of a repaired road graph: one per run of an input line between nodes, plus connectors,
with the input line's attributes, in an order that does not depend on the input's row order.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.topology_gaps import Gaps
from geo.topology_segments import Segments

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


def edges_frame(  # noqa: PLR0913 (keyword options of a network build)
    lines: gpd.GeoDataFrame,
    seg: Segments,
    part_row: np.ndarray,
    run: np.ndarray,
    su: np.ndarray,
    sv: np.ndarray,
    node_xy: np.ndarray,
    gaps: Gaps,
    connector_speed: float,
) -> gpd.GeoDataFrame:
    """The graph's edges: runs of segments (``run``) as roads, then the gap connectors."""
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


def sorted_edges(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Edges by nodes, kind, class, length, ... and geometry; the contract's columns first."""
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
