"""The output layers of a RunResult, assembled from the per-type analyses
(:mod:`analysis.type_analysis`)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.demand import DemandGrid
from analysis.glossary import with_vietnamese_text
from analysis.redundancy import CAVEATS, SetEvidence, capacity_sentences, evidence_sentences
from analysis.results import RasterLayer, RunMeta, RunResult
from analysis.text import fmt_pct
from analysis.type_analysis import TypeAnalysis, analyse_type, area_editions, capacity_arrays
from geo.config import RegionConfig

__all__ = ["TypeAnalysis", "analyse_type", "assemble_result"]


def _with_capacity(cap: tuple[str, str], caveat: tuple[str, str] | None) -> tuple[str, str] | None:
    parts = [p for p in (cap, caveat) if p and p[0]]
    if not parts:
        return None
    return " ".join(p[0] for p in parts), " ".join(p[1] for p in parts)


def _facility_layer(ta: TypeAnalysis, config: RegionConfig) -> gpd.GeoDataFrame:
    """The facilities of a type with their measures, best alternative, sharing key and evidence."""
    fac, m = ta.fac.reset_index(drop=True), ta.measures
    ed = config.edition
    key = config.area_key()
    names = fac["name"].astype(str).to_numpy()
    prov_names = fac[f"{key}_name"].astype(str).to_numpy()
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
    fprov = fac[f"{key}_code"].astype(str).to_numpy()
    ev_vi, ev_en = _evidence(ta, config, out, fprov, names, prov_names, alt)
    members = ta.covering["cover_members"]
    mem = members[members["break_min"] == ta.tc.primary_min].set_index("facility_id")[
        "in_minimal_cover"
    ]
    out["in_minimal_cover"] = out["facility_id"].map(mem).fillna(False).astype(bool).to_numpy()
    out["evidence_vi"] = ev_vi
    out["evidence_en"] = ev_en
    return out


def _evidence(
    ta: TypeAnalysis,
    config: RegionConfig,
    out: gpd.GeoDataFrame,
    fprov: np.ndarray,
    names: np.ndarray,
    prov_names: np.ndarray,
    alt: np.ndarray,
) -> tuple[list[str], list[str]]:
    """Evidence sentences (vi, en) of each flagged facility ('' for the others)."""
    fac, m = ta.fac.reset_index(drop=True), ta.measures
    prim = ta.overlaps[ta.overlaps["break_min"] == ta.tc.primary_min]
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
    thr, year, design = capacity_arrays(fac)
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
    return ev_vi, ev_en


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
    key = config.area_key()
    fac_layers, catch, ovs, mats, shares = [], [], [], [], []
    cov_tabs: dict[str, list[pd.DataFrame]] = {
        "covering": [],
        "coverage_curve": [],
        "group_measures": [],
        "group_pairs": [],
    }
    rasters: dict[str, RasterLayer] = {}
    provinces = inputs["provinces"]
    table, cell_prov = area_editions(provinces, demand, config.area_levels)[ed]
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
        pc = fl[f"{key}_code"].astype(str).to_numpy()
        catch += _catchment_rows(ta, ids, nm)
        ovs.append(_overlap_layer(ta.overlaps, ta.tc.name, fl, pc))
        mats.append(ta.matrix)
        cov_tabs["covering"].append(ta.covering["covering"])
        cov_tabs["coverage_curve"].append(ta.covering["coverage_curve"])
        cov_tabs["group_measures"].append(ta.group_measures)
        cov_tabs["group_pairs"].append(ta.group_pairs)
        sh = ta.sharing.assign(facility_id=ids[ta.sharing["i"]], type=ta.tc.name)
        shares.append(
            sh[["facility_id", "type", "edition", "prov_code", "prov_name", "people", "share"]]
        )
        _add_province_columns(prov_layer, ta, demand, cell_prov, pop)
        rasters.update(_type_rasters(ta))
    layers, tables = _layers_and_tables(
        fac_layers, catch, ovs, mats, prov_layer, shares, cov_tabs, inputs["facilities"], config
    )
    meta = _meta(analyses, demand, inputs, config, lang=lang)
    layers = with_vietnamese_text(layers)
    return RunResult(
        layers=layers,
        grid=demand.grid,
        rasters=rasters,
        meta=RunMeta.from_dict(meta),
        tables=tables,
    )


def _layers_and_tables(  # noqa: PLR0913 (the per-type parts assemble_result collected)
    fac_layers: list[gpd.GeoDataFrame],
    catch: list[dict[str, Any]],
    ovs: list[gpd.GeoDataFrame],
    mats: list[pd.DataFrame],
    prov_layer: pd.DataFrame,
    shares: list[pd.DataFrame],
    cov_tabs: dict[str, list[pd.DataFrame]],
    load: Any,
    config: RegionConfig,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The result's layers and tables from the per-type parts, sorted (EPSG:4326)."""
    key = config.area_key()
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
    flags = _flags_layer(facilities, key)
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
    return layers, tables


