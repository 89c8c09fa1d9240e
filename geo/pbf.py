"""Road networks from OSM PBF files, streamed with pyosmium (no networkx graph is built)."""

from __future__ import annotations

import os
import struct
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

# The PBF format's own limits (https://wiki.openstreetmap.org/wiki/PBF_Format): a BlobHeader is
# under 64 KiB, a Blob under 32 MiB.
MAX_BLOB_HEADER = 64 * 1024
MAX_BLOB = 32 * 1024 * 1024
REDOWNLOAD = "download it again (e.g. https://download.geofabrik.de/asia/vietnam.html)"


def check_pbf(path: str | Path) -> dict[str, int]:
    """Walk the PBF's block headers (not the data) and refuse a file that is not a complete PBF.

    Reads 4 + ~15 bytes per block and seeks over the data, so a national extract is checked in
    well under a second, before the streaming read starts.

    Returns
    -------
    dict
        ``blocks`` and ``bytes`` of the file.

    Raises
    ------
    InputError
        Naming the file: empty, not a PBF (no ``OSMHeader`` block first), a block header that is
        not one, or truncated (the last block ends past the end of the file; bytes missing).
    """
    p = Path(path)
    size = os.path.getsize(p)
    if size == 0:
        raise InputError(f"the OSM PBF file is empty (0 bytes); {REDOWNLOAD}", source=str(p))
    pos, blocks = 0, 0
    with open(p, "rb") as f:
        while pos < size:
            head = f.read(4)
            if len(head) < 4:
                _truncated(p, pos, size, pos + 4)
            (hlen,) = struct.unpack(">I", head)
            raw = f.read(hlen) if 0 < hlen <= MAX_BLOB_HEADER else b""
            kind, datasize = _blob_header(raw) if len(raw) == hlen else ("", -1)
            if blocks == 0 and kind != "OSMHeader":
                if 0 < hlen <= MAX_BLOB_HEADER and len(raw) < hlen:
                    _truncated(p, pos, size, pos + 4 + hlen)
                raise InputError(
                    f"not an OSM PBF file (it does not start with an OSMHeader block; first "
                    f"bytes {head!r}); give a .osm.pbf extract, e.g. from Geofabrik, or name an "
                    "XML file .osm",
                    source=str(p),
                )
            if len(raw) < hlen and 0 < hlen <= MAX_BLOB_HEADER:
                _truncated(p, pos, size, pos + 4 + hlen)
            if kind not in ("OSMHeader", "OSMData") or not 0 <= datasize <= MAX_BLOB:
                raise InputError(
                    f"block {blocks + 1} at byte {pos:,} is not a PBF block (the file is "
                    f"corrupt); {REDOWNLOAD}",
                    source=str(p),
                )
            end = pos + 4 + hlen + datasize
            if end > size:
                _truncated(p, pos, size, end)
            f.seek(end)
            pos, blocks = end, blocks + 1
    return {"blocks": blocks, "bytes": size}


def _truncated(p: Path, pos: int, size: int, end: int) -> None:
    raise InputError(
        f"the OSM PBF file is truncated: its block at byte {pos:,} ends at byte {end:,} but the "
        f"file has {size:,} bytes ({end - size:,} missing; an interrupted download?); "
        + REDOWNLOAD,
        source=str(p),
    )


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while i < len(buf):
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7
    raise ValueError("varint runs past the end")


def _blob_header(raw: bytes) -> tuple[str, int]:
    """(type, datasize) of a BlobHeader message; ("", -1) if it does not parse as one."""
    kind, datasize, i = "", -1, 0
    try:
        while i < len(raw):
            key, i = _varint(raw, i)
            field, wire = key >> 3, key & 7
            if wire == 0:
                value, i = _varint(raw, i)
                if field == 3:
                    datasize = value
            elif wire == 2:
                n, i = _varint(raw, i)
                if field == 1:
                    kind = raw[i : i + n].decode("ascii", "replace")
                i += n
            else:
                return "", -1
    except ValueError:
        return "", -1
    return kind, datasize


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
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError("OSM file not found", source=str(p))
    if p.name.lower().endswith(".pbf"):
        check_pbf(p)
    count, ref, lon, lat, tag, skipped = _read_ways(p, highway_filter)
    n_ways = len(count)
    way = np.repeat(np.arange(n_ways), count)
    xy = np.column_stack(
        Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True).transform(lon, lat)
    )
    del lon, lat
    oneway, reverse = oneway_from_tags(tag["oneway"].to_numpy(), tag["highway"].to_numpy(), n_ways)
    oneway |= tag["junction"].isin(["roundabout", "circular"]).to_numpy()
    geom, node_xy, u, v, w = _split_ways(ref, xy, way, count, reverse)
    del ref, xy, way
    highway = tag["highway"].to_numpy(dtype=object)[w]
    maxspeed = parse_maxspeed(tag["maxspeed"].to_numpy(dtype=object))[w]
    name = tag["name"].to_numpy(dtype=object)[w]
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "length_m": shapely.length(geom),
            "speed_kmh": speeds_from_tags(highway, highway, maxspeed, speed_kmh),
            "oneway": oneway[w],
            "road_class": highway,
            "edge_kind": np.full(len(w), "road", dtype=object),
            "status": np.full(len(w), "open", dtype=object),
            "name": np.where(pd.isna(name), None, name),
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


def _read_ways(
    p: Path, highway_filter: frozenset[str] | set[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, int]:
    """Stream the file once: node count, node ids, lon, lat of each kept way, and its tags."""
    import osmium

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
    count = np.frombuffer(counts, dtype=np.int64)
    ref = np.frombuffer(ref_buf, dtype=np.int64).copy()
    return count, ref, np.frombuffer(lon_buf), np.frombuffer(lat_buf), tag, skipped


def _split_ways(
    ref: np.ndarray, xy: np.ndarray, way: np.ndarray, count: np.ndarray, reverse: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ways at shared nodes: (geometries, node_xy, u, v, way of each edge)."""
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
    u = compact[:n_run].astype(np.int64)
    v = compact[n_run:].astype(np.int64)
    return np.asarray(geom, dtype=object), node_xy, u, v, way[first]
