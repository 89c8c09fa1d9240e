"""The redundancy verdict: which facilities of a type can be removed together, at a stated loss.

The overlap flag (``analysis.redundancy.redundancy_flags``) is descriptive: it says that a
facility's people are also within reach of another province's facility. It is mutual (both
partners carry it) and not additive (removing every flagged facility together loses far more
than each one alone). The verdict decides for all facilities of a type together (DESIGN.md,
"Decisions", and METHOD.md, "Redundancy verdict"):

1. candidates are the overlap-flagged facilities that exist (operating, with road access);
2. they are taken in order of ``severity`` (larger = more redundant), ties going to the smaller
   facility first (so that the larger one is kept: capacity or throughput where known, else area
   or its own demand), then by facility id;
3. a candidate joins the verdict set if removing the whole set, itself included, loses at most
   ``max_loss_share`` of the type's demand covered today (cells that no remaining facility reaches
   within the threshold), and if it is not the last remaining member of its group of equivalent
   facilities (pairwise overlap share >= ``equivalent_share``, groups = connected components).

Everything is exact and incremental: the number of remaining facilities reaching each cell is kept
while the set grows, so each candidate costs the size of its catchment (no re-solve).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.catchments import TravelTimes
from analysis.overlap import Coverage, coverage_measures
from analysis.redundancy import redundancy_flags
from analysis.verdict_set import (
    REASON_EXEMPT_CLASS,
    REASON_LAST_IN_PROVINCE,
    REASON_LAST_OF_GROUP,
    REASON_LOSS,
    REASON_NOT_CANDIDATE,
    REASON_OVER_CAPACITY,
    REASON_OVERLAP_GONE,
    REASON_VERDICT,
    VerdictRule,
    equivalent_groups,
    joint_verdict,
    set_removal,
)

__all__ = [
    "REASON_EXEMPT_CLASS",
    "REASON_LAST_IN_PROVINCE",
    "REASON_LAST_OF_GROUP",
    "REASON_LOSS",
    "REASON_NOT_CANDIDATE",
    "REASON_OVERLAP_GONE",
    "REASON_OVER_CAPACITY",
    "REASON_VERDICT",
    "Judgement",
    "Verdict",
    "VerdictRule",
    "equivalent_groups",
    "facility_size",
    "joint_verdict",
    "judge",
    "set_removal",
    "severity_from_pool",
    "severity_from_shares",
    "severity_rank",
]


@dataclass(frozen=True)
class Verdict:
    """The joint verdict of one type at one threshold (arrays indexed like the facilities).

    ``loss_demand`` / ``loss_share`` are for the whole verdict set removed together, in the
    type's demand; ``lost_people`` the people who would lose access within the threshold;
    ``moved_people`` the people whose nearest facility is in the set and who keep access, and
    ``extra_min`` their demand-weighted mean extra travel time (minutes).
    """

    verdict: np.ndarray
    severity: np.ndarray
    rank: np.ndarray
    reason: np.ndarray
    group: np.ndarray
    loss_demand: float
    loss_share: float
    covered_demand: float
    lost_people: float
    moved_people: float
    extra_min: float


def severity_from_pool(within: sp.csr_matrix, pool: np.ndarray, *, base: np.ndarray) -> np.ndarray:
    """Severity of a competing facility: how far its pool falls below its neighbours'.

    ``1 - pool(i) / mean(pool(j))`` over the base facilities j whose catchments meet i's (i
    included), clipped to [-1, 1]; NaN where the pool is unknown. For parks the pool is the labour
    pool per hectare shared among competing parks (``analysis.type_demand``): a park that draws
    less per hectare than the parks around it adds land where the labour is already drawn on.
    """
    a = sp.diags(base.astype(np.float64)) @ within.astype(np.float64)
    meet = ((a @ a.T) > 0).astype(np.float64).tocsr()
    return severity_from_meet(meet, pool, base=base)


def severity_from_meet(meet: sp.csr_matrix, pool: np.ndarray, *, base: np.ndarray) -> np.ndarray:
    """:func:`severity_from_pool` from ``meet`` (n_fac x n_fac, 1.0 where two base facilities'
    catchments meet, i with itself when it reaches a cell; sorted indices)."""
    p = np.where(np.isfinite(pool) & base, pool, 0.0)
    known = (np.isfinite(pool) & base).astype(np.float64)
    total, count = meet @ p, meet @ known
    mean = np.divide(total, count, out=np.full(p.size, np.nan), where=count > 0)
    sev = np.where(
        np.isfinite(pool) & (mean > 0),
        1.0 - np.asarray(pool, float) / np.where(mean > 0, mean, 1.0),
        np.nan,
    )
    return np.clip(sev, -1.0, 1.0)


def severity_from_shares(unique_share: np.ndarray, other_province_share: np.ndarray) -> np.ndarray:
    """Severity of the overlap: the share also served from another province minus the unique share.

    In [-1, 1]; larger means more of the facility's demand is already served from elsewhere and
    less of it by this facility alone. Computed on the type's demand.
    """
    out: np.ndarray = np.asarray(other_province_share, float) - np.asarray(unique_share, float)
    return out


def severity_rank(
    severity: np.ndarray, size: np.ndarray, ids: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    """Rank by severity (1 = most redundant), ties to the smaller facility, then id; 0 if not ranked."""
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((ids[idx].astype(str), size[idx], -severity[idx]))]
    rank = np.zeros(severity.size, np.int64)
    rank[order] = np.arange(1, order.size + 1)
    return rank


@dataclass(frozen=True)
class Judgement:
    """Overlap flag and verdict of one type at its primary threshold, with their robustness."""

    unique_share: np.ndarray
    other_province_share: np.ndarray
    overlap_flag: np.ndarray
    overlap_robust: np.ndarray
    verdict: Verdict
    verdict_robust: np.ndarray


def _verdict_at(  # noqa: PLR0913 (the verdict's inputs at one sensitivity variant)
    tt: TravelTimes,
    weight: np.ndarray,
    *,
    threshold_s: float,
    fac_prov: np.ndarray,
    n_prov: int,
    base: np.ndarray,
    size: np.ndarray,
    ids: np.ndarray,
    rule: VerdictRule,
    pool: np.ndarray | None,
    exempt: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Verdict]:
    within = tt.within(threshold_s)
    cov = coverage_measures(within, weight, fac_prov, n_prov, base=base)
    return decide(
        cov,
        lambda: severity_from_pool(within, pool, base=base),  # type: ignore[arg-type]
        partial(joint_verdict, within, weight),
        fac_prov=fac_prov,
        base=base,
        size=size,
        ids=ids,
        rule=rule,
        pool=pool,
        exempt=exempt,
    )


def decide(  # noqa: PLR0913 (the verdict's inputs at one variant, keyword-only)
    cov: Coverage,
    pool_severity: Callable[[], np.ndarray],
    joint: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, float, float]],
    *,
    fac_prov: np.ndarray,
    base: np.ndarray,
    size: np.ndarray,
    ids: np.ndarray,
    rule: VerdictRule,
    pool: np.ndarray | None,
    exempt: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Verdict]:
    """The overlap flag and the verdict at one threshold from the coverage measures in the
    type's demand (``cov``), the pool severity (called only with a ``pool``) and the joint
    selection (:func:`joint_verdict` with its matrix and weight bound, or its block form)."""
    u_share, o_share, flag = redundancy_flags(
        cov.coverage,
        cov.unique,
        cov.other_province,
        max_unique_share=rule.max_unique_share,
        min_other_province_share=rule.min_other_province_share,
    )
    if pool is None:
        severity = np.where(cov.coverage > 0, severity_from_shares(u_share, o_share), np.nan)
        candidates = flag
    else:  # competition: only facilities drawing less than their neighbours are candidates
        severity = np.where(cov.coverage > 0, pool_severity(), np.nan)
        candidates = flag & (np.nan_to_num(severity, nan=-1.0) >= rule.min_pool_shortfall)
    why = np.full(flag.size, "", dtype=object) if exempt is None else np.asarray(exempt, object)
    over = why != ""
    candidates = candidates & ~over  # over capacity, or a class the region exempts
    sev = np.nan_to_num(severity, nan=-np.inf)
    verdict, reason, group, loss, covered = joint(
        candidates=candidates,
        base=base,
        severity=sev,
        size=size,
        ids=ids,
        fac_prov=fac_prov,
        rule=rule,
    )
    reason[flag & over] = why[flag & over]
    # the set's cost in people (lost_people, moved_people, extra_min) is for the primary
    # threshold only: judge() fills it in; the sensitivity variants need only the verdict
    v = Verdict(
        verdict=verdict,
        severity=severity,
        rank=severity_rank(sev, size, ids, base & (cov.coverage > 0)),
        reason=reason,
        group=group,
        loss_demand=loss,
        loss_share=loss / covered if covered > 0 else 0.0,
        covered_demand=covered,
        lost_people=np.nan,
        moved_people=np.nan,
        extra_min=np.nan,
    )
    return u_share, o_share, flag, v


def judge(  # noqa: PLR0913 (the verdict's inputs (demand, rule, sizes, capacity), keyword-only)
    tt: TravelTimes,
    people: np.ndarray,
    weight: np.ndarray,
    *,
    threshold_s: float,
    variants_s: tuple[float, ...],
    fac_prov: np.ndarray,
    n_prov: int,
    base: np.ndarray,
    size: np.ndarray,
    ids: np.ndarray,
    rule: VerdictRule,
    pool: np.ndarray | None = None,
    exempt: np.ndarray | None = None,
) -> Judgement:
    """Overlap flag and joint verdict at the threshold, and whether each holds under the variants.

    Parameters
    ----------
    tt
        Travel times of the type's facilities (seconds).
    people, weight
        People per cell, and the type's demand per cell (the same array for plain people).
    threshold_s, variants_s
        The primary threshold and the sensitivity variants (speeds x f and shifted thresholds
        are both a change of threshold), seconds.
    fac_prov, n_prov
        Province index of each facility in the run's edition, and the number of provinces.
    base, size, ids
        Facilities that exist; their size for ties (larger kept); their ids.
    rule
        Thresholds and bounds.
    pool
        A competing facility's pool (parks: labour pool per hectare); when given, severity is
        its shortfall against its neighbours' (:func:`severity_from_pool`) and only facilities
        with a shortfall of at least ``rule.min_pool_shortfall`` are candidates.
    exempt
        Per facility, the reason it is never in the verdict ("" = none): ``over_capacity`` (its
        throughput exceeds its design capacity: an overlap is then not spare capacity) or
        ``exempt_class`` (a class the region exempts, e.g. special-class gateway seaports).
    """
    at = partial(
        _verdict_at,
        tt,
        weight,
        fac_prov=fac_prov,
        n_prov=n_prov,
        base=base,
        size=size,
        ids=ids,
        rule=rule,
        pool=pool,
        exempt=exempt,
    )
    return judge_with(
        at,
        lambda removed: set_removal(
            tt, people, base=base, removed=removed, threshold_s=threshold_s
        ),
        threshold_s=threshold_s,
        variants_s=variants_s,
    )


def judge_with(
    at: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, Verdict]],
    removal: Callable[[np.ndarray], tuple[float, float, float]],
    *,
    threshold_s: float,
    variants_s: tuple[float, ...],
) -> Judgement:
    """:func:`judge` from the verdict at one threshold (``at(threshold_s=...)``: the shares,
    the flag and the verdict) and the cost of removing a set (``removal(removed)``)."""
    u_share, o_share, flag, v = at(threshold_s=threshold_s)
    lost, moved, extra = removal(v.verdict)
    v = replace(v, lost_people=lost, moved_people=moved, extra_min=extra)
    flag_robust, verdict_robust = flag.copy(), v.verdict.copy()
    for tv in variants_s:
        if tv <= 0:
            continue
        _, _, f_v, v_v = at(threshold_s=tv)
        flag_robust &= f_v
        verdict_robust &= v_v.verdict
    return Judgement(
        unique_share=u_share,
        other_province_share=o_share,
        overlap_flag=flag,
        overlap_robust=flag_robust,
        verdict=v,
        verdict_robust=verdict_robust,
    )


def facility_size(fac: pd.DataFrame, own_demand: np.ndarray) -> np.ndarray:
    """The size that breaks ties (the larger facility is kept).

    The first of ``capacity`` and ``area_ha`` known for every facility of the type, else the
    facility's own demand (its coverage): one measure for the whole type, never a mix of units.
    """
    for col in ("capacity", "area_ha"):
        if col in fac.columns:
            v = pd.to_numeric(fac[col], errors="coerce").to_numpy(np.float64)
            if v.size and np.isfinite(v).all():
                return v
    return np.asarray(own_demand, np.float64)
