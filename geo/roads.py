"""Road networks from GIS line layers, OSM XML, OSM PBF or osmnx, as one ``RoadNetwork``.

Every reader ends in the same contract: node coordinates and an edge table in the region's
metric CRS, ready for the CSR graph of ``analysis.network``. Line layers go through the topology
repair of :mod:`geo.topology`; OSM sources are already noded and only get their components
labelled.
"""

from __future__ import annotations

import logging
import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from geo.errors import DataNotFoundError, InputError, NetworkError
from geo.topology import label_components, repair_topology

logger = logging.getLogger(__name__)

MPH_TO_KMH = 1.609344
ONEWAY_TRUE = frozenset({"yes", "true", "1"})
ONEWAY_REVERSED = frozenset({"-1", "reverse"})
ONEWAY_FALSE = frozenset({"no", "false", "0"})
# OSM implies oneway=yes on these (https://wiki.openstreetmap.org/wiki/Key:oneway).
IMPLIED_ONEWAY_HIGHWAYS = frozenset({"motorway"})
DRIVE_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "road",
    }
)
MAIN_ROADS_FILTER = (
    '["highway"~"motorway|motorway_link|trunk|trunk_link|primary|primary_link|secondary|'
    'secondary_link"]["area"!~"yes"]["access"!~"private|no"]'
)
CITY_STREETS_DEDUPE_M = 30.0
_SPEED_TOKEN = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RoadNetwork:
    """A road network in a metric CRS (the contract of every reader).

    Attributes
    ----------
    crs
        The metric CRS, e.g. ``"EPSG:3405"``.
    node_xy
        (n_nodes, 2) float64 metric coordinates; node ids are 0..n-1.
    edges
        GeoDataFrame: ``u``, ``v`` (int64), ``length_m``, ``speed_kmh`` (float64, > 0),
        ``oneway`` (only u->v may be travelled), ``road_class``, ``edge_kind`` (``road`` or
        ``connector``), ``status``, ``name`` (str or None), ``component`` (0 = longest) and a
        LineString u->v. Sorted by u, v, kind, class, length.
    report
        JSON-serialisable topology / repair report.
    source
        File path or description.
    """

    crs: str
    node_xy: np.ndarray
    edges: gpd.GeoDataFrame
    report: dict[str, Any]
    source: str
    repairs: gpd.GeoDataFrame | None = None


@dataclass(frozen=True)
class RoadLayer:
    """One line layer and how its fields map onto the network (for :func:`network_from_layers`)."""

    gdf: gpd.GeoDataFrame
    class_field: str
    highway_field: str | None = None
    maxspeed_field: str | None = None
    oneway_field: str | None = None
    status_field: str | None = None
    open_statuses: tuple[str, ...] | None = None
    name_field: str | None = "name"
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def parse_maxspeed(values: Sequence[Any] | pd.Series | np.ndarray) -> np.ndarray:
    """Parse OSM ``maxspeed`` values to km/h; NaN where absent or not understood.

    ``"60"``, ``"60 km/h"`` -> 60; ``"50;80"`` -> 50 (the lower, the safe choice for drive
    times); ``"30 mph"`` -> 48.3; lists (osmnx) count like ``;``; ``"none"``, ``"walk"``,
    ``"VN:urban"`` and values outside (0, 200] -> NaN.
    """
    series = pd.Series(list(values), dtype=object)
    as_text = series.map(lambda x: ";".join(map(str, x)) if isinstance(x, list) else x)
    uniques = pd.unique(as_text.dropna())
    table = {u: _parse_one_maxspeed(str(u)) for u in uniques}  # few distinct tags
    return as_text.map(table).astype(np.float64).to_numpy()


def _parse_one_maxspeed(text: str) -> float:
    speeds = []
    for token in re.split(r"[;|]", text):
        m = _SPEED_TOKEN.match(token)
        if not m:
            continue
        value = float(m.group(1).replace(",", "."))
        if (m.group(2) or "").lower() == "mph":
            value *= MPH_TO_KMH
        if 0 < value <= 200:
            speeds.append(value)
    return min(speeds) if speeds else np.nan


