"""Cross-check of our reached network against QGIS's own service-area algorithm.

On the embedded default road network (``geo.roads.road_network_for_region``, EPSG:3405), for
5 airports of ``data/vietnam`` and a time budget of 60 and 120 minutes:

* ours: ``scipy`` dijkstra on the catchment kernel's graph (``analysis.catchments._augmented``:
  the facility is a virtual source on the nearest point of its nearest edge), without access
  times; a node is reached when its time is within the budget;
* QGIS: ``native:serviceareafromlayer`` run by ``qgis_process.bin`` (Debian QGIS 3.22) on the same
  edges written to a GeoPackage (speed field, one-way edges as a direction field), the facility
  points as start points (QGIS snaps them to the nearest point of the network), strategy
  "fastest", ``TRAVEL_COST2`` = the budget in hours; a node is reached when it is a vertex of
  the output lines (within 5 cm).

Figures per facility (printed; ``pytest -s`` or ``-rP`` shows them): reached nodes by both, by us
only, by QGIS only, the agreement (both / either), and the reached road length (partial edges
at the frontier included) of each side, with the length reached by one side only.

Tolerance: at least 98 % of the nodes reached by either side agree, every node on which they
disagree lies within 1 % of the budget (the frontier), and at least 98 % of the reached length
agrees. Why differences exist at all: QGIS 3.22's graph builder measures edge lengths on the
WGS84 ellipsoid (``QgsGraphBuilder`` defaults to it; the project's ellipsoid is not used), ours
are planar EPSG:3405 lengths. Their ratio is the UTM scale factor, 0.9996 on 105°E and up to
about 1.0026 on Vietnam's east coast, so times differ by at most ~0.3 % and only nodes whose
time is that close to the budget can flip.

Needs Debian QGIS (``sh ../shared/tools/install.sh``); skipped without ``qgis_process.bin`` or
PyQGIS, or when the embedded default data is not built. About 30-40 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from analysis.catchments import Access, _augmented
from analysis.network import Graph, graph_from_edges, snap_points
from tests.qgis_helpers import missing_qgis_reason, run_qgis_process, write_minimal_project

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = REPO / "data" / "vietnam"

N_FACILITIES = 5
BUDGETS_MIN = (60, 120)
MIN_NODE_AGREEMENT = 0.98  # share of the nodes reached by either side that both reach
FRONTIER_BAND = 0.01  # nodes on which we disagree: |our time / budget - 1| <= this
MIN_LENGTH_AGREEMENT = 0.98  # share of the reached length (either side) reached by both
NODE_MATCH_M = 0.05  # a node is on QGIS's output when an output vertex is this close
SAMPLE_STEP_M = 10.0  # QGIS's covered length of each of our edges is sampled at this step

pytestmark = pytest.mark.qgis


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The default network, its graph, the sample of airports, and the GeoPackages for QGIS."""
    reason = missing_qgis_reason()  # here, not at import: collection stays fast
    if reason:
        pytest.skip(reason)
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    from geo.config import load_region_config
    from geo.facilities import load_region_facilities
    from geo.roads import road_network_for_region

    t0 = time.perf_counter()
    config = load_region_config()
    net = road_network_for_region(EMBEDDED, config)
    edges = net.edges
    assert str(net.crs) == "EPSG:3405", net.crs
    graph = graph_from_edges(edges, net.node_xy, crs=net.crs)

    # QGIS connects lines at shared vertices only: our edges must start and end exactly on
    # their nodes, and no two nodes may share a position (QGIS would merge them).
    geoms = edges.geometry.to_numpy()
    first = shapely.get_coordinates(shapely.get_point(geoms, 0))
    last = shapely.get_coordinates(shapely.get_point(geoms, -1))
    assert np.array_equal(first, net.node_xy[edges["u"].to_numpy()]), (
        "edge geometries do not start at u"
    )
    assert np.array_equal(last, net.node_xy[edges["v"].to_numpy()]), (
        "edge geometries do not end at v"
    )
    assert len(np.unique(net.node_xy, axis=0)) == len(net.node_xy), (
        "distinct nodes share a position"
    )

    # Airports whose nearest edge overall is the one our kernel snaps to (QGIS has no
    # small-component filter) and lies on the main component; 5 spread over the sorted list.
    fac = load_region_facilities(EMBEDDED, config, types=("airport",)).facilities
    fac = fac.sort_values("facility_id").reset_index(drop=True)
    xy = shapely.get_coordinates(fac.to_crs(net.crs).geometry.to_numpy())
    ours = snap_points(
        graph,
        xy,
        min_component_km=config.min_component_km,
        max_dist_m=config.max_facility_access_km * 1000,
    )
    nearest = snap_points(graph, xy)
    ok = np.flatnonzero((ours.edge >= 0) & (ours.edge == nearest.edge) & (ours.component == 0))
    assert ok.size >= N_FACILITIES, f"only {ok.size} airports snap to the main component"
    pick = ok[np.linspace(0, ok.size - 1, N_FACILITIES).round().astype(int)]
    sample = fac.loc[pick, ["facility_id", "name"]].reset_index(drop=True)
    sample_xy = xy[pick]

    d = tmp_path_factory.mktemp("qgis_servicearea")
    gpd.GeoDataFrame(
        {
            "eid": np.arange(len(edges)),
            "speed_kmh": edges["speed_kmh"].to_numpy(np.float64),
            # geometries run from u to v: one-way edges are "forward" (digitising direction)
            "dir": np.where(edges["oneway"].to_numpy(bool), "F", "B"),
        },
        geometry=geoms,
        crs=net.crs,
    ).to_file(d / "network.gpkg", layer="roads", driver="GPKG")
    gpd.GeoDataFrame(
        {"k": np.arange(len(pick))}, geometry=shapely.points(sample_xy), crs=net.crs
    ).to_file(d / "start.gpkg", layer="start", driver="GPKG")
    write_minimal_project(d / "project.qgs", 3405)
    snap = snap_points(graph, sample_xy, min_component_km=config.min_component_km)
    aug = _augmented(graph, Access.from_snap(snap, access_speed_kmh=config.access_speed_kmh))
    return {
        "dir": d,
        "graph": graph,
        "aug": aug,
        "sample": sample,
        "n_airports": len(fac),
        "n_eligible": int(ok.size),
        "setup_s": time.perf_counter() - t0,
    }


