"""Bit sets of the cells merged over facility blocks: the provinces (province matrices) and the
facilities (pairwise overlaps, the covering step's input) within a break of every cell, never
the pairs (moved from ``analysis.blocks``, which re-exports these names; see its docstring).

The facilities' sets are per-cell lists (``analysis.cell_sets``); the provinces' are bit sets
(a word holds 64 areas). Province matrices and pairwise overlaps are folded over the cells'
sets (compiled loops over the cells, ``analysis.block_sets_kernel``, ``cell_sets_kernel``), in the order in which the sparse products of
``analysis.overlap`` add the people of the cells two provinces (facilities) share: ascending
cells for the province matrices, descending for the overlaps (scipy's ``csr_matmat`` lists a row's columns in reverse
order of first appearance, and ``within @ diag(d)`` is the overlaps' first product). The sums
are therefore equal to the last bit. The covering input merges cells with the same set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from analysis.block_kernel import or_pairs
from analysis.block_store import run_pass
from analysis.catchments import TravelTimes
from analysis.cell_sets import CellSets, FacilitySets, kept_rows
from analysis.scratch import ScratchArrays


def _words(n_prov: int) -> int:
    return max(1, (n_prov + 63) // 64)


# --------------------------------------------------------------------------- province matrices


class ProvinceBits:
    """:func:`province_bits` as one consumer of a pass (``add`` each block, then ``result``)."""

    def __init__(
        self, *, threshold_s: float, base: np.ndarray, fac_prov: np.ndarray, n_prov: int
    ) -> None:
        self.t, self.n_prov = float(threshold_s), n_prov
        prov = np.asarray(fac_prov, np.int64)
        # the bit of each facility: its province if it exists and is located, else none (-1)
        self.member = np.where(np.asarray(base, bool) & (prov >= 0), prov, -1)
        self.out: np.ndarray | None = None

    def add(self, tt: TravelTimes) -> None:
        if self.out is None:
            self.out = np.zeros((_words(self.n_prov), tt.n_cells), np.uint64)
        or_pairs(tt.fac, tt.cell, tt.time_s, self.t, self.member, self.out)

    def result(self) -> np.ndarray:
        return np.zeros((_words(self.n_prov), 0), np.uint64) if self.out is None else self.out


def province_bits(
    blocks: Iterable[TravelTimes],
    *,
    threshold_s: float,
    base: np.ndarray,
    fac_prov: np.ndarray,
    n_prov: int,
) -> np.ndarray:
    """(words, n_cells) uint64: the provinces of the existing facilities within ``threshold_s``
    of each cell, merged (bitwise or) over the blocks; for another edition's provinces than the
    one of :func:`reduce_blocks`."""
    acc = ProvinceBits(threshold_s=threshold_s, base=base, fac_prov=fac_prov, n_prov=n_prov)
    for tt in blocks:
        acc.add(tt)
    return acc.result()


# --------------------------------------------------------------------------- pairwise overlaps


def fuse_bytes_default(left: int | None = None) -> int:
    """Bytes a type's shared first pass may hold beyond the run's own reduction: the verdict's
    counts per threshold and the cells' sets (``INFRA_OVERLAP_FUSE_MB`` when set, else
    ``left``, the memory the run's budget leaves: ``MemoryBudget.fuse_bytes``, else 512 MiB)."""
    raw = os.environ.get("INFRA_OVERLAP_FUSE_MB")
    if raw is None:
        return 512 * 2**20 if left is None else int(left)
    try:
        return int(float(raw) * 2**20)
    except ValueError:
        raise ValueError(f"INFRA_OVERLAP_FUSE_MB must be a number of MiB, got {raw!r}") from None