def _speeds(
    highway: np.ndarray | None,
    road_class: np.ndarray,
    maxspeed: np.ndarray | None,
    speed_kmh: Mapping[str, float],
) -> np.ndarray:
    if "default" not in speed_kmh:
        raise InputError("the speed table needs a 'default' speed", field="speed_kmh")
    table = {str(k): float(v) for k, v in speed_kmh.items()}
    by_class = pd.Series(road_class).map(table)
    speed = by_class.to_numpy(dtype=np.float64)
    if highway is not None:
        by_highway = pd.Series(highway).map(table).to_numpy(dtype=np.float64)
        speed = np.where(np.isnan(by_highway), speed, by_highway)
    speed = np.where(np.isnan(speed), table["default"], speed)
    if maxspeed is not None:
        speed = np.where(np.isnan(maxspeed), speed, maxspeed)
    return speed


def _oneway(
    oneway: np.ndarray | None, highway: np.ndarray | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(oneway, reversed) from OSM-style tags; motorways are oneway unless tagged otherwise."""
    tag = (
        pd.Series(oneway, dtype=object).fillna("").astype(str).str.strip().str.lower().to_numpy()
        if oneway is not None
        else np.full(n, "", dtype=object)
    )
    hw = (
        pd.Series(highway, dtype=object).fillna("").astype(str).to_numpy()
        if highway is not None
        else np.full(n, "")
    )
    reverse = np.isin(tag, list(ONEWAY_REVERSED))
    implied = (tag == "") & np.isin(hw, list(IMPLIED_ONEWAY_HIGHWAYS))
    return np.isin(tag, list(ONEWAY_TRUE)) | reverse | implied, reverse


def read_road_layer(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a road line layer (GeoPackage, Shapefile, GeoJSON, ... through pyogrio).

    Raises
    ------
    InputError
        Naming the file: missing, not readable as a GIS layer (corrupt or truncated), unknown
        layer (the known ones listed), or no features.
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError("road layer not found; check the path or --roads", source=str(p))
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(p)]
    except Exception as exc:  # pyogrio raises several GDAL error types for a broken file
        raise InputError(
            f"cannot be read as a GIS layer ({type(exc).__name__}: {exc}); the file may be "
            "corrupt or truncated: copy or export it again",
            source=str(p),
        ) from None
    if layer is not None and layer not in layers:
        raise InputError(
            f"no layer '{layer}' (layers: {', '.join(layers) or 'none'})",
            source=str(p),
            field="layer",
        )
    try:
        gdf = gpd.read_file(p, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise InputError(
            f"cannot read the layer ({type(exc).__name__}: {exc}); the file may be corrupt or "
            "truncated: copy or export it again",
            source=str(p),
        ) from None
    if len(gdf) == 0 or "geometry" not in gdf:
        raise InputError("the road layer has no line features", source=str(p))
    return gdf


def _clean_layer(
    layer: RoadLayer, metric_crs: str, speed_kmh: Mapping[str, float]
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Validate, filter and normalise one line layer to the columns that topology repair reads."""
    gdf, src = layer.gdf, layer.source or "road layer"
    if gdf.crs is None:
        raise InputError(
            "the road layer has no CRS (a shapefile without its .prj?): put the .prj file "
            "beside the .shp, or export the layer again with its CRS (e.g. "
            "ogr2ogr -a_srs EPSG:4326 fixed.gpkg roads.shp); in Python, gdf.set_crs(...)",
            source=src,
        )
    for fld in (
        layer.class_field,
        layer.highway_field,
        layer.maxspeed_field,
        layer.oneway_field,
        layer.status_field,
    ):
        if fld is not None and fld not in gdf.columns:
            raise InputError(
                f"no column '{fld}' (columns: {', '.join(map(str, gdf.columns))})",
                source=src,
                field=fld,
            )
    geom = np.asarray(gdf.geometry.array, dtype=object)
    reason = np.full(len(gdf), "", dtype=object)
    missing = shapely.is_missing(geom)
    reason[missing] = "no geometry"
    empty = ~missing & shapely.is_empty(geom)
    reason[empty] = "empty geometry"
    type_id = shapely.get_type_id(geom)
    ok = reason == ""
    not_line = ok & ~np.isin(type_id, [1, 5])
    reason[not_line] = "not a line"
    ok = reason == ""
    coords, idx = shapely.get_coordinates(geom[ok], return_index=True)
    finite = np.ones(int(ok.sum()), bool)
    np.logical_and.at(finite, idx, np.isfinite(coords).all(axis=1))
    bad = np.flatnonzero(ok)[~finite]
    reason[bad] = "non-finite coordinates"
    ok = reason == ""
    degenerate = np.flatnonzero(ok)[shapely.length(geom[ok]) <= 0]
    reason[degenerate] = "line with no length"
    skipped = [{"row": int(i) + 1, "reason": str(reason[i])} for i in np.flatnonzero(reason != "")]
    keep = reason == ""
    report: dict[str, Any] = {"source": src, "rows": len(gdf), "skipped_rows": skipped}
    if layer.status_field is not None and layer.open_statuses is not None:
        status = gdf[layer.status_field].fillna("").astype(str).to_numpy()
        closed = keep & ~np.isin(status, list(layer.open_statuses))
        report["dropped_by_status"] = {
            str(k): int(c)
            for k, c in zip(*np.unique(status[closed], return_counts=True), strict=True)
        }
        keep &= ~closed
    sub = gdf.loc[keep]
    if len(sub) == 0:
        why = {
            str(k): int(c)
            for k, c in zip(*np.unique(reason[reason != ""], return_counts=True), strict=True)
        }
        why.update(
            {f"status '{k}' not open": c for k, c in report.get("dropped_by_status", {}).items()}
        )
        said = ", ".join(f"{c} {k}" for k, c in why.items())
        raise NetworkError(
            f"{src}: no road line is left of {len(gdf)} feature(s) ({said}); give a layer of "
            "LineString roads (with open statuses, see [roads] open_statuses of the config)"
        )

    def col(name: str | None) -> np.ndarray | None:
        return sub[name].to_numpy(dtype=object) if name is not None else None

    highway = col(layer.highway_field)
    road_class = sub[layer.class_field].fillna("").astype(str).to_numpy(dtype=object)
    maxspeed = (
        parse_maxspeed(cast(np.ndarray, col(layer.maxspeed_field)))
        if layer.maxspeed_field
        else None
    )
    oneway, reverse = _oneway(col(layer.oneway_field), highway, len(sub))
    geometry = sub.geometry.to_crs(metric_crs).to_numpy()
    geometry[reverse] = shapely.reverse(geometry[reverse])
    name = sub[layer.name_field].to_numpy(dtype=object) if layer.name_field in sub.columns else None
    status = (
        sub[layer.status_field].fillna("").astype(str).to_numpy(dtype=object)
        if layer.status_field is not None
        else np.full(len(sub), "open", dtype=object)
    )
    out = gpd.GeoDataFrame(
        {
            "road_class": road_class,
            "speed_kmh": _speeds(highway, road_class, maxspeed, speed_kmh),
            "oneway": oneway,
            "status": status,
            "name": name if name is not None else np.full(len(sub), None, dtype=object),
        },
        geometry=geometry,
        crs=metric_crs,
    )
    report["lines_used"] = len(out)
    report["maxspeed_used"] = (
        int(np.count_nonzero(~np.isnan(maxspeed))) if maxspeed is not None else 0
    )
    return out, report


def _drop_covered(
    extra: gpd.GeoDataFrame, base: gpd.GeoDataFrame, *, dedupe_m: float, piece_m: float = 100.0
) -> tuple[gpd.GeoDataFrame, float]:
    """Keep only the parts of ``extra`` farther than ``dedupe_m`` from ``base``.

    Lines are cut into pieces of at most ``piece_m``; a piece is dropped when its midpoint lies
    within ``dedupe_m`` of the base layer (the same road digitised twice). The first covered piece
    next to a kept run is kept too, so that the run still reaches the base road and the repair
    can join it. Returns the kept lines and the km dropped.
    """
    geom = shapely.segmentize(np.asarray(extra.geometry.array, dtype=object), piece_m)
    parts, row = shapely.get_parts(geom, return_index=True)
    coords, pidx = shapely.get_coordinates(parts, return_index=True)
    s = np.flatnonzero(pidx[1:] == pidx[:-1])
    mid = shapely.points((coords[s] + coords[s + 1]) / 2)
    covered = np.zeros(len(s), bool)
    hit, _ = shapely.STRtree(np.asarray(base.geometry.array, dtype=object)).query(
        mid, predicate="dwithin", distance=dedupe_m
    )
    covered[hit] = True
    part = pidx[s]
    same_prev = np.append(False, part[1:] == part[:-1])
    same_next = np.append(part[:-1] == part[1:], False)
    keep = ~covered
    keep |= np.append(keep[1:], False) & same_next
    keep |= np.append(False, (~covered)[:-1]) & same_prev
    length = np.hypot(*(coords[s + 1] - coords[s]).T)
    start = keep & ~(np.append(False, keep[:-1]) & same_prev)
    run = np.cumsum(start) - 1
    k = np.flatnonzero(keep)
    xy = np.concatenate([coords[s[k]], coords[s[k] + 1]])
    rid = np.concatenate([run[k], run[k]])
    pos = np.concatenate([k * 2, k * 2 + 1])
    order = np.lexsort((pos, rid))
    xy, rid = xy[order], rid[order]
    # Consecutive kept segments share a vertex: drop the repeated start points.
    dup = np.append(False, (rid[1:] == rid[:-1]) & np.all(xy[1:] == xy[:-1], axis=1))
    lines = shapely.linestrings(xy[~dup], indices=rid[~dup])
    first_seg = k[np.searchsorted(run[k], np.arange(len(lines)))]
    src_row = row[part[first_seg]]
    out = extra.iloc[src_row].reset_index(drop=True)
    out = out.set_geometry(gpd.GeoSeries(lines, crs=extra.crs))
    return out, float(length[~keep].sum()) / 1000.0


def network_from_layers(
    layers: Sequence[RoadLayer],
    *,
    metric_crs: str,
    speed_kmh: Mapping[str, float],
    snap_tolerance_m: float = 50.0,
    dedupe_m: float | None = 100.0,
    split_crossings: bool = True,
    source: str = "",
) -> RoadNetwork:
    """Merge line layers (e.g. the OSM trunk layer and the ODV national layer) into one network.

    Parameters
    ----------
    layers
        The first layer is kept whole; each later layer keeps only what lies farther than
        ``dedupe_m`` from the layers before it (the same road in two sources would otherwise run
        twice, side by side), then all are repaired together.
    metric_crs
        CRS in which lengths and gaps are measured (EPSG:3405 for Vietnam).
    speed_kmh
        Speed table by highway tag / class, with ``default`` (and ``connector``).
    snap_tolerance_m, split_crossings
        Passed to :func:`geo.topology.repair_topology`.
    dedupe_m
        Distance within which a later layer's road counts as already present; None keeps all.
    source
        Description stored in the result.

    Returns
    -------
    RoadNetwork
        The report holds a ``layers`` list (per layer: rows, ``skipped_rows``, status drops,
        km dropped as duplicates) beside the topology counts.
    """
    if not CRS.from_user_input(metric_crs).is_projected:
        raise InputError(
            f"metric_crs must be a projected CRS in metres, got {metric_crs}", field="metric_crs"
        )
    frames: list[gpd.GeoDataFrame] = []
    layer_reports: list[dict[str, Any]] = []
    for i, layer in enumerate(layers):
        clean, rep = _clean_layer(layer, metric_crs, speed_kmh)
        layer_dedupe = layer.options.get("dedupe_m", dedupe_m)
        if i > 0 and layer_dedupe is not None and layer_dedupe > 0:
            clean, dropped_km = _drop_covered(clean, pd.concat(frames), dedupe_m=layer_dedupe)
            rep["duplicate_km_dropped"] = round(dropped_km, 3)
            rep["lines_used"] = len(clean)
        frames.append(clean)
        layer_reports.append(rep)
    lines = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=metric_crs)
    repaired = repair_topology(
        lines,
        snap_tolerance_m=snap_tolerance_m,
        connector_speed_kmh=float(speed_kmh.get("connector", speed_kmh["default"])),
        split_crossings=split_crossings,
    )
    report = {
        "layers": layer_reports,
        "skipped_rows": [r for lr in layer_reports for r in lr["skipped_rows"]],
    }
    report.update(repaired.report)
    src = source or " + ".join(layer.source for layer in layers)
    return RoadNetwork(str(metric_crs), repaired.node_xy, repaired.edges, report, src)


