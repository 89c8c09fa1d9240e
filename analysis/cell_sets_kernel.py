"""The compiled (numba) half of ``analysis.cell_sets``: the facilities within a threshold of
each cell as per-cell lists (CSR: ``indptr`` over the cells, ``members`` ascending within a
cell), counted in one pass over the blocks and filled in the next, and the folds over them.

The folds add each output entry in the order the dense bit-set folds of
``analysis.block_sets_kernel`` did (the cells in the order given, a cell's members ascending),
so the sums are equal to the last bit; a cell of k members costs O(k) to read instead of one
word per 64 facilities of the type.
"""

from __future__ import annotations

import numba
import numpy as np

_U1 = np.uint64(1)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def count_pairs(
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, threshold_s: float,
    member: np.ndarray, count: np.ndarray,
) -> None:  # fmt: skip
    """``count[c] += 1`` for every pair (f, c) within ``threshold_s`` with ``member[f] >= 0``."""
    for i in range(fac.size):
        if member[fac[i]] >= 0 and time_s[i] <= threshold_s:
            count[cell[i]] += 1


def fill_pairs(
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, threshold_s: float,
    member: np.ndarray, indptr: np.ndarray, left: np.ndarray, members: np.ndarray,
) -> int:  # fmt: skip
    """Place the member of every pair counted by :func:`count_pairs` in its cell's slot:
    ``left[c]`` (the cell's count at the start) the slots still free, filled from the front.
    Returns the pairs that found no slot left (not placed: the blocks differ from the count's)."""
    lost = 0
    for i in range(fac.size):
        m = member[fac[i]]
        if m >= 0 and time_s[i] <= threshold_s:
            c = cell[i]
            if left[c] == 0:
                lost += 1
                continue
            members[indptr[c + 1] - left[c]] = m
            left[c] -= 1
    return lost


def sort_segments(indptr: np.ndarray, members: np.ndarray) -> None:
    """Sort each cell's members ascending (an insertion sort: the blocks arrive in facility
    order, so a cell's members are nearly sorted already)."""
    for c in range(indptr.size - 1):
        lo, hi = indptr[c], indptr[c + 1]
        for x in range(lo + 1, hi):
            v = members[x]
            y = x - 1
            while y >= lo and members[y] > v:
                members[y + 1] = members[y]
                y -= 1
            members[y + 1] = v


