"""Read and validate a table of real trips (the reference for ``cli.py validate`` / ``calibrate``).

The columns (DESIGN.md, "Decisions", Trips): ``origin_name, origin_lon, origin_lat, dest_name,
dest_lon, dest_lat, dest_kind, minutes_low, minutes_high, source_url, source_date, note``.
``source_date`` and ``note`` may be absent; every other column must be there, or the file is not
usable (one :class:`~geo.errors.InputError` naming the missing columns). A row that cannot be
used (a coordinate that does not parse or lies outside the region, minutes that are not positive
numbers or whose low exceeds the high, an unknown ``dest_kind``) is rejected with its 1-based
data row, the field and the reason; the other rows are kept.

``dest_kind`` says what the destination is: a facility type of the region (``airport``,
``seaport``, ``industrial_park``; that end is snapped to the roads as facilities are) or a place
(``place``, ``city``, ``town``, ``district``, ``poi``, ``station``; snapped as demand cells are).
An optional ``origin_kind`` column (same values, default ``place``) does the same for the origin,
for trips a source measured from a facility to a place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.config import RegionConfig
from geo.errors import InputError
from geo.provinces import Provinces, tag_provinces
from geo.schema import Issues
from geo.tabular import ROW, classify_coordinates, parse_coordinates, read_table

log = logging.getLogger(__name__)

TRIP_COLUMNS = (
    "origin_name",
    "origin_lon",
    "origin_lat",
    "dest_name",
    "dest_lon",
    "dest_lat",
    "dest_kind",
    "minutes_low",
    "minutes_high",
    "source_url",
    "source_date",
    "note",
)
OPTIONAL_COLUMNS = ("source_date", "note", "origin_kind")
PLACE_KINDS = ("place", "city", "town", "district", "poi", "station")


@dataclass(frozen=True)
class TripTable:
    """The usable trips of a file and what was left out.

    Attributes
    ----------
    trips
        One row per usable trip: ``trip_row`` (1-based data row of the file), the
        :data:`TRIP_COLUMNS` as text, ``origin_lon``/``origin_lat``/``dest_lon``/``dest_lat`` and
        ``minutes_low``/``minutes_high`` as floats, ``dest_is_facility`` and
        ``origin_is_facility`` (bool) and, when provinces
        were given, ``region6_code`` and ``prov63_code`` of the origin.
    issues
        Rejected rows (``source``, ``row``, ``field``, ``reason``) and repairs made.
    source
        The file read.
    """

    trips: pd.DataFrame
    issues: Issues
    source: str


def read_trips(
    path: str | Path,
    *,
    config: RegionConfig,
    provinces: Provinces | None = None,
) -> TripTable:
    """Read a trips table (CSV, or any table format :func:`geo.tabular.read_table` reads).

    Parameters
    ----------
    path
        The trips file.
    config
        Region configuration: its ``bbox`` bounds both ends, its facility types are the allowed
        facility ``dest_kind`` values.
    provinces
        When given, the origin is tagged with its province and socio-economic region (the
        strata of the cross-validation), and a trip whose end lies outside every province of
        the region (beyond ``province_tolerance_m``) is rejected.

    Returns
    -------
    TripTable

    Raises
    ------
    InputError
        The file is missing, empty, unreadable, lacks a required column, or has no usable row
        (the message then lists the first rejected rows).
    """
    src = str(path)
    frame, issues = read_table(
        path,
        lon_field="origin_lon",
        lat_field="origin_lat",
        bbox=config.bbox,
        delimiter=_header_delimiter(Path(path)),
    )
    columns = [str(c) for c in frame.columns]
    missing = [c for c in TRIP_COLUMNS if c not in columns and c not in OPTIONAL_COLUMNS]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; a trips file has the columns "
            f"{', '.join(TRIP_COLUMNS)} (DESIGN.md, Trips)",
            source=src,
            field=missing[0],
        )
    frame = pd.DataFrame(frame.drop(columns="geometry")).reset_index(drop=True)
    for c in OPTIONAL_COLUMNS:
        if c not in frame.columns:
            frame[c] = ""
    reason = pd.Series("", index=frame.index, dtype=object)
    field = pd.Series("", index=frame.index, dtype=object)

    def flag(bad: pd.Series, name: str, why: pd.Series | str) -> None:
        new = bad & (reason == "")
        reason.loc[new] = why if isinstance(why, str) else why[new]
        field.loc[new] = name

    origin_lon, _, _ = parse_coordinates(frame["origin_lon"])
    origin_lat, _, _ = parse_coordinates(frame["origin_lat"])
    dest_lon, _, _ = parse_coordinates(frame["dest_lon"])
    dest_lat, _, _ = parse_coordinates(frame["dest_lat"])
    flag(dest_lon.isna(), "dest_lon", "no readable dest_lon value")
    flag(dest_lat.isna(), "dest_lat", "no readable dest_lat value")
    dest_why = classify_coordinates(dest_lon, dest_lat, config.bbox)
    flag(dest_why != "", "dest_lon/dest_lat", "destination: " + dest_why)
    low = pd.to_numeric(frame["minutes_low"].astype(str).str.strip(), errors="coerce")
    high = pd.to_numeric(frame["minutes_high"].astype(str).str.strip(), errors="coerce")
    for name, value in (("minutes_low", low), ("minutes_high", high)):
        text = frame[name].astype(str).str.slice(0, 30).map(repr)
        flag(value.isna(), name, f"{name} is not a number: " + text)
        flag(value <= 0, name, f"{name} must be more than 0 minutes")
    flag(low > high, "minutes_low", "minutes_low is larger than minutes_high")
    allowed = (*config.types, *PLACE_KINDS)
    kinds = {}
    for name in ("dest_kind", "origin_kind"):
        kind = frame[name].astype(str).str.strip().str.lower()
        if name == "origin_kind":
            kind = kind.mask(kind == "", "place")
        flag(
            ~kind.isin(allowed),
            name,
            f"unknown {name} " + kind.map(repr) + f"; give one of {', '.join(allowed)}",
        )
        kinds[name] = kind
    out = frame.assign(
        trip_row=frame[ROW].astype("int64"),
        origin_lon=origin_lon,
        origin_lat=origin_lat,
        dest_lon=dest_lon,
        dest_lat=dest_lat,
        minutes_low=low,
        minutes_high=high,
        dest_kind=kinds["dest_kind"],
        origin_kind=kinds["origin_kind"],
        dest_is_facility=kinds["dest_kind"].isin(tuple(config.types)),
        origin_is_facility=kinds["origin_kind"].isin(tuple(config.types)),
    )
    if provinces is not None:
        out = _tag_regions(out, provinces, config, reason, field)
    for i in np.flatnonzero((reason != "").to_numpy()):
        issues.reject(src, int(out["trip_row"].iloc[i]), str(field.iloc[i]), str(reason.iloc[i]))
    kept = out.loc[(reason == "").to_numpy()].drop(columns=ROW).reset_index(drop=True)
    if kept.empty:
        first = "; ".join(
            f"row {r['row']} [{r['field']}]: {r['reason']}" for r in issues.rejects[:3]
        )
        raise InputError(f"no usable trip in the file ({first})", source=src)
    return TripTable(trips=kept, issues=issues, source=src)


def _header_delimiter(path: Path) -> str | None:
    """The separator that splits the header line into the trip columns (notes often hold
    semicolons, which mislead a sniffer reading whole rows); None when none does."""
    if path.suffix.lower() not in (".csv", ".txt") or not path.is_file():
        return None
    with open(path, "rb") as f:
        head = f.readline(65536).decode("utf-8", errors="replace")
    for sep in (",", ";", "\t", "|"):
        if "origin_lon" in [c.strip().strip('"').removeprefix("\ufeff") for c in head.split(sep)]:
            return sep
    return None


def _tag_regions(
    trips: pd.DataFrame,
    provinces: Provinces,
    config: RegionConfig,
    reason: pd.Series,
    field: pd.Series,
) -> pd.DataFrame:
    """Origin province and region; rows with an end outside every province are flagged."""
    ok = (reason == "").to_numpy()
    out = trips.assign(region6_code="", prov63_code="")
    if not ok.any():
        return out
    for end in ("origin", "dest"):
        pts = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(
                trips.loc[ok, f"{end}_lon"], trips.loc[ok, f"{end}_lat"], crs="EPSG:4326"
            ),
            crs="EPSG:4326",
        )
        tagged = tag_provinces(
            pts, provinces, metric_crs=config.metric_crs, tolerance_m=config.province_tolerance_m
        )
        idx = np.flatnonzero(ok)
        outside = (tagged["prov_method"] == "outside").to_numpy()
        for i, d in zip(idx[outside], tagged["prov_dist_m"].to_numpy()[outside], strict=True):
            if reason.iloc[i] == "":
                reason.iloc[i] = (
                    f"the {'origin' if end == 'origin' else 'destination'} lies outside every "
                    f"province of the region ({d / 1000:.1f} km from the nearest)"
                )
                field.iloc[i] = f"{end}_lon/{end}_lat"
        if end == "origin":
            out.loc[ok, "region6_code"] = tagged["region6_code"].fillna("").astype(str).to_numpy()
            out.loc[ok, "prov63_code"] = tagged["prov63_code"].fillna("").astype(str).to_numpy()
    return out
