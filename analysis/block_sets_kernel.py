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
province_fold = numba.njit(cache=True, nogil=True)(province_fold)
