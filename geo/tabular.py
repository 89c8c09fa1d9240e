"""Read any facility file (CSV, XLSX, GeoJSON, GeoPackage, Shapefile, zip, GeoParquet) into EPSG:4326.

One entry point, :func:`read_table`, returns the rows that carry a usable location plus an
:class:`~geo.schema.Issues` holding every row left out (with the reason) and every repair made.
Only unambiguous repairs are made (a byte-order mark, a legacy encoding, decimal commas,
degree-minute-second strings, a declared CRS); what is ambiguous (swapped or projected
coordinates, invalid polygons, lines) is rejected. Row numbers are 1-based data rows (header and
blank lines excluded) for tables, the 1-based feature position for layers.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
import zipfile
from pathlib import Path

import charset_normalizer
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coordinates import classify_coordinates, parse_coordinates
from geo.errors import InputError
from geo.schema import Issues
from geo.vector_input import ROW, check_layer, read_vector

__all__ = [
    "LAT_NAMES",
    "LON_NAMES",
    "ROW",
    "TABLE_SUFFIXES",
    "VECTOR_SUFFIXES",
    "classify_coordinates",
    "parse_coordinates",
    "read_rows",
    "read_table",
]

log = logging.getLogger(__name__)

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "kinh_do", "kinhdo")
LAT_NAMES = ("lat", "latitude", "y", "vi_do", "vido")
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".parquet")
_BOM = b"\xef\xbb\xbf"


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    layer: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    crs: str | None = None,
    delimiter: str | None = None,
) -> tuple[gpd.GeoDataFrame, Issues]:
    """Read a facility file of any supported format into a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    path
        ``.csv``/``.txt``, ``.xlsx``, ``.geojson``/``.json``, ``.gpkg``, ``.shp``, ``.zip`` holding
        one shapefile, or ``.parquet`` (GeoParquet, or plain Parquet with lon/lat columns).
    encoding
        Text encoding of a CSV; default: detected (UTF-8 with or without BOM, Windows-1258 and
        other legacy encodings through charset-normalizer).
    lon_field, lat_field
        Coordinate columns of a table; default: found by common names (lon, lng, long,
        longitude, x, kinh_do / lat, latitude, y, vi_do), case-insensitive.
    layer
        Layer of a multi-layer file (GeoPackage); default: the only layer.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` of the region: locations outside are rejected,
        and a location whose swap falls inside is rejected as swapped.
    crs
        CRS of a vector layer that declares none (``--crs``, e.g. ``EPSG:3405``); a layer that
        declares one keeps its own.
    delimiter
        Field separator of a CSV; default: sniffed from the first rows (``,``, ``;``, tab,
        ``|``). Give it when quoted text holds another candidate (notes with semicolons).

    Returns
    -------
    (GeoDataFrame, Issues)
        The kept rows with their original columns (headers stripped), ``source_row`` and a
        geometry (Point, or Polygon/MultiPolygon for areas) in EPSG:4326; the rejects and repairs.

    Raises
    ------
    InputError
        Unknown extension, missing, empty, header-only or corrupt file, no CRS on a vector file,
        no coordinate columns in a table.
    """
    p = Path(path)
    src = str(path)
    issues = Issues()
    if not p.exists():
        raise InputError("file not found; check the path", source=src)
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES + VECTOR_SUFFIXES:
        raise InputError(
            f"unknown file type '{suffix}'; give one of {', '.join(TABLE_SUFFIXES + VECTOR_SUFFIXES)}",
            source=src,
        )
    if p.is_file() and p.stat().st_size == 0:
        raise InputError(
            "the file is empty; give a file with a header and at least one row", source=src
        )
    if suffix in (".csv", ".txt"):
        frame = _read_csv(p, src, encoding, issues, delimiter)
        return _points_from_columns(frame, src, lon_field, lat_field, bbox, issues), issues
    if suffix == ".xlsx":
        frame = _read_xlsx(p, src)
        return _points_from_columns(frame, src, lon_field, lat_field, bbox, issues), issues
    data = read_vector(p, src, layer, crs=crs)
    if not isinstance(data, gpd.GeoDataFrame):
        return _points_from_columns(data, src, lon_field, lat_field, bbox, issues), issues
    return check_layer(data, src, bbox, issues), issues


# --------------------------------------------------------------------------- tables


def _decode(raw: bytes, src: str, encoding: str | None, issues: Issues) -> str:
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot decode with encoding '{encoding}': {exc}", source=src
            ) from None
        text = text.removeprefix("\ufeff")
    elif raw.startswith(_BOM):
        text = raw[len(_BOM) :].decode("utf-8", errors="strict")
        issues.repair(src, None, "", "removed the UTF-8 byte-order mark")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            best = charset_normalizer.from_bytes(raw).best()
            if best is None:
                raise InputError(
                    "cannot detect the text encoding; save the file as UTF-8 or pass the encoding",
                    source=src,
                ) from None
            text = str(best)
            issues.repair(src, None, "", f"decoded as {best.encoding} (detected; not UTF-8)")
            log.info("%s: decoded as %s", src, best.encoding)
    # Windows-1258 writes tones as combining marks: compose them so names compare equal.
    return unicodedata.normalize("NFC", text)


def _read_csv(
    p: Path, src: str, encoding: str | None, issues: Issues, delimiter: str | None = None
) -> pd.DataFrame:
    text = _decode(p.read_bytes(), src, encoding, issues)
    if not text.strip():
        raise InputError("the file is empty; give a header and at least one row", source=src)
    sample = "\n".join(line for line in text.splitlines()[:20] if line.strip())
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable CSV: {exc}", source=src) from None
    return _clean_headers(frame, src, issues)


def read_rows(
    path: Path, *, encoding: str | None = None, delimiter: str = ","
) -> tuple[pd.DataFrame, Issues]:
    """Read a plain CSV table (no coordinates) as text columns, with the same decoding and header
    repairs as :func:`read_table` (comma-separated unless ``delimiter`` says otherwise).

    Returns
    -------
    (DataFrame, Issues)
        Every data row as strings (blank cells are ""), headers stripped; the repairs made.

    Raises
    ------
    InputError
        Missing, empty, header-only or unreadable file.
    """
    src = str(path)
    issues = Issues()
    if not path.is_file():
        raise InputError("file not found; check the path", source=src)
    frame = _read_csv(path, src, encoding, issues, delimiter)
    return frame.reset_index(drop=True), issues


def _read_xlsx(p: Path, src: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(p, sheet_name=0, dtype=object, engine="openpyxl")
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"not a readable XLSX workbook: {exc}", source=src) from None
    frame = frame.dropna(how="all").reset_index(drop=True)  # blank rows are not rows
    frame = frame.astype(object).where(frame.notna(), "")
    return _clean_headers(frame, src, Issues())


def _clean_headers(frame: pd.DataFrame, src: str, issues: Issues) -> pd.DataFrame:
    names = [str(c) for c in frame.columns]
    stripped = [c.strip().removeprefix("\ufeff") for c in names]
    if stripped != names:
        changed = [repr(a) for a, b in zip(names, stripped, strict=True) if a != b]
        issues.repair(src, None, "", f"stripped spaces from headers {', '.join(changed)}")
    if len(frame) == 0:
        raise InputError(
            f"the file has a header ({', '.join(stripped)}) but no data rows", source=src
        )
    out = frame.copy()
    out.columns = stripped
    return out


def _find_column(
    columns: list[str], given: str | None, names: tuple[str, ...], what: str, src: str
) -> str:
    if given is not None:
        if given not in columns:
            raise InputError(
                f"no column '{given}' for {what}; the columns are: {', '.join(columns)}",
                source=src,
                field=given,
            )
        return given
    lowered = {c.casefold(): c for c in columns}
    for n in names:
        if n in lowered:
            return lowered[n]
    raise InputError(
        f"no {what} column found (looked for {', '.join(names)}); the columns are: {', '.join(columns)}. "
        f"Rename the column or pass it explicitly",
        source=src,
        field=what,
    )


def _points_from_columns(
    frame: pd.DataFrame,
    src: str,
    lon_field: str | None,
    lat_field: str | None,
    bbox: tuple[float, float, float, float] | None,
    issues: Issues,
) -> gpd.GeoDataFrame:
    columns = [str(c) for c in frame.columns]
    lon_col = _find_column(columns, lon_field, LON_NAMES, "longitude", src)
    lat_col = _find_column(columns, lat_field, LAT_NAMES, "latitude", src)
    frame = frame.reset_index(drop=True)
    rows = pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
    lon, lon_how, lon_hemi = parse_coordinates(frame[lon_col])
    lat, lat_how, lat_hemi = parse_coordinates(frame[lat_col])
    reason = pd.Series("", index=frame.index, dtype=object)
    field = pd.Series("", index=frame.index, dtype=object)
    for col, val, raw in ((lat_col, lat, frame[lat_col]), (lon_col, lon, frame[lon_col])):
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        bad = val.isna() & (reason == "")
        reason = reason.mask(bad & blank, f"no {col} value")
        reason = reason.mask(
            bad & ~blank, f"cannot read {col} value " + raw.astype(str).str.slice(0, 40).map(repr)
        )
        field = field.mask(bad, col)
    no_point = lon.isna() & lat.isna()
    no_point &= frame[lon_col].isna() | (frame[lon_col].astype(str).str.strip() == "")
    no_point &= frame[lat_col].isna() | (frame[lat_col].astype(str).str.strip() == "")
    reason = reason.mask(no_point, f"no {lon_col} and no {lat_col} value (empty coordinates)")
    field = field.mask(no_point, f"{lon_col}/{lat_col}")
    hemi_swap = (reason == "") & (lon_hemi.isin(["N", "S"]) | lat_hemi.isin(["E", "W"]))
    checked = classify_coordinates(lon, lat, bbox).mask(
        hemi_swap, "latitude and longitude look swapped (N/S on longitude)"
    )
    newly = (reason == "") & (checked != "")
    reason = reason.mask(newly, checked)
    field = field.mask(newly, lon_col + "/" + lat_col)
    for i in np.flatnonzero((reason != "").to_numpy()):
        issues.reject(src, int(rows.iloc[i]), str(field.iloc[i]), str(reason.iloc[i]))
    keep = (reason == "").to_numpy()
    for col, how in ((lon_col, lon_how), (lat_col, lat_how)):
        for kind, label in (
            ("decimal_comma", "decimal comma read as a point"),
            ("dms", "degrees-minutes-seconds converted to decimal degrees"),
        ):
            for i in np.flatnonzero(keep & (how == kind).to_numpy()):
                issues.repair(src, int(rows.iloc[i]), col, f"{label}: {frame[col].iloc[i]!r}")
    out = frame.loc[keep].copy()
    out[ROW] = rows[keep].astype("int64")
    geometry = gpd.points_from_xy(lon[keep], lat[keep], crs="EPSG:4326")
    return gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326").reset_index(drop=True)


# --------------------------------------------------------------------------- layers
