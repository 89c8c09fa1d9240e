"""Road networks from osmnx: an OSM XML file, an Overpass download, or any osmnx graph."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.errors import DataNotFoundError, InputError, NetworkError
from geo.road_network import RoadNetwork, finish_network
from geo.road_speeds import MAIN_ROADS_FILTER, parse_maxspeed, speeds_from_tags


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def network_from_nx_graph(
    G: nx.MultiDiGraph, *, metric_crs: str, speed_kmh: Mapping[str, float], source: str = ""
) -> RoadNetwork:
    """Convert an osmnx graph (unprojected or projected) to a RoadNetwork.

    Two-way streets, which osmnx stores as two opposite edges, become one edge with
    ``oneway=False``; one-way edges keep osmnx's direction. Speeds follow :func:`network_from_lines`
    (``maxspeed``, then ``highway``). Lengths are measured again in ``metric_crs``.
    """
    import osmnx as ox

    if G.number_of_edges() == 0:
        raise NetworkError(f"{source or 'graph'}: the graph has no edges")
    nodes, e = ox.convert.graph_to_gdfs(G, nodes=True, edges=True, fill_edge_geometry=True)
    nodes = nodes.to_crs(metric_crs).sort_index()
    e = e.to_crs(metric_crs).reset_index()
    ids = nodes.index.to_numpy()
    u = np.searchsorted(ids, e["u"].to_numpy()).astype(np.int64)
    v = np.searchsorted(ids, e["v"].to_numpy()).astype(np.int64)
    oneway = e["oneway"].astype(bool).to_numpy() if "oneway" in e else np.zeros(len(e), bool)
    geom = np.asarray(e.geometry.array, dtype=object)
    # One row per two-way street: orient it from the lower to the higher node id, drop the twin.
    rev = shapely.reverse(geom)
    wkb, wkb_rev = shapely.to_wkb(geom, hex=True), shapely.to_wkb(rev, hex=True)
    flip = ~oneway & ((u > v) | ((u == v) & (wkb_rev < wkb)))
    geom = np.where(flip, rev, geom)
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    # Two OSM ways drawn on top of each other stay two edges, as in osmnx: the way id is in the key.
    osmid = (
        e["osmid"].map(lambda x: str(sorted(x)) if isinstance(x, list) else str(x))
        if "osmid" in e
        else pd.Series(np.zeros(len(e)))
    )
    key = pd.DataFrame({"u": u, "v": v, "w": np.where(flip, wkb_rev, wkb), "id": osmid.to_numpy()})
    keep = oneway | ~key.duplicated(["u", "v", "w", "id"]).to_numpy()
    highway = (
        e["highway"].map(_first).astype(str).to_numpy(dtype=object)
        if "highway" in e
        else np.full(len(e), "road", dtype=object)
    )
    maxspeed = parse_maxspeed(e["maxspeed"]) if "maxspeed" in e else None
    name = (
        e["name"].map(_first).to_numpy(dtype=object)
        if "name" in e
        else np.full(len(e), None, dtype=object)
    )
    name = np.where(pd.isna(name), None, name)  # type: ignore[arg-type]
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "length_m": shapely.length(geom),
            "speed_kmh": speeds_from_tags(highway, highway, maxspeed, speed_kmh),
            "oneway": oneway,
            "road_class": highway,
            "edge_kind": np.full(len(e), "road", dtype=object),
            "status": np.full(len(e), "open", dtype=object),
            "name": name,
        },
        geometry=geom,
        crs=metric_crs,
    ).loc[keep]
    edges = edges.loc[edges["length_m"] > 0].reset_index(drop=True)
    node_xy = np.column_stack([nodes.geometry.x, nodes.geometry.y]).astype(np.float64)
    report = {
        "source": source,
        "osm_nodes": len(nodes),
        "osm_edges_directed": len(e),
        "skipped_rows": [],
    }
    return finish_network(node_xy, edges, metric_crs, report, source or "osmnx graph")


def network_from_osm_xml(
    path: str | Path,
    *,
    metric_crs: str,
    speed_kmh: Mapping[str, float],
    simplify: bool = True,
    retain_all: bool = False,
) -> RoadNetwork:
    """A road network from an OSM XML file, through ``osmnx.graph_from_xml``.

    Every way with a ``highway`` tag is read (osmnx applies no network-type filter to XML);
    filter the file beforehand for a drive-only network. ``simplify`` and ``retain_all`` are
    osmnx's (defaults as osmnx: only the largest weakly connected component is kept).
    """
    import osmnx as ox

    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError("OSM XML file not found", source=str(p))
    try:
        G = ox.graph_from_xml(p, simplify=simplify, retain_all=retain_all)
    except Exception as exc:  # XML parse errors and osmnx's empty-graph errors alike
        raise InputError(
            f"cannot read as OSM XML ({type(exc).__name__}: {exc})", source=str(p)
        ) from None
    return network_from_nx_graph(G, metric_crs=metric_crs, speed_kmh=speed_kmh, source=str(p))


def network_from_osmnx_online(
    polygon: shapely.Polygon | shapely.MultiPolygon,
    *,
    metric_crs: str,
    speed_kmh: Mapping[str, float],
    custom_filter: str = MAIN_ROADS_FILTER,
    cache_folder: str | Path | None = None,
    timeout_s: int = 300,
    max_query_area_km2: float = 50_000.0,
) -> RoadNetwork:
    """Download main roads inside ``polygon`` (EPSG:4326) from Overpass with osmnx.

    Responses are cached in ``cache_folder`` (osmnx ``use_cache``; default the fetch cache of
    ``geo.paths.cache_dir``), so a second run works offline. ``max_query_area_km2`` sets how osmnx subdivides large polygons into queries.
    """
    import osmnx as ox

    ox.settings.use_cache = True
    if cache_folder is None:
        from geo.paths import cache_dir

        cache_folder = cache_dir() / "osmnx"
    ox.settings.cache_folder = str(cache_folder)
    ox.settings.requests_timeout = int(timeout_s)
    ox.settings.max_query_area_size = float(max_query_area_km2) * 1e6
    try:
        G = ox.graph_from_polygon(
            polygon,
            custom_filter=custom_filter,
            simplify=True,
            retain_all=True,
            truncate_by_edge=True,
        )
    except Exception as exc:  # network failures, Overpass errors, empty responses
        raise NetworkError(f"could not download the road network with osmnx: {exc}") from exc
    return network_from_nx_graph(
        G, metric_crs=metric_crs, speed_kmh=speed_kmh, source="osmnx/Overpass"
    )
