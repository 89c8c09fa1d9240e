"""Facilities: map source layers and users' files onto the facility schema, validate, tag, merge.

Every input row ends in exactly one of three places: the facilities, the rejects (with a reason),
or the exclusions (rows that are not facilities of the type by definition, e.g. aerodromes
without an IATA code). Duplicates merged into another facility are listed in ``merged`` and in
the repairs. Results are sorted by (type, facility_id) and do not depend on input row order.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.config import FACILITY_TYPES, RegionConfig, SourceSpec
from geo.errors import InputError
from geo.provinces import Provinces, load_provinces, tag_provinces
from geo.schema import FACILITY_COLUMNS, Issues
from geo.tabular import ROW, read_table
from geo.units import build_units, unit_counts, units_specs

log = logging.getLogger(__name__)

# Reference layers of the mirror used for cross-checks (absent in a trimmed data folder: skipped).
AIRPORTS_REFERENCE = ("airports.gpkg", "airports")
SEAPORTS_REFERENCE = ("seaports.gpkg", "seaports")
WPI_MAX_DISTANCE_M = 5000.0
ASSUMED_STATUSES = ("unknown", "")
EXCLUDED_COLUMNS = ("source", "row", "type", "reason")
# The most facilities of one type a `run` accepts. Catchment pairs grow with facilities x cells
# reached and overlaps with pairs of facilities: 2,700 clustered parks took 3 min and 1.5 GB
# (2 cores), so 5,000 stays within a laptop's memory; `check` has no limit (50,000 rows: 9 s, 340 MB).
RUN_MAX_FACILITIES_PER_TYPE = 5000
MERGED_COLUMNS = ("type", "kept_id", "merged_id", "merged_name", "reason", "distance_m")


@dataclass(frozen=True)
class FacilityLoad:
    """Result of :func:`load_region_facilities`.

    Attributes
    ----------
    facilities
        Facility schema (``FACILITY_COLUMNS``) plus ``area_wkb`` (polygon of an area facility
        as WKB, else None) and Point geometry, EPSG:4326, sorted by (type, facility_id).
    issues
        Rejected rows and repairs (duplicates merged are repairs).
    excluded
        Rows that are not facilities of their type by definition (``source``, ``row``,
        ``type``, ``reason``).
    merged
        Duplicates merged away (``type``, ``kept_id``, ``merged_id``, ``merged_name``,
        ``reason``, ``distance_m``).
    counts
        One row per type: ``input_rows``, ``loaded``, ``excluded``, ``rejected``,
        ``merged_duplicates``, ``official_count``, ``official_source``.
    """

    facilities: gpd.GeoDataFrame
    issues: Issues
    excluded: pd.DataFrame
    merged: pd.DataFrame
    counts: pd.DataFrame
    sites: gpd.GeoDataFrame | None = None  # member sites of official units (geo.units)
    missing: pd.DataFrame | None = None  # official units without a mapped site

    def require_usable(self, *, max_per_type: int | None = RUN_MAX_FACILITIES_PER_TYPE) -> None:
        """Refuse a load that a run cannot use: no facility at all, or too many of one type.

        A type with no usable facility is not an error as long as another type has some (a
        warning names it when loading).

        Raises
        ------
        InputError
            Naming the number of rejected rows (and where they are listed) or the limit.
        """
        if len(self.facilities) == 0:
            raise InputError(
                f"no usable facility of the selected type(s) {', '.join(self.counts_types())}: "
                f"{len(self.issues.rejects)} row(s) rejected, {len(self.excluded)} excluded; "
                "see the reasons with `python cli.py check` (rejects.csv) and fix the rows or --types",
                field="facilities",
            )
        if max_per_type is not None:
            per_type = self.facilities["type"].value_counts()
            over = per_type[per_type > max_per_type]
            if len(over):
                said = ", ".join(f"{t}: {n:,}" for t, n in over.items())
                raise InputError(
                    f"too many facilities for one run ({said}; the limit is {max_per_type:,} per "
                    "type, to keep memory bounded); split the file by region or province, or "
                    "use `check`, which has no limit",
                    field="facilities",
                )

    def counts_types(self) -> list[str]:
        """The facility types of this load (without the ``user_input`` row)."""
        return [str(t) for t in self.counts["type"] if t != "user_input"]


def normalise_name(name: object) -> str:
    """Casefold, strip diacritics (đ -> d) and punctuation, collapse spaces."""
    text = unicodedata.normalize("NFD", str(name).casefold().replace("đ", "d"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def stable_id(type_name: str, name: object, lon: float, lat: float) -> str:
    """Id from type, normalised name and coordinates rounded to 1e-5° (not from row order)."""
    key = f"{type_name}|{normalise_name(name)}|{lon:.5f}|{lat:.5f}"
    return f"{type_name}:{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None or column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    col = frame[column]
    return col.astype(str).where(col.notna(), "").str.strip()


def _empty() -> gpd.GeoDataFrame:
    cols = {c: pd.Series(dtype=object) for c in (*FACILITY_COLUMNS, "area_wkb")}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _reject_rows(
    issues: Issues, source: str, rows: pd.Series, field: str, reasons: pd.Series | str
) -> None:
    reasons = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=rows.index)
    for r, why in zip(rows.tolist(), reasons.tolist(), strict=True):
        issues.reject(source, int(r), field, str(why))


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
    keep = pd.Series(True, index=gdf.index)

    def exclude(mask: pd.Series, reason: str) -> None:
        for r in rows[mask & keep].tolist():
            if excluded is not None:
                excluded.append({"source": src, "row": int(r), "type": type_name, "reason": reason})
        keep.loc[mask] = False

    if spec.require_field:
        exclude(
            _text(gdf, spec.require_field) == "",
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

    name = _text(gdf, spec.name_field)
    if spec.name_fallback:
        name = name.where(name != "", _text(gdf, spec.name_fallback))
    status, status_source, status_reason = _status(_text(gdf, spec.status_field), config)
    if type_name == "airport":
        iata = _text(gdf, "iata").str.upper()
        klass: pd.Series = pd.Series(
            np.where(iata.isin(tcfg.international_iata), "international", "domestic"),
            index=gdf.index,
        )
    elif spec.class_field:
        raw_class = _text(gdf, spec.class_field)
        klass = raw_class.map(lambda v: tcfg.class_map.get(v, v))
    else:
        klass = pd.Series("", index=gdf.index, dtype=object)
    if tcfg.class_provinces63 and tcfg.outside_class and "prov63_code" in gdf.columns:
        # e.g. the ports of Hà Nội, Bắc Ninh, Phú Thọ are inland river ports, not seaports
        p63 = _text(gdf, "prov63_code").str.replace(r"\.0$", "", regex=True).str.zfill(2)
        inland = (
            ~p63.isin(tcfg.class_provinces63) & (p63 != "00") & ~klass.isin(tcfg.exclude_classes)
        )
        klass = klass.mask(inland, tcfg.outside_class)

    reason = pd.Series("", index=gdf.index, dtype=object)
    field = pd.Series("", index=gdf.index, dtype=object)
    checks = (
        (name == "", spec.name_field, "no name (empty or whitespace only)"),
        (status_reason != "", spec.status_field or "status", status_reason),
        (
            klass.isin(tcfg.exclude_classes),
            spec.class_field or "class",
            "class " + klass + f" is not a {type_name} by default",
        ),
    )
    for bad, col, why in checks:
        new = keep & (reason == "") & bad
        reason = reason.mask(new, why)
        field = field.mask(new, col)
    bad = reason != ""
    for r, f, why in zip(
        rows[bad].tolist(), field[bad].tolist(), reason[bad].tolist(), strict=True
    ):
        issues.reject(src, int(r), f, why)
    keep &= ~bad

    sub = gdf.loc[keep]
    if sub.empty:
        return _empty()
    ids = _text(sub, spec.id_field)
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
    if type_name == "airport":
        out["_iata"] = iata[keep].replace("", None)
    if "area_ha" in sub:
        given = pd.to_numeric(sub["area_ha"], errors="coerce")
        out["area_ha"] = given.where(given.notna(), out["area_ha"])
    if polygons is not None and spec.id_field:
        poly = (
            polygons.drop_duplicates(spec.id_field)
            .set_index(spec.id_field)
            .geometry.to_crs("EPSG:4326")
        )
        joined = ids.map(poly)
        has = joined.notna()
        out.loc[has, "area_wkb"] = shapely.to_wkb(joined[has].to_numpy())
        out.loc[~has & out["area_wkb"].isna(), "data_note"] = (
            "no polygon in the source (point only)"
        )
    return out


def _read_user_table(
    path: Path, encoding: str | None, config: RegionConfig, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, Issues]:
    return read_table(path, encoding=encoding, bbox=config.bbox, crs=crs)


def facilities_from_user_file(
    path: str | Path,
    *,
    config: RegionConfig,
    type_name: str | None = None,
    encoding: str | None = None,
    provinces: Provinces | None = None,
    crs: str | None = None,
) -> tuple[gpd.GeoDataFrame, Issues]:
    """Read a user's facility file (any format of :func:`geo.tabular.read_table`).

    Columns: ``name``, ``type`` (unless ``type_name`` is given), ``status``; optional
    ``facility_id``, ``capacity``, ``capacity_unit``; lon/lat columns or a geometry.

    Parameters
    ----------
    path
        The file.
    config
        Region configuration (bbox, status_map, metric CRS).
    type_name
        Facility type of every row when the file has no ``type`` column.
    encoding
        Text encoding of a CSV (default detected).
    provinces
        If given, rows are tagged with provinces and rows outside the region rejected.

    Returns
    -------
    (GeoDataFrame, Issues)

    Raises
    ------
    InputError
        A required column is missing (the message lists the columns found), or the file cannot
        be read.
    """
    src = str(path)
    gdf, issues = _read_user_table(Path(path), encoding, config, crs)
    required = ["name", "status"] + ([] if type_name else ["type"])
    lowered = {c.casefold(): c for c in gdf.columns}
    for col in required:
        if col not in lowered:
            found = ", ".join(c for c in gdf.columns if c not in ("geometry", ROW))
            raise InputError(
                f"required column '{col}' is missing; the columns are: {found}",
                source=src,
                field=col,
            )
    frame = gdf.rename(
        columns={
            lowered[c]: c
            for c in ("name", "type", "status", "facility_id", "capacity", "capacity_unit")
            if c in lowered
        }
    )
    types = (
        pd.Series(type_name, index=frame.index)
        if type_name
        else _text(frame, "type").str.casefold()
    )
    allowed = [t for t in FACILITY_TYPES if t in config.types]
    bad_type = ~types.isin(allowed)
    _reject_rows(
        issues,
        src,
        frame.loc[bad_type, ROW],
        "type",
        "type "
        + _text(frame, "type")[bad_type].map(repr)
        + f" is unknown; allowed values: {', '.join(allowed)}",
    )
    frame = frame.loc[~bad_type]
    types = types[~bad_type]
    parts = []
    for t in sorted(types.unique()):
        spec = SourceSpec(
            file=Path(src).name,
            id_field="facility_id",
            name_field="name",
            status_field="status",
            source_label=src,
        )
        part = facilities_from_source(
            frame.loc[types == t], spec, type_name=t, config=config, source=src, issues=issues
        )
        ids = _text(frame.loc[types == t], "facility_id")
        user_ids = part["source_row"].map(dict(zip(frame.loc[types == t, ROW], ids, strict=True)))
        part["facility_id"] = user_ids.where(user_ids != "", part["facility_id"])
        if "capacity" in frame:
            cap = pd.to_numeric(frame.loc[types == t].set_index(ROW)["capacity"], errors="coerce")
            part["capacity"] = part["source_row"].map(cap)
        if "capacity_unit" in frame:
            part["capacity_unit"] = part["source_row"].map(
                frame.loc[types == t].set_index(ROW)["capacity_unit"]
            )
        parts.append(part)
    out = pd.concat(parts, ignore_index=True) if parts else _empty()
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    # Duplicate ids: one row keeps the id, the others are rejected (ids must be unique). The row
    # that keeps it is chosen by its content (type, name, place, status), not by its position,
    # so that the result does not depend on the order of the rows; among identical rows, the first.
    content = (
        out["type"].astype(str)
        + "|"
        + out["name"].astype(str)
        + "|"
        + pd.Series(shapely.to_wkb(out.geometry.array, hex=True), index=out.index).astype(str)
        + "|"
        + out["status"].astype(str)
    )
    out = out.assign(_content=content).sort_values(
        ["facility_id", "_content", "source_row"], kind="stable"
    )
    dup = out["facility_id"].duplicated(keep="first")
    kept = out.loc[~dup].set_index("facility_id")["source_row"]
    rejected = out.loc[dup].sort_values("source_row", kind="stable")
    for r, fid in zip(rejected["source_row"], rejected["facility_id"], strict=True):
        issues.reject(
            src,
            int(r),
            "facility_id",
            f"duplicate facility_id {fid!r} (kept for row {kept[fid]}); give each facility "
            "its own id",
        )
    out = out.loc[~dup].drop(columns="_content")
    if provinces is not None:
        out = _tag(out, provinces, config, issues)
    return _sorted(out), issues


def _tag(
    fac: gpd.GeoDataFrame, provinces: Provinces, config: RegionConfig, issues: Issues
) -> gpd.GeoDataFrame:
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


def _sorted(fac: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    for c in (*FACILITY_COLUMNS, "area_wkb"):
        if c not in fac:
            fac[c] = None
    fac = fac[[*FACILITY_COLUMNS, "area_wkb", "geometry"]]
    return fac.sort_values(["type", "facility_id"], kind="stable", ignore_index=True)


def merge_duplicates(
    facilities: gpd.GeoDataFrame, *, distance_m: float, metric_crs: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Merge facilities of the same type that are the same place or the same named facility.

    Two facilities are duplicates when they have the same type and lie within ``distance_m``
    (measured in ``metric_crs``), or have the same normalised name (casefold, no diacritics,
    đ -> d) in the same ``prov63_code``. Groups are closed transitively; in each, the smallest
    ``facility_id`` is kept.

    Returns
    -------
    (GeoDataFrame, DataFrame)
        The facilities without the merged ones (same columns, sorted by type and facility_id);
        the merged table (``type``, ``kept_id``, ``merged_id``, ``merged_name``, ``reason``,
        ``distance_m``).
    """
    fac = facilities.sort_values(["type", "facility_id"], kind="stable", ignore_index=True)
    n = len(fac)
    if n == 0:
        return fac, pd.DataFrame(columns=list(MERGED_COLUMNS))
    metric = fac.geometry.to_crs(metric_crs)
    left, right = metric.sindex.query(metric.to_numpy(), predicate="dwithin", distance=distance_m)
    names = (
        fac["name"].map(normalise_name)
        + "|"
        + fac.get("prov63_code", pd.Series("", index=fac.index)).astype(str)
    )
    key = fac["type"].astype(str) + "|" + names
    codes = pd.factorize(key)[0]
    order = np.argsort(codes, kind="stable")
    same_name = (
        (codes[order][1:] == codes[order][:-1]) & fac["prov63_code"].notna().to_numpy()[order][1:]
        if "prov63_code" in fac
        else np.zeros(n - 1, bool)
    )
    nl, nr = order[:-1][same_name], order[1:][same_name]
    types = fac["type"].to_numpy()
    pairs_l = np.concatenate([left, nl])
    pairs_r = np.concatenate([right, nr])
    same_type = (types[pairs_l] == types[pairs_r]) & (pairs_l != pairs_r)
    # a planned what-if (--add) is never merged away, nor is anything merged into it
    if "source" in fac:
        added = (fac["source"] == "--add").to_numpy()
        same_type &= ~(added[pairs_l] | added[pairs_r])
    graph = coo_matrix(
        (np.ones(same_type.sum()), (pairs_l[same_type], pairs_r[same_type])), shape=(n, n)
    )
    _, label = connected_components(graph, directed=False)
    kept = pd.Series(np.arange(n)).groupby(label).transform("min").to_numpy()  # rows sorted by id
    gone = np.flatnonzero(kept != np.arange(n))
    dist = shapely.distance(metric.to_numpy()[gone], metric.to_numpy()[kept[gone]])
    rows = []
    for i, k, d in zip(gone, kept[gone], dist, strict=True):
        why = "same place" if d <= distance_m else "same name in the same province"
        rows.append(
            {
                "type": types[i],
                "kept_id": fac["facility_id"].iat[k],
                "merged_id": fac["facility_id"].iat[i],
                "merged_name": fac["name"].iat[i],
                "reason": f"duplicate of {fac['facility_id'].iat[k]} ({fac['name'].iat[k]}): {why}, {d:.0f} m apart",
                "distance_m": round(float(d), 1),
            }
        )
    merged = pd.DataFrame(rows, columns=list(MERGED_COLUMNS))
    return fac.drop(index=gone).reset_index(drop=True), merged