class SetSource:
    """The cells' facility sets a type needs, by key. Each is counted in the run's shared first
    pass while its counts (2 bytes a cell) fit in what is left of ``budget`` bytes (after
    :meth:`reserve`), and filled in the shared second pass (:meth:`fillers`) while its lists
    fit; any other is read in passes of its own when asked (:meth:`get`: one if counted, else
    two), so that memory stays bounded at 100 m."""

    def __init__(
        self, blocks: Callable[[], Iterable[TravelTimes]], n_fac: int, n_cells: int, budget: int
    ) -> None:
        self.blocks, self.n_fac, self.n_cells, self.budget = blocks, n_fac, n_cells, budget
        self.used = 0
        self.specs: dict[Any, tuple[float, np.ndarray | None]] = {}
        self.held: dict[Any, FacilitySets] = {}
        self.parked = ScratchArrays("infra-overlap-sets-")

    def reserve(self, nbytes: int) -> bool:
        """Take ``nbytes`` of the budget for another accumulator of the first pass, if left."""
        if self.used + nbytes > self.budget:
            return False
        self.used += nbytes
        return True

    def want(self, key: Any, threshold_s: float, keep: np.ndarray | None = None) -> None:
        self.specs.setdefault(key, (threshold_s, keep))

    def _new(self, key: Any, threshold_s: float | None = None) -> FacilitySets:
        t, keep = self.specs[key] if key in self.specs else (float(threshold_s or 0.0), None)
        return FacilitySets(threshold_s=t, n_fac=self.n_fac, n_cells=self.n_cells, keep=keep)

    def consumers(self) -> list[FacilitySets]:
        """Counting accumulators of the wanted sets whose counts fit (in the order wanted)."""
        size = self.n_cells * (2 if self.n_fac < 2**16 else 4)
        for key in self.specs:
            if not self.reserve(size):
                break
            self.held[key] = self._new(key)
        return list(self.held.values())

    def fillers(self) -> list[FacilitySets]:
        """After the first pass: the counted sets whose lists fit in the budget, ready to be
        filled by the second pass (the others keep their counts: one pass of their own)."""
        out = []
        for acc in self.held.values():
            if acc.members is None and acc.done is None and self.reserve(acc.fill_bytes()):
                acc.start_fill()
                out.append(acc)
        return out

    def park(self, key: Any) -> bool:
        """Move the read sets of ``key`` to disk until :meth:`get` asks for them again, when
        they are larger than a quarter of the budget (at 100 m the primary break's lists, GBs,
        would otherwise stay through the verdict's passes); a reload costs a read of the file,
        not two passes over the blocks. True if parked."""
        acc = self.held.get(key)
        if acc is None or acc.done is None or acc.done.nbytes <= self.budget // 4:
            return False
        self.parked.put(key, indptr=acc.done.indptr, members=acc.done.members)
        del self.held[key]
        return True

    def _unpark(self, key: Any) -> None:
        z = self.parked.take(key)
        acc = self._new(key)
        acc.done = CellSets(z["indptr"], z["members"], self.n_fac)
        self.held[key] = acc

    def get(self, key: Any, threshold_s: float | None = None) -> CellSets:
        """The sets of ``key`` (read now in passes of their own if not held)."""
        if key in self.parked:
            self._unpark(key)
        acc = self.held.get(key) or self._new(key, threshold_s)
        if acc.done is None:  # its own passes, the next block read meanwhile
            if not acc.counted:
                run_pass(self.blocks(), [acc])
            if acc.members is None:
                acc.start_fill()
                run_pass(self.blocks(), [acc])
        return acc.result()

    def release(self, key: Any) -> None:
        self.held.pop(key, None)
        self.parked.drop(key)


def pairwise_overlaps_from_sets(
    sets: CellSets, demand: np.ndarray, coverage: np.ndarray
) -> pd.DataFrame:
    """``analysis.overlap.pairwise_overlaps`` from the cells' facility sets (``facility_sets``)
    without the pairs: every pair of facilities of a cell gets the cell's people, cells in
    descending order (the order of the sparse product's sums, so equal to the last bit;
    folded by ``analysis.cell_sets_kernel.overlap_fold``)."""
    from analysis.cell_sets_kernel import overlap_fold

    n_fac = coverage.size
    d = np.asarray(demand, np.float64)
    # descending: the sparse product's row of (within @ diag(d)) lists a facility's cells in
    # reverse (scipy's csr_matmat gives a row's columns in reverse order of first appearance)
    cells = np.flatnonzero(sets.nonempty() & (d != 0))[::-1].astype(np.int64)
    o = overlap_fold(sets.indptr, sets.members, cells, d, max(n_fac, sets.n_fac, 1))
    o = o[:n_fac, :n_fac]
    i, j = np.nonzero(np.triu(o, k=1) > 0)
    v = o[i, j]
    denom = np.minimum(coverage[i], coverage[j])
    share = np.divide(v, denom, out=np.zeros_like(v), where=denom > 0)
    return pd.DataFrame(
        {"i": i.astype(np.int64), "j": j.astype(np.int64), "overlap": v, "overlap_share": share}
    )


