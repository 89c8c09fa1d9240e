"""The joint verdict and its sensitivity variants from facility blocks, bit for bit the
whole-array one (``analysis.verdict.judge``), without every (facility, cell) pair at once.

At each threshold (the primary and every variant), from three passes over the blocks shared by
every threshold (:class:`VerdictPasses`; a run shares them with its other measures too):

- the coverage measures in the type's demand (``analysis.blocks.Reduction`` at every threshold
  at once, then ``Measures``, equal to ``overlap.coverage_measures``);
- the existing facilities reaching each cell (``count``); those of a candidate's own province
  class on its cells and the candidate's own catchment are read from the cells' sets (a
  candidate's cells ascending, as its pairs are), so nothing is kept per (province, cell);
- the set of existing facilities within the threshold of each cell (``block_sets``), folded
  over the cells into the pairs' overlaps and the relation "catchments meet": equivalent
  groups and the pool severity. The sparse products of the whole-array code add a pair's
  cells in ascending order and a facility's coverage in descending order (``diags(base) @
  within`` lists a row's cells in reverse); the fold and the sums here use the same orders,
  so the groups and severities are equal to the last bit;
- the set's removal cost from the nearest time per cell before and after (minima over blocks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from analysis import verdict_kernel
from analysis.block_sets import (
    SetSource,
    _words,
    fuse_bytes_default,
)
from analysis.block_store import run_pass
from analysis.blocks import Measures, Reduction
from analysis.catchments import TravelTimes
from analysis.cell_sets import CellSets, FacilitySets
from analysis.verdict import Judgement, Verdict, decide, judge_with, severity_from_meet
from analysis.verdict_set import VerdictRule, removal_cost, select_verdict

__all__ = [
    "Removal",
    "VerdictPasses",
    "equivalent_groups_from_sets",
    "judge_blocks",
    "meet_and_overlaps",
    "set_removal_blocks",
]

Blocks = Callable[[], Iterable[TravelTimes]]


def _feed(blocks: Iterable[TravelTimes], consumers: list[Any]) -> None:
    """One pass: each block to every consumer, in block order (``block_store.run_pass``)."""
    run_pass(blocks, consumers)


class Removal:
    """``verdict_set.set_removal`` as one consumer of a pass: the nearest time per cell before
    and after the removal are minima, merged exactly over the blocks."""

    def __init__(
        self, people: np.ndarray, *, base: np.ndarray, removed: np.ndarray, threshold_s: float
    ) -> None:
        self.base = np.asarray(base, bool)
        self.stay = ~np.asarray(removed, bool)
        self.p = np.asarray(people, np.float64)
        self.t = threshold_s
        self.before = np.full(self.p.size, np.inf)
        self.after = np.full(self.p.size, np.inf)

    def add(self, tt: TravelTimes) -> None:
        verdict_kernel.removal_add(tt.fac, tt.cell, tt.time_s, self.t, self.base, self.stay,
                                   self.before, self.after)  # fmt: skip

    def result(self) -> tuple[float, float, float]:
        return removal_cost(self.before, self.after, self.p)


def set_removal_blocks(
    blocks: Iterable[TravelTimes],
    people: np.ndarray,
    *,
    base: np.ndarray,
    removed: np.ndarray,
    threshold_s: float,
) -> tuple[float, float, float]:
    """``verdict_set.set_removal`` from the blocks (:class:`Removal` over one pass)."""
    acc = Removal(people, base=base, removed=removed, threshold_s=threshold_s)
    _feed(blocks, [acc])
    return acc.result()


def meet_and_overlaps(
    sets: CellSets, weight: np.ndarray, n_fac: int
) -> tuple[np.ndarray, np.ndarray]:
    """From the cells' facility sets: ``overlap`` (n_fac x n_fac, i < j) the weight of the cells
    both reach, added in ascending cell order, and ``meet`` (symmetric) where two facilities
    share a cell, with i, i where i reaches one (cells without weight count); folded over the
    cells by ``analysis.cell_sets_kernel.meet_fold``."""
    from analysis.cell_sets_kernel import meet_fold

    w = np.asarray(weight, np.float64)
    cells = np.flatnonzero(sets.nonempty()).astype(np.int64)
    n = max(n_fac, sets.n_fac, 1)
    acc, meet = meet_fold(sets.indptr, sets.members, cells, w, n)
    sq = meet[:n_fac, :n_fac]
    return np.ascontiguousarray(acc[:n_fac, :n_fac]), sq | sq.T


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


class Catchments:
    """One consumer of a pass at one threshold: the existing facilities' coverage summed in
    descending cell order (as ``diags(base) @ within`` then ``@ weight`` does), each block in
    one compiled loop over its pairs (``analysis.verdict_kernel``). The counts per province
    class and the candidates' own cells are read later from the cells' sets of the existing
    facilities (``verdict_set.select_verdict``): nothing per pair or per cell is held here."""

    def __init__(self, weight: np.ndarray, *, threshold_s: float, base: np.ndarray) -> None:
        self.w, self.t, self.base = np.asarray(weight, np.float64), threshold_s, base
        self.cov = np.zeros(base.size)

    def add(self, tt: TravelTimes) -> None:
        verdict_kernel.coverage_add(tt.fac, tt.cell, tt.time_s, self.t, self.base, self.w,
                                    self.cov)  # fmt: skip


class VerdictPasses:
    """:func:`judge_blocks` as three passes a run can share with its other measures: ``first``
    (the reduction at every threshold in the weight, the catchments, and the existing
    facilities' cells sets through ``sets``), ``second`` (the facility measures against the
    first's counts), then :meth:`decide` (no pass), ``third`` (the primary verdict's removal),
    and :meth:`result`. Each measure is the single-threshold one: equal to the last bit.

    The thresholds whose counts fit in what ``sets`` may still hold (``SetSource.reserve``)
    share the first two passes; any other is reduced in two passes of its own in
    :meth:`decide`, one threshold at a time (a 100 m grid: passes, not memory)."""

    def __init__(
        self,
        people: np.ndarray,
        weight: np.ndarray,
        *,
        threshold_s: float,
        variants_s: tuple[float, ...],
        fac_prov: np.ndarray,
        n_prov: int,
        base: np.ndarray,
        sets: SetSource,
        **rule: Any,
    ) -> None:
        self.people, self.w = people, np.asarray(weight, np.float64)
        self.base = np.asarray(base, bool)
        self.t, self.variants = threshold_s, variants_s
        self.fac_prov, self.rule, self.sets, self.n_prov = fac_prov, rule, sets, n_prov
        ths = tuple(dict.fromkeys([threshold_s, *(v for v in variants_s if v > 0)]))
        # per threshold and cell: the count and the province bits
        per = self.w.size * (4 + 8 * _words(n_prov))
        self.held = tuple(t for t in ths if sets.reserve(per))
        self.alone = tuple(t for t in ths if t not in self.held)
        self.params: dict[str, Any] = {"base": self.base, "demand": self.w, "fac_prov": fac_prov}
        self.red = self._reduction(self.held)
        self.catch = [self._catchments(t) for t in self.held]
        for t in ths:
            sets.want(("verdict", t), t, self.base)
        self.at: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray, Verdict]] = {}

    def _reduction(self, ths: tuple[float, ...]) -> Reduction:
        return Reduction(  # no nearest two: the verdict reads the counts and coverage
            n_fac=self.base.size, n_cells=self.w.size, breaks_s=ths, n_prov=self.n_prov,
            nearest=False, **self.params,
        )  # fmt: skip

    def _catchments(self, t: float) -> Catchments:
        return Catchments(self.w, threshold_s=t, base=self.base)

    def first(self) -> list[Any]:
        return [self.red, *self.catch]

    def second(self) -> list[Any]:
        self.meas = Measures(self.red.result(), **self.params)
        return [self.meas]

    def decide(self, size: np.ndarray | None = None, pool: np.ndarray | None = None) -> None:
        """The flag and the verdict at every threshold (after the second pass); ``size``: the
        tie-breaking sizes when they were not known at the start; ``pool``: the parks' labour
        pool per hectare when it was computed in the same passes."""
        if size is not None:
            self.rule["size"] = size
        if pool is not None:
            self.rule["pool"] = pool
        covs, count = self.meas.result(), self.red.result().count
        for k, t in enumerate(self.held):
            self.at[t] = self._at(covs[k], count[k], self.catch[k], self.sets.get(("verdict", t)))
            self.sets.release(("verdict", t))
        # the held thresholds' grid arrays go before the others' passes (100 m: GBs)
        del covs, count
        self.red = self.meas = None  # type: ignore[assignment]
        self.catch = []
        for t in self.alone:  # two passes each, the threshold's sets read in the first
            red, catch = self._reduction((t,)), self._catchments(t)
            fs = FacilitySets(threshold_s=t, n_fac=self.base.size, n_cells=self.w.size,
                              keep=self.base)  # fmt: skip
            _feed(self.sets.blocks(), [red, catch, fs])
            meas = Measures(red.result(), **self.params)
            fs.start_fill()
            _feed(self.sets.blocks(), [meas, fs])
            self.at[t] = self._at(meas.result()[0], red.result().count[0], catch, fs.result())
            self.sets.release(("verdict", t))
            del red, catch, fs, meas  # one threshold's grid arrays at a time (100 m: GBs)

    def _at(
        self, cov: Any, count: np.ndarray, c: Catchments, sets: CellSets
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Verdict]:
        base, w = self.base, self.w
        overlap, meet = meet_and_overlaps(sets, w, base.size)
        pool = self.rule["pool"]

        def pool_severity() -> np.ndarray:
            m = sp.csr_matrix(meet.astype(np.float64))
            return severity_from_meet(m, pool, base=base)

        def joint(**kw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
            rule = kw["rule"]
            group = equivalent_groups_from_sets(
                overlap, meet, c.cov, base=base, equivalent_share=rule.equivalent_share
            )
            cand = np.asarray(kw.pop("candidates"), bool) & base
            # the candidates' cells only, a few candidates at a time within the budget (at
            # 100 m a transpose is 4 bytes a pair); ``count`` a copy: the selection takes its
            # facilities' cells off
            per = max(self.sets.budget // 4, 1)
            return select_verdict(lambda order: sets.cells_in_order(order, per), w,
                                  count=count.copy(), sets=sets, group=group, candidates=cand,
                                  **kw)  # fmt: skip

        return decide(cov, pool_severity, joint, fac_prov=self.fac_prov, base=base, **self.rule)

    def third(self) -> list[Any]:
        v = self.at[self.t][3]
        self.removal = Removal(self.people, base=self.base, removed=v.verdict, threshold_s=self.t)
        return [self.removal]

    def result(self) -> Judgement:
        return judge_with(
            lambda threshold_s: self.at[threshold_s],
            lambda _removed: self.removal.result(),
            threshold_s=self.t,
            variants_s=self.variants,
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
    equal to the whole-array judgement. Three passes (:class:`VerdictPasses`) while the counts
    and cell sets of every threshold fit in ``INFRA_OVERLAP_FUSE_MB`` (more passes beyond it)."""
    n_cells = np.asarray(weight).size
    sets = SetSource(blocks, np.asarray(base).size, n_cells, fuse_bytes_default())
    vp = VerdictPasses(
        people, weight, threshold_s=threshold_s, variants_s=variants_s, fac_prov=fac_prov,
        n_prov=n_prov, base=base, sets=sets, size=size, ids=ids, rule=rule, pool=pool,
        exempt=exempt,
    )  # fmt: skip
    _feed(blocks(), [*vp.first(), *sets.consumers()])
    _feed(blocks(), [*vp.second(), *sets.fillers()])
    vp.decide()
    _feed(blocks(), vp.third())
    return vp.result()
