"""The catchment kernel against networkx on random graphs: same reached pairs, same times."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
import shapely.affinity

from analysis.catchments import Access, nearest_two, travel_times
from analysis.network import graph_from_edges, snap_points

CRS = "EPSG:3405"


def random_network(seed: int, n_side: int = 7, spacing: float = 1000.0):
    """A jittered grid road network with random speeds, some one-way edges and a few gaps."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n_side * n_side).reshape(n_side, n_side)
    xy = np.column_stack(
        [(ids % n_side).ravel() * spacing, (ids // n_side).ravel() * spacing]
    ).astype(float)
    xy += rng.uniform(-200, 200, xy.shape)
    pairs = [(ids[r, c], ids[r, c + 1]) for r in range(n_side) for c in range(n_side - 1)]
    pairs += [(ids[r, c], ids[r + 1, c]) for r in range(n_side - 1) for c in range(n_side)]
    pairs = [p for p in pairs if rng.random() > 0.1]
    u = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "length_m": shapely.length(geoms),
            "speed_kmh": rng.choice([20.0, 40.0, 60.0, 90.0], size=u.size),
            "oneway": rng.random(u.size) < 0.2,
        },
        geometry=geoms,
        crs=CRS,
    )
    return edges, xy, rng


def reference_times(edges, xy, fac_xy, cell_xy, access_kmh, limit_s):
    """networkx: split every edge at the snapped points, Dijkstra from each facility."""
    graph = graph_from_edges(edges, xy, crs=CRS)
    fs = snap_points(graph, fac_xy)
    cs = snap_points(graph, cell_xy)
    g = nx.DiGraph()
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for k in range(len(fac_xy)):
        on_edge.setdefault(int(fs.edge[k]), []).append((fs.along_m[k], ("f", k)))
    for k in range(len(cell_xy)):
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
                if s == t:
                    continue
                if not g.has_edge(s, t) or g[s][t]["w"] > w:
                    g.add_edge(s, t, w=w)
    ref = {}
    speed = access_kmh / 3.6
    for k in range(len(fac_xy)):
        src = ("f", k)
        if src not in g:
            continue
        dist = nx.single_source_dijkstra_path_length(g, src, weight="w")
        for c in range(len(cell_xy)):
            node = ("c", c)
            if node in dist:
                t = fs.dist_m[k] / speed + dist[node] + cs.dist_m[c] / speed
                if t <= limit_s:
                    ref[(k, c)] = t
    return ref