def network_from_lines(
    gdf: gpd.GeoDataFrame,
    *,
    metric_crs: str,
    speed_kmh: Mapping[str, float],
    class_field: str,
    highway_field: str | None = None,
    maxspeed_field: str | None = None,
    oneway_field: str | None = None,
    status_field: str | None = None,
    open_statuses: Sequence[str] | None = None,
    name_field: str | None = "name",
    snap_tolerance_m: float = 50.0,
    split_crossings: bool = True,
    source: str = "",
) -> RoadNetwork:
    """A repaired road network from one GIS line layer.

    Parameters
    ----------
    gdf
        LineStrings / MultiLineStrings in any CRS (it must have one).
    metric_crs
        Projected CRS for lengths, snapping and the output.
    speed_kmh
        Speeds by OSM highway tag or class, with ``default`` (``connector`` for repair edges).
        Per line: valid ``maxspeed`` first, else the highway tag, else the class, else default.
    class_field, highway_field, maxspeed_field, oneway_field, status_field, name_field
        Column names (None: absent). ``oneway`` takes OSM values (yes/true/1, -1/reverse).
    open_statuses
        Statuses kept when ``status_field`` is given (None keeps all); others are dropped and
        counted in ``report['layers'][0]['dropped_by_status']``.
    snap_tolerance_m, split_crossings
        Passed to :func:`geo.topology.repair_topology`.
    source
        File name for messages and the result.

    Returns
    -------
    RoadNetwork
        ``report['skipped_rows']`` lists rows (1-based feature position) with no, empty, non-line
        or degenerate geometry and the reason.

    Raises
    ------
    InputError
        No CRS, or a named field missing.
    NetworkError
        Nothing left to build a network from.
    """
    layer = RoadLayer(
        gdf,
        class_field,
        highway_field,
        maxspeed_field,
        oneway_field,
        status_field,
        tuple(open_statuses) if open_statuses is not None else None,
        name_field,
        source,
    )
    return network_from_layers(
        [layer],
        metric_crs=metric_crs,
        speed_kmh=speed_kmh,
        snap_tolerance_m=snap_tolerance_m,
        split_crossings=split_crossings,
        source=source,
    )


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _finish(
    node_xy: np.ndarray,
    edges: gpd.GeoDataFrame,
    metric_crs: str,
    report: dict[str, Any],
    source: str,
) -> RoadNetwork:
    # Nodes that no edge uses (osmnx keeps non-way nodes of an XML file) are dropped.
    used, compact = np.unique(np.concatenate([edges["u"], edges["v"]]), return_inverse=True)
    node_xy = node_xy[used]
    edges = edges.assign(
        u=compact[: len(edges)].astype(np.int64), v=compact[len(edges) :].astype(np.int64)
    )
    edges, comp_report = label_components(edges, len(node_xy))
    report.update(comp_report)
    logger.info(
        "%s: %d nodes, %d edges, %d components, largest %.1f%% of length",
        source,
        len(node_xy),
        len(edges),
        comp_report["after"]["components"],
        100 * comp_report["largest_share"],
    )
    return RoadNetwork(str(metric_crs), node_xy, edges, report, source)


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
            "speed_kmh": _speeds(highway, highway, maxspeed, speed_kmh),
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
    return _finish(node_xy, edges, metric_crs, report, source or "osmnx graph")


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
    oneway, reverse = _oneway(tag["oneway"].to_numpy(), tag["highway"].to_numpy(), n_ways)
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
            "speed_kmh": _speeds(highway, highway, maxspeed, speed_kmh),
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
    return _finish(node_xy, edges, metric_crs, report, str(p))