def load_region_facilities(
    data_dir: str | Path,
    config: RegionConfig,
    *,
    types: tuple[str, ...] | list[str] | None = None,
    extra_files: tuple[str | Path, ...] | list[str | Path] = (),
    keep_default: bool = True,
    encoding: str | None = None,
    add: tuple[str, ...] | list[str] = (),
    crs: str | None = None,
) -> FacilityLoad:
    """Load, validate, tag and de-duplicate the region's facilities.

    Parameters
    ----------
    data_dir
        Data folder (the mirror, or a copy with the same file and layer names).
    config
        Region configuration; each type's ``sources`` are read from ``data_dir``.
    types
        Facility types to load (default: every type of the config).
    extra_files
        Users' facility files (:func:`facilities_from_user_file`).
    keep_default
        Keep the region's default sources beside ``extra_files`` (False replaces them).
    encoding
        Text encoding of the users' CSV files (default detected).
    add
        ``"name,lon,lat,type"`` strings: planned facilities (``run --add``).
    crs
        CRS of users' vector layers that declare none (``--crs``).

    Returns
    -------
    FacilityLoad
        Counts have one row per type (default sources and users' rows of that type) and, when
        users' files or ``add`` were given, a row ``user_input`` for their rejected rows.
    """
    d = Path(data_dir)
    if types is not None and len(types) and not any(str(t).strip() for t in types):
        raise InputError(
            f"no facility type given; e.g. --types {','.join(config.types)}", field="--types"
        )
    wanted = (
        tuple(str(t).strip() for t in types if str(t).strip()) if types else tuple(config.types)
    )
    for t in wanted:
        if t not in config.types:
            raise InputError(
                f"unknown facility type '{t}'; allowed: {', '.join(config.types)}", field="--types"
            )
    issues = Issues()
    excluded: list[dict[str, object]] = []
    label_type: dict[str, str] = {}
    input_rows: dict[str, int] = dict.fromkeys(wanted, 0)
    parts = []
    if keep_default or not extra_files:
        for t in wanted:
            for spec in config.types[t].sources:
                label = f"{spec.file}:{spec.layer}" if spec.layer else spec.file
                label_type[label] = t
                if spec.optional and not (d / spec.file).is_file():
                    continue
                gdf, part = read_table(d / spec.file, layer=spec.layer, bbox=config.bbox)
                for rec in part.rejects + part.repairs:
                    rec["source"] = label
                issues.extend(part)
                input_rows[t] += len(gdf) + len(part.rejects)
                polys = None
                if spec.polygon_layer:
                    polys = gpd.read_file(d / spec.file, layer=spec.polygon_layer, engine="pyogrio")
                parts.append(
                    facilities_from_source(
                        gdf,
                        spec,
                        type_name=t,
                        config=config,
                        source=label,
                        issues=issues,
                        excluded=excluded,
                        polygons=polys,
                    )
                )
    user = [(str(f), f, encoding) for f in extra_files]
    tmp_dir = None
    if add:
        import tempfile

        tmp_dir = tempfile.TemporaryDirectory()
        p = Path(tmp_dir.name) / "add.csv"
        _add_frame(add).to_csv(p, index=False)
        user.append(("--add", p, "utf-8"))
    user_rejected = 0
    for label, f, enc in user:
        fac, part = facilities_from_user_file(f, config=config, encoding=enc, crs=crs)
        for rec in part.rejects + part.repairs:
            rec["source"] = label
        fac["source"] = label
        if label == "--add":
            fac["status"] = "planned"
            fac["status_source"] = "source"
        issues.extend(part)
        user_rejected += len(part.rejects)
        other = ~fac["type"].isin(wanted)
        for r, t in zip(fac.loc[other, "source_row"], fac.loc[other, "type"], strict=True):
            excluded.append(
                {
                    "source": label,
                    "row": int(r),
                    "type": t,
                    "reason": f"type {t} not selected (--types)",
                }
            )
        for t in wanted:
            input_rows[t] += int((fac["type"] == t).sum())
        parts.append(fac.loc[~other])
    if tmp_dir is not None:
        tmp_dir.cleanup()
    nonempty = [p for p in parts if len(p)]
    fac = (
        gpd.GeoDataFrame(
            pd.concat(nonempty, ignore_index=True), geometry="geometry", crs="EPSG:4326"
        )
        if nonempty
        else _empty()
    )
    provinces = load_provinces(d, config)
    n_before = len(issues.rejects)
    fac = _tag(fac, provinces, config, issues)
    user_rejected += sum(1 for r in issues.rejects[n_before:] if r["source"] not in label_type)
    if "airport" in wanted:
        fac = _cross_check_airports(fac, d)
    if "seaport" in wanted:
        fac = _join_wpi(fac, d, config)
    # sites of official units are not merged (geo.units: a duplicate site is one more member)
    fac = _sorted(fac)
    # (only the region's own sources become sites; users' rows are merged as usual)
    is_site = fac["type"].isin(list(units_specs(config))) & fac["source"].isin(list(label_type))
    kept, merged = merge_duplicates(
        fac[~is_site], distance_m=config.duplicate_distance_m, metric_crs=config.metric_crs
    )
    fac = _sorted(pd.concat([kept, fac[is_site]], ignore_index=True))
    for m in merged.itertuples(index=False):
        issues.repair(
            f"duplicates:{m.type}", None, "facility_id", f"{m.merged_id} merged: {m.reason}"
        )
    fac, sites, missing, unit_excluded = build_units(
        fac, d, config, provinces, types=wanted, default_sources=label_type
    )
    excl = pd.DataFrame(excluded + unit_excluded, columns=list(EXCLUDED_COLUMNS))
    counts = _counts(fac, issues, excl, merged, config, wanted, input_rows, label_type)
    counts = unit_counts(counts, sites, missing)
    if user:
        counts.loc[len(counts)] = {
            "type": "user_input",
            "input_rows": user_rejected,
            "rejected": user_rejected,
        }
    log.info("facilities loaded: %s", dict(zip(counts["type"], counts["loaded"], strict=True)))
    for row in counts.loc[counts["type"].isin(wanted) & (counts["loaded"] == 0)].itertuples():
        # Named when asked for (--types) or when its rows were all lost; a type simply absent
        # from the users' files is not worth a warning.
        if not types and row.input_rows == 0:
            continue
        user_note = f"; {user_rejected} row(s) of your files rejected" if user else ""
        log.warning(
            "warning: no usable %s facility (%d row(s) of that type read, %d rejected, "
            "%d excluded%s; see rejects.csv): %s has no catchment, overlap or flag in this run",
            row.type,
            row.input_rows,
            row.rejected,
            row.excluded,
            user_note,
            row.type,
        )
    return FacilityLoad(fac, issues, excl, merged, counts, sites=sites, missing=missing)