@pytest.mark.parametrize("method", ["numba", "scipy"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_travel_times_match_networkx(seed, method):
    edges, xy, rng = random_network(seed)
    fac_xy = rng.uniform(0, 6000, (6, 2))
    cell_xy = rng.uniform(-500, 6500, (80, 2))
    limit_s = 600.0
    graph = graph_from_edges(edges, xy, crs=CRS)
    fac = Access.from_snap(snap_points(graph, fac_xy), access_speed_kmh=20)
    cells = Access.from_snap(snap_points(graph, cell_xy), access_speed_kmh=20)
    tt = travel_times(graph, fac, cells, limit_s=limit_s, method=method, chunk=4)
    ours = {(int(f), int(c)): float(t) for f, c, t in zip(tt.fac, tt.cell, tt.time_s, strict=True)}
    ref = reference_times(edges, xy, fac_xy, cell_xy, 20, limit_s)
    # float ties at the limit are the only tolerated difference
    only_ours = {k for k in ours.keys() - ref.keys() if abs(ours[k] - limit_s) > 1e-6}
    only_ref = {k for k in ref.keys() - ours.keys() if abs(ref[k] - limit_s) > 1e-6}
    assert not only_ours and not only_ref, (
        f"reached sets differ: ours only {sorted(only_ours)[:5]}, networkx only {sorted(only_ref)[:5]}"
    )
    worst = max((abs(ours[k] - ref[k]) for k in ours.keys() & ref.keys()), default=0.0)
    assert worst < 1e-6, f"times differ from networkx by up to {worst} s"
    assert len(ours) > 20, "the test graph reached too few pairs to be meaningful"


def test_nearest_two_orders_by_time_then_index():
    from analysis.catchments import TravelTimes

    tt = TravelTimes(
        fac=np.array([0, 0, 1, 1, 2]),
        cell=np.array([0, 1, 0, 1, 0]),
        time_s=np.array([30.0, 10.0, 20.0, 10.0, 20.0]),
        n_fac=3,
        n_cells=3,
        limit_s=100,
    )
    f1, t1, f2, t2 = nearest_two(tt)
    assert f1.tolist() == [1, 0, -1] and t1[:2].tolist() == [20.0, 10.0]
    assert f2.tolist() == [2, 1, -1], "ties in time must go to the lower facility index"
    assert np.isinf(t1[2]) and np.isinf(t2[2])


def test_points_beyond_max_distance_get_no_edge():
    edges, xy, _ = random_network(9)
    graph = graph_from_edges(edges, xy, crs=CRS)
    snap = snap_points(graph, np.array([[3000.0, 3000.0], [90_000.0, 90_000.0]]), max_dist_m=5000)
    assert snap.edge[0] >= 0 and snap.edge[1] == -1


@pytest.mark.integration
def test_travel_times_match_networkx_on_the_real_vietnam_network():
    """Real roads (embedded default), 3 airports, 1,500 random cells: same pairs, same times."""
    from pathlib import Path

    from geo.config import load_region_config
    from geo.roads import road_network_for_region

    cfg = load_region_config()
    net = road_network_for_region(Path(__file__).resolve().parent.parent / "data" / "vietnam", cfg)
    edges = net.edges.reset_index(drop=True)
    rng = np.random.default_rng(7)
    graph = graph_from_edges(edges, net.node_xy, crs=net.crs)
    # Nội Bài, Đà Nẵng, Tân Sơn Nhất (EPSG:3405 metres), cells near them
    fac_xy = np.array(
        [[583_000.0, 2_348_000.0], [839_000.0, 1_774_000.0], [684_000.0, 1_193_000.0]]
    )
    cell_xy = np.concatenate([f + rng.uniform(-30_000, 30_000, (500, 2)) for f in fac_xy])
    limit_s = 5400.0
    fac = Access.from_snap(snap_points(graph, fac_xy, min_component_km=5), access_speed_kmh=20)
    cells = Access.from_snap(snap_points(graph, cell_xy, min_component_km=5), access_speed_kmh=20)
    tt = travel_times(graph, fac, cells, limit_s=limit_s)
    ours = {(int(f), int(c)): float(t) for f, c, t in zip(tt.fac, tt.cell, tt.time_s, strict=True)}
    # the reference snaps with the same eligibility rule
    ref = reference_times_snapped(edges, graph, fac, cells, 20, limit_s)
    diff = ours.keys() ^ ref.keys()
    ties = {k for k in diff if abs(ours.get(k, ref.get(k, 0)) - limit_s) < 1e-6}
    assert diff == ties, f"{len(diff)} pairs reached by only one side, e.g. {sorted(diff)[:5]}"
    worst = max(abs(ours[k] - ref[k]) for k in ours.keys() & ref.keys())
    assert worst < 1e-6, f"times differ from networkx by up to {worst} s"
    assert len(ours) > 400, f"only {len(ours)} pairs reached: the sample is not meaningful"


def reference_times_snapped(edges, graph, fac, cells, access_kmh, limit_s):
    """networkx on the real graph: edges split at the given snapped points."""
    g = nx.DiGraph()
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for k in range(fac.snap.edge.size):
        if fac.snap.edge[k] >= 0:
            on_edge.setdefault(int(fac.snap.edge[k]), []).append((fac.snap.along_m[k], ("f", k)))
    for k in range(cells.snap.edge.size):
        if cells.snap.edge[k] >= 0:
            on_edge.setdefault(int(cells.snap.edge[k]), []).append(
                (cells.snap.along_m[k], ("c", k))
            )
    u, v, L, s, one = (
        graph.edge_u,
        graph.edge_v,
        graph.edge_len_m,
        graph.edge_speed_ms,
        graph.edge_oneway,
    )
    for e in range(u.size):
        pts = on_edge.get(e)
        chain = (
            [(0.0, int(u[e]))]
            + (sorted(pts, key=lambda p: (p[0], str(p[1]))) if pts else [])
            + [(L[e], int(v[e]))]
        )
        for (a0, n0), (a1, n1) in itertools.pairwise(chain):
            if n0 == n1:
                continue
            w = (a1 - a0) / s[e]
            if pts is None:
                w = max(w, 1e-3)  # the CSR's clamp on whole edges
            for a, b in [(n0, n1)] if one[e] else [(n0, n1), (n1, n0)]:
                if not g.has_edge(a, b) or g[a][b]["w"] > w:
                    g.add_edge(a, b, w=w)
    ref = {}
    for k in range(fac.snap.edge.size):
        src = ("f", k)
        if src not in g:
            continue
        dist = nx.single_source_dijkstra_path_length(g, src, cutoff=limit_s, weight="w")
        for node, t in dist.items():
            if not (isinstance(node, tuple) and node[0] == "c"):
                continue
            c = node[1]
            total = fac.access_s[k] + t + cells.access_s[c]
            if total <= limit_s:
                ref[(k, c)] = total
    return ref


@pytest.mark.parametrize("method", ["numba", "scipy"])
def test_facility_on_a_loop_edge_takes_the_shorter_way_round(method):
    """A loop edge (u == v): the two virtual arcs reach the same node; the shorter one counts."""
    # loop of 1000 m from node 0 back to node 0, then 0 -> 1 (100 m); speed 36 km/h = 10 m/s
    loop = shapely.LineString([(0, 0), (500, 0), (500, 500), (0, 0)])
    scale = 1000.0 / loop.length
    loop = shapely.affinity.scale(loop, scale, scale, origin=(0, 0))
    edges = gpd.GeoDataFrame(
        {
            "u": [0, 0],
            "v": [0, 1],
            "length_m": [1000.0, 100.0],
            "speed_kmh": [36.0, 36.0],
            "oneway": [False, False],
        },
        geometry=[loop, shapely.LineString([(0, 0), (0, -100)])],
        crs=CRS,
    )
    xy = np.array([[0.0, 0.0], [0.0, -100.0]])
    graph = graph_from_edges(edges, xy, crs=CRS)
    fac = Access.from_snap(
        snap_points(graph, np.array([[500.0 * scale, 0.0]])), access_speed_kmh=20
    )
    cells = Access.from_snap(snap_points(graph, np.array([[0.0, -100.0]])), access_speed_kmh=20)
    tt = travel_times(graph, fac, cells, limit_s=1000, method=method)
    along = fac.snap.along_m[0]
    expected = min(along, 1000 - along) / 10 + 100 / 10 + fac.access_s[0] + cells.access_s[0]
    assert fac.snap.edge[0] == 0, "the facility must snap onto the loop"
    assert tt.time_s.size == 1 and abs(tt.time_s[0] - expected) < 1e-6, f"{tt.time_s} vs {expected}"