def road_network_for_region(
    data_dir: str | Path,
    config: Any,
    *,
    roads_file: str | Path | None = None,
    points: Sequence[Any] = (),
) -> RoadNetwork:
    """The region's road network: its configured line layer(s), or a user's ``--roads`` file.

    ``.osm``/``.xml`` files are read with :func:`network_from_osm_xml`, ``.pbf`` with
    :func:`network_from_pbf`; any other file as a line layer with the region's field names
    (``[roads]`` of the config). With ``merge_second`` the configured second layer is merged.
    Repairs (:mod:`geo.road_repairs`, ferries, and the connectors of
    :mod:`geo.point_connectors` for the configured cities and the given ``points``) follow.
    """
    from geo.urban import with_urban_factor

    net = _region_network(data_dir, config, roads_file=roads_file)
    r = config.roads
    if not _is_osm_file(roads_file):
        net = _with_termini(net, config)
    if r.max_connector_m <= 0:
        return cast(RoadNetwork, with_urban_factor(net, data_dir, r))
    from geo.ferries import Ferry
    from geo.point_connectors import add_point_connectors, cities_to_connect
    from geo.road_repairs import Island, apply_repairs

    speed = float(r.speed_kmh.get("connector", 20.0))
    net = apply_repairs(
        net,
        islands=[Island(i["name"], i["bbox"], i["source"]) for i in r.islands],
        max_connector_m=r.max_connector_m,
        connector_speed_kmh=speed,
        # Missing links are artefacts of generalised line layers; a full OSM extract has
        # its junctions, and its dead ends near another road are real (walls, canals).
        link_radius_m=0.0 if _is_osm_file(roads_file) else 300.0,
        ferries=[Ferry.from_config(f) for f in r.ferries],
        no_junctions=list(r.no_junctions),
    )
    cities = []
    if r.city_connectors_file and (Path(data_dir) / r.city_connectors_file).exists():
        cities = cities_to_connect(
            Path(data_dir) / r.city_connectors_file,
            min_population=r.city_connectors_min_population,
            min_gap_m=r.city_connector_min_m,
        )
    return cast(
        RoadNetwork,
        with_urban_factor(
            add_point_connectors(
                net,
                [*cities, *points],
                # a point's connector stands for the local roads a cell crosses at the access
                # speed: slower, it would slow the cells that snap to it (geo.point_connectors)
                connector_speed_kmh=float(config.access_speed_kmh),
                island_bboxes=[i["bbox"] for i in r.islands],
            ),
            data_dir,
            r,
        ),
    )