def province_matrices_from_bits(
    bits: np.ndarray, demand: np.ndarray, cell_prov: np.ndarray, n_prov: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``analysis.overlap.province_matrices`` (``served_by``, ``duplicated``,
    ``covered_by_others``) from the cells' province bits (``province_bits``), the people of
    each cell added in ascending cell order as the sparse products do: equal to the last bit."""
    from analysis.block_sets_kernel import province_fold

    d = np.asarray(demand, np.float64)
    cells = np.flatnonzero((bits != 0).any(axis=0))
    # served[A, B]: people in A within reach of B; dup: of both, each order once per cell
    n = max(n_prov, 64 * bits.shape[0])
    cprov = np.asarray(cell_prov, np.int64)
    served, dup, covered = province_fold(np.ascontiguousarray(bits), cells, d, cprov, n)
    # a cell's people count for its area's covered_by_others when another area reaches it
    # (added in ascending cell order, as the bincount over every cell did)
    served, dup, covered = served[:n_prov, :n_prov], dup[:n_prov, :n_prov], covered[:n_prov]
    return np.ascontiguousarray(served), np.ascontiguousarray(dup), covered


def province_matrices_from_lists(
    sets: CellSets,
    demand: np.ndarray,
    cell_prov: np.ndarray,
    n_prov: int,
    *,
    fac_prov: np.ndarray,
    base: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`province_matrices_from_bits` from the cells' facility lists (every facility
    within the break, ``analysis.cell_sets``): a cell's areas are those of its members that
    exist (``base``) and are located (``fac_prov`` >= 0), as :class:`ProvinceBits` sets them;
    the same sums in the same order, equal to the last bit, without a word per cell held
    through the first pass."""
    from analysis.block_sets_kernel import province_fold_lists

    d = np.asarray(demand, np.float64)
    prov = np.asarray(fac_prov, np.int64)
    area = np.full(max(sets.n_fac, prov.size, 1), -1, np.int64)
    area[: prov.size] = np.where(np.asarray(base, bool) & (prov >= 0), prov, -1)
    n = max(n_prov, int(area.max()) + 1, 1)
    cprov = np.asarray(cell_prov, np.int64)
    served, dup, covered = province_fold_lists(sets.indptr, sets.members, area, d, cprov, n)
    served, dup, covered = served[:n_prov, :n_prov], dup[:n_prov, :n_prov], covered[:n_prov]
    return np.ascontiguousarray(served), np.ascontiguousarray(dup), covered


def covering_input(sets: CellSets, demand: np.ndarray, *, candidates: np.ndarray) -> Any:
    """The covering step's input (``analysis.covering.Reduced``: cells with the same covering
    set merged) from the cells' facility sets, equal to ``covering.reduce_coverage`` on the
    pairs: ``candidates`` (boolean) are the facilities that count; cells without people or
    without a candidate are dropped."""
    import scipy.sparse as sp

    from analysis.cell_sets_kernel import hashed
    from analysis.covering import Reduced

    cand = np.asarray(candidates, bool)
    n_fac, n_cells = cand.size, sets.n_cells
    keep = np.zeros(max(n_fac, sets.n_fac, 1), np.bool_)
    keep[:n_fac] = cand
    hashes, n_kept = hashed(sets.indptr, sets.members, keep)  # read once, used twice
    cells = np.flatnonzero((n_kept > 0) & (np.asarray(demand) > 0))
    cell_row = np.full(n_cells, -1, np.int64)
    if cells.size == 0:
        return Reduced(sp.csr_matrix((0, n_fac), dtype=bool), np.zeros(0), cell_row)
    uniq, inverse = kept_rows(sets, keep, cells, hashes)
    weight = np.bincount(inverse, weights=np.asarray(demand, float)[cells], minlength=len(uniq))
    cell_row[cells] = inverse
    raw = np.ascontiguousarray(uniq).view(np.uint8).reshape(len(uniq), -1)
    r, j = np.nonzero(np.unpackbits(raw, axis=1, bitorder="little")[:, :n_fac])
    rows = sp.csr_matrix((np.ones(r.size, bool), (r, j)), shape=(len(uniq), n_fac))
    return Reduced(rows=rows, weight=weight, cell_row=cell_row)
