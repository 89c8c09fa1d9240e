"""Multi-site facilities: a unit's travel time is the minimum over its members (networkx
multi-source Dijkstra as the reference), its road access its best member's, and flags per unit."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from analysis.catchments import Access, travel_times
from analysis.network import graph_from_edges, snap_points
from analysis.overlap import coverage_measures
from analysis.redundancy import redundancy_flags
from analysis.units import best_member, reduce_to_units, unit_access

CRS = "EPSG:3405"
ACCESS_KMH = 20.0


def hand_network():
    """A 4 x 3 grid (1 km spacing) with mixed speeds, two one-way edges, and a separate
    2-node fragment far east (a separate network)."""
    xy = [(c * 1000.0, r * 1000.0) for r in range(3) for c in range(4)]
    xy += [(20000.0, 0.0), (21500.0, 0.0)]
    pairs = [(r * 4 + c, r * 4 + c + 1) for r in range(3) for c in range(3)]
    pairs += [(r * 4 + c, (r + 1) * 4 + c) for r in range(2) for c in range(4)]
    pairs += [(12, 13)]
    speeds = [30.0, 60.0, 45.0, 90.0, 30.0, 60.0, 45.0, 30.0, 60.0]
    speeds += [40.0, 40.0, 80.0, 20.0, 40.0, 60.0, 40.0, 30.0, 50.0]
    oneway = [False] * len(pairs)
    oneway[1] = oneway[12] = True
    xy_arr = np.array(xy)
    u = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    geoms = shapely.linestrings(np.stack([xy_arr[u], xy_arr[v]], axis=1))
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "length_m": shapely.length(geoms),
            "speed_kmh": speeds,
            "oneway": oneway,
        },
        geometry=geoms,
        crs=CRS,
    )
    return edges, xy_arr


# sites: unit 0 = {0, 1, 2} (site 2 far off the road: long access), unit 1 = {3},
# unit 2 = {} (missing: no member), site 4 belongs to no unit; site 5 is unit 3 on the fragment
SITES = np.array(
    [[150.0, 80.0], [2900.0, 1950.0], [3100.0, -900.0], [1500.0, 2100.0], [800.0, 1000.0],
     [20700.0, 40.0]]
)  # fmt: skip
SITE_UNIT = np.array([0, 0, 0, 1, -1, 3])
N_UNITS = 4
CELLS = np.array(
    [[x, y] for x in range(-200, 3400, 450) for y in range(-100, 2300, 500)] + [[21000.0, 60.0]]
)


def reference_unit_times(edges, xy, limit_s):
    """networkx: split every edge at the snapped points; per unit, one super-source joined to
    each member site by its access time; multi-source Dijkstra; plus the cell's access time."""
    graph = graph_from_edges(edges, xy, crs=CRS)
    fs = snap_points(graph, SITES)
    cs = snap_points(graph, CELLS)
    g = nx.DiGraph()
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for k in range(len(SITES)):
        on_edge.setdefault(int(fs.edge[k]), []).append((fs.along_m[k], ("s", k)))
    for k in range(len(CELLS)):
        on_edge.setdefault(int(cs.edge[k]), []).append((cs.along_m[k], ("c", k)))
    for e, row in enumerate(edges.itertuples()):
        speed = row.speed_kmh / 3.6
        chain = [
            (0.0, int(row.u)),
            *sorted(on_edge.get(e, []), key=lambda p: (p[0], str(p[1]))),
            (row.length_m, int(row.v)),
        ]
        for (a0, n0), (a1, n1) in itertools.pairwise(chain):
            w = (a1 - a0) / speed
            for s, t in [(n0, n1)] if row.oneway else [(n0, n1), (n1, n0)]:
                if s != t and (not g.has_edge(s, t) or g[s][t]["w"] > w):
                    g.add_edge(s, t, w=w)
    speed = ACCESS_KMH / 3.6
    ref = {}
    for unit in range(N_UNITS):
        members = np.flatnonzero(unit == SITE_UNIT)
        if members.size == 0:
            continue
        src = ("u", unit)
        for k in members:
            g.add_edge(src, ("s", int(k)), w=fs.dist_m[k] / speed)
        dist = nx.single_source_dijkstra_path_length(g, src, weight="w")
        for c in range(len(CELLS)):
            t = dist.get(("c", c), np.inf) + cs.dist_m[c] / speed
            if t <= limit_s:
                ref[(unit, c)] = t
    return ref, graph


@pytest.fixture(scope="module")
def computed():
    edges, xy = hand_network()
    limit_s = 600.0
    ref, graph = reference_unit_times(edges, xy, limit_s)
    site_access = Access.from_snap(snap_points(graph, SITES), access_speed_kmh=ACCESS_KMH)
    cell_access = Access.from_snap(snap_points(graph, CELLS), access_speed_kmh=ACCESS_KMH)
    tt_sites = travel_times(graph, site_access, cell_access, limit_s=limit_s, method="scipy")
    tt_units = reduce_to_units(tt_sites, SITE_UNIT, N_UNITS)
    return ref, tt_sites, tt_units, site_access


