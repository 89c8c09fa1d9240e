"""Vector layers of users and sources: GeoPackage, GeoJSON, shapefiles (alone or zipped) and
(Geo)Parquet read with a clear message for each way they fail, then checked feature by feature
(geometry kind, validity, coordinates) with the rejected features named."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from geo.coordinates import classify_coordinates
from geo.errors import InputError
from geo.schema import Issues

ROW = "source_row"  # the 1-based row of the input kept on every row read (geo.tabular)


def read_vector(p: Path, src: str, layer: str | None, *, crs: str | None = None) -> pd.DataFrame:
    suffix = p.suffix.lower()
    target = str(p)
    if suffix == ".parquet":
        return _read_parquet(p, src)
    if suffix == ".zip":
        target = _zip_target(p, src)
    try:
        layers = pyogrio.list_layers(target)
        if layer is None and len(layers) > 1:
            raise InputError(
                f"the file has several layers ({', '.join(str(n) for n in layers[:, 0])}); name one",
                source=src,
            )
        if layer is not None and layer not in set(layers[:, 0]):
            raise InputError(
                f"no layer '{layer}'; the layers are: {', '.join(str(n) for n in layers[:, 0])}",
                source=src,
            )
        data = gpd.read_file(target, layer=layer, engine="pyogrio")
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
    ) as exc:
        raise InputError(
            f"cannot read the file (corrupt, truncated or not a supported format): {exc}",
            source=src,
        ) from None
    if len(data) == 0:
        raise InputError("the layer has no features", source=src)
    if isinstance(data, gpd.GeoDataFrame) and "geometry" in data and data.crs is None and crs:
        data = data.set_crs(crs)
    if isinstance(data, gpd.GeoDataFrame) and "geometry" in data and data.crs is None:
        raise InputError(
            "the layer has no coordinate reference system; add a .prj, declare it with --crs "
            "(e.g. --crs EPSG:4326), "
            "or convert it to EPSG:4326 (e.g. ogr2ogr -t_srs EPSG:4326)",
            source=src,
        )
    return data


def _read_parquet(p: Path, src: str) -> pd.DataFrame:
    """A GeoParquet file, or a plain Parquet table (lon/lat columns)."""
    try:
        return gpd.read_parquet(p)
    except ValueError:
        try:
            return pd.read_parquet(p)  # no geo metadata: a table with lon/lat columns
        except (OSError, ValueError) as exc:
            raise InputError(f"not a readable Parquet file: {exc}", source=src) from None
    except OSError as exc:
        raise InputError(f"not a readable Parquet file: {exc}", source=src) from None


def _zip_target(p: Path, src: str) -> str:
    """The GDAL path of the one shapefile (with its .prj) in a zip archive."""
    try:
        with zipfile.ZipFile(p) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
            names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise InputError("corrupt or truncated zip archive; re-create it", source=src) from None
    if len(shps) != 1:
        raise InputError(
            f"the zip must hold exactly one shapefile (.shp), found {len(shps)}", source=src
        )
    stem = shps[0][:-4]
    if not any(n.lower() == f"{stem}.prj".lower() for n in names):
        raise InputError(
            f"{shps[0]} has no .prj (no coordinate reference system); add the .prj file, "
            "or convert the layer to EPSG:4326 (e.g. ogr2ogr -t_srs EPSG:4326)",
            source=src,
        )
    return f"/vsizip/{p}/{shps[0]}"


def check_layer(
    data: gpd.GeoDataFrame, src: str, bbox: tuple[float, float, float, float] | None, issues: Issues
) -> gpd.GeoDataFrame:
    data = data.reset_index(drop=True).copy()
    data[ROW] = np.arange(1, len(data) + 1, dtype="int64")
    if not data.crs.equals("EPSG:4326"):
        issues.repair(
            src, None, "geometry", f"reprojected from {data.crs.to_string()} to EPSG:4326"
        )
        data = data.to_crs("EPSG:4326")
    geoms = data.geometry.to_numpy()
    kind = shapely.get_type_id(geoms)  # -1 None, 0 Point, 1 LineString, 3 Polygon, 6 MultiPolygon
    reason = np.full(len(data), "", dtype=object)
    reason[(kind == -1) | shapely.is_empty(geoms)] = "no geometry (null or empty)"
    lines = np.isin(kind, [1, 2, 5])
    reason[(reason == "") & lines] = "a line is not a facility location; give a point or a polygon"
    other = ~np.isin(kind, [-1, 0, 1, 2, 3, 5, 6])
    reason[(reason == "") & other] = (
        "unsupported geometry type (give one Point or a Polygon per facility)"
    )
    poly = np.isin(kind, [3, 6]) & (reason == "")
    invalid = poly & ~shapely.is_valid(geoms)
    if invalid.any():
        why = shapely.is_valid_reason(geoms[invalid])
        reason[invalid] = [
            f"invalid polygon ({w}); repair it in a GIS (e.g. Fix geometries)" for w in why
        ]
    usable = reason == ""
    points = np.asarray(shapely.points(np.full((len(data), 2), np.nan)))
    points[usable] = np.where(
        kind[usable] == 0, geoms[usable], shapely.point_on_surface(geoms[usable])
    )
    lon = pd.Series(shapely.get_x(points), index=data.index)
    lat = pd.Series(shapely.get_y(points), index=data.index)
    coord = classify_coordinates(lon, lat, bbox).to_numpy()
    reason = np.where((reason == "") & (coord != ""), coord, reason)
    for i in np.flatnonzero(reason != ""):
        issues.reject(src, int(data[ROW].iloc[i]), "geometry", str(reason[i]))
    return data.loc[reason == ""].reset_index(drop=True)
