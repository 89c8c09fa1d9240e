"""Fit class speeds and the access speed to real trips, cross-validated by region.

Free parameters (at most four, each bounded): one speed per group of road classes (the group's
lead, its fastest class in the region's table; the other classes of the group keep their ratio
to it, so links stay slower than their road) and the access speed. Edges whose speed comes from
an OSM ``maxspeed`` tag, and the topology connectors, keep their speed.

The fit alternates two steps: route every trip on the graph at the current speeds (scipy's
Dijkstra with predecessors), which splits its time into seconds per group, fixed seconds and
access metres; then, routes held fixed, the time is a sum of terms in 1/speed and
:func:`scipy.optimize.least_squares` (bounds, soft-L1 loss on the relative error against the
stated midpoint, a pull toward the configured speeds) finds the speeds. A round that does not
lower the re-routed objective is undone. Accuracy is measured with the model's own
:func:`analysis.validation.trip_times_s` on trips held back from the fit (k folds, stratified
by socio-economic region), never only on the fitted trips."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
from scipy.optimize import least_squares

from analysis.network import Graph, graph_from_edges
from analysis.speed_routes import (
    SPEED_GROUPS,
    RouteTerms,
    SpeedGroup,
    SpeedModel,
    route_terms,
    speed_model,
    speed_table_for,
)
from analysis.validation import DEFAULT_LIMIT_S, TripEnds, trip_times_s

__all__ = [
    "ACCESS_BOUNDS_KMH",
    "F_SCALE",
    "MIN_TRIPS",
    "PRIOR_WEIGHT",
    "SPEED_GROUPS",
    "URBAN_FACTORS",
    "Fit",
    "RouteTerms",
    "SpeedGroup",
    "SpeedModel",
    "fit_loss",
    "fit_speeds",
    "graph_with_speeds",
    "model_times_s",
    "route_terms",
    "speed_model",
    "speed_table_for",
    "stratified_folds",
    "subset_ends",
]

log = logging.getLogger(__name__)


ACCESS_BOUNDS_KMH = (5.0, 30.0)
F_SCALE = 0.1  # relative error where the soft-L1 loss turns from squared to linear
PRIOR_WEIGHT = 0.25  # pull of log(speed / configured speed), see fit_speeds
MIN_TRIPS = 3  # trips with 10 % of their time on a group before its speed is fitted
# Urban speed factors tried (geo.urban; bounds 0.4-1): the speeds are fitted at each and the
# factor whose fit has the lowest loss on the fitted trips is kept (fit_loss).
URBAN_FACTORS = (1.0, 0.85, 0.7, 0.55, 0.4)


@dataclass(frozen=True)
class Fit:
    """Fitted speeds: the leads of ``groups`` and the access speed, with bound hits."""

    groups: tuple[SpeedGroup, ...]
    lead_keys: tuple[str, ...]
    lead_kmh: np.ndarray
    access_speed_kmh: float
    at_bound: tuple[str, ...]
    identified: np.ndarray
    iterations: int
    trips_used: int


def graph_with_speeds(
    edges: gpd.GeoDataFrame, node_xy: np.ndarray, *, crs: str, speed_kmh: np.ndarray
) -> Graph:
    """The graph of ``edges`` with other edge speeds (same edge order, so snaps stay valid)."""
    return graph_from_edges(edges.assign(speed_kmh=speed_kmh), node_xy, crs=crs)


def fit_speeds(  # noqa: PLR0913 (keyword-only route terms and the fit's bounds)
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    ends: TripEnds,
    model: SpeedModel,
    mid_min: np.ndarray,
    *,
    crs: str,
    access_speed_kmh: float,
    access_bounds_kmh: tuple[float, float] = ACCESS_BOUNDS_KMH,
    prior_weight: float = PRIOR_WEIGHT,
    min_trips: int = MIN_TRIPS,
    max_iter: int = 8,
    limit_s: float = DEFAULT_LIMIT_S,
) -> Fit:
    """Fit the groups' lead speeds and the access speed to trips (their stated midpoints).

    Parameters
    ----------
    edges, node_xy, crs
        The road network (edge order as in ``model``).
    ends
        Snapped ends of the trips to fit.
    model
        From :func:`speed_model`; its ``lead_kmh`` (the configured speeds) is the start.
    mid_min
        (n_trips,) stated midpoint minutes.
    access_speed_kmh
        Configured access speed (the start).
    access_bounds_kmh
        Bounds of the access speed; each group's bounds are in its :class:`SpeedGroup`.
    prior_weight
        Weight of ``log(speed / configured speed)`` added to the residuals: with a few dozen
        trips, a speed moves away from the configured one only as far as the trips insist
        (0 = no pull).
    min_trips
        A group is fitted only when at least this many trips spend 10 % of their time on it
        (with the configured speeds); otherwise it keeps its speed ("not identified").
    max_iter
        Route-and-fit rounds at most.

    Returns
    -------
    Fit
        Each round re-routes the trips at the new speeds; a round whose re-routed objective is
        not better than the previous one is undone and the fit stops, so the result is never
        worse on the fitted trips than the speeds it started from. ``at_bound`` names every
        parameter that ended on a bound.
    """
    groups = model.groups
    lo = np.array([g.low_kmh for g in groups] + [access_bounds_kmh[0]])
    hi = np.array([g.high_kmh for g in groups] + [access_bounds_kmh[1]])
    start = np.append(model.lead_kmh, access_speed_kmh)
    x = np.clip(start, lo + 1e-6, hi - 1e-6)
    mid_s = np.asarray(mid_min, dtype=np.float64) * 60.0
    identified = np.zeros(len(groups) + 1, bool)  # none without a routed trip
    best: tuple[float, np.ndarray] | None = None
    rounds, used = 0, 0
    while rounds < max_iter:
        rounds += 1
        graph = graph_with_speeds(edges, node_xy, crs=crs, speed_kmh=model.edge_speeds_kmh(x[:-1]))
        terms = route_terms(graph, ends, model, x[:-1], limit_s=limit_s)
        if not terms.reachable.any():
            break
        if best is None:
            identified = _identified(terms, min_trips)
            used = int(terms.reachable.sum())
        problem = _Problem(terms, mid_s, np.flatnonzero(identified), start, prior_weight)
        objective = problem.objective(x)
        if best is not None and objective >= best[0] - 1e-12:
            break  # re-routing undid the gain: keep the previous speeds
        best = (objective, x)
        new = problem.solve(x, lo, hi)
        if float(np.max(np.abs(new - x))) < 0.05:
            best = (problem.objective(new), new)
            break
        x = new
    x = np.where(identified, best[1], start) if best is not None else start
    names = [g.name for g in groups] + ["access"]
    at_bound = tuple(
        f"{n} at its {side} bound ({v:g} km/h)"
        for n, side, v in _bound_hits(x, lo, hi, identified, names)
    )
    return Fit(
        groups=groups,
        lead_keys=model.lead_keys,
        lead_kmh=x[:-1],
        access_speed_kmh=float(x[-1]),
        at_bound=at_bound,
        identified=identified,
        iterations=rounds,
        trips_used=used,
    )


def _identified(terms: RouteTerms, min_trips: int) -> np.ndarray:
    """Groups that at least ``min_trips`` routed trips spend 10 % of their time on; the access
    speed when any trip has an access distance."""
    use = terms.reachable
    total = terms.group_base_s[use].sum(axis=1) + terms.fixed_s[use]
    share = terms.group_base_s[use] / np.maximum(total, 1e-9)[:, None]
    enough = (share >= 0.1).sum(axis=0) >= min(min_trips, int(use.sum()))
    return np.append(enough, terms.access_m[use].sum() > 0)


@dataclass(frozen=True)
class _Problem:
    """The fit with routes held fixed: relative errors of the routed trips against their
    midpoints, plus the pull toward the configured speeds, under a soft-L1 loss."""

    terms: RouteTerms
    mid_s: np.ndarray
    free: np.ndarray
    start: np.ndarray
    prior_weight: float

    def residuals(self, x: np.ndarray) -> np.ndarray:
        use = self.terms.reachable
        rel = (self.terms.times_s(x[:-1], x[-1])[use] - self.mid_s[use]) / self.mid_s[use]
        prior = self.prior_weight * np.log(x[self.free] / self.start[self.free])
        return np.concatenate([rel, prior])

    def objective(self, x: np.ndarray) -> float:
        z = (self.residuals(x) / F_SCALE) ** 2
        return float(np.sum(2.0 * (np.sqrt(1.0 + z) - 1.0)))

    def solve(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        new = x.copy()
        if self.free.size == 0:
            return new

        def resid(p: np.ndarray) -> np.ndarray:
            full = x.copy()
            full[self.free] = p
            return self.residuals(full)

        f = self.free
        sol = least_squares(resid, x[f], bounds=(lo[f], hi[f]), loss="soft_l1", f_scale=F_SCALE)
        new[f] = sol.x
        return new


def _bound_hits(
    x: np.ndarray, lo: np.ndarray, hi: np.ndarray, identified: np.ndarray, names: list[str]
) -> list[tuple[str, str, float]]:
    tol = 1e-3 * (hi - lo)
    out = []
    for n, v, a, b, t, ok in zip(names, x, lo, hi, tol, identified, strict=True):
        if ok and abs(v - a) <= t:
            out.append((n, "lower", float(a)))
        elif ok and abs(v - b) <= t:
            out.append((n, "upper", float(b)))
    return out


def model_times_s(
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    ends: TripEnds,
    model: SpeedModel,
    fit: Fit,
    *,
    crs: str,
    limit_s: float = DEFAULT_LIMIT_S,
) -> np.ndarray:
    """The model's own times of the trips with the fitted speeds (inf: unreachable)."""
    graph = graph_with_speeds(
        edges, node_xy, crs=crs, speed_kmh=model.edge_speeds_kmh(fit.lead_kmh)
    )
    return trip_times_s(graph, ends, access_speed_kmh=fit.access_speed_kmh, limit_s=limit_s)