def _service_area(d: Path, budget_min: float) -> gpd.GeoDataFrame:
    out = d / f"sa_lines_{int(budget_min)}.gpkg"
    run_qgis_process(
        "native:serviceareafromlayer",
        {
            "INPUT": f"{d / 'network.gpkg'}|layername=roads",
            "STRATEGY": 1,  # fastest
            "DIRECTION_FIELD": "dir",
            "VALUE_FORWARD": "F",
            "VALUE_BACKWARD": "R",
            "VALUE_BOTH": "B",
            "DEFAULT_DIRECTION": 2,
            "SPEED_FIELD": "speed_kmh",
            "DEFAULT_SPEED": 50,
            "TOLERANCE": 0,  # already noded: no snapping of line ends
            "START_POINTS": f"{d / 'start.gpkg'}|layername=start",
            "TRAVEL_COST2": budget_min / 60.0,  # hours for the fastest strategy (QGIS 3.22)
            "INCLUDE_BOUNDS": 0,
            "OUTPUT_LINES": out,
        },
        project=d / "project.qgs",
        timeout=300,
    )
    return gpd.read_file(out)


def _our_covered_length(graph: Graph, t: np.ndarray, budget_s: float) -> np.ndarray:
    """Metres of every edge reached within the budget, from either end (partial edges included)."""
    tu, tv = t[graph.edge_u], t[graph.edge_v]
    s = graph.edge_speed_ms
    from_u = np.where(np.isfinite(tu), np.clip((budget_s - tu) * s, 0, graph.edge_len_m), 0.0)
    from_v = np.where(
        np.isfinite(tv) & ~graph.edge_oneway, np.clip((budget_s - tv) * s, 0, graph.edge_len_m), 0.0
    )
    return np.minimum(from_u + from_v, graph.edge_len_m)


def _qgis_covered_length(
    graph: Graph, lines: shapely.Geometry, candidates: np.ndarray
) -> np.ndarray:
    """Metres of every candidate edge covered by QGIS's output lines (sampled every SAMPLE_STEP_M)."""
    cov = np.zeros(graph.edge_u.size)
    if candidates.size == 0:
        return cov
    geoms = graph.edge_geom[candidates]
    length = shapely.length(geoms)
    n = np.maximum(1, np.ceil(length / SAMPLE_STEP_M)).astype(int)
    which = np.repeat(np.arange(candidates.size), n)
    start = np.repeat(np.cumsum(n) - n, n)
    frac = (np.arange(n.sum()) - start + 0.5) / n[which]  # interval midpoints: unbiased
    pts = shapely.line_interpolate_point(geoms[which], frac, normalized=True)
    tree = shapely.STRtree(shapely.get_parts(lines))
    _, d = tree.query_nearest(pts, return_distance=True, all_matches=False)
    hit = np.bincount(which, weights=(d <= NODE_MATCH_M).astype(float), minlength=candidates.size)
    cov[candidates] = hit / n * length
    return cov


