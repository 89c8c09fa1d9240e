"""The model's drive time for real trips, against the range a source states.

Pure functions on a :class:`~analysis.network.Graph` and arrays (metric CRS, seconds inside,
minutes in the tables). A trip's ends are snapped as the analysis snaps them
(:mod:`analysis.run`): the end that is a facility (``dest_kind`` a facility type) as facilities
are (eligible components only, at most ``max_facility_access_km`` away), the other end as demand
cells are; access time at the access speed is counted at both ends. Times come from
:func:`analysis.catchments.travel_times`, one bounded Dijkstra per distinct origin, so a trip's
time is exactly what a catchment would give the same pair of points.

Tolerance and error (DESIGN.md, "Decisions", Trips): a trip is within tolerance when
``low - max(10, 0.3 low) <= model <= high + max(10, 0.3 high)`` (minutes); its error is
``|model - midpoint| / midpoint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.catchments import Access, travel_times
from analysis.network import Graph, Snap, snap_points

TOLERANCE_MIN = 10.0
TOLERANCE_SHARE = 0.3
DEFAULT_LIMIT_S = 24 * 3600.0  # beyond a day's drive a trip counts as unreachable


@dataclass(frozen=True)
class TripEnds:
    """Snapped ends of a set of trips.

    Attributes
    ----------
    origins
        Snap of the distinct origins (demand-cell rules).
    origin_index
        (n_trips,) index of each trip's origin in ``origins``.
    dests
        Snap of every trip's destination (facility or cell rules, by trip).
    dest_is_facility
        (n_trips,) bool.
    max_facility_access_m
        The facility rule's largest access distance (for the unreachable reason).
    """

    origins: Snap
    origin_index: np.ndarray
    dests: Snap
    dest_is_facility: np.ndarray
    max_facility_access_m: float

    @property
    def n_trips(self) -> int:
        return int(self.origin_index.size)


def snap_trip_ends(
    graph: Graph,
    origin_xy: np.ndarray,
    dest_xy: np.ndarray,
    dest_is_facility: np.ndarray,
    *,
    min_component_km: float,
    max_facility_access_km: float,
    origin_is_facility: np.ndarray | None = None,
) -> TripEnds:
    """Snap the trips' ends to the network as the analysis snaps facilities and cells.

    Parameters
    ----------
    graph
        The road graph (metric CRS).
    origin_xy, dest_xy
        (n_trips, 2) coordinates in the graph's metric CRS.
    dest_is_facility
        (n_trips,) True where the destination is a facility.
    min_component_km, max_facility_access_km
        The region config's snapping rules (``min_component_km``, ``max_facility_access_km``).
    origin_is_facility
        (n_trips,) True where the origin is a facility (default: none is).

    Returns
    -------
    TripEnds
        Identical origins (same point, same kind) are snapped once (one Dijkstra each).
    """
    origin_xy = np.asarray(origin_xy, dtype=np.float64).reshape(-1, 2)
    dest_xy = np.asarray(dest_xy, dtype=np.float64).reshape(-1, 2)
    fac = np.asarray(dest_is_facility, dtype=bool)
    o_fac = (
        np.zeros(origin_xy.shape[0], bool)
        if origin_is_facility is None
        else np.asarray(origin_is_facility, dtype=bool)
    )
    keyed = np.column_stack([origin_xy, o_fac.astype(np.float64)])
    uniq, inverse = np.unique(keyed, axis=0, return_inverse=True)
    max_m = max_facility_access_km * 1000.0
    rules = {"min_component_km": min_component_km, "max_dist_m": max_m}
    origins = _snap_by_kind(graph, uniq[:, :2], uniq[:, 2] > 0, **rules)
    dests = _snap_by_kind(graph, dest_xy, fac, **rules)
    return TripEnds(
        origins=origins,
        origin_index=np.asarray(inverse).reshape(-1).astype(np.int64),
        dests=dests,
        dest_is_facility=fac,
        max_facility_access_m=max_m,
    )


def _snap_by_kind(
    graph: Graph,
    xy: np.ndarray,
    is_facility: np.ndarray,
    *,
    min_component_km: float,
    max_dist_m: float,
) -> Snap:
    """Facilities within ``max_dist_m`` of an eligible road, other points to the nearest one."""
    as_cell = snap_points(graph, xy, min_component_km=min_component_km)
    as_fac = snap_points(graph, xy, min_component_km=min_component_km, max_dist_m=max_dist_m)
    f = is_facility
    return Snap(
        edge=np.where(f, as_fac.edge, as_cell.edge),
        dist_m=np.where(f, as_fac.dist_m, as_cell.dist_m),
        along_m=np.where(f, as_fac.along_m, as_cell.along_m),
        component=np.where(f, as_fac.component, as_cell.component),
    )


def trip_times_s(
    graph: Graph,
    ends: TripEnds,
    *,
    access_speed_kmh: float,
    limit_s: float = DEFAULT_LIMIT_S,
    method: str = "numba",
) -> np.ndarray:
    """Model drive time of every trip, origin to destination, in seconds (inf: unreachable).

    Parameters
    ----------
    graph
        The road graph with the speeds to test.
    ends
        From :func:`snap_trip_ends`.
    access_speed_kmh
        Off-network speed at both ends.
    limit_s
        Longer trips count as unreachable (default one day).
    method
        ``numba`` or ``scipy`` (:func:`analysis.catchments.travel_times`).

    Returns
    -------
    numpy.ndarray
        (n_trips,) float seconds, access at both ends included.
    """
    origins = Access.from_snap(ends.origins, access_speed_kmh=access_speed_kmh)
    dests = Access.from_snap(ends.dests, access_speed_kmh=access_speed_kmh)
    tt = travel_times(graph, origins, dests, limit_s=limit_s, method=method)
    out = np.full(ends.n_trips, np.inf)
    if tt.fac.size == 0:
        return out
    n_dest = ends.n_trips
    keys = tt.fac * n_dest + tt.cell
    order = np.argsort(keys, kind="stable")
    keys, times = keys[order], tt.time_s[order]
    want = ends.origin_index * n_dest + np.arange(n_dest)
    pos = np.minimum(np.searchsorted(keys, want), keys.size - 1)
    hit = keys[pos] == want
    out[hit] = times[pos[hit]]
    return out


def unreachable_reasons(ends: TripEnds, time_s: np.ndarray, *, limit_s: float) -> np.ndarray:
    """Why each trip has no time ("" where it has one): no road near an end, ends on separate
    road networks (an island without a bridge, a road fragment), or no path in the allowed
    direction within ``limit_s``."""
    o = ends.origin_index
    o_edge = ends.origins.edge[o]
    o_comp = ends.origins.component[o]
    reason = np.full(ends.n_trips, "", dtype=object)
    no_time = ~np.isfinite(time_s)
    far = ends.max_facility_access_m / 1000.0
    reason[no_time] = f"no path within {limit_s / 3600:g} h (one-way roads or a dead end)"
    split = no_time & (o_comp != ends.dests.component)
    reason[split] = [
        f"the ends lie on separate road networks (components {a} and {b}): an island or a road fragment"
        for a, b in zip(o_comp[split], ends.dests.component[split], strict=True)
    ]
    reason[no_time & (ends.dests.edge < 0)] = (
        f"no road within {far:g} km of the destination facility"
    )
    reason[no_time & (o_edge < 0)] = f"no road within {far:g} km of the origin facility"
    return reason


def tolerance_range(low_min: np.ndarray, high_min: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The accepted range of model minutes: ``low - max(10, 0.3 low)``, ``high + max(10, 0.3 high)``."""
    low = np.asarray(low_min, dtype=np.float64)
    high = np.asarray(high_min, dtype=np.float64)
    lo = low - np.maximum(TOLERANCE_MIN, TOLERANCE_SHARE * low)
    hi = high + np.maximum(TOLERANCE_MIN, TOLERANCE_SHARE * high)
    return lo, hi


