"""Measures of one facility type, and their assembly into the output layers of a RunResult."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from analysis.aggregate import aggregate_measures, group_membership
from analysis.catchments import Access, TravelTimes, nearest_two
from analysis.covering import covering_tables
from analysis.demand import DemandGrid
from analysis.glossary import with_vietnamese_text
from analysis.overlap import coverage_measures, pairwise_overlaps, province_matrices
from analysis.polygons import catchment_polygons
from analysis.redundancy import (
    CAVEATS,
    SetEvidence,
    capacity_sentences,
    evidence_sentences,
    removal_penalty,
    sharing_keys,
)
from analysis.results import RasterLayer, RunMeta, RunResult
from analysis.text import fmt_pct
from analysis.verdict import Verdict, VerdictRule, facility_size, judge
from geo.config import RegionConfig, TypeConfig


@dataclass
class TypeAnalysis:
    """Everything computed for one type (frames indexed like ``fac``)."""

    tc: TypeConfig
    fac: gpd.GeoDataFrame
    measures: pd.DataFrame
    catchments: list[dict[str, Any]]
    overlaps: pd.DataFrame
    matrix: pd.DataFrame
    sharing: pd.DataFrame
    count_raster: np.ndarray
    time_raster: np.ndarray
    covered_by_others: np.ndarray
    covering: dict[str, pd.DataFrame]
    group_measures: pd.DataFrame
    group_pairs: pd.DataFrame
    verdict: Verdict


def _prov_index(codes: pd.Series, table: pd.DataFrame) -> np.ndarray:
    pos = {c: i for i, c in enumerate(table["prov_code"].astype(str))}
    return np.array([pos.get(str(c), -1) for c in codes], dtype=np.int64)


def _editions(provinces: Any, demand: DemandGrid) -> dict[int, tuple[pd.DataFrame, np.ndarray]]:
    """Province table and cell -> province index for both editions."""
    p63, p34 = provinces.p63, provinces.p34
    to34 = _prov_index(p63["prov34_code"], p34)
    cell34 = np.where(demand.prov63 >= 0, to34[np.maximum(demand.prov63, 0)], -1)
    return {63: (p63, demand.prov63), 34: (p34, cell34)}


def analyse_type(
    fac: gpd.GeoDataFrame,
    tc: TypeConfig,
    tt: TravelTimes,
    access: Access,
    demand: DemandGrid,
    provinces: Any,
    config: RegionConfig,
    *,
    weight: np.ndarray | None = None,
    pool_per_ha: np.ndarray | None = None,
) -> TypeAnalysis:
    """All measures of one type at every break; flags, removal and sharing at the primary break.

    ``weight`` is the type's demand per cell (default: people), on which the overlap flag and
    the verdict are decided; ``pool_per_ha`` (parks) makes the verdict's severity the shortfall
    of a park's labour pool per hectare against its neighbours' (``analysis.verdict``).
    """
    d = demand.population
    ed = _editions(provinces, demand)
    table, _cell_prov = ed[config.edition]
    n_prov = len(table)
    fac_prov = _prov_index(fac[f"prov{config.edition}_code"], table)
    has_road = access.snap.edge >= 0
    base = (fac["status"].to_numpy() == "operating") & has_road
    main = access.snap.component == 0
    road_access = np.where(~has_road, "none", np.where(main, "network", "separate_network"))

    rows_catch: list[dict[str, Any]] = []
    overlaps, matrices = [], []
    at: dict[float, Any] = {}
    cbo = np.zeros(n_prov)
    for b in tc.breaks_min:
        within = tt.within(b * 60.0)
        cov = coverage_measures(within, d, fac_prov, n_prov, base=base)
        at[b] = (within, cov)
        for i in np.flatnonzero(cov.coverage > 0):
            rows_catch.append(
                {
                    "i": int(i),
                    "break_min": b,
                    "coverage": cov.coverage[i],
                    "unique_coverage": cov.unique[i],
                }
            )
        ov = pairwise_overlaps(within, d, cov.coverage).assign(break_min=b)
        overlaps.append(ov)
        wb = sp.diags(base.astype(np.float64)) @ within.astype(np.float64)
        for edition, (tab, cprov) in ed.items():
            fprov = _prov_index(fac[f"prov{edition}_code"], tab)
            served, dup, others = province_matrices(wb, d, fprov, cprov, len(tab))
            if edition == config.edition and b == tc.primary_min:
                cbo = others
            a, bb = np.nonzero((served > 0) | (dup > 0))
            codes = tab["prov_code"].astype(str).to_numpy()
            names = tab["prov_name"].astype(str).to_numpy()
            matrices.append(
                pd.DataFrame(
                    {
                        "type": tc.name,
                        "break_min": b,
                        "edition": edition,
                        "province_a": codes[a],
                        "province_b": codes[bb],
                        "name_a": names[a],
                        "name_b": names[bb],
                        "served_by": served[a, bb],
                        "duplicated": dup[a, bb],
                    }
                )
            )
    T = tc.primary_min
    within, cov = at[T]
    # sensitivity: speeds x f scale every time (network and access) by 1/f, i.e. threshold T*f
    variants = [T * f for f in config.speed_factors] + [T + s for s in config.threshold_shifts_min]
    judged = judge(
        tt,
        d,
        d if weight is None else weight,
        threshold_s=T * 60.0,
        variants_s=tuple(v * 60.0 for v in variants),
        fac_prov=fac_prov,
        n_prov=n_prov,
        base=base,
        size=facility_size(fac, cov.coverage),
        ids=fac["facility_id"].astype(str).to_numpy(),
        rule=VerdictRule(
            max_unique_share=config.max_unique_share,
            min_other_province_share=config.min_other_province_share,
            max_loss_share=config.verdict_max_loss_share,
            equivalent_share=config.verdict_equivalent_share,
            min_pool_shortfall=config.verdict_min_pool_shortfall,
            keep_one_min=config.verdict_keep_one_min,
        ),
        pool=pool_per_ha,
        exempt=_exempt(fac, tc),
    )
    u_share, o_share, flag = judged.unique_share, judged.other_province_share, judged.overlap_flag
    vd = judged.verdict
    cover = covering_tables(
        tt,
        d,
        fac,
        tc,
        base=base,
        region_vi=config.label_vi,
        region_en=config.label_en,
        max_work=config.covering_exact_work,
        exact_shares=config.covering_exact_shares,
    )
    groups, membership = group_membership(
        provinces.p63, p34=provinces.p34, regions6=provinces.regions6, groupings=config.groupings
    )
    gm, gp = aggregate_measures(
        within,
        d,
        cell_prov63=demand.prov63,
        fac_prov63=_prov_index(fac["prov63_code"], provinces.p63),
        status=fac["status"].to_numpy(),
        base=base,
        flag=vd.verdict,
        groups=groups,
        membership=membership,
    )
    keep = np.isin(tt.fac, np.flatnonzero(base))
    tt_base = TravelTimes(
        tt.fac[keep], tt.cell[keep], tt.time_s[keep], tt.n_fac, tt.n_cells, tt.limit_s
    )
    f1, t1, f2, t2 = nearest_two(tt_base)
    rm = removal_penalty(f1, t1, f2, t2, d, cov.coverage, threshold_s=T * 60.0)
    sharing = []
    for edition, (tab, cprov) in ed.items():
        sk = sharing_keys(within, d, cprov, len(tab))
        sk["edition"] = edition
        sk["prov_code"] = tab["prov_code"].astype(str).to_numpy()[sk["prov"]]
        sk["prov_name"] = tab["prov_name"].astype(str).to_numpy()[sk["prov"]]
        sharing.append(sk)
    sharing_df = pd.concat(sharing, ignore_index=True)
    measures = pd.DataFrame(
        {
            "primary_break_min": T,
            "road_access": road_access,
            "access_dist_m": np.where(np.isfinite(access.snap.dist_m), access.snap.dist_m, np.nan),
            "coverage": cov.coverage,
            "unique_coverage": cov.unique,
            "unique_share": u_share,
            "other_province_share": o_share,
            "overlap_flag": flag,
            "overlap_robustness": np.where(
                flag, np.where(judged.overlap_robust, "robust", "fragile"), ""
            ),
            "flag": vd.verdict,
            "flag_robustness": np.where(
                vd.verdict, np.where(judged.verdict_robust, "robust", "fragile"), ""
            ),
            "verdict": vd.verdict,
            "verdict_reason": vd.reason.astype(str),
            "severity": vd.severity,
            "verdict_rank": vd.rank,
            "equivalent_group": vd.group,
            "removal_penalty_min": np.where(base, rm.penalty_min, np.nan),
            "removal_lost": np.where(base, rm.lost, np.nan),
            "alt_index": rm.alt_index,
            "best_alternative_extra_min": rm.alt_extra_min,
        }
    )
    count = np.asarray(
        (sp.diags(base.astype(np.float64)) @ within.astype(np.float64)).sum(axis=0)
    ).ravel()
    count_raster = demand.to_raster(count.astype(np.int16), nodata=-1, dtype=np.int16)
    t_nearest = np.where(np.isfinite(t1), t1 / 60.0, -9999.0)
    time_raster = demand.to_raster(t_nearest.astype(np.float32), nodata=-9999.0, dtype=np.float32)
    polys = catchment_polygons(tt, demand, tuple(b * 60.0 for b in tc.breaks_min))
    geom_of = {(i, b / 60.0): g for i, b, g in polys}
    for r in rows_catch:
        r["geometry"] = geom_of.get((r["i"], r["break_min"]))
    return TypeAnalysis(
        tc=tc,
        fac=fac,
        measures=measures,
        catchments=rows_catch,
        overlaps=pd.concat(overlaps, ignore_index=True),
        matrix=pd.concat(matrices, ignore_index=True),
        sharing=sharing_df,
        count_raster=count_raster,
        time_raster=time_raster,
        covered_by_others=cbo,
        covering=cover,
        group_measures=gm.assign(type=tc.name, break_min=T),
        group_pairs=gp.assign(type=tc.name, break_min=T),
        verdict=vd,
    )


def _capacity_arrays(fac: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Throughput, its year and the design capacity (NaN where the data do not say)."""

    def col(name: str) -> np.ndarray:
        if name not in fac.columns:
            return np.full(len(fac), np.nan)
        return pd.to_numeric(fac[name], errors="coerce").to_numpy(np.float64)

    return col("throughput"), col("throughput_year"), col("design_capacity")


