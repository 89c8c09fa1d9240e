"""OSM speed and direction rules shared by every road reader: ``maxspeed``, highway classes, oneway.

A line's speed is its valid ``maxspeed`` first, else the speed of its highway tag, else of its
class, else the table's ``default``; oneway follows OSM's tags (motorways implied oneway).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import InputError

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
# The full drive network: every highway value of DRIVE_HIGHWAYS (what network_from_pbf keeps).
DRIVE_FILTER = (
    '["highway"~"^(' + "|".join(sorted(DRIVE_HIGHWAYS)) + ')$"]["area"!~"yes"]'
    '["access"!~"private|no"]["motor_vehicle"!~"no"]'
)
_SPEED_TOKEN = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)


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


def speeds_from_tags(
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


def oneway_from_tags(
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
