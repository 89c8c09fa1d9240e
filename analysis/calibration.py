"""Fit class speeds and the access speed to real trips, cross-validated by region.

Free parameters (at most five, each bounded): one speed per group of road classes (the group's
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from scipy.optimize import least_squares
from scipy.sparse.csgraph import dijkstra

from analysis.catchments import Access, _augmented, along_edge_s
from analysis.network import Graph, graph_from_edges
from analysis.validation import DEFAULT_LIMIT_S, TripEnds, trip_times_s

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeedGroup:
    """Road classes fitted together: the speed of the lead (the group's fastest class in the
    region's table) within ``low_kmh``-``high_kmh``; the others keep their ratio to it, so no
    class of the group exceeds the upper bound."""

    name: str
    keys: tuple[str, ...]
    low_kmh: float
    high_kmh: float


SPEED_GROUPS = (
    SpeedGroup("expressway", ("expressway", "motorway", "motorway_link"), 60.0, 110.0),
    SpeedGroup(
        "trunk_national",
        ("national_highway", "national", "trunk", "trunk_link", "asean"),
        35.0,
        80.0,
    ),
    SpeedGroup(
        "primary_provincial",
        ("provincial", "primary", "primary_link", "secondary", "secondary_link"),
        20.0,
        65.0,
    ),
    SpeedGroup(
        "tertiary_local",
        (
            "tertiary",
            "tertiary_link",
            "district",
            "unclassified",
            "residential",
            "living_street",
            "service",
            "road",
            "default",
        ),
        10.0,
        45.0,
    ),
)
ACCESS_BOUNDS_KMH = (5.0, 30.0)
F_SCALE = 0.1  # relative error where the soft-L1 loss turns from squared to linear
PRIOR_WEIGHT = 0.25  # pull of log(speed / configured speed), see fit_speeds
MIN_TRIPS = 3  # trips with 10 % of their time on a group before its speed is fitted
# Urban speed factors tried (geo.urban; bounds 0.4-1): the speeds are fitted at each and the
# factor whose fit has the lowest loss on the fitted trips is kept (fit_loss).
URBAN_FACTORS = (1.0, 0.85, 0.7, 0.55, 0.4)


@dataclass(frozen=True)
class SpeedModel:
    """The calibrated part of the speed table, per edge.

    Attributes
    ----------
    groups
        The groups that have a class in the table.
    lead_keys
        Each group's lead: its fastest class in the table (the first such in ``keys`` on a tie).
    lead_kmh
        Current speed of each group's lead class (the parameter).
    edge_group
        (n_edges,) group index, -1 for edges whose speed is fixed (maxspeed, connector, ...).
    edge_ratio
        (n_edges,) edge speed / lead speed of its group (1 for fixed edges).
    fixed_kmh
        (n_edges,) speed of fixed edges.
    """

    groups: tuple[SpeedGroup, ...]
    lead_keys: tuple[str, ...]
    lead_kmh: np.ndarray
    edge_group: np.ndarray
    edge_ratio: np.ndarray
    fixed_kmh: np.ndarray

    def edge_speeds_kmh(self, lead_kmh: np.ndarray) -> np.ndarray:
        """Every edge's speed with the groups' leads at ``lead_kmh``."""
        g = self.edge_group
        lead = np.asarray(lead_kmh, dtype=np.float64)
        return np.where(g >= 0, self.edge_ratio * lead[np.maximum(g, 0)], self.fixed_kmh)


def speed_model(
    edge_key: np.ndarray,
    edge_speed_kmh: np.ndarray,
    speed_table: Mapping[str, float],
    *,
    groups: Sequence[SpeedGroup] = SPEED_GROUPS,
) -> SpeedModel:
    """Tie every edge to its group through the speed-table key its speed came from.

    Parameters
    ----------
    edge_key
        (n_edges,) the ``[roads.speed_kmh]`` key that set each edge's speed ("" for a maxspeed
        tag), from :func:`geo.speed_keys.road_network_with_speed_keys`.
    edge_speed_kmh
        (n_edges,) the edges' speeds with ``speed_table``.
    speed_table
        The region's ``[roads.speed_kmh]``.
    groups
        Groups of keys; a group none of whose keys is in the table is left out.
    """
    kept = tuple(g for g in groups if any(k in speed_table for k in g.keys))
    lead_keys = tuple(
        max((k for k in g.keys if k in speed_table), key=lambda k: float(speed_table[k]))
        for g in kept
    )
    lead = np.array([float(speed_table[k]) for k in lead_keys])
    key_group = {k: i for i, g in enumerate(kept) for k in g.keys if k in speed_table}
    edge_group = np.array([key_group.get(str(k), -1) for k in edge_key], dtype=np.int64)
    speed = np.asarray(edge_speed_kmh, dtype=np.float64)
    ratio = np.where(edge_group >= 0, speed / lead[np.maximum(edge_group, 0)], 1.0)
    return SpeedModel(kept, lead_keys, lead, edge_group, ratio, speed)


def speed_table_for(
    model: SpeedModel, lead_kmh: np.ndarray, speed_table: Mapping[str, float]
) -> dict[str, float]:
    """The speed table with every grouped key scaled as its lead (rounded to 0.1 km/h)."""
    out = {str(k): float(v) for k, v in speed_table.items()}
    for g, lead, new in zip(model.groups, model.lead_keys, lead_kmh, strict=True):
        old = float(speed_table[lead])
        for k in g.keys:
            if k in out:
                out[k] = round(out[k] * float(new) / old, 1)
    return out


@dataclass(frozen=True)
class RouteTerms:
    """Each trip's time split by what the parameters act on (routes fixed).

    ``group_base_s`` (n_trips, n_groups): seconds on each group's edges at the lead speeds
    ``lead_kmh`` the routes were found with; ``fixed_s`` seconds on fixed-speed edges;
    ``access_m`` metres off the network (both ends); ``reachable`` bool.
    """

    group_base_s: np.ndarray
    fixed_s: np.ndarray
    access_m: np.ndarray
    reachable: np.ndarray
    lead_kmh: np.ndarray

    def times_s(self, lead_kmh: np.ndarray, access_speed_kmh: float) -> np.ndarray:
        """Trip times with other speeds on the same routes."""
        scale = self.lead_kmh / np.asarray(lead_kmh, dtype=np.float64)
        out: np.ndarray = (
            self.group_base_s @ scale + self.fixed_s + self.access_m / (access_speed_kmh / 3.6)
        )
        return out


def _arc_edges(graph: Graph) -> sp.csr_matrix:
    """(n, n) matrix of 1 + the edge behind each arc of ``graph.csr`` (the fastest parallel one)."""
    u, v, one = graph.edge_u, graph.edge_v, graph.edge_oneway
    t = graph.edge_len_m / graph.edge_speed_ms
    ids = np.arange(u.size)
    rows = np.concatenate([u, v[~one]])
    cols = np.concatenate([v, u[~one]])
    w = np.concatenate([t, t[~one]])
    eid = np.concatenate([ids, ids[~one]])
    order = np.lexsort((w, cols, rows))
    rows, cols, eid = rows[order], cols[order], eid[order]
    first = np.ones(rows.size, bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    n = graph.n_nodes
    return sp.csr_matrix((eid[first] + 1, (rows[first], cols[first])), shape=(n, n))


def route_terms(
    graph: Graph, ends: TripEnds, model: SpeedModel, lead_kmh: np.ndarray, *, limit_s: float
) -> RouteTerms:
    """Route every trip on ``graph`` (built with ``model`` at ``lead_kmh``) and split its time.

    One Dijkstra (with predecessors) per distinct origin, one origin at a time, so memory
    stays at one row of the graph whatever the number of origins."""
    n, k = graph.n_nodes, ends.n_trips
    aug = _augmented(graph, Access.from_snap(ends.origins, access_speed_kmh=1.0))
    arcs = _arc_edges(graph)
    base = np.zeros((k, len(model.groups)))
    fixed = np.zeros(k)
    reach = np.zeros(k, bool)
    for o in np.unique(ends.origin_index):
        trips = np.flatnonzero((ends.origin_index == o) & (ends.dests.edge >= 0))
        if ends.origins.edge[o] < 0 or trips.size == 0:
            continue
        dist, pred = dijkstra(aug, indices=n + o, limit=limit_s, return_predecessors=True)
        for i in trips:
            edges_m = _route_edges(graph, ends, int(i), dist, pred, arcs, limit_s=limit_s)
            if edges_m is None:
                continue
            eids, metres = edges_m
            secs = metres / graph.edge_speed_ms[eids]
            g = model.edge_group[eids]
            np.add.at(base[i], g[g >= 0], secs[g >= 0])
            fixed[i] = secs[g < 0].sum()
            reach[i] = True
    access_m = ends.origins.dist_m[ends.origin_index] + ends.dests.dist_m
    return RouteTerms(base, fixed, np.where(reach, access_m, 0.0), reach, np.asarray(lead_kmh))


def _route_edges(
    graph: Graph,
    ends: TripEnds,
    i: int,
    dist: np.ndarray,
    pred: np.ndarray,
    arcs: sp.csr_matrix,
    *,
    limit_s: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Edges of trip ``i``'s fastest route and the metres driven on each (the partial edges at
    both ends included), as the catchment times read them; None when it has no route."""
    n = graph.n_nodes
    o = ends.origin_index[i]
    e, a = int(ends.dests.edge[i]), float(ends.dests.along_m[i])
    oe, oa = int(ends.origins.edge[o]), float(ends.origins.along_m[o])
    length = graph.edge_len_m
    speed = graph.edge_speed_ms[e]
    from_v = np.inf if graph.edge_oneway[e] else (length[e] - a) / speed
    via = [dist[graph.edge_u[e]] + a / speed, dist[graph.edge_v[e]] + from_v]
    direct = np.inf
    if oe == e:
        direct = float(along_edge_s(graph, np.array([e]), np.array([a - oa]))[0])
    if not min(*via, direct) <= limit_s:
        return None
    if direct <= min(via):
        return np.array([e]), np.array([abs(a - oa)])
    end = int(graph.edge_u[e] if via[0] <= via[1] else graph.edge_v[e])
    hops: list[tuple[int, int]] = []
    x = end
    while 0 <= (p := int(pred[x])) < n:
        hops.append((p, x))
        x = p
    # the first hop leaves the origin's point inside its edge toward one of the edge's ends
    first = length[oe] - oa if x == graph.edge_v[oe] else oa
    last = a if end == graph.edge_u[e] else length[e] - a
    mid = np.zeros(0, dtype=np.int64)
    if hops:
        h = np.array(hops, dtype=np.int64)
        mid = np.asarray(arcs[h[:, 0], h[:, 1]]).ravel().astype(np.int64) - 1
    return (
        np.concatenate([[oe], mid, [e]]).astype(np.int64),
        np.concatenate([[first], length[mid], [last]]),
    )


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


def fit_speeds(
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
