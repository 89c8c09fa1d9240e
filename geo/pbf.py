"""Road networks from OSM PBF files, streamed with pyosmium (no networkx graph is built)."""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.errors import DataNotFoundError, InputError, NetworkError
from geo.road_network import RoadNetwork, finish_network
from geo.road_speeds import DRIVE_HIGHWAYS, oneway_from_tags, parse_maxspeed, speeds_from_tags


def network_from_pbf(
    path: str | Path,
    *,
    metric_crs: str,
    speed_kmh: Mapping[str, float],
    highway_filter: frozenset[str] | set[str] = DRIVE_HIGHWAYS,
) -> RoadNetwork:
    """A road network from an OSM PBF (or any libosmium-readable) file, with pyosmium.

    pyosmium is the maintained binding of libosmium: it streams the file (memory grows with
    the kept ways, not the file), resolves node locations itself (no GDAL OSM driver and its
    ``osmconf.ini``), and reads the full planet formats; pyrosm, the alternative, is less
    maintained.

    Ways whose ``highway`` tag is in ``highway_filter`` (and not ``area=yes``, ``access=no`` or
    ``private``) are split at every node that is a way end or used by another way (or twice by
    the same way). Oneway as osmnx: ``oneway`` yes/true/1, ``-1``/reverse (geometry reversed),
    ``junction=roundabout``; in addition, untagged motorways are oneway (OSM's implied value).
    Ways with a node outside the file are skipped and counted.
    """
    import osmium

    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError("OSM file not found", source=str(p))
    # Flat typed buffers (8 bytes a value) and one list per tag: a national extract holds
    # millions of ways, which per-way Python lists and dicts would multiply by ten in memory.
    ref_buf, lon_buf, lat_buf = array("q"), array("d"), array("d")
    counts = array("q")
    wanted = ("highway", "oneway", "junction", "maxspeed", "name")
    tag_lists: dict[str, list[str | None]] = {k: [] for k in wanted}
    skipped = 0
    try:
        fp = (
            osmium.FileProcessor(str(p))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in fp:  # streaming read: the one loop over OSM objects
            # isinstance, as is_way() does, so that the type checker knows obj has .nodes
            if not isinstance(obj, osmium.osm.Way) or obj.tags.get("highway") not in highway_filter:
                continue
            if obj.tags.get("area") == "yes" or obj.tags.get("access") in ("no", "private"):
                continue
            try:
                lons = [n.lon for n in obj.nodes]
                lats = [n.lat for n in obj.nodes]
            except osmium.InvalidLocationError:
                skipped += 1
                continue
            if len(lons) < 2:
                continue
            ref_buf.extend(n.ref for n in obj.nodes)
            lon_buf.extend(lons)
            lat_buf.extend(lats)
            counts.append(len(lons))
            for k in wanted:
                tag_lists[k].append(obj.tags.get(k))
    except RuntimeError as exc:
        raise InputError(f"cannot read as OSM data ({exc})", source=str(p)) from None
    if not counts:
        raise NetworkError(f"{p}: no drivable way in the file")
    tag = pd.DataFrame(tag_lists)
    del tag_lists
    count = np.frombuffer(counts, dtype=np.int64)
    n_ways = len(count)
    way = np.repeat(np.arange(n_ways), count)
    ref = np.frombuffer(ref_buf, dtype=np.int64).copy()
    lon = np.frombuffer(lon_buf, dtype=np.float64)
    lat = np.frombuffer(lat_buf, dtype=np.float64)
    xy = np.column_stack(
        Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True).transform(lon, lat)
    )
    del ref_buf, lon_buf, lat_buf, lon, lat
    oneway, reverse = oneway_from_tags(tag["oneway"].to_numpy(), tag["highway"].to_numpy(), n_ways)
    oneway |= tag["junction"].isin(["roundabout", "circular"]).to_numpy()
    # Reverse the node order of oneway=-1 ways so that every edge runs in the legal direction.
    start = np.cumsum(count) - count
    pos = np.arange(len(ref)) - np.repeat(start, count)
    pos = np.where(reverse[way], np.repeat(count, count) - 1 - pos, pos)
    order = np.lexsort((pos, way))
    ref, xy = ref[order], xy[order]
    _, inverse, uses = np.unique(ref, return_inverse=True, return_counts=True)
    is_end = np.zeros(len(ref), bool)
    is_end[start] = True
    is_end[start + count - 1] = True
    split = is_end | (uses[inverse] > 1)
    seg = np.flatnonzero(np.append(way[1:] == way[:-1], False))  # segment k -> k+1
    new_run = np.ones(len(seg), bool)
    new_run[1:] = (way[seg[1:]] != way[seg[:-1]]) | split[seg[1:]]
    run = np.cumsum(new_run) - 1
    n_run = int(run[-1]) + 1
    first = seg[new_run]
    last = seg[np.append(new_run[1:], True)] + 1
    run_xy = np.concatenate([xy[seg], xy[last]])
    rid = np.concatenate([run, np.arange(n_run)])
    order = np.lexsort((np.concatenate([seg, last]), rid))
    geom = shapely.linestrings(run_xy[order], indices=rid[order])
    node_ids, compact = np.unique(np.concatenate([ref[first], ref[last]]), return_inverse=True)
    node_xy = np.zeros((len(node_ids), 2))
    node_xy[compact] = np.concatenate([xy[first], xy[last]])
    w = way[first]
    highway = tag["highway"].to_numpy(dtype=object)[w]
    maxspeed = parse_maxspeed(tag["maxspeed"].to_numpy(dtype=object))[w]
    name = tag["name"].to_numpy(dtype=object)[w]
    edges = gpd.GeoDataFrame(
        {
            "u": compact[:n_run].astype(np.int64),
            "v": compact[n_run:].astype(np.int64),
            "length_m": shapely.length(geom),
            "speed_kmh": speeds_from_tags(highway, highway, maxspeed, speed_kmh),
            "oneway": oneway[w],
            "road_class": highway,
            "edge_kind": np.full(n_run, "road", dtype=object),
            "status": np.full(n_run, "open", dtype=object),
            "name": np.where(pd.isna(name), None, name),  # type: ignore[call-overload]
        },
        geometry=geom,
        crs=metric_crs,
    )
    edges = edges.loc[edges["length_m"] > 0].reset_index(drop=True)
    report = {
        "source": str(p),
        "ways": n_ways,
        "ways_missing_nodes": skipped,
        "way_km": round(float(edges["length_m"].sum()) / 1000.0, 3),
        "skipped_rows": [],
    }
    return finish_network(node_xy, edges, metric_crs, report, str(p))