def test_unit_time_is_min_over_members_as_networkx_multi_source(computed):
    ref, tt_sites, tt, _ = computed
    got = {(int(f), int(c)): float(t) for f, c, t in zip(tt.fac, tt.cell, tt.time_s, strict=True)}
    assert set(got) == set(ref)
    for key, t in ref.items():
        assert got[key] == pytest.approx(t, abs=1e-6)
    # sorted by (fac, cell), one row per pair
    order = np.lexsort((tt.cell, tt.fac))
    assert np.array_equal(order, np.arange(tt.fac.size))
    assert tt.n_fac == N_UNITS and tt.n_cells == tt_sites.n_cells


def test_the_min_is_taken_from_different_members(computed):
    """The case is not trivial: for unit 0, each of its sites is the nearest for some cell."""
    _, tt_sites, tt, _ = computed
    winners = set()
    for f, c, _t in zip(tt.fac, tt.cell, tt.time_s, strict=True):
        if f != 0:
            continue
        rows = (tt_sites.cell == c) & np.isin(tt_sites.fac, [0, 1, 2])
        best = tt_sites.fac[rows][np.argmin(tt_sites.time_s[rows])]
        winners.add(int(best))
    assert len(winners) >= 2


def test_unit_without_member_and_site_without_unit_keep_no_pair(computed):
    _, tt_sites, tt, _ = computed
    assert not np.any(tt.fac == 2)
    assert np.any(tt_sites.fac == 4)  # site 4 reaches cells but belongs to no unit
    assert np.any(tt.fac == 3)  # the fragment's unit reaches its own cell


def test_unit_access_is_the_best_members(computed):
    *_, site_access = computed
    best = best_member(site_access, SITE_UNIT, N_UNITS)
    assert best[2] == -1 and best[1] == 3 and best[3] == 5
    # unit 0: sites 0 and 1 sit near a main-network road; site 2 is farther: the nearest wins
    d = site_access.snap.dist_m
    assert best[0] == int(np.argmin(np.where(SITE_UNIT == 0, d, np.inf)))
    ua = unit_access(site_access, SITE_UNIT, N_UNITS)
    assert ua.snap.edge[2] == -1 and np.isinf(ua.access_s[2])
    assert ua.snap.component[3] != 0 and ua.snap.component[0] == 0
    assert ua.access_s[0] == pytest.approx(site_access.access_s[best[0]])


def test_a_main_network_member_beats_a_nearer_separate_one():
    """Road access ranks the network above a separate network before distance."""
    from analysis.network import Snap

    snap = Snap(
        edge=np.array([5, 7, -1]),
        dist_m=np.array([10.0, 900.0, np.inf]),
        along_m=np.array([1.0, 2.0, np.nan]),
        component=np.array([3, 0, -1]),
    )
    acc = Access.from_snap(snap, access_speed_kmh=20.0)
    assert best_member(acc, np.array([0, 0, 0]), 1).tolist() == [1]


def test_flags_per_unit_not_per_terminal():
    """Seaport A (province 0) has terminals t0 and t1, seaport B (province 1) one terminal t2.
    t0 reaches only cells that t1 and t2 also reach, so as a terminal it is flagged (unique
    share 0, all its people also reached from province 1). As a unit, A's catchment includes
    t1's own cell: A is not flagged, B (all of whose people A reaches) is."""
    demand = np.array([100.0, 100.0, 100.0, 1000.0])
    # sites: t0, t1 (seaport A), t2 (seaport B); cells 0-2 shared, cell 3 reached by t1 only
    site_fac = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    site_cell = np.array([0, 1, 2, 0, 1, 2, 3, 0, 1, 2])
    from analysis.catchments import TravelTimes

    tt = TravelTimes(site_fac, site_cell, np.full(site_fac.size, 60.0), 3, 4, 600.0)
    site_prov = np.array([0, 0, 1])
    cov = coverage_measures(tt.within(600.0), demand, site_prov, 2)
    flag_sites = redundancy_flags(
        cov.coverage, cov.unique, cov.other_province,
        max_unique_share=0.25, min_other_province_share=0.5,
    )[2]  # fmt: skip
    assert flag_sites[0]  # terminal 0 alone looks redundant
    units = reduce_to_units(tt, np.array([0, 0, 1]), 2)
    ucov = coverage_measures(units.within(600.0), demand, np.array([0, 1]), 2)
    flag_units = redundancy_flags(
        ucov.coverage, ucov.unique, ucov.other_province,
        max_unique_share=0.25, min_other_province_share=0.5,
    )[2]  # fmt: skip
    assert not flag_units[0]  # seaport A: 1000 of 1300 people are its own
    assert flag_units[1]  # seaport B: everything it reaches is reached from A
    assert ucov.coverage.tolist() == [1300.0, 300.0]
