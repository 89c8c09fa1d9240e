"""The group aggregates (``analysis.aggregate.aggregate_measures``) from facility blocks, equal
to the whole-array ones to the last bit, without every (facility, cell) pair at once.

Every measure of a group g reads of the pairs, per cell c, only two facts (the existing
facilities, ``base``, within the threshold T): ``own(g, c)``, some facility of g reaches c, and
``outside(g, c)``, some facility not of g reaches c (a facility in no group is outside every
group). Both are bit sets over the groups, one row of ``ceil(G / 64)`` 64-bit words per cell,
merged over the blocks by OR (:class:`GroupBits`: each pair ORs its facility's membership mask
and that mask's complement into its cell's rows; O(pairs) per block, exact). At 100 m cells
(27.9 M cells, about 110 groups: 2 words) that is 2 x 2 x 8 bytes per cell, 900 MB, in place
of a (groups x cells) sparse count matrix of hundreds of millions of entries re-added per block.

:func:`aggregate_from_bits` then adds the people per group and per pair of groups in compiled
loops over the cells, in the order the reference's sparse products add them (its matrix-vector
products over ascending cells, its matrix-matrix products of the pairs table over descending
cells; every product is by 1.0, exact), so the frames are its bits. A group's minimal cover
reads the pattern of its own existing facilities on its own cells, rebuilt from the cells'
facility sets (``analysis.block_sets.facility_sets``): the same boolean matrix as the pairs'
sub-matrix, so the covering step reduces and solves the same problem.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.aggregate import _counts_frame, _member_of, _min_covers, _pairs_frame
from analysis.catchments import TravelTimes
from analysis.cell_sets import CellSets
from analysis.covering import Reduced

__all__ = [
    "GroupBits",
    "aggregate_from_bits",
    "aggregate_measures_blocks",
    "group_bits",
    "group_masks",
    "sub_from_sets",
]


def group_masks(membership: np.ndarray) -> np.ndarray:
    """(n_areas + 1, words) uint64: the groups of each finest area as bits (group g: bit g % 64
    of word g // 64); the last row is empty, so ``group_masks(m)[index]`` with index -1 (in no
    area) reads no group."""
    n_groups, n_areas = membership.shape
    words = max(1, -(-n_groups // 64))
    bits = np.zeros((n_areas + 1, 64 * words), bool)
    bits[:n_areas, :n_groups] = np.asarray(membership, bool).T
    packed = np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)
    return np.ascontiguousarray(packed)


class GroupBits:
    """:func:`group_bits` as one consumer of a pass (``add`` each block, then ``result``).

    A cell's ``own`` and ``out`` words lie side by side in one (n_cells, 2 x words) array, so
    a pair touches one cache line."""

    def __init__(
        self,
        fac_area: np.ndarray,
        membership: np.ndarray,
        *,
        threshold_s: float,
        base: np.ndarray,
        n_cells: int,
    ) -> None:
        masks = group_masks(membership)
        own = masks[np.asarray(fac_area, np.int64)]
        out = ~own & group_masks(np.ones((membership.shape[0], 1), bool))[0]
        self.mask = np.ascontiguousarray(np.hstack([own, out]))  # (n_fac, 2 x words)
        self.t, self.base, self.words = threshold_s, np.asarray(base, bool), masks.shape[1]
        self.bits = np.zeros((n_cells, 2 * self.words), np.uint64)

    def add(self, tt: TravelTimes) -> None:
        _or_pairs(tt.fac, tt.cell, tt.time_s, self.t, self.base, self.mask, self.bits)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return self.bits[:, : self.words], self.bits[:, self.words :]


@numba.njit(cache=True, nogil=True)
def _or_pairs(
    fac: np.ndarray,
    cell: np.ndarray,
    time_s: np.ndarray,
    threshold_s: float,
    base: np.ndarray,
    mask: np.ndarray,
    bits: np.ndarray,
) -> None:
    """OR each existing facility's groups (and the others) into its cells' rows."""
    for p in range(fac.size):
        f = fac[p]
        if time_s[p] <= threshold_s and base[f]:
            c = cell[p]
            for w in range(bits.shape[1]):
                bits[c, w] |= mask[f, w]


def group_bits(
    blocks: Iterable[TravelTimes],
    fac_area: np.ndarray,
    membership: np.ndarray,
    *,
    threshold_s: float,
    base: np.ndarray,
    n_cells: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(n_cells, words) uint64 ``own`` and ``outside``: bit g of a cell's row is set where an
    existing facility of group g (resp. not of g) lies within ``threshold_s``, over the blocks."""
    acc = GroupBits(fac_area, membership, threshold_s=threshold_s, base=base, n_cells=n_cells)
    for tt in blocks:
        acc.add(tt)
    return acc.result()


