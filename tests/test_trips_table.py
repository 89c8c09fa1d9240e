"""The reference table of real drive trips (data/trips_vietnam.csv): schema and invariants.

The table is hand-compiled research data (see data/trips_vietnam.md); these checks catch a broken
edit: a wrong column, a reversed range, a swapped lon/lat, a row without its source, or a region
left without any trip. Regions come from the embedded default's ``regions_6`` (via
:func:`geo.provinces.load_provinces` and :func:`geo.provinces.tag_provinces`), not from the CSV.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geo.config import load_region_config
from geo.provinces import load_provinces, tag_provinces

REPO = Path(__file__).resolve().parent.parent
TRIPS = REPO / "data" / "trips_vietnam.csv"
EMBEDDED = REPO / "data" / "vietnam"

COLUMNS = [
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
]
KINDS = {"airport", "seaport", "industrial_park", "place"}
VIETNAM_BBOX = (102.0, 6.0, 118.0, 24.0)
REGIONS6 = {"TDMNPB", "DBSH", "BTB_DHMT", "TN", "DNB", "DBSCL"}


@pytest.fixture(scope="module")
def trips() -> pd.DataFrame:
    return pd.read_csv(TRIPS, dtype={"source_date": str}, keep_default_na=False)


def _rows(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    """Row labels as in a spreadsheet (header is line 1) with origin and destination."""
    picked = mask.to_numpy()
    return [
        f"line {pos + 2}: {origin} -> {dest}"
        for pos, (origin, dest, hit) in enumerate(
            zip(frame["origin_name"], frame["dest_name"], picked, strict=True)
        )
        if hit
    ]


def test_columns_exactly_and_enough_rows(trips: pd.DataFrame) -> None:
    assert list(trips.columns) == COLUMNS, f"{TRIPS.name}: columns must be exactly {COLUMNS}"
    assert len(trips) >= 30, f"{TRIPS.name}: {len(trips)} trips, the table needs at least 30"


def test_every_cell_is_filled(trips: pd.DataFrame) -> None:
    empty = trips.astype(str).apply(lambda c: c.str.strip() == "")
    assert not empty.any(axis=None), "empty cells: " + "; ".join(_rows(trips, empty.any(axis=1)))


def test_minutes_are_positive_ranges(trips: pd.DataFrame) -> None:
    low = pd.to_numeric(trips["minutes_low"], errors="coerce")
    high = pd.to_numeric(trips["minutes_high"], errors="coerce")
    bad = low.isna() | high.isna() | (low <= 0) | (low > high)
    assert not bad.any(), "need 0 < minutes_low <= minutes_high: " + "; ".join(_rows(trips, bad))


def test_coordinates_inside_vietnam_and_ends_distinct(trips: pd.DataFrame) -> None:
    min_lon, min_lat, max_lon, max_lat = VIETNAM_BBOX
    coords = trips[["origin_lon", "origin_lat", "dest_lon", "dest_lat"]].apply(
        pd.to_numeric, errors="coerce"
    )
    lon_ok = coords[["origin_lon", "dest_lon"]].apply(lambda c: c.between(min_lon, max_lon))
    lat_ok = coords[["origin_lat", "dest_lat"]].apply(lambda c: c.between(min_lat, max_lat))
    bad = ~(lon_ok.all(axis=1) & lat_ok.all(axis=1))
    assert not bad.any(), f"coordinates outside {VIETNAM_BBOX}: " + "; ".join(_rows(trips, bad))
    same = (coords["origin_lon"] == coords["dest_lon"]) & (
        coords["origin_lat"] == coords["dest_lat"]
    )
    assert not same.any(), "origin equals destination: " + "; ".join(_rows(trips, same))


def test_kinds_urls_dates(trips: pd.DataFrame) -> None:
    bad_kind = ~trips["dest_kind"].isin(KINDS)
    assert not bad_kind.any(), f"dest_kind not in {sorted(KINDS)}: " + "; ".join(
        _rows(trips, bad_kind)
    )
    bad_url = ~trips["source_url"].str.match(r"^https?://[^\s/]+\.[^\s]+$")
    assert not bad_url.any(), "source_url is not an http(s) URL: " + "; ".join(
        _rows(trips, bad_url)
    )

    def not_iso(value: str) -> bool:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return True
        return value != day.isoformat() or not (dt.date(2000, 1, 1) <= day <= dt.date.today())

    bad_date = trips["source_date"].map(not_iso)
    assert not bad_date.any(), "source_date is not an ISO date (YYYY-MM-DD, 2000..today): " + (
        "; ".join(_rows(trips, bad_date))
    )


def test_no_duplicate_trip(trips: pd.DataFrame) -> None:
    key = trips[["origin_lon", "origin_lat", "dest_lon", "dest_lat"]].round(4)
    dup = key.duplicated(keep=False)
    assert not dup.any(), "the same trip twice: " + "; ".join(_rows(trips, dup))


def test_all_six_regions_have_a_destination(trips: pd.DataFrame) -> None:
    config = load_region_config()
    provinces = load_provinces(EMBEDDED, config)
    assert set(provinces.regions6["region6_code"]) == REGIONS6
    dest = gpd.GeoDataFrame(
        trips, geometry=gpd.points_from_xy(trips["dest_lon"], trips["dest_lat"]), crs=4326
    )
    tagged = tag_provinces(
        dest, provinces, metric_crs=config.metric_crs, tolerance_m=config.province_tolerance_m
    )
    outside = tagged["prov_method"] == "outside"
    assert not outside.any(), "destination in no province: " + "; ".join(_rows(trips, outside))
    missing = REGIONS6 - set(tagged["region6_code"])
    assert not missing, f"no trip ends in region(s) {sorted(missing)}"
