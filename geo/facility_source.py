"""Facility rows: map a source layer onto the facility schema with the region's rules.

Names, ids, statuses, classes, points and areas of one source's rows (:func:`facilities_from_source`);
the province tagging that rejects rows outside the region and the final column order and sort
shared by every loader (:func:`tag_facilities`, :func:`sorted_facilities`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.config import RegionConfig, SourceSpec, TypeConfig
from geo.provinces import Provinces, tag_provinces
from geo.schema import FACILITY_COLUMNS, Issues
from geo.tabular import ROW

ASSUMED_STATUSES = ("unknown", "")


def normalise_name(name: object) -> str:
    """Casefold, strip diacritics (đ -> d) and punctuation, collapse spaces."""
    text = unicodedata.normalize("NFD", str(name).casefold().replace("đ", "d"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def stable_id(type_name: str, name: object, lon: float, lat: float) -> str:
    """Id from type, normalised name and coordinates rounded to 1e-5° (not from row order)."""
    key = f"{type_name}|{normalise_name(name)}|{lon:.5f}|{lat:.5f}"
    return f"{type_name}:{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def text_column(frame: pd.DataFrame, column: str | None) -> pd.Series:
    """A column as stripped text ('' where missing, or when the column is absent)."""
    if column is None or column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    col = frame[column]
    return col.astype(str).where(col.notna(), "").str.strip()


def empty_facilities() -> gpd.GeoDataFrame:
    """No facility, with the schema's columns and ``area_wkb`` (EPSG:4326)."""
    cols = {c: pd.Series(dtype=object) for c in (*FACILITY_COLUMNS, "area_wkb")}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _status(raw: pd.Series, config: RegionConfig) -> tuple[pd.Series, pd.Series, pd.Series]:
    key = raw.str.casefold()
    status = key.map(config.status_map)
    source = pd.Series(
        np.where(key.isin(ASSUMED_STATUSES), "assumed", "source"), index=raw.index, dtype=object
    )
    allowed = ", ".join(repr(k) for k in config.status_map)
    reason = "status " + raw.map(repr) + f" is not usable; allowed values: {allowed}"
    return status, source, reason.where(status.isna(), "")


def _geometry_and_area(
    gdf: gpd.GeoDataFrame, metric_crs: str
) -> tuple[gpd.GeoSeries, pd.Series, pd.Series]:
    """Facility point (polygons: their point on surface), polygon WKB and area in hectares."""
    geoms = gdf.geometry.to_numpy()
    is_poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    points = np.where(is_poly, shapely.point_on_surface(geoms), geoms)
    wkb = pd.Series(np.where(is_poly, shapely.to_wkb(geoms), None), index=gdf.index, dtype=object)
    area = gpd.GeoSeries(np.where(is_poly, geoms, None), crs=gdf.crs).to_crs(metric_crs).area / 1e4
    area_ha = pd.Series(np.where(is_poly, area.to_numpy(), np.nan), index=gdf.index).round(3)
    return gpd.GeoSeries(points, index=gdf.index, crs=gdf.crs), wkb, area_ha


def _excluded_by_definition(
    gdf: gpd.GeoDataFrame,
    spec: SourceSpec,
    type_name: str,
    src: str,
    excluded: list[dict[str, object]] | None,
) -> pd.Series:
    """Rows that are facilities of the type by definition (``require_field``, ``filter_true``);
    the others are appended to ``excluded`` (if given) with the reason."""
    rows = gdf[ROW]
    keep = pd.Series(True, index=gdf.index)

    def exclude(mask: pd.Series, reason: str) -> None:
        for r in rows[mask & keep].tolist():
            if excluded is not None:
                excluded.append({"source": src, "row": int(r), "type": type_name, "reason": reason})
        keep.loc[mask] = False

    if spec.require_field:
        exclude(
            text_column(gdf, spec.require_field) == "",
            f"no {spec.require_field}: not a {type_name} by definition",
        )
    if spec.filter_true:
        flag = (
            gdf[spec.filter_true] if spec.filter_true in gdf else pd.Series(False, index=gdf.index)
        )
        truthy = flag.astype(str).str.strip().str.casefold().isin(["1", "true", "yes", "t"])
        exclude(
            ~truthy, f"{spec.filter_true} is false (another record of the same facility is used)"
        )
    return keep