def transpose(
    indptr: np.ndarray, members: np.ndarray, n_fac: int, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The cells of each facility, ascending (CSR over the facilities); the facilities not
    ``keep`` get none (their cells are not listed: the verdict needs its candidates' only)."""
    t_ptr = np.zeros(n_fac + 1, np.int64)
    for x in range(members.size):
        if keep[members[x]]:
            t_ptr[members[x] + 1] += 1
    for f in range(n_fac):
        t_ptr[f + 1] += t_ptr[f]
    fill = t_ptr[:-1].copy()
    cells = np.empty(t_ptr[n_fac], np.int32)
    for c in range(indptr.size - 1):
        for x in range(indptr[c], indptr[c + 1]):
            f = members[x]
            if keep[f]:
                cells[fill[f]] = c
                fill[f] += 1
    return t_ptr, cells


def member_counts(members: np.ndarray, n_fac: int) -> np.ndarray:
    """The cells of each facility (its pairs in the lists), int64 per facility."""
    out = np.zeros(n_fac, np.int64)
    for x in range(members.size):
        out[members[x]] += 1
    return out


def overlap_fold(indptr: np.ndarray, members: np.ndarray, cells: np.ndarray, d: np.ndarray,
                 n: int) -> np.ndarray:  # fmt: skip
    """(n, n) float64: entry [a, b] (a < b) the sum of ``d[c]`` over ``cells`` (in that order)
    whose list holds both a and b."""
    acc = np.zeros((n, n))
    for j in range(cells.size):
        c = cells[j]
        lo, hi = indptr[c], indptr[c + 1]
        v = d[c]
        for x in range(lo, hi):
            a = members[x]
            for y in range(x + 1, hi):
                acc[a, members[y]] += v
    return acc


def meet_fold(
    indptr: np.ndarray, members: np.ndarray, cells: np.ndarray, w: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`overlap_fold` (``w`` the weight) and ``meet``: [a, b] set where a cell's list
    holds both a and b (a < b), [a, a] where one holds a."""
    acc = np.zeros((n, n))
    meet = np.zeros((n, n), np.bool_)
    for j in range(cells.size):
        c = cells[j]
        lo, hi = indptr[c], indptr[c + 1]
        v = w[c]
        for x in range(lo, hi):
            a = members[x]
            meet[a, a] = True
            for y in range(x + 1, hi):
                acc[a, members[y]] += v
                meet[a, members[y]] = True
    return acc, meet


def local_bits(
    indptr: np.ndarray, members: np.ndarray, cells: np.ndarray, local: np.ndarray, n_words: int
) -> np.ndarray:
    """(cells, n_words) uint64: the lists of ``cells`` renumbered by ``local`` (a member's new
    index, -1: left out) as bit sets, e.g. a group's own facilities on its own cells."""
    out = np.zeros((cells.size, n_words), np.uint64)
    for j in range(cells.size):
        c = cells[j]
        for x in range(indptr[c], indptr[c + 1]):
            loc = local[members[x]]
            if loc >= 0:
                out[j, loc // 64] |= _U1 << np.uint64(loc % 64)
    return out


def hashed(
    indptr: np.ndarray, members: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: a hash of its members with ``keep`` set (in order) and how many there are."""
    n_cells = indptr.size - 1
    h = np.zeros(n_cells, np.uint64)
    k = np.zeros(n_cells, np.int32)
    for c in range(n_cells):
        x = np.uint64(0)
        n = 0
        for p in range(indptr[c], indptr[c + 1]):
            m = members[p]
            if keep[m]:
                x = (x ^ np.uint64(m + 1)) * _MIX + np.uint64(n + 1)
                n += 1
        h[c] = x ^ np.uint64(n)
        k[c] = n
    return h, k


def same_kept(
    indptr: np.ndarray, members: np.ndarray, keep: np.ndarray, cells: np.ndarray, rep: np.ndarray
) -> bool:
    """Whether every cell ``cells[j]`` keeps exactly the members its representative ``rep[j]``
    keeps (the check behind a shared hash)."""
    for j in range(cells.size):
        a, b = cells[j], rep[j]
        if a == b:
            continue
        pa, pb = indptr[a], indptr[b]
        ea, eb = indptr[a + 1], indptr[b + 1]
        while True:
            while pa < ea and not keep[members[pa]]:
                pa += 1
            while pb < eb and not keep[members[pb]]:
                pb += 1
            if pa == ea or pb == eb:
                if pa != ea or pb != eb:
                    return False
                break
            if members[pa] != members[pb]:
                return False
            pa += 1
            pb += 1
    return True


def kept_bits(
    indptr: np.ndarray, members: np.ndarray, keep: np.ndarray, cells: np.ndarray, n_words: int
) -> np.ndarray:
    """(cells, n_words) uint64: the kept members of ``cells`` as bit sets over the facilities."""
    out = np.zeros((cells.size, n_words), np.uint64)
    for j in range(cells.size):
        c = cells[j]
        for x in range(indptr[c], indptr[c + 1]):
            m = members[x]
            if keep[m]:
                out[j, m // 64] |= _U1 << np.uint64(m % 64)
    return out


_jit = numba.njit(cache=True, nogil=True)
count_pairs = _jit(count_pairs)
fill_pairs = _jit(fill_pairs)
sort_segments = _jit(sort_segments)
transpose = _jit(transpose)
member_counts = _jit(member_counts)
overlap_fold = _jit(overlap_fold)
meet_fold = _jit(meet_fold)
local_bits = _jit(local_bits)
hashed = _jit(hashed)
same_kept = _jit(same_kept)
kept_bits = _jit(kept_bits)
