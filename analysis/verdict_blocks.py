"""The joint verdict and its sensitivity variants from facility blocks, bit for bit the
whole-array one (``analysis.verdict.judge``), without every (facility, cell) pair at once.

At each threshold (the primary and every variant), from passes over the blocks:

- the coverage measures in the type's demand (``analysis.blocks.reduce_blocks`` and
  ``facility_measures``, equal to ``overlap.coverage_measures``);
- the existing facilities reaching each cell (``count``), per province class (``count_prov``,
  merged (province, cell) counts: the size of the covered cells, not of the pairs), and the
  candidates' own catchments (a candidate's rows are pulled from its block);
- the set of existing facilities within the threshold of each cell (``block_sets``), folded
  over the cells into the pairs' overlaps and the relation "catchments meet": equivalent
  groups and the pool severity. The sparse products of the whole-array code add a pair's
  cells in ascending order and a facility's coverage in descending order (``diags(base) @
  within`` lists a row's cells in reverse); the fold and the sums here use the same orders,
  so the groups and severities are equal to the last bit;
- the set's removal cost from the nearest time per cell before and after (minima over blocks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from analysis.block_sets import (
    _cell_chunks,
    _members,
    _pairs_in_cells,
    _popcount,
    facility_sets,
)
from analysis.blocks import facility_measures, reduce_blocks
from analysis.catchments import TravelTimes
from analysis.verdict import Judgement, Verdict, decide, judge_with, severity_from_meet
from analysis.verdict_set import VerdictRule, province_classes, removal_cost, select_verdict

__all__ = ["equivalent_groups_from_sets", "judge_blocks", "meet_and_overlaps", "set_removal_blocks"]

Blocks = Callable[[], Iterable[TravelTimes]]


def _only(blocks: Iterable[TravelTimes], keep: np.ndarray) -> Iterator[TravelTimes]:
    """The blocks' pairs of the facilities in ``keep`` (boolean per facility)."""
    for tt in blocks:
        m = keep[tt.fac]
        yield TravelTimes(tt.fac[m], tt.cell[m], tt.time_s[m], tt.n_fac, tt.n_cells, tt.limit_s)


def set_removal_blocks(
    blocks: Iterable[TravelTimes],
    people: np.ndarray,
    *,
    base: np.ndarray,
    removed: np.ndarray,
    threshold_s: float,
) -> tuple[float, float, float]:
    """``verdict_set.set_removal`` from the blocks: the nearest time per cell before and after
    the removal are minima, merged exactly over the blocks."""
    base = np.asarray(base, bool)
    stay_fac = ~np.asarray(removed, bool)
    p = np.asarray(people, np.float64)
    before = np.full(p.size, np.inf)
    after = np.full(p.size, np.inf)
    for tt in blocks:
        keep = base[tt.fac] & (tt.time_s <= threshold_s)
        fac, cell, t = tt.fac[keep], tt.cell[keep], tt.time_s[keep]
        np.minimum.at(before, cell, t)
        stay = stay_fac[fac]
        np.minimum.at(after, cell[stay], t[stay])
    return removal_cost(before, after, p)


