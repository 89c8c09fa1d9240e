"""The verdict set itself: the reasons, the rule, equivalent groups, the joint selection in
severity order within the loss bound, and what removing the set costs (moved from
``analysis.verdict``, which re-exports these names; METHOD.md, "Redundancy verdict").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from analysis.catchments import TravelTimes
from analysis.cell_sets import CellSets

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
class VerdictRule:
    """The overlap flag's thresholds and the verdict's bounds (region config)."""

    max_unique_share: float
    min_other_province_share: float
    max_loss_share: float = 0.02
    equivalent_share: float = 0.8
    min_pool_shortfall: float = 0.25
    keep_one_min: int = 3  # a province with at least this many facilities keeps one (0: off)


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


@numba.njit(cache=True, nogil=True)
def _reaches_other(
    indptr: np.ndarray, members: np.ndarray, c: int, prov: np.ndarray, k: int, alive: np.ndarray
) -> bool:
    """Cell ``c``'s list (``members[indptr[c]:indptr[c+1]]``) holds a facility still ``alive``
    of another province class than ``k`` (``prov``); the scan stops at the first such facility
    (at 100 m a 135-minute seaport cell lists tens)."""
    for p in range(indptr[c], indptr[c + 1]):
        m = members[p]
        if alive[m] and prov[m] != k:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def other_class_alive(
    indptr: np.ndarray,
    members: np.ndarray,
    cells: np.ndarray,
    prov: np.ndarray,
    k: int,
    alive: np.ndarray,
) -> np.ndarray:
    """Per cell of ``cells``: whether an alive facility of another province class than ``k``
    reaches it (:func:`_reaches_other`): the count of the alive facilities minus those of
    class ``k`` is positive."""
    out = np.zeros(cells.size, np.bool_)
    for j in range(cells.size):
        out[j] = _reaches_other(indptr, members, cells[j], prov, k, alive)
    return out


@numba.njit(cache=True, nogil=True)
def candidate_weights(
    cells: np.ndarray,
    w: np.ndarray,
    count: np.ndarray,
    indptr: np.ndarray,
    members: np.ndarray,
    prov: np.ndarray,
    k: int,
    alive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A candidate's weights on its ``cells`` in one loop: all of them (``w[cells]``), those
    of the cells no other alive facility reaches (``count`` 1) and those of the cells an
    alive facility of another province class than ``k`` reaches (:func:`other_class_alive`),
    each in cell order, so NumPy's sums of them are those of the masks it replaces."""
    wc = np.empty(cells.size)
    wu = np.empty(cells.size)
    wo = np.empty(cells.size)
    nu = 0
    no = 0
    for j in range(cells.size):
        c = cells[j]
        v = w[c]
        wc[j] = v
        if count[c] == 1:
            wu[nu] = v
            nu += 1
        if _reaches_other(indptr, members, c, prov, k, alive):
            wo[no] = v
            no += 1
    return wc, wu[:nu], wo[:no]


def joint_verdict(  # noqa: PLR0913 (the joint rule's inputs, keyword-only)
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
    # the existing facilities of each cell (ascending): the cells' sets the block form reads
    by_cell = sp.csr_matrix(ab.T, dtype=np.int8)
    by_cell.eliminate_zeros()
    by_cell.sort_indices()
    sets = CellSets(by_cell.indptr.astype(np.int64), by_cell.indices.astype(np.int32), n)
    group = equivalent_groups(a, w, base=base, equivalent_share=rule.equivalent_share)
    return select_verdict(
        lambda order: (a.indices[a.indptr[i] : a.indptr[i + 1]] for i in order),
        w,
        count=count,
        sets=sets,
        group=group,
        candidates=candidates,
        base=base,
        severity=severity,
        size=size,
        ids=ids,
        fac_prov=fac_prov,
        rule=rule,
    )


def province_classes(fac_prov: np.ndarray) -> tuple[np.ndarray, int]:
    """Each facility's province class for the verdict's per-province counts (no province: a
    class of its own, ``n_prov``) and ``n_prov``."""
    n_prov = int(fac_prov.max()) + 1 if fac_prov.size and fac_prov.max() >= 0 else 1
    return np.where(fac_prov >= 0, fac_prov, n_prov), n_prov


def select_verdict(  # noqa: PLR0913 (the joint rule's merged inputs, keyword-only)
    cells_in: Callable[[np.ndarray], Iterable[np.ndarray]],
    w: np.ndarray,
    *,
    count: np.ndarray,
    sets: CellSets,
    group: np.ndarray,
    candidates: np.ndarray,
    base: np.ndarray,
    severity: np.ndarray,
    size: np.ndarray,
    ids: np.ndarray,
    fac_prov: np.ndarray,
    rule: VerdictRule,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """:func:`joint_verdict` from its merged inputs: ``cells_in(order)`` the cells within the
    threshold of each candidate of ``order`` (ascending), in that order, ``count`` the existing facilities reaching each cell
    (changed in place), ``sets`` the existing facilities of each cell (those of a candidate's
    province class that remain are counted on its cells: nothing is kept per (province, cell)),
    ``group`` the equivalent groups."""
    n = base.size
    prov, n_prov = province_classes(fac_prov)
    covered = float(w[count > 0].sum())
    bound = rule.max_loss_share * covered
    group_size = np.bincount(group[group >= 0], minlength=int(group.max()) + 1 if n else 1)
    group_left = group_size.copy()
    prov_left = np.bincount(prov[base], minlength=n_prov + 1)
    prov_has = prov_left.copy()
    verdict = np.zeros(n, bool)
    alive = np.asarray(base, bool).copy()  # the existing facilities not (yet) in the verdict
    reason = np.full(n, REASON_NOT_CANDIDATE, dtype=object)
    cand = np.flatnonzero(np.asarray(candidates, bool) & base)
    order = cand[np.lexsort((ids[cand].astype(str), size[cand], -severity[cand]))]
    loss = 0.0
    # candidates only (tens to a few hundred), each costs its catchment
    for i, cells in zip(order, cells_in(order), strict=True):
        # ``count`` is the alive facilities of each cell; another class: count - own > 0
        wc, wu, wo = candidate_weights(cells, w, count, sets.indptr, sets.members, prov,
                                       prov[i], alive)  # fmt: skip
        cov_i, unique, other = float(wc.sum()), float(wu.sum()), float(wo.sum())
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
        alive[i] = False
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
    return removal_cost(before, after, people)


def removal_cost(
    before: np.ndarray, after: np.ndarray, people: np.ndarray
) -> tuple[float, float, float]:
    """:func:`set_removal`'s result from the nearest times per cell before and after."""
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