def _classes(
    gdf: gpd.GeoDataFrame, spec: SourceSpec, type_name: str, tcfg: TypeConfig
) -> tuple[pd.Series, pd.Series | None]:
    """The class of each row (airports: international or domestic by IATA code) and, for
    airports, the IATA codes."""
    iata = None
    if type_name == "airport":
        iata = text_column(gdf, "iata").str.upper()
        klass: pd.Series = pd.Series(
            np.where(iata.isin(tcfg.international_iata), "international", "domestic"),
            index=gdf.index,
        )
    elif spec.class_field:
        raw_class = text_column(gdf, spec.class_field)
        klass = raw_class.map(lambda v: tcfg.class_map.get(v, v))
    else:
        klass = pd.Series("", index=gdf.index, dtype=object)
    if tcfg.class_provinces63 and tcfg.outside_class and "prov63_code" in gdf.columns:
        # e.g. the ports of Hà Nội, Bắc Ninh, Phú Thọ are inland river ports, not seaports
        p63 = text_column(gdf, "prov63_code").str.replace(r"\.0$", "", regex=True).str.zfill(2)
        inland = (
            ~p63.isin(tcfg.class_provinces63) & (p63 != "00") & ~klass.isin(tcfg.exclude_classes)
        )
        klass = klass.mask(inland, tcfg.outside_class)
    return klass, iata


def _reject_invalid(
    checks: tuple[tuple[pd.Series, str, pd.Series | str], ...],
    keep: pd.Series,
    rows: pd.Series,
    src: str,
    issues: Issues,
) -> pd.Series:
    """Reject each kept row on the first check it fails (``(bad, field, reason)``); the rejected."""
    reason = pd.Series("", index=keep.index, dtype=object)
    field = pd.Series("", index=keep.index, dtype=object)
    for bad, col, why in checks:
        new = keep & (reason == "") & bad
        reason = reason.mask(new, why)
        field = field.mask(new, col)
    bad = reason != ""
    for r, f, why in zip(
        rows[bad].tolist(), field[bad].tolist(), reason[bad].tolist(), strict=True
    ):
        issues.reject(src, int(r), f, why)
    return bad


def _join_polygons(
    out: gpd.GeoDataFrame, ids: pd.Series, polygons: gpd.GeoDataFrame, id_field: str
) -> None:
    """Set ``area_wkb`` from a polygon layer joined on ``id_field``; note rows without one."""
    poly = polygons.drop_duplicates(id_field).set_index(id_field).geometry.to_crs("EPSG:4326")
    joined = ids.map(poly)
    has = joined.notna()
    out.loc[has, "area_wkb"] = shapely.to_wkb(joined[has].to_numpy())
    out.loc[~has & out["area_wkb"].isna(), "data_note"] = "no polygon in the source (point only)"


