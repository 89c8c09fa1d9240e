"""The compiled (numba) half of ``analysis.block_sets``' province matrices: folding every pair
of areas of each cell's bit set over the cells, without expanding the (cell, a, b) triples into
arrays (the facilities' sets are per-cell lists: ``analysis.cell_sets_kernel``).

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


def _fold_cell(
    served: np.ndarray,
    dup: np.ndarray,
    covered: np.ndarray,
    buf: np.ndarray,
    k: int,
    v: float,
    home: int,
) -> None:
    """One cell of :func:`province_fold`: its ``k`` areas (``buf``, ascending), its people
    ``v`` and its own area ``home`` (-1: none)."""
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
        _fold_cell(served, dup, covered, buf, k, d[c], cell_prov[c])
    return served, dup, covered


def _areas_of(
    indptr: np.ndarray,
    members: np.ndarray,
    member_area: np.ndarray,
    c: int,
    seen: np.ndarray,
    buf: np.ndarray,
) -> int:
    """The distinct areas (``member_area`` >= 0) of cell ``c``'s members into ``buf``,
    ascending (as a bit set lists them); their count. ``seen`` is all False again on return."""
    k = 0
    for x in range(indptr[c], indptr[c + 1]):
        a = member_area[members[x]]
        if a >= 0 and not seen[a]:
            seen[a] = True
            buf[k] = a
            k += 1
    for x in range(1, k):  # insertion sort: a cell's areas are few
        a = buf[x]
        y = x - 1
        while y >= 0 and buf[y] > a:
            buf[y + 1] = buf[y]
            y -= 1
        buf[y + 1] = a
    for x in range(k):
        seen[buf[x]] = False
    return k


def province_fold_lists(
    indptr: np.ndarray,
    members: np.ndarray,
    member_area: np.ndarray,
    d: np.ndarray,
    cell_prov: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`province_fold` from the cells' facility lists: a cell's set is the areas
    (``member_area``, -1: none) of its members, distinct and ascending, as the bits give them;
    the cells whose set is not empty are taken in ascending order, as ``flatnonzero`` of the
    bits gives them, so every sum is equal to the last bit."""
    served = np.zeros((n, n))
    dup = np.zeros((n, n))
    covered = np.zeros(n)
    seen = np.zeros(n, np.bool_)
    buf = np.empty(n, np.int64)
    for c in range(indptr.size - 1):
        k = _areas_of(indptr, members, member_area, c, seen, buf)
        if k > 0:
            _fold_cell(served, dup, covered, buf, k, d[c], cell_prov[c])
    return served, dup, covered


_members_of = numba.njit(cache=True, nogil=True)(_members_of)
_fold_cell = numba.njit(cache=True, nogil=True)(_fold_cell)
_areas_of = numba.njit(cache=True, nogil=True)(_areas_of)
province_fold = numba.njit(cache=True, nogil=True)(province_fold)
province_fold_lists = numba.njit(cache=True, nogil=True)(province_fold_lists)
