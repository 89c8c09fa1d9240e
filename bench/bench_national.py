"""``run_bench.py`` section ``national``: the whole chain on a 2 M-arc replicated graph over Viet
Nam's land cells, every step timed, and the display polygons' accuracy (moved from
``run_bench.py``; see its docstring)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from bench_common import (
    VIETNAM_DATA,
    emit,
    peak_rss_mb,
    timed,
)
from bench_kernel import _same_pairs

# ----------------------------------------------------------------------------- national
TYPES = {"seaport": 150, "airport": 100, "industrial_park": 750}


def run_national(out: Path, *, compare_scipy: bool = True) -> None:
    import re

    import geopandas as gpd
    import graphs as bg
    import pandas as pd
    import shapely

    from analysis.catchments import Access, nearest_two
    from analysis.catchments import travel_times as tt_chain
    from analysis.catchments import travel_times_scipy as tt_scipy
    from analysis.layers import analyse_type
    from analysis.network import graph_from_edges, snap_points
    from analysis.overlap import coverage_measures, pairwise_overlaps, province_matrices
    from analysis.polygons import catchment_polygons
    from analysis.redundancy import removal_penalty
    from analysis.run import RunOptions, build_demand
    from geo.config import load_region_config
    from pipeline import load_shared

    cfg = load_region_config(region="vietnam")
    # the same region with the coverage curve left to its greedy order and bounds
    text = Path(cfg.path).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^exact_work = .*$", "exact_work = 0", text)
    text = re.sub(r"(?m)^exact_shares = .*$", "exact_shares = []", text)
    (out / "vietnam_greedy_curve.toml").write_text(text, encoding="utf-8")
    cfg_greedy = load_region_config(out / "vietnam_greedy_curve.toml")
    shared = load_shared(cfg, RunOptions(), VIETNAM_DATA)
    demand = build_demand(cfg, shared)
    provinces = shared.provinces
    del shared
    base = bg.load_base()
    net, t_tile = timed(
        bg.tile_over_cells, base, demand.xy, target_arcs=2_000_000, crs=cfg.metric_crs
    )
    rss_inputs = peak_rss_mb()
    steps: dict[str, float] = {}
    graph, steps["graph_from_edges"] = timed(graph_from_edges, net.edges, net.node_xy, crs=net.crs)
    del net
    snap, steps["snap_cells"] = timed(
        snap_points, graph, demand.xy, min_component_km=cfg.min_component_km
    )
    cells = Access.from_snap(snap, access_speed_kmh=cfg.access_speed_kmh)

    # 1,000 facilities near people (population-weighted cells, 500 m off the cell centre)
    rng = np.random.default_rng(42)
    p63 = provinces.p63.reset_index(drop=True)
    n_all = sum(TYPES.values())
    pick = rng.choice(
        demand.n_cells, size=n_all, replace=False, p=demand.population / demand.population.sum()
    )
    xy = demand.xy[pick] + 500.0
    prov = demand.area[pick]
    fac_all = gpd.GeoDataFrame(
        {
            "facility_id": [f"F{i:04d}" for i in range(n_all)],
            "name": [f"Facility {i}" for i in range(n_all)],
            "type": np.repeat(list(TYPES), list(TYPES.values())),
            "status": "operating",
            "prov63_code": np.where(
                prov >= 0, p63["prov_code"].astype(str).to_numpy()[np.maximum(prov, 0)], ""
            ),
            "prov34_code": np.where(
                prov >= 0, p63["prov34_code"].astype(str).to_numpy()[np.maximum(prov, 0)], ""
            ),
        },
        geometry=shapely.points(xy),
        crs=cfg.metric_crs,
    )
    tt_chain(graph, cells, cells, limit_s=0.0)  # load the compiled kernel (cache)
    per_type = []
    poly_rows = []
    for tname, count in TYPES.items():
        tc = cfg.types[tname]
        fac = fac_all[fac_all["type"] == tname].reset_index(drop=True)
        fxy = np.column_stack([fac.geometry.x, fac.geometry.y])
        fsnap, t_fsnap = timed(
            snap_points,
            graph,
            fxy,
            min_component_km=cfg.min_component_km,
            max_dist_m=cfg.max_facility_access_km * 1000,
        )
        fa = Access.from_snap(fsnap, access_speed_kmh=cfg.access_speed_kmh)
        limit_min = max(
            max(tc.breaks_min),
            tc.primary_min * max((*cfg.speed_factors, 1.0)),
            tc.primary_min + max((*cfg.threshold_shifts_min, 0.0)),
        )
        tt, t_kernel = timed(tt_chain, graph, fa, cells, limit_s=limit_min * 60.0)
        t_old = None
        if compare_scipy:
            tt_old, t_old = timed(tt_scipy, graph, fa, cells, limit_s=limit_min * 60.0)
            assert _same_pairs(tt_old, tt), "kernel and scipy travel_times differ"
            del tt_old
        # the measures one by one (for the profile), then the real analyse_type (which includes them)
        d = demand.population
        fprov = (
            pd.Series(fac["prov63_code"])
            .map({c: i for i, c in enumerate(p63["prov_code"].astype(str))})
            .fillna(-1)
            .to_numpy(np.int64)
        )
        m: dict[str, float] = {
            "within": 0.0,
            "coverage": 0.0,
            "overlaps": 0.0,
            "province_matrix": 0.0,
        }
        for b in tc.breaks_min:
            within, dt = timed(tt.within, b * 60.0)
            m["within"] += dt
            cov, dt = timed(coverage_measures, within, d, fprov, len(p63))
            m["coverage"] += dt
            _, dt = timed(pairwise_overlaps, within, d, cov.coverage)
            m["overlaps"] += dt
            _, dt = timed(province_matrices, within, d, fprov, demand.area, len(p63))
            m["province_matrix"] += dt
        (f1, t1, f2, t2), m["nearest_two"] = timed(nearest_two, tt)
        _, m["removal_penalty"] = timed(
            removal_penalty, f1, t1, f2, t2, d, cov.coverage, threshold_s=tc.primary_min * 60.0
        )
        polys, t_poly = timed(
            catchment_polygons, tt, demand, tuple(b * 60.0 for b in tc.breaks_min)
        )
        poly_rows.append(_polygon_accuracy(tt, demand, polys, tname))
        try:
            # the measures (coverage curve greedy with its bounds, no exact solve) ...
            _, t_analyse = timed(analyse_type, fac, tc, tt, fa, demand, provinces, cfg_greedy)
            # ... and the default, whose quoted curve points (p for 90 / 95 / 99 %) are exact
            ta, t_analyse_default = timed(analyse_type, fac, tc, tt, fa, demand, provinces, cfg)
            cov_row = ta.covering["covering"].iloc[0].to_dict()
            analyse_err = None
        except Exception as e:  # report, do not hide
            t_analyse = t_analyse_default = cov_row = None
            analyse_err = f"{type(e).__name__}: {e}"
        per_type.append(
            {
                "type": tname,
                "facilities": count,
                "limit_min": limit_min,
                "pairs": int(tt.fac.size),
                "snap_facilities_s": t_fsnap,
                "travel_times_kernel_s": t_kernel,
                "travel_times_scipy_s": t_old,
                **{f"{k}_s": v for k, v in m.items()},
                "polygons_s": t_poly,
                "analyse_type_s": t_analyse,
                "analyse_type_default_s": t_analyse_default,
                "covering": {
                    k: cov_row[k]
                    for k in (
                        "min_cover_size",
                        "curve_points",
                        "curve_points_proved",
                        "p_90",
                        "p_90_proved",
                        "p_95",
                        "p_95_proved",
                        "p_99",
                        "p_99_proved",
                    )
                }
                if cov_row
                else None,
                "analyse_type_error": analyse_err,
            }
        )
        del tt, polys
    total_kernel = (
        steps["graph_from_edges"]
        + steps["snap_cells"]
        + sum(
            r["snap_facilities_s"] + r["travel_times_kernel_s"] + (r["analyse_type_s"] or 0.0)
            for r in per_type
        )
    )
    total_scipy = (
        (
            total_kernel
            - sum(r["travel_times_kernel_s"] for r in per_type)
            + sum(r["travel_times_scipy_s"] for r in per_type)
        )
        if compare_scipy
        else None
    )
    row = {
        "section": "national",
        "n": graph.n_nodes,
        "m": int(graph.csr.nnz),
        "cells": demand.n_cells,
        "facilities": n_all,
        "tile_build_s": t_tile,
        **{f"{k}_s": v for k, v in steps.items()},
        "types": per_type,
        "analysis_total_s_kernel": total_kernel,
        "analysis_total_s_scipy": total_scipy,
        "analysis_total_s_default": total_kernel
        + sum(
            (r["analyse_type_default_s"] or 0.0) - (r["analyse_type_s"] or 0.0) for r in per_type
        ),
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_inputs_mb": rss_inputs,
        "polygon_accuracy": poly_rows,
    }
    emit(out, row)
    print(json.dumps(row), flush=True)


def _polygon_accuracy(tt, demand, polys, tname: str) -> dict:
    """Share of reached cells whose centre falls outside the simplified polygon, and of
    unreached region cells inside it (at each facility's largest break)."""
    import shapely

    g = demand.grid
    bounds = np.searchsorted(tt.fac, np.arange(tt.n_fac + 1))
    last = {}
    for i, b, geom in polys:
        last[i] = (b, geom)  # breaks come in increasing order
    reached = outside = unreached = inside = 0
    for i, (b, geom) in last.items():
        lo, hi = bounds[i], bounds[i + 1]
        cells = tt.cell[lo:hi][tt.time_s[lo:hi] <= b]
        r0, r1 = demand.row[cells].min() - 2, demand.row[cells].max() + 2
        c0, c1 = demand.col[cells].min() - 2, demand.col[cells].max() + 2
        win = np.flatnonzero(
            (demand.row >= r0) & (demand.row <= r1) & (demand.col >= c0) & (demand.col <= c1)
        )
        hit = np.zeros(demand.n_cells, bool)
        hit[cells] = True
        x = g.x0 + (demand.col[win] + 0.5) * g.cell_size_m
        y = g.y0 - (demand.row[win] + 0.5) * g.cell_size_m
        ins = shapely.contains_xy(geom, x, y)
        reached += int(hit[win].sum())
        outside += int((hit[win] & ~ins).sum())
        unreached += int((~hit[win]).sum())
        inside += int((~hit[win] & ins).sum())
    return {
        "type": tname,
        "polygons": len(polys),
        "reached_cells": reached,
        "reached_outside_share": outside / max(reached, 1),
        "unreached_inside_share_of_window": inside / max(unreached, 1),
        "unreached_inside_per_reached": inside / max(reached, 1),
    }
