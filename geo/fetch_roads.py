"""OSM roads for ``geo.fetch``: the Overpass filter of each network, the download by province
polygon and the ``roads`` layer from the osmnx graph (moved from ``geo.fetch``, which
re-exports these names)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.config import RegionConfig
from geo.errors import InputError, NetworkError
from geo.fetch_options import FetchOptions
from geo.provinces import Provinces, tag_provinces
from geo.road_speeds import DRIVE_FILTER
from geo.roads import MAIN_ROADS_FILTER

log = logging.getLogger(__name__)

TERTIARY_FILTER = MAIN_ROADS_FILTER.replace(
    'secondary_link"', 'secondary_link|tertiary|tertiary_link"'
)
ROAD_FILTERS = {"main": MAIN_ROADS_FILTER, "tertiary": TERTIARY_FILTER, "drive": DRIVE_FILTER}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _joined(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def roads_from_graph(
    graph: nx.MultiDiGraph, *, provinces: Provinces, config: RegionConfig, fetched: str
) -> gpd.GeoDataFrame:
    """The ``roads`` layer from an osmnx graph: one line per undirected edge, OSM tags kept.

    ``road_class`` follows the mirror: ``expressway`` (motorway or ref ``CT``),
    ``national_highway`` (ref ``QL``), else the OSM ``highway`` value. ``oneway`` is ``yes``
    (geometry in the legal direction) or ``no``; ``status`` is ``unknown`` (in use).
    """
    import osmnx as ox

    undirected = ox.convert.to_undirected(graph)
    edges = ox.convert.graph_to_gdfs(undirected, nodes=False).reset_index()
    get = lambda c: edges[c] if c in edges else pd.Series(None, index=edges.index, dtype=object)  # noqa: E731
    highway = get("highway").map(_first).astype(str)
    ref = get("ref").map(_joined).fillna("")
    road_class = highway.where(~highway.str.startswith("motorway"), "expressway")
    road_class = road_class.mask(
        ref.str.upper().str.startswith("QL") & ~road_class.eq("expressway"), "national_highway"
    )
    road_class = road_class.mask(ref.str.upper().str.startswith("CT"), "expressway")
    layer = gpd.GeoDataFrame(
        {
            "osm_way_id": get("osmid").map(_joined).to_numpy(),
            "road_class": road_class.to_numpy(),
            "highway": highway.to_numpy(),
            "ref": ref.replace("", None).to_numpy(),
            "name": get("name").map(_joined).to_numpy(),
            "maxspeed": get("maxspeed").map(_joined).to_numpy(),
            "oneway": np.where(get("oneway").fillna(False).astype(bool), "yes", "no"),
            "lanes": get("lanes").map(_joined).to_numpy(),
            "status": "unknown",
            "status_source": "osm",
            "osm_base_timestamp": fetched,
        },
        geometry=edges.geometry.to_numpy(),
        crs=edges.crs,
    ).to_crs("EPSG:4326")
    layer["length_m"] = layer.geometry.to_crs(config.metric_crs).length.round(1)
    mid = gpd.GeoSeries(
        shapely.line_interpolate_point(layer.geometry.to_numpy(), 0.5, normalized=True), crs=4326
    )
    tags = tag_provinces(
        gpd.GeoDataFrame(geometry=mid),
        provinces,
        metric_crs=config.metric_crs,
        tolerance_m=config.province_tolerance_m,
    )
    for c in ("prov63_code", "prov34_code", "region6_code", "prov_method"):
        layer[f"{c}_mid"] = tags[c].to_numpy()
    first_id = layer["osm_way_id"].str.split(";").str[0]
    layer["osm_url"] = "https://www.openstreetmap.org/way/" + first_id
    return layer.sort_values(["osm_way_id", "length_m"], kind="stable", ignore_index=True)


def download_main_roads(
    polygons: list[shapely.Geometry],
    *,
    include_tertiary: bool = False,
    progress: Callable[[str], None],
    road_filter: str | None = None,
) -> nx.MultiDiGraph:
    """Main roads by province polygon with osmnx, merged on OSM node ids, then simplified once.

    Each province is downloaded unsimplified so that ways crossing a boundary join exactly;
    simplifying the merged graph gives the same edges as one national query would.
    """
    import osmnx as ox

    flt = road_filter or (TERTIARY_FILTER if include_tertiary else MAIN_ROADS_FILTER)
    graphs = []
    for i, poly in enumerate(polygons, start=1):
        progress(f"roads: province polygon {i}/{len(polygons)}")
        try:
            graphs.append(
                ox.graph_from_polygon(
                    cast("shapely.Polygon | shapely.MultiPolygon", poly),  # area > 0: see _area
                    custom_filter=flt,
                    simplify=False,
                    retain_all=True,
                    truncate_by_edge=True,
                )
            )
        except ox._errors.InsufficientResponseError:
            log.info("no road in province polygon %d", i)
    if not graphs:
        raise NetworkError("Overpass returned no road in the area; check --bbox")
    merged = nx.compose_all(graphs)
    return ox.simplification.simplify_graph(merged)


def _network_of(opts: FetchOptions) -> str:
    if opts.network not in ROAD_FILTERS:
        raise InputError(
            f"unknown road network '{opts.network}'; use one of {', '.join(ROAD_FILTERS)}",
            field="network",
        )
    return "tertiary" if opts.include_tertiary and opts.network == "main" else opts.network


def road_filter_of(opts: FetchOptions) -> str:
    """The Overpass filter of ``opts.network`` (``--tertiary`` widens ``main`` to tertiary)."""
    return ROAD_FILTERS[_network_of(opts)]