def meet_and_overlaps(
    sets: np.ndarray, weight: np.ndarray, n_fac: int, *, budget: int = 1 << 18
) -> tuple[np.ndarray, np.ndarray]:
    """From the cells' facility sets: ``overlap`` (n_fac x n_fac, i < j) the weight of the cells
    both reach, added in ascending cell order, and ``meet`` (symmetric) where two facilities
    share a cell, with i, i where i reaches one (cells without weight count)."""
    w = np.asarray(weight, np.float64)
    acc = np.zeros(n_fac * n_fac)
    meet = np.zeros(n_fac * n_fac, bool)
    cells = np.flatnonzero((sets != 0).any(axis=0))
    k = _popcount(sets[:, cells])
    for lo, hi in _cell_chunks(k * (k + 1) // 2, budget):
        c = cells[lo:hi]
        r, m = _members(sets, c, n_fac)
        meet[m * n_fac + m] = True
        rc, a, b = _pairs(r, m)
        np.add.at(acc, a * n_fac + b, w[c[rc]])
        meet[a * n_fac + b] = True
    sq = meet.reshape(n_fac, n_fac)
    return acc.reshape(n_fac, n_fac), sq | sq.T


def _pairs(r: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _pairs_in_cells(r, m) if r.size else (r, m, m)


def equivalent_groups_from_sets(
    overlap: np.ndarray,
    meet: np.ndarray,
    cov: np.ndarray,
    *,
    base: np.ndarray,
    equivalent_share: float,
) -> np.ndarray:
    """``verdict_set.equivalent_groups`` from :func:`meet_and_overlaps` of the existing
    facilities' sets and their coverage in the weight (added in descending cell order)."""
    n = cov.size
    i, j = np.nonzero(np.triu(meet, k=1))
    o = overlap[i, j]
    denom = np.minimum(cov[i], cov[j])
    share = np.divide(o, denom, out=np.zeros_like(o), where=denom > 0)
    eq = share >= equivalent_share
    adj = sp.csr_matrix((np.ones(int(eq.sum())), (i[eq], j[eq])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return np.where(base & (cov > 0), labels, -1).astype(np.int64)


def _catchments(
    blocks: Iterable[TravelTimes],
    weight: np.ndarray,
    *,
    threshold_s: float,
    base: np.ndarray,
    candidates: np.ndarray,
    prov: np.ndarray,
) -> tuple[np.ndarray, dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """One pass: the existing facilities' coverage summed in descending cell order (as
    ``diags(base) @ within`` then ``@ weight`` does), the candidates' cells, and the merged
    (province class, cell) counts of the existing facilities (keys, counts)."""
    n_fac = base.size
    cov = np.zeros(n_fac)
    rows: dict[int, np.ndarray] = {}
    keys = np.zeros(0, np.int64)
    counts = np.zeros(0, np.int64)
    for tt in blocks:
        m = tt.time_s <= threshold_s
        f, c = tt.fac[m], tt.cell[m]
        for i in np.unique(f[candidates[f]]):
            rows[int(i)] = c[f == i]
        mb = base[f]
        fb, cb = f[mb][::-1], c[mb][::-1]
        cov += np.bincount(fb, weights=weight[cb], minlength=n_fac)  # one block per facility
        k, n = np.unique(prov[fb] * tt.n_cells + cb, return_counts=True)
        keys, inv = np.unique(np.concatenate([keys, k]), return_inverse=True)
        counts = np.bincount(inv, weights=np.concatenate([counts, n]), minlength=keys.size)
        counts = counts.astype(np.int64)
    return cov, rows, keys, counts


def _joint_blocks(  # noqa: PLR0913 (the joint rule's inputs, keyword-only)
    blocks: Blocks,
    weight: np.ndarray,
    count: np.ndarray,
    *,
    threshold_s: float,
    sets_meet: tuple[np.ndarray, np.ndarray],
    candidates: np.ndarray,
    base: np.ndarray,
    severity: np.ndarray,
    size: np.ndarray,
    ids: np.ndarray,
    fac_prov: np.ndarray,
    rule: VerdictRule,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """``verdict_set.joint_verdict`` from the blocks."""
    n_cells = weight.size
    prov, n_prov = province_classes(fac_prov)
    cand = np.asarray(candidates, bool) & base
    cov, rows, keys, counts = _catchments(
        blocks(), weight, threshold_s=threshold_s, base=base, candidates=cand, prov=prov
    )
    count_prov = sp.csr_matrix(
        (counts.astype(np.int32), (keys // n_cells, keys % n_cells)),
        shape=(n_prov + 1, n_cells),
    )
    count_prov.sort_indices()
    overlap, meet = sets_meet
    group = equivalent_groups_from_sets(
        overlap, meet, cov, base=base, equivalent_share=rule.equivalent_share
    )
    return select_verdict(
        lambda i: rows[i],
        weight,
        count=count.astype(np.int64),
        count_prov=count_prov,
        group=group,
        candidates=cand,
        base=base,
        severity=severity,
        size=size,
        ids=ids,
        fac_prov=fac_prov,
        rule=rule,
    )


def _verdict_at_blocks(  # noqa: PLR0913 (the verdict's inputs at one sensitivity variant)
    blocks: Blocks,
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
    n_fac, n_cells = base.size, weight.size
    params: dict[str, Any] = {"base": base, "demand": weight, "fac_prov": fac_prov}
    red = reduce_blocks(
        blocks(), n_fac=n_fac, n_cells=n_cells, breaks_s=(threshold_s,), n_prov=n_prov, **params
    )
    [cov] = facility_measures(blocks(), red, **params)
    sets = facility_sets(
        _only(blocks(), base), threshold_s=threshold_s, n_fac=n_fac, n_cells=n_cells
    )
    overlap, meet = meet_and_overlaps(sets, weight, n_fac)
    del sets

    def pool_severity() -> np.ndarray:
        m = sp.csr_matrix(meet.astype(np.float64))
        return severity_from_meet(m, pool, base=base)  # type: ignore[arg-type]

    joint = partial(
        _joint_blocks,
        blocks,
        weight,
        red.count[0],
        threshold_s=threshold_s,
        sets_meet=(overlap, meet),
    )
    return decide(
        cov,
        pool_severity,
        joint,
        fac_prov=fac_prov,
        base=base,
        size=size,
        ids=ids,
        rule=rule,
        pool=pool,
        exempt=exempt,
    )


def judge_blocks(  # noqa: PLR0913 (judge's inputs, keyword-only)
    blocks: Blocks,
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
    """``analysis.verdict.judge`` with the travel times given as ``blocks()`` (a new pass over
    the facility blocks each call, e.g. ``lambda: split_blocks(tt)`` or the kernel's blocks):
    equal to the whole-array judgement."""
    base = np.asarray(base, bool)
    w = np.asarray(weight, np.float64)
    at = partial(
        _verdict_at_blocks,
        blocks,
        w,
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
        lambda removed: set_removal_blocks(
            blocks(), people, base=base, removed=removed, threshold_s=threshold_s
        ),
        threshold_s=threshold_s,
        variants_s=variants_s,
    )