def _add_frame(add: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """``name,lon,lat,type`` strings as a table (the name may itself hold commas)."""
    rows = []
    for item in add:
        parts = [p.strip() for p in str(item).rsplit(",", 3)]
        parts = [""] * (4 - len(parts)) + parts
        rows.append(dict(zip(("name", "lon", "lat", "type"), parts, strict=True), status="planned"))
    return pd.DataFrame(rows, columns=["name", "lon", "lat", "type", "status"])


def _counts(
    fac: gpd.GeoDataFrame,
    issues: Issues,
    excl: pd.DataFrame,
    merged: pd.DataFrame,
    config: RegionConfig,
    wanted: tuple[str, ...],
    input_rows: dict[str, int],
    label_type: dict[str, str],
) -> pd.DataFrame:
    rej_type = pd.Series([label_type.get(str(r["source"])) for r in issues.rejects], dtype=object)
    rows = []
    for t in wanted:
        tc = config.types[t]
        rows.append(
            {
                "type": t,
                "input_rows": input_rows.get(t, 0),
                "loaded": int((fac["type"] == t).sum()),
                "excluded": int((excl["type"] == t).sum()),
                "rejected": int((rej_type == t).sum()),
                "merged_duplicates": int((merged["type"] == t).sum()),
                "official_count": tc.official_count,
                "official_source": tc.official_source,
                "official_source_vi": tc.official_source_vi,
            }
        )
    return pd.DataFrame(rows)


def _cross_check_airports(fac: gpd.GeoDataFrame, d: Path) -> gpd.GeoDataFrame:
    """Note airports whose IATA code is missing from the reference list (airportsdata)."""
    path = d / AIRPORTS_REFERENCE[0]
    if not path.is_file() or "_iata" not in fac:
        return fac
    ref = gpd.read_file(path, layer=AIRPORTS_REFERENCE[1], engine="pyogrio")
    known = set(ref["iata"].dropna().astype(str).str.upper())
    out = fac.copy()
    code = out["_iata"].fillna("").astype(str)
    miss = (out["type"] == "airport") & (code != "") & ~code.isin(known)
    note = "IATA " + code + f" not in {path.name} (airportsdata)"
    out["data_note"] = out["data_note"].mask(miss, note)
    return out


def _join_wpi(fac: gpd.GeoDataFrame, d: Path, config: RegionConfig) -> gpd.GeoDataFrame:
    """Note the nearest World Port Index port within 5 km (harbour size and type) on seaports."""
    path = d / SEAPORTS_REFERENCE[0]
    sea = fac["type"] == "seaport"
    if not path.is_file() or not sea.any():
        return fac
    wpi = gpd.read_file(path, layer=SEAPORTS_REFERENCE[1], engine="pyogrio").to_crs(
        config.metric_crs
    )
    wpi = wpi[["wpi_number", "name", "harbor_size", "harbor_type", "geometry"]]
    ports = gpd.GeoDataFrame(geometry=fac.loc[sea].geometry.to_crs(config.metric_crs))
    near = gpd.sjoin_nearest(
        ports, wpi, how="inner", max_distance=WPI_MAX_DISTANCE_M, distance_col="d"
    )
    near = near.sort_values(["d", "wpi_number"]).loc[lambda f: ~f.index.duplicated(keep="first")]
    note = (
        "WPI "
        + near["wpi_number"].astype(str)
        + " "
        + near["name"].astype(str)
        + ": harbor size "
        + near["harbor_size"].astype(str)
        + ", "
        + near["harbor_type"].astype(str)
        + ", "
        + (near["d"] / 1000).round(1).astype(str)
        + " km away"
    )
    out = fac.copy()
    old = out.loc[near.index, "data_note"]
    out.loc[near.index, "data_note"] = np.where(old.notna(), old.astype(str) + "; " + note, note)
    return out