def _exempt(fac: pd.DataFrame, tc: TypeConfig) -> np.ndarray:
    """Why a facility is never in the verdict: over capacity, or an exempt class ("" = none)."""
    thr, _, design = _capacity_arrays(fac)
    ok = np.isfinite(thr) & np.isfinite(design)
    over = ok & (np.nan_to_num(thr) > np.nan_to_num(design))
    cls = fac["class"].astype(str).to_numpy() if "class" in fac else np.full(len(fac), "")
    exempt_cls = np.isin(cls, list(tc.verdict_exempt_classes))
    return np.where(over, "over_capacity", np.where(exempt_cls, "exempt_class", "")).astype(object)


def _with_capacity(cap: tuple[str, str], caveat: tuple[str, str] | None) -> tuple[str, str] | None:
    parts = [p for p in (cap, caveat) if p and p[0]]
    if not parts:
        return None
    return " ".join(p[0] for p in parts), " ".join(p[1] for p in parts)


def _facility_layer(ta: TypeAnalysis, config: RegionConfig) -> gpd.GeoDataFrame:
    fac, m = ta.fac.reset_index(drop=True), ta.measures
    ed = config.edition
    names = fac["name"].astype(str).to_numpy()
    prov_names = fac[f"prov{ed}_name"].astype(str).to_numpy()
    ids = fac["facility_id"].astype(str).to_numpy()
    alt = m["alt_index"].to_numpy()
    out = fac.drop(columns=[c for c in ("area_wkb",) if c in fac.columns]).copy()
    for c in m.columns:
        if c != "alt_index":
            out[c] = m[c].to_numpy()
    has_alt = alt >= 0
    out["best_alternative_id"] = np.where(has_alt, ids[np.maximum(alt, 0)], "")
    out["best_alternative_name"] = np.where(has_alt, names[np.maximum(alt, 0)], "")
    out["best_alternative_province"] = np.where(has_alt, prov_names[np.maximum(alt, 0)], "")
    sk = ta.sharing[ta.sharing["edition"] == ed]
    text = sk.groupby(
        "i"
    ).apply(  # type: ignore[call-overload]
        lambda g: "; ".join(
            f"{n} {fmt_pct(s, 'vi', digits=0)}"
            for n, s in zip(g["prov_name"][:4], g["share"][:4], strict=True)
        ),
        include_groups=False,
    )
    out["sharing_key"] = [text.get(i, "") for i in range(len(out))]
    prim = ta.overlaps[ta.overlaps["break_min"] == ta.tc.primary_min]
    fprov = fac[f"prov{ed}_code"].astype(str).to_numpy()
    ev_vi, ev_en = [], []
    num = {
        c: m[c].to_numpy(np.float64)
        for c in ("coverage", "unique_coverage", "other_province_share", "removal_lost", "removal_penalty_min", "best_alternative_extra_min")
    }  # fmt: skip
    vd = ta.verdict
    set_ev = SetEvidence(
        n=int(vd.verdict.sum()),
        loss_share=vd.loss_share,
        lost_people=vd.lost_people,
        moved_people=vd.moved_people,
        extra_min=vd.extra_min,
        max_loss_share=config.verdict_max_loss_share,
    )
    thr, year, design = _capacity_arrays(fac)
    largest = np.isfinite(thr) & (thr == np.nanmax(thr)) if np.isfinite(thr).any() else thr > 0
    units = {"seaport": ("tấn/năm", "tonnes a year"), "airport": ("khách/năm", "passengers a year")}
    unit_vi, unit_en = units.get(ta.tc.name, ("", ""))
    for i in range(len(out)):
        if not (out.at[i, "overlap_flag"] or out.at[i, "verdict"]):
            ev_vi.append("")
            ev_en.append("")
            continue
        pairs = prim[(prim["i"] == i) | (prim["j"] == i)]
        other = np.where(pairs["i"] == i, pairs["j"], pairs["i"])
        partners = sorted(
            (
                (names[j], prov_names[j], float(o))
                for j, o in zip(other, pairs["overlap"], strict=True)
                if fprov[j] != fprov[i]
            ),
            key=lambda p: (-p[2], p[0]),
        )
        alt_t = (
            (names[alt[i]], prov_names[alt[i]], float(num["best_alternative_extra_min"][i]))
            if alt[i] >= 0
            else None
        )
        vi, en = evidence_sentences(
            name=names[i],
            prov_name=prov_names[i],
            type_vi=ta.tc.label_vi,
            type_en=ta.tc.label_en,
            threshold_min=ta.tc.primary_min,
            coverage=float(num["coverage"][i]),
            unique=float(num["unique_coverage"][i]),
            other_share=float(num["other_province_share"][i]),
            partners=partners,
            lost=float(np.nan_to_num(num["removal_lost"][i])),
            penalty_min=float(num["removal_penalty_min"][i]),
            alt=alt_t,
            planned=str(fac.at[i, "status"]) == "planned",
            verdict=bool(out.at[i, "verdict"]),
            reason=str(out.at[i, "verdict_reason"]),
            set_evidence=set_ev,
            caveat=_with_capacity(
                capacity_sentences(
                    throughput=float(thr[i]),
                    unit_vi=unit_vi,
                    unit_en=unit_en,
                    year=float(year[i]),
                    design=float(design[i]),
                    largest=bool(largest[i]),
                ),
                CAVEATS.get(ta.tc.name),
            ),
        )
        ev_vi.append(vi)
        ev_en.append(en)
    members = ta.covering["cover_members"]
    mem = members[members["break_min"] == ta.tc.primary_min].set_index("facility_id")[
        "in_minimal_cover"
    ]
    out["in_minimal_cover"] = out["facility_id"].map(mem).fillna(False).astype(bool).to_numpy()
    out["evidence_vi"] = ev_vi
    out["evidence_en"] = ev_en
    return out


