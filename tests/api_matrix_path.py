"""The notebook API's measures as they were computed before issue 19 (session 6): from every
(facility, cell) pair at once, through the whole-array functions (``analysis.overlap``,
``analysis.verdict.judge``, ``analysis.catchments.nearest_two``, ``covering.minimal_cover`` on
the boolean matrix). A test reference only: ``tests/test_api.py`` and ``tests/test_saopaulo.py``
check that the block path of ``analysis.api`` gives the same frames to the last bit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis import covering
from analysis import overlap as overlap_mod
from analysis.api import Catchments
from analysis.catchments import Access, TravelTimes, nearest_two, travel_times
from analysis.network import Graph, snap_points
from analysis.redundancy import removal_penalty
from analysis.verdict import VerdictRule, facility_size, judge

#: ``api.verdict``'s defaults (VerdictRule has none for the first two)
API_RULE = {
    "max_unique_share": 0.25,
    "min_other_province_share": 0.5,
    "max_loss_share": 0.02,
    "equivalent_share": 0.8,
    "keep_one_min": 3,
}


def whole_travel_times(
    catch: Catchments,
    graph: Graph,
    *,
    access_speed_kmh: float = 20.0,
    max_access_km: float = 10.0,
    min_component_km: float = 0.0,
) -> TravelTimes:
    """Every pair in one array, from the kernel's whole call (as ``api.catchments`` did)."""
    fac = catch.facilities
    xy = np.column_stack([fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()])
    snap = snap_points(
        graph, xy, min_component_km=min_component_km, max_dist_m=max_access_km * 1000.0
    )
    cells = snap_points(graph, catch.demand.grid.xy, min_component_km=min_component_km)
    return travel_times(
        graph,
        Access.from_snap(snap, access_speed_kmh=access_speed_kmh),
        Access.from_snap(cells, access_speed_kmh=access_speed_kmh),
        limit_s=catch.breaks_min[-1] * 60.0,
    )


def times(catch: Catchments, tt: TravelTimes) -> pd.DataFrame:
    ids = catch.facilities["facility_id"].to_numpy()
    return pd.DataFrame(
        {"facility_id": ids[tt.fac], "cell": tt.cell, "travel_time_min": tt.time_s / 60.0}
    )


