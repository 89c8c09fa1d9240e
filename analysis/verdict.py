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

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from analysis.catchments import TravelTimes
from analysis.overlap import coverage_measures
from analysis.redundancy import redundancy_flags

# Why a facility is or is not in the verdict (``verdict_reason``; the schema, not display text).
REASON_VERDICT = "redundant"
REASON_NOT_CANDIDATE = "not_candidate"
REASON_LOSS = "loss_bound"
REASON_LAST_OF_GROUP = "last_of_group"
REASON_OVERLAP_GONE = "overlap_gone"
REASON_OVER_CAPACITY = "over_capacity"
REASON_EXEMPT_CLASS = "exempt_class"
REASON_LAST_IN_PROVINCE = "last_in_province"


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


def equivalent_groups(
    within: sp.csr_matrix,
    weight: np.ndarray,
    *,
    base: np.ndarray,
    equivalent_share: float,
) -> np.ndarray:
    """Groups of equivalent facilities: connected components of overlap share >= the bound.

    overlap share(i, j) = overlap(i, j) / min(coverage(i), coverage(j)) on ``weight``. Only
    ``base`` facilities with coverage take part; the others get group -1. A facility with no
    equivalent is a group of its own.
    """
    n = within.shape[0]
    a = sp.diags(base.astype(np.float64)) @ within.astype(np.float64)
    cov = a @ weight
    ov = (a @ sp.diags(weight) @ a.T).tocoo()
    keep = ov.row != ov.col
    i, j, o = ov.row[keep], ov.col[keep], ov.data[keep]
    denom = np.minimum(cov[i], cov[j])
    share = np.divide(o, denom, out=np.zeros_like(o), where=denom > 0)
    eq = share >= equivalent_share
    adj = sp.csr_matrix((np.ones(int(eq.sum())), (i[eq], j[eq])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return np.where(base & (cov > 0), labels, -1).astype(np.int64)


def _row_at(m: sp.csr_matrix, row: int, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``m.data`` and values of ``m[row, cols]`` (sorted indices; 0 if absent)."""
    lo, hi = m.indptr[row], m.indptr[row + 1]
    idx = m.indices[lo:hi]
    pos = np.minimum(np.searchsorted(idx, cols), max(idx.size - 1, 0))
    hit = (idx[pos] == cols) if idx.size else np.zeros(cols.size, bool)
    at = lo + pos
    return at, np.where(hit, m.data[at] if idx.size else 0, 0)


def joint_verdict(
    within: sp.csr_matrix,
    weight: np.ndarray,
    *,
    candidates: np.ndarray,
    base: np.ndarray,
    severity: np.ndarray,
    size: np.ndarray,
    ids: np.ndarray,
    fac_prov: np.ndarray,
    rule: VerdictRule,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The verdict set: the largest set taken in severity order within the loss bound.

    A candidate joins the set only if, against the facilities that remain (the base minus the
    set so far), it still passes the overlap rule (unique share below ``max_unique_share`` and at
    least ``min_other_province_share`` of its demand within reach of another province's
    facility): once one partner of a mutual overlap is judged redundant, the other is no longer a
    duplicate of it. Then the loss and group bounds of the module docstring apply.

    Parameters
    ----------
    within
        Boolean (n_fac, n_cells): cell within the threshold of the facility.
    weight
        The type's demand per cell (people, or the type's own demand).
    candidates
        Facilities that may be judged redundant (the overlap flag against the whole base).
    base
        Facilities that exist (operating, with road access); only they count as serving.
    severity
        Larger = judged first.
    size
        Ties of severity go to the smaller first (the larger facility is kept).
    ids
        Facility ids, the last tie-break (deterministic whatever the input order).
    fac_prov
        Province index of each facility in the run's edition (-1 = none).
    rule
        Thresholds and bounds.

    Returns
    -------
    verdict, reason, group, loss_demand, covered_demand
    """
    n = within.shape[0]
    base = np.asarray(base, bool)
    w = np.asarray(weight, np.float64)
    a = within.tocsr().astype(bool)
    ab = sp.diags(base.astype(np.float64)) @ a.astype(np.float64)
    count = np.asarray(ab.sum(axis=0)).ravel().astype(np.int64)
    n_prov = int(fac_prov.max()) + 1 if fac_prov.size and fac_prov.max() >= 0 else 1
    prov = np.where(fac_prov >= 0, fac_prov, n_prov)  # no province: a class of its own
    onehot = sp.csr_matrix((np.ones(n), (prov, np.arange(n))), shape=(n_prov + 1, n))
    # (provinces, cells) counts kept sparse: a row holds only the cells its province's
    # facilities reach, so memory follows the covered cells, not provinces x the whole grid
    count_prov = sp.csr_matrix(onehot @ ab, dtype=np.int32)
    count_prov.sort_indices()
    covered = float(w[count > 0].sum())
    bound = rule.max_loss_share * covered
    group = equivalent_groups(a, w, base=base, equivalent_share=rule.equivalent_share)
    group_size = np.bincount(group[group >= 0], minlength=int(group.max()) + 1 if n else 1)
    group_left = group_size.copy()
    prov_left = np.bincount(prov[base], minlength=n_prov + 1)
    prov_has = prov_left.copy()
    verdict = np.zeros(n, bool)
    reason = np.full(n, REASON_NOT_CANDIDATE, dtype=object)
    cand = np.flatnonzero(np.asarray(candidates, bool) & base)
    order = cand[np.lexsort((ids[cand].astype(str), size[cand], -severity[cand]))]
    loss = 0.0
    for i in order:  # candidates only (tens to a few hundred), each costs its catchment
        cells = a.indices[a.indptr[i] : a.indptr[i + 1]]
        wc = w[cells]
        cov_i = float(wc.sum())
        unique = float(wc[count[cells] == 1].sum())
        at, own = _row_at(count_prov, prov[i], cells)
        other = float(wc[(count[cells] - own) > 0].sum())
        if cov_i <= 0 or not (
            unique / cov_i < rule.max_unique_share
            and other / cov_i >= rule.min_other_province_share
        ):
            reason[i] = REASON_OVERLAP_GONE
            continue
        g = group[i]
        if g >= 0 and group_size[g] > 1 and group_left[g] <= 1:
            reason[i] = REASON_LAST_OF_GROUP
            continue
        keeps_one = rule.keep_one_min > 0 and prov_has[prov[i]] >= rule.keep_one_min
        if keeps_one and fac_prov[i] >= 0 and prov_left[prov[i]] <= 1:
            reason[i] = REASON_LAST_IN_PROVINCE
            continue
        if loss + unique > bound:
            reason[i] = REASON_LOSS
            continue
        loss += unique
        count[cells] -= 1
        count_prov.data[at[own > 0]] -= 1
        prov_left[prov[i]] -= 1
        verdict[i] = True
        reason[i] = REASON_VERDICT
        if g >= 0:
            group_left[g] -= 1
    return verdict, reason, group, loss, covered


def set_removal(
    tt: TravelTimes,
    people: np.ndarray,
    *,
    base: np.ndarray,
    removed: np.ndarray,
    threshold_s: float,
) -> tuple[float, float, float]:
    """People who lose access, people moved and their mean extra minutes if ``removed`` go at once.

    Returns ``(lost_people, moved_people, extra_min)``: cells whose nearest base facility within
    the threshold is in the removed set either lose access (no remaining facility within the
    threshold) or move to the nearest remaining one; ``extra_min`` is the people-weighted mean
    increase of travel time over the moved people (0 when nobody moves).
    """
    base = np.asarray(base, bool)
    keep_pair = base[tt.fac] & (tt.time_s <= threshold_s)
    fac, cell, t = tt.fac[keep_pair], tt.cell[keep_pair], tt.time_s[keep_pair]
    before = np.full(tt.n_cells, np.inf)
    np.minimum.at(before, cell, t)
    stay = ~np.asarray(removed, bool)[fac]
    after = np.full(tt.n_cells, np.inf)
    np.minimum.at(after, cell[stay], t[stay])
    served = np.isfinite(before)
    changed = served & (after > before)
    lost = changed & ~np.isfinite(after)
    moved = changed & np.isfinite(after)
    p = np.asarray(people, np.float64)
    moved_people = float(p[moved].sum())
    extra = float((p[moved] * (after[moved] - before[moved])).sum())
    return (
        float(p[lost].sum()),
        moved_people,
        extra / moved_people / 60.0 if moved_people > 0 else 0.0,
    )


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


def _verdict_at(
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
        severity = np.where(cov.coverage > 0, severity_from_pool(within, pool, base=base), np.nan)
        candidates = flag & (np.nan_to_num(severity, nan=-1.0) >= rule.min_pool_shortfall)
    why = np.full(flag.size, "", dtype=object) if exempt is None else np.asarray(exempt, object)
    over = why != ""
    candidates = candidates & ~over  # over capacity, or a class the region exempts
    sev = np.nan_to_num(severity, nan=-np.inf)
    verdict, reason, group, loss, covered = joint_verdict(
        within,
        weight,
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


@dataclass(frozen=True)
class VerdictRule:
    """The overlap flag's thresholds and the verdict's bounds (region config)."""

    max_unique_share: float
    min_other_province_share: float
    max_loss_share: float = 0.02
    equivalent_share: float = 0.8
    min_pool_shortfall: float = 0.25
    keep_one_min: int = 3  # a province with at least this many facilities keeps one (0: off)


def judge(
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
    u_share, o_share, flag, v = at(threshold_s=threshold_s)
    lost, moved, extra = set_removal(
        tt, people, base=base, removed=v.verdict, threshold_s=threshold_s
    )
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