def _with_same_road_gaps(gdf: gpd.GeoDataFrame, config: Any) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """The second layer plus the gaps between the parts of one named road (ODV)."""
    from geo.road_additions import SAME_ROAD_MAX_GAP_M, clip_gap_links

    if "name_vi" not in gdf.columns:
        return gdf, []
    parts = gdf.explode(index_parts=False).reset_index(drop=True)
    links, records = clip_gap_links(
        parts,
        metric_crs=config.metric_crs,
        status_field=None,
        ref_field="name_vi",
        max_gap_m=SAME_ROAD_MAX_GAP_M,
        require_clipped=False,
        kind="same-road gap",
    )
    if not records:
        return gdf, []
    merged = pd.concat([parts, links.drop(columns="addition")], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry=gdf.geometry.name, crs=gdf.crs), records


def _with_termini(net: RoadNetwork, config: Any) -> RoadNetwork:
    """Expressway dead ends joined to the road they meet (:mod:`geo.road_additions`)."""
    from geo.road_additions import expressway_termini

    speed = float(config.roads.speed_kmh.get("connector", 20.0))
    out, records = expressway_termini(net, connector_speed_kmh=speed)
    if records:
        additions = [*out.report.get("road_additions", []), *records]
        out = replace(out, report={**out.report, "road_additions": additions})
    return cast(RoadNetwork, out)