def coverage(catch: Catchments, tt: TravelTimes, breaks: Sequence[float]) -> pd.DataFrame:
    people, n_areas = catch.demand.grid.population, len(catch.demand.areas)
    frames = []
    for b in breaks:
        cov = overlap_mod.coverage_measures(
            tt.within(b * 60.0), people, catch.area_index, n_areas, base=catch.exists
        )
        frames.append(
            pd.DataFrame(
                {
                    "facility_id": catch.ids,
                    "break_min": b,
                    "coverage": cov.coverage,
                    "unique_coverage": cov.unique,
                    "other_area_coverage": cov.other_province,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def overlaps(catch: Catchments, tt: TravelTimes, breaks: Sequence[float]) -> pd.DataFrame:
    people, ids = catch.demand.grid.population, catch.ids
    frames = []
    for b in breaks:
        within = tt.within(b * 60.0)
        cov = np.asarray(within.astype(np.float64) @ people).ravel()
        ov = overlap_mod.pairwise_overlaps(within, people, cov)
        frames.append(
            pd.DataFrame(
                {
                    "facility_a": ids[ov["i"].to_numpy()],
                    "facility_b": ids[ov["j"].to_numpy()],
                    "break_min": b,
                    "overlap": ov["overlap"].to_numpy(),
                    "overlap_share": ov["overlap_share"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def province_matrices(catch: Catchments, tt: TravelTimes, breaks: Sequence[float]) -> pd.DataFrame:
    people = catch.demand.grid.population
    codes = catch.demand.areas["area_id"].astype(str).to_numpy()
    frames = []
    for b in breaks:
        existing = sp.diags(catch.exists.astype(np.float64)) @ tt.within(b * 60.0).astype(
            np.float64
        )
        served, dup, _ = overlap_mod.province_matrices(
            existing, people, catch.area_index, catch.demand.grid.area, codes.size
        )
        a, bb = np.nonzero((served > 0) | (dup > 0))
        frames.append(
            pd.DataFrame(
                {
                    "province_a": codes[a],
                    "province_b": codes[bb],
                    "break_min": b,
                    "served_by": served[a, bb],
                    "duplicated": dup[a, bb],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def verdict(
    catch: Catchments,
    tt: TravelTimes,
    *,
    threshold_min: float,
    variants_min: Sequence[float] = (),
    **rule: float,
) -> pd.DataFrame:
    """The verdict frame of ``api.verdict`` (``rule``: its VerdictRule keywords)."""
    t_s = threshold_min * 60.0
    people, base, ids, area = (
        catch.demand.grid.population,
        catch.exists,
        catch.ids,
        catch.area_index,
    )
    n_areas = len(catch.demand.areas)
    cov = overlap_mod.coverage_measures(tt.within(t_s), people, area, n_areas, base=base)
    j = judge(
        tt,
        people,
        people,
        threshold_s=t_s,
        variants_s=tuple(v * 60.0 for v in variants_min),
        fac_prov=area,
        n_prov=n_areas,
        base=base,
        size=facility_size(catch.facilities, cov.coverage),
        ids=ids,
        rule=VerdictRule(**{**API_RULE, **rule}),  # type: ignore[arg-type]
    )
    keep = np.isin(tt.fac, np.flatnonzero(base))
    tt_base = TravelTimes(
        tt.fac[keep], tt.cell[keep], tt.time_s[keep], tt.n_fac, tt.n_cells, tt.limit_s
    )
    rm = removal_penalty(*nearest_two(tt_base), people, cov.coverage, threshold_s=t_s)
    vd = j.verdict
    out = pd.DataFrame(
        {
            "facility_id": ids,
            "threshold_min": float(threshold_min),
            "coverage": cov.coverage,
            "unique_share": j.unique_share,
            "other_province_share": j.other_province_share,
            "overlap_flag": j.overlap_flag,
            "overlap_robust": j.overlap_robust,
            "verdict": vd.verdict,
            "verdict_robust": j.verdict_robust,
            "severity": vd.severity,
            "verdict_rank": vd.rank,
            "verdict_reason": vd.reason.astype(str),
            "removal_lost": np.where(base, rm.lost, np.nan),
            "removal_penalty_min": np.where(base, rm.penalty_min, np.nan),
            "best_alternative_id": np.where(
                rm.alt_index >= 0, ids[np.maximum(rm.alt_index, 0)], ""
            ),
        }
    )
    out.attrs.update(loss_share=vd.loss_share, lost_people=vd.lost_people)
    return out


def minimal_cover(catch: Catchments, tt: TravelTimes, *, threshold_min: float) -> pd.DataFrame:
    res = covering.minimal_cover(
        tt.within(threshold_min * 60.0), catch.demand.grid.population, candidates=catch.exists
    )
    chosen = np.zeros(len(catch.ids), bool)
    chosen[res.chosen] = True
    out = pd.DataFrame(
        {"facility_id": catch.ids, "threshold_min": float(threshold_min), "in_cover": chosen}
    )
    out.attrs.update(
        n_chosen=res.n_chosen,
        n_candidates=res.n_candidates,
        covered_people=res.covered_people,
        optimal=res.optimal,
    )
    return out


def assert_same_as_matrix_path(
    catch: Catchments,
    graph: Graph,
    *,
    threshold_min: float,
    variants_min: Sequence[float] = (),
    access: dict[str, float] | None = None,
    rule: dict[str, float] | None = None,
) -> None:
    """Every frame of ``analysis.api`` on ``catch`` equals the matrix path's, exactly (values,
    dtypes, order and ``attrs``)."""
    from analysis import api

    tt = whole_travel_times(catch, graph, **(access or {}))
    breaks = catch.breaks_min
    rule = rule or {}
    pairs = [
        (api.coverage(catch), coverage(catch, tt, breaks), "coverage"),
        (api.overlaps(catch), overlaps(catch, tt, breaks), "overlaps"),
        (api.province_matrices(catch), province_matrices(catch, tt, breaks), "province matrices"),
        (
            api.verdict(catch, threshold_min=threshold_min, variants_min=variants_min, **rule),  # type: ignore[arg-type]
            verdict(catch, tt, threshold_min=threshold_min, variants_min=variants_min, **rule),
            "verdict",
        ),
        (
            api.minimal_cover(catch, threshold_min=threshold_min),
            minimal_cover(catch, tt, threshold_min=threshold_min),
            "minimal cover",
        ),
        (catch.times, times(catch, tt), "times"),
    ]
    for got, want, what in pairs:
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=what)
        assert got.attrs == want.attrs, f"{what}: attrs {got.attrs} != {want.attrs}"
    for b in breaks:
        diff = catch.within(b) != tt.within(b * 60.0)
        assert diff.nnz == 0, f"within({b}) differs from the matrix path in {diff.nnz} pairs"