def _meta(
    analyses: list[TypeAnalysis],
    demand: DemandGrid,
    inputs: dict[str, Any],
    config: RegionConfig,
    *,
    lang: str,
) -> dict[str, Any]:
    """The run's settings and headline numbers, for the report and the manifest."""
    ed = config.edition
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
    return meta


def _catchment_rows(ta: TypeAnalysis, ids: np.ndarray, nm: np.ndarray) -> list[dict[str, Any]]:
    """The type's catchment polygons as rows of the catchments layer."""
    catch: list[dict[str, Any]] = []
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
    return catch


def _overlap_layer(
    ov: pd.DataFrame, type_name: str, fl: gpd.GeoDataFrame, pc: np.ndarray
) -> gpd.GeoDataFrame:
    """Pairwise overlaps of a type as lines between the two facilities."""
    ids = fl["facility_id"].astype(str).to_numpy()
    nm = fl["name"].astype(str).to_numpy()
    pts = fl.geometry.to_numpy()
    return gpd.GeoDataFrame(
        {
            "facility_a": ids[ov["i"]],
            "facility_b": ids[ov["j"]],
            "name_a": nm[ov["i"]],
            "name_b": nm[ov["j"]],
            "type": type_name,
            "break_min": ov["break_min"].to_numpy(),
            "overlap": ov["overlap"].to_numpy(),
            "overlap_share": ov["overlap_share"].to_numpy(),
            "prov_a": pc[ov["i"]],
            "prov_b": pc[ov["j"]],
        },
        geometry=shapely.shortest_line(pts[ov["i"]], pts[ov["j"]]) if len(ov) else [],
        crs="EPSG:4326",
    )


def _type_rasters(ta: TypeAnalysis) -> dict[str, RasterLayer]:
    """The type's coverage-count and travel-time rasters."""
    rasters: dict[str, RasterLayer] = {}
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
    return rasters


def _add_province_columns(
    prov_layer: pd.DataFrame,
    ta: TypeAnalysis,
    demand: DemandGrid,
    cell_prov: np.ndarray,
    pop: np.ndarray,
) -> None:
    """A type's people covered, and covered by another province's facilities, per province."""
    table_len = len(prov_layer)
    any_cov = ta.count_raster.values_at(demand.row, demand.col) > 0
    prov_layer[f"coverage_{ta.tc.name}"] = np.bincount(
        cell_prov[cell_prov >= 0],
        weights=(demand.population * any_cov)[cell_prov >= 0],
        minlength=table_len,
    )
    cbo = ta.covered_by_others
    prov_layer[f"covered_by_others_{ta.tc.name}"] = cbo
    prov_layer[f"covered_by_others_share_{ta.tc.name}"] = np.divide(
        cbo, pop, out=np.zeros_like(cbo), where=pop > 0
    )


def _flags_layer(facilities: gpd.GeoDataFrame, key: str) -> gpd.GeoDataFrame:
    """The flagged facilities (verdict or overlap flag) with their province in the run's edition."""
    flags = facilities[facilities["verdict"] | facilities["overlap_flag"]].copy()
    flags = flags.assign(prov_code=flags[f"{key}_code"], prov_name=flags[f"{key}_name"])[
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
    return flags