def facilities_from_source(
    gdf: gpd.GeoDataFrame,
    spec: SourceSpec,
    *,
    type_name: str,
    config: RegionConfig,
    source: str | None = None,
    issues: Issues,
    excluded: list[dict[str, object]] | None = None,
    polygons: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Map a source layer onto the facility schema with the region configuration's rules.

    Parameters
    ----------
    gdf
        Output of :func:`geo.tabular.read_table` (with ``source_row``), not modified.
    spec
        The source's mapping (``id_field``, ``name_field``, ``require_field``, ``filter_true``,
        ``class_field``, ``status_field``, ...).
    type_name
        Facility type of the rows.
    config
        Region configuration (``status_map``, the type's ``class_map``, ``exclude_classes``,
        ``international_iata``; ``metric_crs`` for areas).
    source
        Label written in ``source`` and in rejects; default ``spec.file``.
    issues
        Receives rejected rows (this function appends to it).
    excluded
        If given, receives rows that are not facilities of the type (``require_field`` empty,
        ``filter_true`` false).
    polygons
        Polygon layer joined on ``spec.id_field`` (areas of industrial parks).

    Returns
    -------
    GeoDataFrame
        Facility schema plus ``area_wkb``, Point geometry in EPSG:4326; province fields empty.
    """
    src = source or spec.file
    tcfg = config.types[type_name]
    rows = gdf[ROW]
    keep = _excluded_by_definition(gdf, spec, type_name, src, excluded)
    name = text_column(gdf, spec.name_field)
    if spec.name_fallback:
        name = name.where(name != "", text_column(gdf, spec.name_fallback))
    status, status_source, status_reason = _status(text_column(gdf, spec.status_field), config)
    klass, iata = _classes(gdf, spec, type_name, tcfg)
    checks = (
        (name == "", spec.name_field, "no name (empty or whitespace only)"),
        (status_reason != "", spec.status_field or "status", status_reason),
        (
            klass.isin(tcfg.exclude_classes),
            spec.class_field or "class",
            "class " + klass + f" is not a {type_name} by default",
        ),
    )
    keep &= ~_reject_invalid(checks, keep, rows, src, issues)

    sub = gdf.loc[keep]
    if sub.empty:
        return empty_facilities()
    ids = text_column(sub, spec.id_field)
    points, wkb, area_ha = _geometry_and_area(sub, config.metric_crs)
    generated = pd.Series(
        [stable_id(type_name, n, p.x, p.y) for n, p in zip(name[keep], points, strict=True)],
        index=sub.index,
        dtype=object,
    )
    fid = (type_name + ":" + ids).where(ids != "", generated)
    fid = fid.where(~ids.str.startswith(f"{type_name}:"), ids)
    out = gpd.GeoDataFrame(
        {
            "facility_id": fid,
            "name": name[keep],
            "type": type_name,
            "status": status[keep],
            "status_source": status_source[keep],
            "class": klass[keep].replace("", None),
            "capacity": np.nan,
            "capacity_unit": None,
            "area_ha": area_ha,
            "source": src,
            "source_row": rows[keep].astype("int64"),
            "data_note": None,
            "area_wkb": wkb,
        },
        geometry=points,
        crs="EPSG:4326",
    )
    if iata is not None:
        out["_iata"] = iata[keep].replace("", None)
    if "area_ha" in sub:
        given = pd.to_numeric(sub["area_ha"], errors="coerce")
        out["area_ha"] = given.where(given.notna(), out["area_ha"])
    if polygons is not None and spec.id_field:
        _join_polygons(out, ids, polygons, spec.id_field)
    return out


def tag_facilities(
    fac: gpd.GeoDataFrame, provinces: Provinces, config: RegionConfig, issues: Issues
) -> gpd.GeoDataFrame:
    """Tag facilities with their provinces; reject (into ``issues``) those outside the region."""
    if fac.empty:
        return fac
    tagged = tag_provinces(
        fac, provinces, metric_crs=config.metric_crs, tolerance_m=config.province_tolerance_m
    )
    outside = tagged["prov_method"] == "outside"
    for s, r, n, d in zip(
        tagged.loc[outside, "source"],
        tagged.loc[outside, "source_row"],
        tagged.loc[outside, "prov63_name"],
        tagged.loc[outside, "prov_dist_m"],
        strict=False,
    ):
        issues.reject(
            str(s),
            int(r),
            "geometry",
            f"outside the region: nearest province {n} is {d / 1000:.1f} km away",
        )
    return tagged.loc[~outside].drop(columns="prov_dist_m")


def sorted_facilities(fac: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The schema's columns (missing ones empty), ``area_wkb`` and geometry, by type and id."""
    for c in (*FACILITY_COLUMNS, "area_wkb"):
        if c not in fac:
            fac[c] = None
    fac = fac[[*FACILITY_COLUMNS, "area_wkb", "geometry"]]
    return fac.sort_values(["type", "facility_id"], kind="stable", ignore_index=True)
