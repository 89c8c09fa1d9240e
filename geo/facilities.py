"""Facilities: map source layers and users' files onto the facility schema, validate, tag, merge.

Every input row ends in exactly one of three places: the facilities, the rejects (with a reason),
or the exclusions (rows that are not facilities of the type by definition, e.g. aerodromes
without an IATA code). Duplicates merged into another facility are listed in ``merged`` and in
the repairs. Results are sorted by (type, facility_id) and do not depend on input row order.

This module loads a region (:func:`load_region_facilities`); the concepts it puts together live
beside it: one source's rows (:mod:`geo.facility_source`), users' files
(:mod:`geo.facility_user`) and duplicates (:mod:`geo.facility_merge`).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.config import RegionConfig
from geo.errors import InputError
from geo.facility_merge import merge_duplicates
from geo.facility_source import (
    empty_facilities,
    facilities_from_source,
    sorted_facilities,
    tag_facilities,
)
from geo.facility_user import add_frame, facilities_from_user_file
from geo.provinces import load_provinces
from geo.schema import Issues
from geo.tabular import read_table
from geo.units import build_units, unit_counts, units_specs

__all__ = [
    "RUN_MAX_FACILITIES_PER_TYPE",
    "FacilityLoad",
    "facilities_from_source",
    "facilities_from_user_file",
    "load_region_facilities",
    "merge_duplicates",
]

log = logging.getLogger(__name__)

# Reference layers of the mirror used for cross-checks (absent in a trimmed data folder: skipped).
AIRPORTS_REFERENCE = ("airports.gpkg", "airports")
SEAPORTS_REFERENCE = ("seaports.gpkg", "seaports")
WPI_MAX_DISTANCE_M = 5000.0
EXCLUDED_COLUMNS = ("source", "row", "type", "reason")
# The most facilities of one type a `run` accepts. Catchment pairs grow with facilities x cells
# reached and overlaps with pairs of facilities: 2,700 clustered parks took 3 min and 1.5 GB
# (2 cores), so 5,000 stays within a laptop's memory; `check` has no limit (50,000 rows: 9 s, 340 MB).
RUN_MAX_FACILITIES_PER_TYPE = 5000


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
    wanted = _wanted_types(types, config)
    issues = Issues()
    excluded: list[dict[str, object]] = []
    label_type: dict[str, str] = {}
    input_rows: dict[str, int] = dict.fromkeys(wanted, 0)
    parts = []
    if keep_default or not extra_files:
        parts += _default_sources(d, config, wanted, issues, excluded, label_type, input_rows)
    user = [(str(f), f, encoding) for f in extra_files]
    with contextlib.ExitStack() as stack:
        if add:
            p = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "add.csv"
            add_frame(add).to_csv(p, index=False)
            user.append(("--add", p, "utf-8"))
        user_rejected = 0
        for label, f, enc in user:
            fac, n_rejected = _user_file(label, f, enc, config, crs, wanted, issues, excluded)
            user_rejected += n_rejected
            for t in wanted:
                input_rows[t] += int((fac["type"] == t).sum())
            parts.append(fac.loc[fac["type"].isin(wanted)])
    nonempty = [p for p in parts if len(p)]
    fac = (
        gpd.GeoDataFrame(
            pd.concat(nonempty, ignore_index=True), geometry="geometry", crs="EPSG:4326"
        )
        if nonempty
        else empty_facilities()
    )
    provinces = load_provinces(d, config)
    n_before = len(issues.rejects)
    fac = tag_facilities(fac, provinces, config, issues)
    user_rejected += sum(1 for r in issues.rejects[n_before:] if r["source"] not in label_type)
    if "airport" in wanted:
        fac = _cross_check_airports(fac, d)
    if "seaport" in wanted:
        fac = _join_wpi(fac, d, config)
    fac, merged = _merge(fac, config, label_type, issues)
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
    _warn_empty(counts, wanted, asked=bool(types), user_rejected=user_rejected if user else None)
    return FacilityLoad(fac, issues, excl, merged, counts, sites=sites, missing=missing)


def _wanted_types(
    types: tuple[str, ...] | list[str] | None, config: RegionConfig
) -> tuple[str, ...]:
    """The facility types asked for (default: every type of the config); unknown ones refused."""
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
    return wanted


def _default_sources(
    d: Path,
    config: RegionConfig,
    wanted: tuple[str, ...],
    issues: Issues,
    excluded: list[dict[str, object]],
    label_type: dict[str, str],
    input_rows: dict[str, int],
) -> list[gpd.GeoDataFrame]:
    """The region's own sources of the wanted types (``label_type``, ``input_rows`` filled in)."""
    parts = []
    for t in wanted:
        for spec in config.types[t].sources:
            label = f"{spec.file}:{spec.layer}" if spec.layer else spec.file
            label_type[label] = t
            if spec.optional and not spec.path(d).is_file():
                continue
            gdf, part = read_table(spec.path(d), layer=spec.layer, bbox=config.bbox)
            for rec in part.rejects + part.repairs:
                rec["source"] = label
            issues.extend(part)
            input_rows[t] += len(gdf) + len(part.rejects)
            polys = None
            if spec.polygon_layer:
                polys = gpd.read_file(spec.path(d), layer=spec.polygon_layer, engine="pyogrio")
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
    return parts


def _user_file(
    label: str,
    f: str | Path,
    enc: str | None,
    config: RegionConfig,
    crs: str | None,
    wanted: tuple[str, ...],
    issues: Issues,
    excluded: list[dict[str, object]],
) -> tuple[gpd.GeoDataFrame, int]:
    """One user's file (or the ``--add`` rows) and its number of rejected rows; rows of types
    not wanted are listed in ``excluded``."""
    fac, part = facilities_from_user_file(f, config=config, encoding=enc, crs=crs)
    for rec in part.rejects + part.repairs:
        rec["source"] = label
    fac["source"] = label
    if label == "--add":
        fac["status"] = "planned"
        fac["status_source"] = "source"
    issues.extend(part)
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
    return fac, len(part.rejects)


def _merge(
    fac: gpd.GeoDataFrame, config: RegionConfig, label_type: dict[str, str], issues: Issues
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Merge duplicates (listed as repairs), except the sites of official units."""
    # sites of official units are not merged (geo.units: a duplicate site is one more member)
    fac = sorted_facilities(fac)
    # (only the region's own sources become sites; users' rows are merged as usual)
    is_site = fac["type"].isin(list(units_specs(config))) & fac["source"].isin(list(label_type))
    kept, merged = merge_duplicates(
        fac[~is_site], distance_m=config.duplicate_distance_m, metric_crs=config.metric_crs
    )
    fac = sorted_facilities(pd.concat([kept, fac[is_site]], ignore_index=True))
    for m in merged.itertuples(index=False):
        issues.repair(
            f"duplicates:{m.type}", None, "facility_id", f"{m.merged_id} merged: {m.reason}"
        )
    return fac, merged


def _warn_empty(
    counts: pd.DataFrame, wanted: tuple[str, ...], *, asked: bool, user_rejected: int | None
) -> None:
    """Warn of each wanted type left without a facility (``user_rejected``: None without users' files)."""
    for row in counts.loc[counts["type"].isin(wanted) & (counts["loaded"] == 0)].itertuples():
        # Named when asked for (--types) or when its rows were all lost; a type simply absent
        # from the users' files is not worth a warning.
        if not asked and row.input_rows == 0:
            continue
        user_note = (
            f"; {user_rejected} row(s) of your files rejected" if user_rejected is not None else ""
        )
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
