"""GIS road line layers: reading, validation and normalisation, and the dedupe of a second layer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from geo.errors import DataNotFoundError, InputError, NetworkError
from geo.road_network import RoadLayer
from geo.road_speeds import oneway_from_tags, parse_maxspeed, speeds_from_tags


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


def clean_layer(
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
    oneway, reverse = oneway_from_tags(col(layer.oneway_field), highway, len(sub))
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
            "speed_kmh": speeds_from_tags(highway, road_class, maxspeed, speed_kmh),
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


def drop_covered(
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
