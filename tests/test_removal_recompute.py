"""Issue 6: the one-pass removal penalty equals recomputing catchments without the facility,
for a sample of facilities on the real Viet Nam network (embedded default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.catchments import Access, TravelTimes, nearest_two, travel_times
from analysis.demand import demand_from_polygons
from analysis.network import graph_from_edges, snap_points
from analysis.redundancy import removal_penalty

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parent.parent / "data" / "vietnam"


@pytest.fixture(scope="module")
def setup():
    from geo.config import load_region_config
    from geo.facilities import load_region_facilities
    from geo.population import population_from_config
    from geo.provinces import load_provinces
    from geo.roads import road_network_for_region

    cfg = load_region_config()
    net = road_network_for_region(DATA, cfg)
    graph = graph_from_edges(net.edges, net.node_xy, crs=net.crs)
    prov = load_provinces(DATA, cfg)
    demand = demand_from_polygons(
        prov.p63, population_from_config(DATA, cfg).polygons, crs=cfg.metric_crs, cell_size_m=1000
    )
    fac = load_region_facilities(DATA, cfg, types=("airport",)).facilities
    fac = fac[fac["status"] == "operating"].sort_values("facility_id").reset_index(drop=True)
    xy = np.column_stack(
        [fac.to_crs(cfg.metric_crs).geometry.x, fac.to_crs(cfg.metric_crs).geometry.y]
    )
    fa = Access.from_snap(
        snap_points(graph, xy, min_component_km=5, max_dist_m=10_000), access_speed_kmh=20
    )
    ca = Access.from_snap(snap_points(graph, demand.xy, min_component_km=5), access_speed_kmh=20)
    return graph, demand, fa, ca


def test_removal_penalty_matches_recomputation_without_the_facility(setup):
    graph, demand, fa, ca = setup
    T = 90 * 60.0
    tt = travel_times(graph, fa, ca, limit_s=T)
    d = demand.population
    cov = np.bincount(tt.fac, weights=d[tt.cell], minlength=tt.n_fac)
    f1, t1, f2, t2 = nearest_two(tt)
    rm = removal_penalty(f1, t1, f2, t2, d, cov, threshold_s=T)
    served = np.flatnonzero(cov > 0)
    sample = served[np.linspace(0, served.size - 1, 5).astype(int)]
    for i in sample:
        keep = np.ones(fa.snap.edge.size, bool)
        keep[i] = False
        # recompute catchments of all the other facilities, from scratch
        from dataclasses import replace

        snap = replace(fa.snap, edge=np.where(keep, fa.snap.edge, -1))
        tt_wo = travel_times(graph, Access(snap=snap, access_s=fa.access_s), ca, limit_s=T)
        best_wo = np.full(tt.n_cells, np.inf)
        np.minimum.at(best_wo, tt_wo.cell, tt_wo.time_s)
        best = np.full(tt.n_cells, np.inf)
        np.minimum.at(best, tt.cell, tt.time_s)
        ci = tt.cell[tt.fac == i]  # C_i
        keeps = np.isfinite(best_wo[ci])
        lost = d[ci][~keeps].sum()
        penalty = (
            (d[ci][keeps] * (best_wo[ci][keeps] - best[ci][keeps])).sum() / d[ci][keeps].sum() / 60
            if keeps.any()
            else np.nan
        )
        assert lost == pytest.approx(rm.lost[i], rel=1e-9, abs=1e-6), (
            f"facility {i}: lost {lost} vs {rm.lost[i]}"
        )
        if keeps.any():
            assert penalty == pytest.approx(rm.penalty_min[i], rel=1e-9, abs=1e-9), (
                f"facility {i}: {penalty} vs {rm.penalty_min[i]}"
            )
    assert isinstance(tt, TravelTimes)