def _is_osm_file(path: str | Path | None) -> bool:
    return path is not None and Path(path).name.lower().endswith((".osm", ".xml", ".pbf"))


def _region_network(
    data_dir: str | Path, config: Any, *, roads_file: str | Path | None = None
) -> RoadNetwork:
    r = config.roads
    if roads_file is not None:
        path = Path(roads_file)
        name = path.name.lower()
        if name.endswith((".osm", ".xml", ".osm.xml")):
            return network_from_osm_xml(path, metric_crs=config.metric_crs, speed_kmh=r.speed_kmh)
        if name.endswith(".pbf"):
            return network_from_pbf(path, metric_crs=config.metric_crs, speed_kmh=r.speed_kmh)
        gdf = read_road_layer(path)
    else:
        path = Path(data_dir) / r.file
        gdf = read_road_layer(path, layer=r.layer)
    gdf, additions = _with_additions(gdf, config)
    first = RoadLayer(
        gdf,
        class_field=r.class_field
        if r.class_field in gdf.columns
        else _guess_class_field(gdf, path),
        highway_field=r.highway_field if r.highway_field in gdf.columns else None,
        maxspeed_field=r.maxspeed_field if r.maxspeed_field in gdf.columns else None,
        oneway_field=r.oneway_field if r.oneway_field in gdf.columns else None,
        status_field=r.status_field if r.status_field in gdf.columns else None,
        open_statuses=r.open_statuses if r.status_field in gdf.columns else None,
        source=str(path),
    )
    layers = [first]
    report_extra: dict[str, Any] = {}
    if r.extra_files and roads_file is None:
        from geo.city_streets import merge_by_way_id, read_city_streets

        streets, files = read_city_streets([Path(data_dir) / f for f in r.extra_files])
        if len(streets):
            added, merge = merge_by_way_id(gdf, streets)
            report_extra = {"city_streets": {"files": files, **merge}}
            layers.append(
                RoadLayer(
                    added,
                    class_field="road_class",
                    highway_field="highway",
                    maxspeed_field="maxspeed",
                    oneway_field="oneway",
                    source="city streets: " + ", ".join(Path(f["file"]).name for f in files),
                    # A street within this of a national road is the same road under another
                    # way id (split or renumbered since): the national road stays.
                    options={"dedupe_m": CITY_STREETS_DEDUPE_M},
                )
            )
    if r.merge_second and r.second_file and roads_file is None:
        p2 = Path(data_dir) / r.second_file
        g2, more = _with_same_road_gaps(read_road_layer(p2, layer=r.second_layer), config)
        additions = [*additions, *more]
        layers.append(RoadLayer(g2, class_field=r.second_class_field or "level_en", source=str(p2)))
    net = network_from_layers(
        layers,
        metric_crs=config.metric_crs,
        speed_kmh=r.speed_kmh,
        snap_tolerance_m=r.snap_tolerance_m,
    )
    net.report.update(report_extra)
    if additions:
        net.report["road_additions"] = additions
    return net


def _with_additions(gdf: gpd.GeoDataFrame, config: Any) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """The layer plus the crossings its clipping cut away (:mod:`geo.road_additions`)."""
    from geo.road_additions import clip_gap_links

    r = config.roads
    links, records = clip_gap_links(
        gdf,
        metric_crs=config.metric_crs,
        status_field=r.status_field,
        open_statuses=r.open_statuses,
    )
    if not records:
        return gdf, []
    merged = pd.concat([gdf, links.drop(columns="addition")], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry=gdf.geometry.name, crs=gdf.crs), records


def _guess_class_field(gdf: gpd.GeoDataFrame, path: Path) -> str:
    for name in ("highway", "road_class", "class", "fclass", "type", "level_en", "class_en"):
        if name in gdf.columns:
            return name
    raise InputError(
        f"no road class column (looked for highway, road_class, class, fclass, type); columns are {list(gdf.columns)}",
        source=str(path),
    )
