"""The speed model of the calibration and the routes its parameters act on: groups of road
classes tied to their lead class (:class:`SpeedModel`), and each trip's time split by group
on fixed routes (:func:`route_terms`). Moved from ``analysis.calibration``, which re-exports
these names (see its docstring)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from analysis.catchments import Access, _augmented, along_edge_s
from analysis.network import Graph
from analysis.validation import TripEnds


@dataclass(frozen=True)
class SpeedGroup:
    """Road classes fitted together: the speed of the lead (the group's fastest class in the
    region's table) within ``low_kmh``-``high_kmh``; the others keep their ratio to it, so no
    class of the group exceeds the upper bound."""

    name: str
    keys: tuple[str, ...]
    low_kmh: float
    high_kmh: float


# Bounds from Viet Nam's speed limits for cars (Thông tư 38/2024/TT-BGTVT, in force 1 Jan 2025; the
# same car limits as Thông tư 31/2019/TT-BGTVT): expressways at most 120 km/h, posted per route (80
# to 100 on most routes, 120 on a few); outside residential areas 90 on divided and 80 on two-way
# roads, inside 60 and 50, whatever the road's administrative class. A group's speed is the mean
# over its roads, so its upper bound is what a legally driven car can average there: expressway
# 100 (the posted limit of most of the class; tagged maxspeeds keep their own), national and
# provincial roads 72 for the lead (trunk), i.e. 60 on national highways, the realistic mean through
# towns and villages. National and provincial roads are one group: the limits do not tell them
# apart, and the ratios of the configured table keep a provincial road slower than a national
# highway (two groups let a few trips on coastal provincial roads make 1,600 km of provincial
# roads faster than 31,600 km of national highways). See METHOD.md, "Validation against real trips".
SPEED_GROUPS = (
    SpeedGroup("expressway", ("expressway", "motorway", "motorway_link"), 60.0, 100.0),
    SpeedGroup(
        "national_provincial",
        (
            "national_highway",
            "national",
            "trunk",
            "trunk_link",
            "asean",
            "provincial",
            "primary",
            "primary_link",
            "secondary",
            "secondary_link",
        ),
        35.0,
        72.0,
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