def assemble_result(
    analyses: list[TypeAnalysis],
    demand: DemandGrid,
    inputs: dict[str, Any],
    config: RegionConfig,
    *,
    lang: str,
) -> RunResult:
    """Build the layers of DESIGN.md from the per-type analyses (EPSG:4326, sorted)."""
    ed = config.edition
    fac_layers, catch, ovs, mats, shares = [], [], [], [], []
    cov_tabs: dict[str, list[pd.DataFrame]] = {
        "covering": [],
        "coverage_curve": [],
        "group_measures": [],
        "group_pairs": [],
    }
    rasters: dict[str, RasterLayer] = {}
    provinces = inputs["provinces"]
    table, cell_prov = _editions(provinces, demand)[ed]
    prov_layer = table.copy()
    pop = np.bincount(
        cell_prov[cell_prov >= 0], weights=demand.population[cell_prov >= 0], minlength=len(table)
    )
    prov_layer["edition"] = ed
    prov_layer["population"] = pop
    for ta in analyses:
        fl = _facility_layer(ta, config)
        fac_layers.append(fl)
        ids = fl["facility_id"].astype(str).to_numpy()
        nm = fl["name"].astype(str).to_numpy()
        pc = fl[f"prov{ed}_code"].astype(str).to_numpy()
        for r in ta.catchments:
            if r["geometry"] is not None:
                catch.append(
                    {
                        "facility_id": ids[r["i"]],
                        "name": nm[r["i"]],
                        "type": ta.tc.name,
                        "break_min": r["break_min"],
                        "coverage": r["coverage"],
                        "unique_coverage": r["unique_coverage"],
                        "geometry": r["geometry"],
                    }
                )
        ov = ta.overlaps
        pts = fl.geometry.to_numpy()
        ovs.append(
            gpd.GeoDataFrame(
                {
                    "facility_a": ids[ov["i"]],
                    "facility_b": ids[ov["j"]],
                    "name_a": nm[ov["i"]],
                    "name_b": nm[ov["j"]],
                    "type": ta.tc.name,
                    "break_min": ov["break_min"].to_numpy(),
                    "overlap": ov["overlap"].to_numpy(),
                    "overlap_share": ov["overlap_share"].to_numpy(),
                    "prov_a": pc[ov["i"]],
                    "prov_b": pc[ov["j"]],
                },
                geometry=shapely.shortest_line(pts[ov["i"]], pts[ov["j"]]) if len(ov) else [],
                crs="EPSG:4326",
            )
        )
        mats.append(ta.matrix)
        cov_tabs["covering"].append(ta.covering["covering"])
        cov_tabs["coverage_curve"].append(ta.covering["coverage_curve"])
        cov_tabs["group_measures"].append(ta.group_measures)
        cov_tabs["group_pairs"].append(ta.group_pairs)
        sh = ta.sharing.assign(facility_id=ids[ta.sharing["i"]], type=ta.tc.name)
        shares.append(
            sh[["facility_id", "type", "edition", "prov_code", "prov_name", "people", "share"]]
        )
        any_cov = np.asarray(ta.count_raster[demand.row, demand.col] > 0)
        prov_layer[f"coverage_{ta.tc.name}"] = np.bincount(
            cell_prov[cell_prov >= 0],
            weights=(demand.population * any_cov)[cell_prov >= 0],
            minlength=len(table),
        )
        cbo = ta.covered_by_others
        prov_layer[f"covered_by_others_{ta.tc.name}"] = cbo
        prov_layer[f"covered_by_others_share_{ta.tc.name}"] = np.divide(
            cbo, pop, out=np.zeros_like(cbo), where=pop > 0
        )
        rasters[f"coverage_count_{ta.tc.name}"] = RasterLayer(
            ta.count_raster,
            -1,
            "facilities",
            f"number of {ta.tc.label_en.lower()}s within {ta.tc.primary_min:g} min",
            f"số {ta.tc.label_vi.lower()} trong {ta.tc.primary_min:g} phút",
        )
        rasters[f"travel_time_{ta.tc.name}"] = RasterLayer(
            ta.time_raster,
            -9999.0,
            "min",
            f"travel time to the nearest {ta.tc.label_en.lower()}, minutes",
            f"thời gian tới {ta.tc.label_vi.lower()} gần nhất, phút",
        )
    facilities = (
        gpd.GeoDataFrame(pd.concat(fac_layers, ignore_index=True), crs="EPSG:4326")
        .sort_values(["type", "facility_id"])
        .reset_index(drop=True)
    )
    cat = (
        gpd.GeoDataFrame(catch, geometry="geometry", crs=config.metric_crs).to_crs("EPSG:4326")
        if catch
        else gpd.GeoDataFrame(
            columns=["facility_id", "type", "break_min", "coverage", "unique_coverage", "geometry"],
            geometry="geometry",
            crs="EPSG:4326",
        )
    )
    flags = facilities[facilities["verdict"] | facilities["overlap_flag"]].copy()
    flags = flags.assign(prov_code=flags[f"prov{ed}_code"], prov_name=flags[f"prov{ed}_name"])[
        [
            "facility_id",
            "name",
            "type",
            "prov_code",
            "prov_name",
            "verdict",
            "severity",
            "verdict_rank",
            "overlap_flag",
            "unique_share",
            "other_province_share",
            "removal_lost",
            "removal_penalty_min",
            "flag_robustness",
            "evidence_vi",
            "evidence_en",
            "geometry",
        ]
    ]
    load = inputs["facilities"]
    layers = {
        "facilities": facilities,
        "flags": flags.reset_index(drop=True),
        "catchments": cat.sort_values(["type", "facility_id", "break_min"]).reset_index(drop=True),
        "overlaps": pd.concat(ovs, ignore_index=True)
        .sort_values(["type", "break_min", "facility_a", "facility_b"])
        .reset_index(drop=True),
        "province_matrix": pd.concat(mats, ignore_index=True)
        .sort_values(["type", "break_min", "edition", "province_a", "province_b"])
        .reset_index(drop=True),
        "provinces": gpd.GeoDataFrame(prov_layer, crs="EPSG:4326")
        .sort_values("prov_code")
        .reset_index(drop=True),
        "rejects": load.issues.rejects_frame(),
        "repairs": load.issues.repairs_frame(),
    }
    sites = getattr(load, "sites", None)
    if sites is not None and len(sites):
        layers["terminals"] = sites.reset_index(drop=True)
    tables = {
        "sharing_keys": pd.concat(shares, ignore_index=True)
        .sort_values(
            ["type", "facility_id", "edition", "share"], ascending=[True, True, True, False]
        )
        .reset_index(drop=True),
        "facility_counts": load.counts,
        "excluded": load.excluded,
        "merged_duplicates": load.merged,
        "missing_units": getattr(load, "missing", None),
        **{k: pd.concat(v, ignore_index=True) for k, v in cov_tabs.items() if v},
    }
    pop_layer = inputs["population"]
    meta = {
        "region": {"name": config.name, "label_vi": config.label_vi, "label_en": config.label_en},
        "edition": ed,
        "lang": lang,
        "metric_crs": config.metric_crs,
        "types": {
            ta.tc.name: {
                "label_vi": ta.tc.label_vi,
                "label_en": ta.tc.label_en,
                "breaks_min": list(ta.tc.breaks_min),
                "primary_min": ta.tc.primary_min,
            }
            for ta in analyses
        },
        "demand_source": f"{pop_layer.source}: {pop_layer.description}",
        "demand_source_id": pop_layer.source,
        "demand_total": float(demand.population.sum()),
        "cells": demand.n_cells,
        "covering": {ta.tc.name: ta.covering["covering"].to_dict("records") for ta in analyses},
        "cell_size_m": demand.grid.cell_size_m,
        "flag_rule": {
            "max_unique_share": config.max_unique_share,
            "min_other_province_share": config.min_other_province_share,
            "max_loss_share": config.verdict_max_loss_share,
            "equivalent_share": config.verdict_equivalent_share,
        },
        "verdict": {
            ta.tc.name: {
                "facilities": int(ta.verdict.verdict.sum()),
                "overlap_flagged": int(ta.measures["overlap_flag"].sum()),
                "loss_share": round(ta.verdict.loss_share, 5),
                "lost_people": round(ta.verdict.lost_people, 1),
                "moved_people": round(ta.verdict.moved_people, 1),
                "extra_min": round(ta.verdict.extra_min, 2),
            }
            for ta in analyses
        },
        "sensitivity": {
            "speed_factors": list(config.speed_factors),
            "threshold_shifts_min": list(config.threshold_shifts_min),
        },
    }
    layers = with_vietnamese_text(layers)
    return RunResult(
        layers=layers,
        grid=demand.grid,
        rasters=rasters,
        meta=RunMeta.from_dict(meta),
        tables=tables,
    )