@pytest.mark.parametrize("budget_min", BUDGETS_MIN)
def test_reached_network_agrees_with_qgis_service_area(setup: dict, budget_min: int) -> None:
    t0 = time.perf_counter()
    d, graph, sample = setup["dir"], setup["graph"], setup["sample"]
    n = graph.n_nodes
    budget_s = budget_min * 60.0
    lines = _service_area(d, budget_min)
    qgis_s = time.perf_counter() - t0
    assert sorted(lines["k"].astype(int)) == list(range(len(sample))), (
        f"QGIS returned service areas for {sorted(lines['k'])}, expected one per start point"
    )
    dist = dijkstra(
        setup["aug"], directed=True, indices=n + np.arange(len(sample)), limit=budget_s
    )[:, :n]
    full = None  # unbounded times, computed only when there is a disagreement to locate
    node_tree = cKDTree(graph.node_xy)

    rows, problems = [], []
    for k in range(len(sample)):
        geom = lines.loc[lines["k"].astype(int) == k, "geometry"].iloc[0]
        dd, ii = node_tree.query(shapely.get_coordinates(geom), distance_upper_bound=NODE_MATCH_M)
        by_qgis = np.zeros(n, bool)
        by_qgis[ii[np.isfinite(dd)]] = True
        by_us = np.isfinite(dist[k])
        both = int((by_us & by_qgis).sum())
        either = int((by_us | by_qgis).sum())
        differ = np.flatnonzero(by_us ^ by_qgis)
        agree = both / either if either else 1.0
        offset = 0.0
        if differ.size:
            if full is None:
                full = dijkstra(setup["aug"], directed=True, indices=n + np.arange(len(sample)))[
                    :, :n
                ]
            offset = float(np.max(np.abs(full[k][differ] / budget_s - 1.0)))

        ours_m = _our_covered_length(graph, dist[k], budget_s)
        cand = np.flatnonzero(ours_m > 0)
        cand = np.union1d(cand, np.flatnonzero(by_qgis[graph.edge_u] | by_qgis[graph.edge_v]))
        qgis_m = _qgis_covered_length(graph, geom, cand)
        both_m = np.minimum(ours_m, qgis_m).sum()
        either_m = np.maximum(ours_m, qgis_m).sum()
        len_agree = both_m / either_m if either_m else 1.0
        row = {
            "facility": f"{sample.loc[k, 'facility_id']} ({sample.loc[k, 'name']})",
            "nodes_us": int(by_us.sum()),
            "nodes_qgis": int(by_qgis.sum()),
            "both": both,
            "us_only": int((by_us & ~by_qgis).sum()),
            "qgis_only": int((by_qgis & ~by_us).sum()),
            "agree": agree,
            "max_frontier_offset": offset,
            "km_us": ours_m.sum() / 1000,
            "km_qgis": qgis_m.sum() / 1000,
            "km_us_only": np.maximum(ours_m - qgis_m, 0).sum() / 1000,
            "km_qgis_only": np.maximum(qgis_m - ours_m, 0).sum() / 1000,
            "len_agree": len_agree,
        }
        rows.append(row)
        assert both > 0, f"{row['facility']}: nothing reached within {budget_min} min"
        if agree < MIN_NODE_AGREEMENT:
            problems.append(
                f"{row['facility']}: {agree:.2%} of reached nodes agree (< {MIN_NODE_AGREEMENT:.0%})"
            )
        if offset > FRONTIER_BAND:
            problems.append(
                f"{row['facility']}: a node on which we disagree is {offset:.2%} of the budget from it "
                f"(> {FRONTIER_BAND:.0%}): not a frontier effect"
            )
        if len_agree < MIN_LENGTH_AGREEMENT:
            problems.append(f"{row['facility']}: {len_agree:.2%} of the reached length agrees")

    total_s = time.perf_counter() - t0
    print(
        f"\nQGIS native:serviceareafromlayer vs our kernel, budget {budget_min} min, "
        f"{len(sample)} of {setup['n_eligible']} eligible airports ({setup['n_airports']} in all); "
        f"network {graph.edge_u.size} edges / {n} nodes; setup {setup['setup_s']:.1f} s, "
        f"qgis_process {qgis_s:.1f} s, test {total_s:.1f} s"
    )
    print(
        f"{'facility':58} {'ours':>5} {'QGIS':>5} {'both':>5} {'us-o':>4} {'Q-o':>4} {'agree':>7} "
        f"{'maxoff':>7} {'km ours':>8} {'km QGIS':>8} {'us-o km':>7} {'Q-o km':>7} {'len agr':>7}"
    )
    for r in rows:
        print(
            f"{r['facility'][:58]:58} {r['nodes_us']:5d} {r['nodes_qgis']:5d} {r['both']:5d} "
            f"{r['us_only']:4d} {r['qgis_only']:4d} {r['agree']:7.2%} {r['max_frontier_offset']:7.3%} "
            f"{r['km_us']:8.1f} {r['km_qgis']:8.1f} {r['km_us_only']:7.2f} {r['km_qgis_only']:7.2f} "
            f"{r['len_agree']:7.2%}"
        )
    tot_both = sum(r["both"] for r in rows)
    tot_either = sum(r["both"] + r["us_only"] + r["qgis_only"] for r in rows)
    print(
        f"all: {tot_both}/{tot_either} reached nodes agree ({tot_both / tot_either:.3%}); tolerance "
        f">= {MIN_NODE_AGREEMENT:.0%} of nodes and of length, differences within {FRONTIER_BAND:.0%} of the budget"
    )
    assert not problems, "\n".join(problems)