def fit_loss(model_min: np.ndarray, mid_min: np.ndarray) -> float:
    """Mean soft-L1 loss (scale :data:`F_SCALE`) of the relative error against the stated
    midpoints, as the speed fit weighs it; an unreachable trip counts as a 100 % error."""
    z = np.where(np.isfinite(model_min), np.abs(model_min - mid_min) / mid_min, 1.0) / F_SCALE
    return float(np.mean(2.0 * (np.sqrt(1.0 + z * z) - 1.0))) if z.size else 0.0


def stratified_folds(strata: np.ndarray, *, k: int, seed: int = 0) -> np.ndarray:
    """Fold (0..k-1) of each item: every stratum's items shuffled with ``seed`` and dealt in
    turn, continuing where the previous stratum stopped, so folds are balanced overall and in
    each stratum (strata in sorted order: the result does not depend on the row order of
    equal strata beyond the seeded shuffle)."""
    strata = np.asarray(strata).astype(str)
    rng = np.random.default_rng(seed)
    fold = np.zeros(strata.size, dtype=np.int64)
    start = 0
    for s in sorted(set(strata.tolist())):
        idx = np.flatnonzero(strata == s)
        idx = idx[rng.permutation(idx.size)]
        fold[idx] = (start + np.arange(idx.size)) % k
        start += idx.size
    return fold


def subset_ends(ends: TripEnds, mask: np.ndarray) -> TripEnds:
    """The ends of the trips where ``mask`` is True (origins kept whole)."""
    m = np.asarray(mask, dtype=bool)
    d = ends.dests
    return replace(
        ends,
        origin_index=ends.origin_index[m],
        dests=type(d)(
            edge=d.edge[m], dist_m=d.dist_m[m], along_m=d.along_m[m], component=d.component[m]
        ),
        dest_is_facility=ends.dest_is_facility[m],
    )