def reduced_from_sets(
    sets: CellSets, mine: np.ndarray, cells: np.ndarray
) -> Callable[[np.ndarray], Reduced]:
    """For the people of ``cells``: the covering input (``covering.Reduced``) of facilities
    ``mine`` on ``cells``, the same as ``reduce_coverage`` of :func:`sub_from_sets`, built from
    the cells' lists (one compiled pass over the cells, no (cell, facility) pairs)."""
    from analysis.cell_sets_kernel import local_bits
    from analysis.covering import reduced_from_bits, unique_rows

    local = np.full(max(sets.n_fac, 1), -1, np.int64)
    local[mine] = np.arange(mine.size)
    bits = local_bits(sets.indptr, sets.members, np.asarray(cells, np.int64), local,
                      max(1, (mine.size + 63) // 64))  # fmt: skip
    reached = np.flatnonzero((bits != 0).any(axis=1))
    # the distinct rows of every reached cell, sorted once: those of any subset of the cells
    # are the rows its cells use, in the same (lexicographic) order, so each call of a group
    # (its own cover, then given the outside) only picks them
    uniq, inv = unique_rows(bits[reached])

    def reduced(people: np.ndarray) -> Reduced:
        on = np.asarray(people)[reached] > 0
        keep = reached[on]
        if keep.size == 0:
            rows = sp.csr_matrix((0, mine.size), dtype=bool)
            return Reduced(rows, np.zeros(0), np.full(cells.size, -1, np.int64))
        mine_inv = inv[on]
        hit = np.zeros(len(uniq), bool)
        hit[mine_inv] = True  # the rows these cells use, renumbered in their order: O(cells)
        renumber = np.cumsum(hit) - 1
        return reduced_from_bits(uniq[hit], keep, people, cells.size, mine.size,
                                 inverse=renumber[mine_inv])  # fmt: skip

    return reduced


def sub_from_sets(sets: CellSets, mine: np.ndarray, cells: np.ndarray) -> sp.csr_matrix:
    """Boolean (mine x cells): facility ``mine[k]`` within the sets' threshold of ``cells[j]``,
    from the cells' facility sets (the pairs' sub-matrix ``within[mine][:, cells]``)."""
    r, m = sets.members_of(np.asarray(cells))
    local = np.full(max(sets.n_fac, 1), -1, np.int64)
    local[mine] = np.arange(mine.size)
    k = local[m] >= 0
    return sp.csr_matrix(
        (np.ones(int(k.sum()), bool), (local[m[k]], r[k])), shape=(mine.size, cells.size)
    )


# the lowest set bit of a word by de Bruijn multiplication (numba has no count-trailing-zeros)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_BIT_OF = np.zeros(64, np.int64)
for _b in range(64):
    _BIT_OF[((1 << _b) * 0x03F79D71B4CB0A89 & (2**64 - 1)) >> 58] = _b


@numba.njit(cache=True, nogil=True)
def _bits(row: np.ndarray, idx: np.ndarray, bit_of: np.ndarray) -> int:
    """Write the set bits of ``row`` (words) into ``idx`` in ascending order; return how many."""
    n = 0
    for w in range(row.size):
        x = row[w]
        while x != 0:
            low = x & (~x + np.uint64(1))
            idx[n] = 64 * w + bit_of[(low * _DEBRUIJN) >> np.uint64(58)]
            n += 1
            x ^= low
    return n


@numba.njit(cache=True, nogil=True)
def _group_sums(
    own: np.ndarray,
    out: np.ndarray,
    d: np.ndarray,
    cell_area: np.ndarray,
    area_masks: np.ndarray,
    bit_of: np.ndarray,
    sums: np.ndarray,
) -> None:
    """Per group (rows of ``sums``), over the cells in ascending order (the reference's
    matrix-vector products): people, people_covered, covered_by_own, covered_by_outside,
    covered_only_by_outside, duplicated_with_outside (columns)."""
    n_words = own.shape[1]
    idx = np.empty(64 * n_words, np.int64)
    for c in range(own.shape[0]):
        x = d[c]
        a = cell_area[c]
        cin = area_masks[a if a >= 0 else area_masks.shape[0] - 1]
        covered = False  # any existing facility: then every group's bit is in own or out
        for w in range(n_words):
            covered |= (own[c, w] | out[c, w]) != 0
        for j in range(_bits(cin, idx, bit_of)):
            g = idx[j]
            o = (own[c, g >> 6] >> np.uint64(g & 63)) & np.uint64(1)
            u = (out[c, g >> 6] >> np.uint64(g & 63)) & np.uint64(1)
            sums[g, 0] += x
            if covered:
                sums[g, 1] += x
            if o:
                sums[g, 2] += x
            if u:
                sums[g, 3] += x
                if not o:
                    sums[g, 4] += x
        if covered:
            for w in range(n_words):  # own & out, as bits
                y = own[c, w] & out[c, w]
                while y != 0:
                    low = y & (~y + np.uint64(1))
                    sums[64 * w + bit_of[(low * _DEBRUIJN) >> np.uint64(58)], 5] += x
                    y ^= low


@numba.njit(cache=True, nogil=True)
def _pair_sums(
    own: np.ndarray,
    d: np.ndarray,
    cell_area: np.ndarray,
    area_masks: np.ndarray,
    grouping: np.ndarray,
    bit_of: np.ndarray,
    served: np.ndarray,
    dup: np.ndarray,
) -> None:
    """``served[A, B]`` (cells of A reached by B) and ``dup[A, B]`` (cells reached by A and B,
    A != B) for A, B of one grouping, over the cells in descending order (the reference's
    matrix-matrix products list a row's cells so); cells without people or not reached by any
    group add nothing."""
    n_words = own.shape[1]
    ia = np.empty(64 * n_words, np.int64)
    ib = np.empty(64 * n_words, np.int64)
    for c in range(own.shape[0] - 1, -1, -1):
        x = d[c]
        nb = _bits(own[c], ib, bit_of)
        if x == 0.0 or nb == 0:
            continue
        a = cell_area[c]
        na = _bits(area_masks[a if a >= 0 else area_masks.shape[0] - 1], ia, bit_of)
        for i in range(na):
            for j in range(nb):
                if grouping[ia[i]] == grouping[ib[j]]:
                    served[ia[i], ib[j]] += x
        for i in range(nb):
            for j in range(nb):
                if i != j and grouping[ib[i]] == grouping[ib[j]]:
                    dup[ib[i], ib[j]] += x


def aggregate_from_bits(  # noqa: PLR0913 (the merged bits and the call's inputs)
    own: np.ndarray,
    out: np.ndarray,
    sub_of: Callable[[np.ndarray, np.ndarray], Any],
    demand: np.ndarray,
    *,
    cell_area: np.ndarray,
    fac_area: np.ndarray,
    status: np.ndarray,
    base: np.ndarray,
    flag: np.ndarray,
    groups: pd.DataFrame,
    membership: np.ndarray,
    time_limit_s: float = 30.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`analysis.aggregate.aggregate_measures` from the cells' group bits (``own``,
    ``out``: :func:`group_bits`) and ``sub_of(mine, cells)``: the (mine x cells) boolean matrix
    of the pairs within the threshold, or a function of the cells' people giving its covering
    input (:func:`reduced_from_sets`; a group's minimal cover). Equal to it to the last bit.

    ``outside`` of the reference is defined on a group's cells and the cells it covers only; the
    measures read it there only (covered_by_outside and covered_only_by_outside on g's cells,
    duplicated_with_outside on the cells g covers, the given-outside cover on g's cells), where
    it is ``out``. Memory: the two bit arrays (2 x words x 8 bytes per cell), the (G x G) pair
    sums, and one group's cells at a time for the covers."""
    d = np.asarray(demand, np.float64)
    base = np.asarray(base, bool)
    cell_area = np.asarray(cell_area, np.int64)
    fac_in = _member_of(np.asarray(fac_area), membership)  # (G, fac): small
    area_masks = group_masks(membership)
    n_groups = membership.shape[0]
    sums = np.zeros((n_groups, 6))
    _group_sums(own, out, d, cell_area, area_masks, _BIT_OF, sums)
    measures = _counts_frame(groups, fac_in, status=status, flag=flag)
    names = ["people", "people_covered", "covered_by_own", "covered_by_outside"]
    names += ["covered_only_by_outside", "duplicated_with_outside"]
    for k, name in enumerate(names):
        measures[name] = sums[:, k]
    by_area: list[np.ndarray] = []  # the cells of each area (ascending), sorted once when needed

    def cells_of(g: int) -> np.ndarray:
        if not by_area:
            order = np.argsort(cell_area, kind="stable")
            cuts = np.searchsorted(cell_area[order], np.arange(membership.shape[1] + 1))
            by_area.extend(order[lo:hi] for lo, hi in itertools.pairwise(cuts))
        parts = [by_area[k] for k in np.flatnonzero(membership[g])]
        return np.sort(np.concatenate(parts), kind="stable") if parts else np.zeros(0, np.int64)

    measures["min_cover_own"], measures["min_cover_given_outside"] = _min_covers(
        fac_in,
        base,
        d,
        cells_of=cells_of,
        outside_on=lambda g, cells: (
            ((out[cells, g // 64] >> np.uint64(g % 64)) & np.uint64(1)) != 0
        ),
        sub_of=sub_of,
        time_limit_s=time_limit_s,
    )
    grouping = pd.factorize(groups["grouping"].to_numpy())[0].astype(np.int64)
    served, dup = np.zeros((n_groups, n_groups)), np.zeros((n_groups, n_groups))
    _pair_sums(own, d, cell_area, area_masks, grouping, _BIT_OF, served, dup)
    return measures, _pairs_frame(groups, served, dup)


def aggregate_measures_blocks(  # noqa: PLR0913 (the merged inputs and the call's keywords)
    blocks: Iterable[TravelTimes] | tuple[np.ndarray, np.ndarray],
    sets: CellSets,
    demand: np.ndarray,
    *,
    threshold_s: float,
    cell_area: np.ndarray,
    fac_area: np.ndarray,
    status: np.ndarray,
    base: np.ndarray,
    flag: np.ndarray,
    groups: pd.DataFrame,
    membership: np.ndarray,
    time_limit_s: float = 30.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``aggregate_measures`` at ``threshold_s`` from the blocks and the cells' facility sets at
    that threshold (``facility_sets``). ``blocks`` may instead be the merged :func:`group_bits`
    (read in a pass shared with other measures: :class:`GroupBits`)."""
    d = np.asarray(demand, np.float64)
    if isinstance(blocks, tuple):
        own, out = blocks
    else:
        own, out = group_bits(
            blocks, fac_area, membership, threshold_s=threshold_s, base=base, n_cells=d.size
        )
    return aggregate_from_bits(
        own,
        out,
        lambda mine, cells: reduced_from_sets(sets, mine, cells),
        d,
        cell_area=cell_area,
        fac_area=fac_area,
        status=status,
        base=base,
        flag=flag,
        groups=groups,
        membership=membership,
        time_limit_s=time_limit_s,
    )
