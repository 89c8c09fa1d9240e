"""The compiled (numba) half of ``analysis.block_sets``: folding every pair of members of each
cell's bit set over the cells (pairwise overlaps, province matrices), without expanding the
(cell, a, b) triples into arrays.

Each output entry is added in the order the numpy version (``np.add.at`` over the expanded
triples, chunk by chunk) adds it: the cells in the order given, a cell's members ascending, so
the sums are equal to the last bit; the cost is one pass over the cells and O(k^2) additions per
cell of k members, with no temporaries the size of the triples.
"""

from __future__ import annotations

import numba
import numpy as np

_U1 = np.uint64(1)


def _members_of(sets: np.ndarray, c: int, out: np.ndarray) -> int:
    """The members (set bits, ascending) of column ``c`` of ``sets`` into ``out``; their count."""
    k = 0
    for w in range(sets.shape[0]):
        x = sets[w, c]
        base = w * 64
        while x != 0:
            low = x & (~x + _U1)  # lowest set bit
            b = 0
            y = low
            if y & np.uint64(0xFFFFFFFF) == 0:
                b += 32
                y >>= np.uint64(32)
            if y & np.uint64(0xFFFF) == 0:
                b += 16
                y >>= np.uint64(16)
            if y & np.uint64(0xFF) == 0:
                b += 8
                y >>= np.uint64(8)
            if y & np.uint64(0xF) == 0:
                b += 4
                y >>= np.uint64(4)
            if y & np.uint64(0x3) == 0:
                b += 2
                y >>= np.uint64(2)
            if y & np.uint64(0x1) == 0:
                b += 1
            out[k] = base + b
            k += 1
            x ^= low
    return k


def overlap_fold(sets: np.ndarray, cells: np.ndarray, d: np.ndarray, n: int) -> np.ndarray:
    """(n, n) float64: entry [a, b] (a < b) the sum of ``d[c]`` over ``cells`` (in that order)
    whose set holds both a and b."""
    acc = np.zeros((n, n))
    buf = np.empty(64 * sets.shape[0], np.int64)
    for j in range(cells.size):
        c = cells[j]
        k = _members_of(sets, c, buf)
        v = d[c]
        for x in range(k):
            a = buf[x]
            for y in range(x + 1, k):
                acc[a, buf[y]] += v
    return acc


def meet_fold(
    sets: np.ndarray, cells: np.ndarray, w: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`overlap_fold` (``w`` the weight) and ``meet``: [a, b] set where a cell's set
    holds both a and b (a < b), [a, a] where one holds a."""
    acc = np.zeros((n, n))
    meet = np.zeros((n, n), np.bool_)
    buf = np.empty(64 * sets.shape[0], np.int64)
    for j in range(cells.size):
        c = cells[j]
        k = _members_of(sets, c, buf)
        v = w[c]
        for x in range(k):
            a = buf[x]
            meet[a, a] = True
            for y in range(x + 1, k):
                acc[a, buf[y]] += v
                meet[a, buf[y]] = True
    return acc, meet


def local_bits(sets: np.ndarray, cells: np.ndarray, local: np.ndarray, n_words: int) -> np.ndarray:
    """(cells, n_words) uint64: the sets of ``cells`` renumbered by ``local`` (a member's new
    index, -1: left out), e.g. a group's own facilities on its own cells."""
    out = np.zeros((cells.size, n_words), np.uint64)
    buf = np.empty(64 * sets.shape[0], np.int64)
    for j in range(cells.size):
        k = _members_of(sets, cells[j], buf)
        for x in range(k):
            loc = local[buf[x]]
            if loc >= 0:
                out[j, loc // 64] |= _U1 << np.uint64(loc % 64)
    return out


def province_fold(
    sets: np.ndarray, cells: np.ndarray, d: np.ndarray, cell_prov: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over ``cells`` in order: ``served[A, B]`` += d of a cell of A whose set holds B;
    ``dup[a, b]`` and ``dup[b, a]`` += d of a cell whose set holds a < b; ``covered[A]`` += d
    of a cell of A whose set holds another area than A."""
    served = np.zeros((n, n))
    dup = np.zeros((n, n))
    covered = np.zeros(n)
    buf = np.empty(64 * sets.shape[0], np.int64)
    for j in range(cells.size):
        c = cells[j]
        k = _members_of(sets, c, buf)
        v = d[c]
        home = cell_prov[c]
        if home >= 0:
            own = 0
            for x in range(k):
                served[home, buf[x]] += v
                if buf[x] == home:
                    own = 1
            if k - own > 0:
                covered[home] += v
        for x in range(k):
            a = buf[x]
            for y in range(x + 1, k):
                b = buf[y]
                dup[a, b] += v
                dup[b, a] += v
    return served, dup, covered


_members_of = numba.njit(cache=True, nogil=True)(_members_of)
overlap_fold = numba.njit(cache=True, nogil=True)(overlap_fold)
meet_fold = numba.njit(cache=True, nogil=True)(meet_fold)
local_bits = numba.njit(cache=True, nogil=True)(local_bits)
province_fold = numba.njit(cache=True, nogil=True)(province_fold)
