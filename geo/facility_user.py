"""Users' facility files: any format of :func:`geo.tabular.read_table`, checked row by row.

A user's file names each row's type (or one type for all), status and optional id and capacity;
rows of unknown type, bad status or duplicate id are rejected with the row and the reason.
``run --add`` strings become such a file (:func:`add_frame`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.config import FACILITY_TYPES, RegionConfig, SourceSpec
from geo.errors import InputError
from geo.facility_source import (
    empty_facilities,
    facilities_from_source,
    sorted_facilities,
    tag_facilities,
    text_column,
)
from geo.provinces import Provinces
from geo.schema import Issues
from geo.tabular import ROW, read_table


def _reject_rows(
    issues: Issues, source: str, rows: pd.Series, field: str, reasons: pd.Series | str
) -> None:
    reasons = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=rows.index)
    for r, why in zip(rows.tolist(), reasons.tolist(), strict=True):
        issues.reject(source, int(r), field, str(why))


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
    lowered = _require_columns(gdf, ["name", "status"] + ([] if type_name else ["type"]), src)
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
        else text_column(frame, "type").str.casefold()
    )
    allowed = [t for t in FACILITY_TYPES if t in config.types]
    bad_type = ~types.isin(allowed)
    _reject_rows(
        issues,
        src,
        frame.loc[bad_type, ROW],
        "type",
        "type "
        + text_column(frame, "type")[bad_type].map(repr)
        + f" is unknown; allowed values: {', '.join(allowed)}",
    )
    frame = frame.loc[~bad_type]
    types = types[~bad_type]
    parts = [
        _user_part(frame.loc[types == t], t, src, config, issues) for t in sorted(types.unique())
    ]
    out = pd.concat(parts, ignore_index=True) if parts else empty_facilities()
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    out = _one_row_per_id(out, src, issues)
    if provinces is not None:
        out = tag_facilities(out, provinces, config, issues)
    return sorted_facilities(out), issues


def _user_part(
    frame: pd.DataFrame, t: str, src: str, config: RegionConfig, issues: Issues
) -> gpd.GeoDataFrame:
    """The rows of one type of a user's file as facilities, with the user's ids and capacities."""
    spec = SourceSpec(
        file=Path(src).name,
        id_field="facility_id",
        name_field="name",
        status_field="status",
        source_label=src,
    )
    part = facilities_from_source(
        frame, spec, type_name=t, config=config, source=src, issues=issues
    )
    ids = text_column(frame, "facility_id")
    user_ids = part["source_row"].map(dict(zip(frame[ROW], ids, strict=True)))
    part["facility_id"] = user_ids.where(user_ids != "", part["facility_id"])
    if "capacity" in frame:
        cap = pd.to_numeric(frame.set_index(ROW)["capacity"], errors="coerce")
        part["capacity"] = part["source_row"].map(cap)
    if "capacity_unit" in frame:
        part["capacity_unit"] = part["source_row"].map(frame.set_index(ROW)["capacity_unit"])
    return part


def _require_columns(gdf: gpd.GeoDataFrame, required: list[str], src: str) -> dict[str, str]:
    """Raise naming the first required column missing (case-insensitive) and the columns found;
    else the columns by their casefolded names."""
    lowered = {c.casefold(): c for c in gdf.columns}
    for col in required:
        if col not in lowered:
            found = ", ".join(c for c in gdf.columns if c not in ("geometry", ROW))
            raise InputError(
                f"required column '{col}' is missing; the columns are: {found}",
                source=src,
                field=col,
            )
    return lowered


def _one_row_per_id(out: gpd.GeoDataFrame, src: str, issues: Issues) -> gpd.GeoDataFrame:
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
    return out.loc[~dup].drop(columns="_content")


def add_frame(add: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """``name,lon,lat,type`` strings as a table (the name may itself hold commas)."""
    rows = []
    for item in add:
        parts = [p.strip() for p in str(item).rsplit(",", 3)]
        parts = [""] * (4 - len(parts)) + parts
        rows.append(dict(zip(("name", "lon", "lat", "type"), parts, strict=True), status="planned"))
    return pd.DataFrame(rows, columns=["name", "lon", "lat", "type", "status"])