def trip_errors(
    model_min: np.ndarray, low_min: np.ndarray, high_min: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(error, within tolerance) per trip: ``|model - mid| / mid`` (NaN when unreachable) and
    whether the model lies within :func:`tolerance_range` (False when unreachable)."""
    model = np.asarray(model_min, dtype=np.float64)
    low = np.asarray(low_min, dtype=np.float64)
    high = np.asarray(high_min, dtype=np.float64)
    mid = (low + high) / 2.0
    ok = np.isfinite(model)
    error = np.where(ok, np.abs(np.where(ok, model, 0.0) - mid) / mid, np.nan)
    lo, hi = tolerance_range(low, high)
    within = ok & (model >= lo) & (model <= hi)
    return error, within


def validation_table(trips: pd.DataFrame, time_s: np.ndarray, reasons: np.ndarray) -> pd.DataFrame:
    """Per-trip table: the trip's columns, ``model_min``, the tolerance range, ``error``,
    ``within_tolerance``, ``reachable`` and ``unreachable_reason``; sorted by the file's row."""
    model = np.where(np.isfinite(time_s), time_s / 60.0, np.nan)
    low = trips["minutes_low"].to_numpy(np.float64)
    high = trips["minutes_high"].to_numpy(np.float64)
    error, within = trip_errors(model, low, high)
    lo, hi = tolerance_range(low, high)
    keep = [
        c
        for c in (
            "trip_row",
            "origin_name",
            "dest_name",
            "origin_kind",
            "dest_kind",
            "region6_code",
            "minutes_low",
            "minutes_high",
        )
        if c in trips.columns
    ]
    table = trips[keep].copy()
    table["model_min"] = np.round(model, 1)
    table["tolerance_low_min"] = np.round(lo, 1)
    table["tolerance_high_min"] = np.round(hi, 1)
    table["error"] = np.round(error, 4)
    table["within_tolerance"] = within
    table["reachable"] = np.isfinite(time_s)
    table["unreachable_reason"] = reasons
    for c in ("source_url", "source_date"):
        if c in trips.columns:
            table[c] = trips[c].to_numpy()
    return table.sort_values("trip_row", kind="stable").reset_index(drop=True)


def summarise_validation(table: pd.DataFrame) -> dict[str, Any]:
    """Headline figures of a per-trip table.

    Returns
    -------
    dict
        ``trips``; ``reachable``; ``unreachable``; ``median_abs_error`` (over reachable trips,
        a share: 0.15 = 15 %); ``within_tolerance_share`` (over all trips, an unreachable trip
        counts as outside); ``within_tolerance`` (count); ``median_model_min`` and
        ``median_stated_min`` (midpoints).
    """
    n = len(table)
    reach = table["reachable"].to_numpy(bool)
    err = table["error"].to_numpy(np.float64)[reach]
    mid = (
        table["minutes_low"].to_numpy(np.float64) + table["minutes_high"].to_numpy(np.float64)
    ) / 2
    return {
        "trips": n,
        "reachable": int(reach.sum()),
        "unreachable": int(n - reach.sum()),
        "median_abs_error": round(float(np.median(err)), 4) if err.size else None,
        "within_tolerance": int(table["within_tolerance"].sum()),
        "within_tolerance_share": round(float(table["within_tolerance"].mean()), 4) if n else None,
        "median_model_min": round(float(np.median(table["model_min"].to_numpy()[reach])), 1)
        if reach.any()
        else None,
        "median_stated_min": round(float(np.median(mid)), 1) if n else None,
    }
