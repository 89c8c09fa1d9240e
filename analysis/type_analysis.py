"""Measures of one facility type at every break: coverage, overlaps, province matrices, the
verdict, removal penalties, sharing keys, covering and rasters (:func:`analyse_type`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.aggregate import area_groupings, group_membership
from analysis.aggregate_blocks import GroupBits, aggregate_measures_blocks
from analysis.block_measures import Polygons, SharingKeys
from analysis.block_sets import SetSource, fuse_bytes_default
from analysis.block_store import BlockStore, blocks_of, run_pass
from analysis.blocks import (
    Measures,
    Reduction,
    covering_input,
)
from analysis.catchments import Access, TravelTimes
from analysis.covering_tables import covering_tables
from analysis.demand import DemandGrid
from analysis.demand_memory import MemoryBudget, TypeShape, release_freed
from analysis.redundancy import removal_penalty
from analysis.sparse_raster import SparseRaster
from analysis.type_breaks import break_matrices, break_overlaps, minutes_f32, prov_index
from analysis.type_demand import DemandSpec as TypeDemandSpec
from analysis.type_demand_passes import TypeDemandPasses
from analysis.verdict import Verdict, VerdictRule, facility_size
from analysis.verdict_blocks import VerdictPasses
from geo.config import AreaLevel, RegionConfig, TypeConfig


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
    count_raster: SparseRaster
    time_raster: SparseRaster
    covered_by_others: np.ndarray
    covering: dict[str, pd.DataFrame]
    group_measures: pd.DataFrame
    group_pairs: pd.DataFrame
    verdict: Verdict


def area_editions(
    provinces: Any, demand: DemandGrid, levels: tuple[AreaLevel, ...]
) -> dict[int, tuple[pd.DataFrame, np.ndarray]]:
    """Area table and cell -> area index of every level of the region, by edition, finest first.

    ``levels`` is ``RegionConfig.area_levels``; a level's table is ``provinces.p<edition>``
    (:class:`geo.provinces.Provinces`); the cells of a coarser level are those of the finest
    units its crosswalk column maps onto it.
    """
    finest = levels[0]
    base = getattr(provinces, f"p{finest.edition}")
    out = {finest.edition: (base, demand.area)}
    for lv in levels[1:]:
        table = getattr(provinces, f"p{lv.edition}")
        to = prov_index(base[lv.crosswalk], table)
        out[lv.edition] = (table, np.where(demand.area >= 0, to[np.maximum(demand.area, 0)], -1))
    return out


def analyse_type(  # noqa: PLR0913 (the type's inputs; demand weights keyword-only)
    fac: gpd.GeoDataFrame,
    tc: TypeConfig,
    tt: TravelTimes | BlockStore,
    access: Access,
    demand: DemandGrid,
    provinces: Any,
    config: RegionConfig,
    *,
    weight: np.ndarray | None = None,
    pool_per_ha: np.ndarray | None = None,
    type_demand: TypeDemandPasses | None = None,
) -> TypeAnalysis:
    """All measures of one type at every break; flags, removal and sharing at the primary break.

    ``weight`` is the type's demand per cell (default: people), on which the overlap flag and
    the verdict are decided; ``pool_per_ha`` (parks) makes the verdict's severity the shortfall
    of a park's labour pool per hectare against its neighbours' (``analysis.verdict``).
    ``type_demand``: the type's demand columns, computed in the first two passes and joined to
    the measures (their ``demand_workers_per_ha`` is then the pool).
    """
    d = demand.population
    ed = area_editions(provinces, demand, config.area_levels)
    table, _cell_prov = ed[config.edition]
    n_prov = len(table)
    fac_prov = prov_index(fac[f"{config.area_key()}_code"], table)
    has_road = access.snap.edge >= 0
    base = (fac["status"].to_numpy() == "operating") & has_road
    main = access.snap.component == 0
    road_access = np.where(~has_road, "none", np.where(main, "network", "separate_network"))
    T = tc.primary_min
    breaks_s = tuple(b * 60.0 for b in tc.breaks_min)
    finest, area_groups = area_groupings(provinces, config.area_levels, config.area_groups)
    groups, membership = group_membership(finest, area_groups, groupings=config.groupings)
    fac_area = prov_index(fac[f"{config.area_levels[0].key}_code"], finest)
    # every measure from three passes over the facility blocks (analysis.block_store): the
    # first feeds every consumer that needs no merged result, the second those that need the
    # first's counts, the third the verdict's removal cost; the verdict's counts and the cells'
    # sets at every break and threshold are held within what the run's memory budget leaves
    # (INFRA_OVERLAP_FUSE_MB overrides it; else more passes)
    release_freed()  # the kernel's freed heap, before the passes
    memory = MemoryBudget.for_run(config, provinces=provinces)
    shape = TypeShape(tt.n_fac, len(breaks_s), tuple(len(tab) for tab, _ in ed.values()))
    fuse = fuse_bytes_default(memory.fuse_bytes(tt.n_cells, shape))
    sets = SetSource(lambda: blocks_of(tt), tt.n_fac, tt.n_cells, fuse)
    for b in breaks_s:
        sets.want(b, b)
    params = {"base": base, "demand": d, "fac_prov": fac_prov}
    red_acc = Reduction(n_fac=tt.n_fac, n_cells=tt.n_cells, n_prov=n_prov, breaks_s=breaks_s,
                        **params)  # fmt: skip
    sharing = SharingKeys(threshold_s=T * 60.0, demand=d,
                          editions=[(cprov, len(tab)) for tab, cprov in ed.values()])  # fmt: skip
    polys = Polygons(demand, breaks_s, config.outline_cell_m)
    own = GroupBits(fac_area, membership, threshold_s=T * 60.0, base=base, n_cells=tt.n_cells)
    vp = _judge(fac, tc, d, config, weight, pool_per_ha, fac_prov, n_prov, base, sets)
    td = type_demand or TypeDemandPasses(TypeDemandSpec(), d, n_fac=tt.n_fac, breaks_min=(1.0,),
                                         active=base)  # fmt: skip
    first = [red_acc, *vp.first(), sharing, polys, *td.first()]
    run_pass(tt, [*first, *sets.consumers()])
    red = red_acc.result()
    fm = Measures(red, **params)
    run_pass(tt, [fm, *vp.second(), *td.second(), *sets.fillers()])
    tdem = td.result()
    by_break = dict(zip(tc.breaks_min, fm.result(), strict=True))
    per_break = break_matrices(tc, d, ed, config, red=red, by_break=by_break)
    cov = per_break.at[T]
    # the province bits served the matrices, and what the nearest two give (the removal
    # penalty, the nearest-time raster) is taken now: both go before the verdict's own passes
    # (at 100 m a word per cell and break, and 24 B a cell: 1.3 GB of 27.9 M cells)
    red = dataclasses.replace(red, prov_bits=np.zeros((0, 0, 0), np.uint64))
    del red_acc, fm, first
    release_freed()  # the first passes' freed heap, before the removal penalty's frame
    rm = removal_penalty(red.f1, red.t1, red.f2, red.t2, d, cov.coverage, threshold_s=T * 60.0)
    t_nearest = minutes_f32(red.t1)
    time_raster = demand.to_raster(t_nearest, nodata=-9999.0, dtype=np.float32)
    count = cov.count_per_cell
    count_raster = demand.to_raster(count.astype(np.int16), nodata=-1, dtype=np.int16)
    # the counts per cell of every break (views of the reduction's) go with it
    per_break.at = {b: dataclasses.replace(c, count_per_cell=np.zeros(0, np.int32))
                    for b, c in per_break.at.items()}  # fmt: skip
    cov = per_break.at[T]
    del red, t_nearest, count, by_break
    release_freed()  # the removal penalty's freed heap
    # then the pairs' overlaps of every break and the other editions' province matrices, from
    # the cells' sets (read in passes of their own where they were not held: at 100 m the
    # lists of the largest break are GBs)
    break_overlaps(per_break, tc, sets, d, ed, config, fac=fac, base=base)
    pool = (
        tdem["demand_workers_per_ha"].to_numpy(np.float64)
        if "demand_workers_per_ha" in tdem
        else None
    )
    vp.decide(size=facility_size(fac, cov.coverage), pool=pool)
    # the groups' bits (at 100 m 32 B a cell) are read in the removal's pass, after the verdict
    run_pass(tt, [*vp.third(), own])
    judged = vp.result()
    vd = judged.verdict
    del vp  # and the removal's two minima per cell
    release_freed()
    t_sets = sets.get(T * 60.0)
    # the groups' measures first, so that their bits go before the covering reads the sets
    gm, gp = aggregate_measures_blocks(
        own.result(),
        t_sets,
        d,
        threshold_s=T * 60.0,
        cell_area=demand.area,
        fac_area=fac_area,
        status=fac["status"].to_numpy(),
        base=base,
        flag=vd.verdict,
        groups=groups,
        membership=membership,
    )
    del own
    cover = covering_tables(
        lambda s: covering_input(t_sets if s == T * 60.0 else sets.get(s), d, candidates=base),
        d,
        fac,
        tc,
        base=base,
        region_vi=config.label_vi,
        region_en=config.label_en,
        max_work=config.covering_exact_work,
        exact_shares=config.covering_exact_shares,
    )
    sets.release(T * 60.0)
    measures = _measures_frame(T, road_access, access, cov, judged, base, rm).join(tdem)
    geom_of = {(i, b / 60.0): g for i, b, g in polys.result()}
    for r in per_break.catchments:
        r["geometry"] = geom_of.get((r["i"], r["break_min"]))
    return TypeAnalysis(
        tc=tc,
        fac=fac,
        measures=measures,
        catchments=per_break.catchments,
        overlaps=pd.concat(per_break.overlaps, ignore_index=True),
        matrix=pd.concat(
            [per_break.matrices[(b, e)] for b in tc.breaks_min for e in ed], ignore_index=True
        ),
        sharing=_sharing(sharing.result(), ed),
        count_raster=count_raster,
        time_raster=time_raster,
        covered_by_others=per_break.covered_by_others,
        covering=cover,
        group_measures=gm.assign(type=tc.name, break_min=T),
        group_pairs=gp.assign(type=tc.name, break_min=T),
        verdict=vd,
    )


def _judge(  # noqa: PLR0913 (the verdict's inputs, passed through once)
    fac: gpd.GeoDataFrame,
    tc: TypeConfig,
    d: np.ndarray,
    config: RegionConfig,
    weight: np.ndarray | None,
    pool_per_ha: np.ndarray | None,
    fac_prov: np.ndarray,
    n_prov: int,
    base: np.ndarray,
    sets: SetSource,
) -> VerdictPasses:
    """The overlap flag and the verdict at the primary break, with their sensitivity variants,
    as passes shared with the type's other measures (``analysis.verdict_blocks``)."""
    T = tc.primary_min
    # sensitivity: speeds x f scale every time (network and access) by 1/f, i.e. threshold T*f
    variants = [T * f for f in config.speed_factors] + [T + s for s in config.threshold_shifts_min]
    return VerdictPasses(
        d,
        d if weight is None else weight,
        threshold_s=T * 60.0,
        variants_s=tuple(v * 60.0 for v in variants),
        fac_prov=fac_prov,
        n_prov=n_prov,
        base=base,
        sets=sets,
        size=None,  # known after the second pass (decide)
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


def _sharing(
    keys: list[pd.DataFrame], ed: dict[int, tuple[pd.DataFrame, np.ndarray]]
) -> pd.DataFrame:
    """Sharing keys (people of each facility's catchment by province) in every edition, block
    by block (``analysis.block_measures.SharingKeys``), with the provinces' codes and names."""
    sharing = []
    for (edition, (tab, _cprov)), sk in zip(ed.items(), keys, strict=True):
        sk["edition"] = edition
        sk["prov_code"] = tab["prov_code"].astype(str).to_numpy()[sk["prov"]]
        sk["prov_name"] = tab["prov_name"].astype(str).to_numpy()[sk["prov"]]
        sharing.append(sk)
    return pd.concat(sharing, ignore_index=True)


def _measures_frame(
    T: float,
    road_access: np.ndarray,
    access: Access,
    cov: Any,
    judged: Any,
    base: np.ndarray,
    rm: Any,
) -> pd.DataFrame:
    """One row per facility: access, coverage, overlap flag, verdict and removal penalty."""
    flag, vd = judged.overlap_flag, judged.verdict
    return pd.DataFrame(
        {
            "primary_break_min": T,
            "road_access": road_access,
            "access_dist_m": np.where(np.isfinite(access.snap.dist_m), access.snap.dist_m, np.nan),
            "coverage": cov.coverage,
            "unique_coverage": cov.unique,
            "unique_share": judged.unique_share,
            "other_province_share": judged.other_province_share,
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


def capacity_arrays(fac: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Throughput, its year and the design capacity (NaN where the data do not say)."""

    def col(name: str) -> np.ndarray:
        if name not in fac.columns:
            return np.full(len(fac), np.nan)
        return pd.to_numeric(fac[name], errors="coerce").to_numpy(np.float64)

    return col("throughput"), col("throughput_year"), col("design_capacity")


def _exempt(fac: pd.DataFrame, tc: TypeConfig) -> np.ndarray:
    """Why a facility is never in the verdict: over capacity, or an exempt class ("" = none)."""
    thr, _, design = capacity_arrays(fac)
    ok = np.isfinite(thr) & np.isfinite(design)
    over = ok & (np.nan_to_num(thr) > np.nan_to_num(design))
    cls = fac["class"].astype(str).to_numpy() if "class" in fac else np.full(len(fac), "")
    exempt_cls = np.isin(cls, list(tc.verdict_exempt_classes))
    return np.where(over, "over_capacity", np.where(exempt_cls, "exempt_class", "")).astype(object)
