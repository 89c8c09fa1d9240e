"""The compiled (numba) half of the per-cell reductions of a pass (``analysis.blocks``,
``analysis.block_sets``): one loop over a block's pairs scattering straight into the grid-sized
accumulators, O(pairs) per block with no temporaries of the block's size (issue 19).

Every result equals the numpy path it replaced (``blocks.block_reduction`` + ``merge_into``,
the ``np.bincount`` / ``np.bitwise_or.at`` of ``Measures`` and ``block_sets``) to the last bit:

- counts and bit sets are integers (order free);
- the nearest two keep, per cell, the first two of the existing facilities' pairs ordered by
  (time, facility), -1 / inf where none: ``blocks._before``, one pair at a time;
- the float sums per facility are ``np.bincount``'s: each block's sum starts from 0.0 and adds
  the pairs in pair order, and is then added to the accumulator (as ``merge_into`` adds a
  partial and ``Measures`` a bincount), the weights being ``demand * condition`` as there.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


def _before(ta: float, fa: int, tb: float, fb: int) -> bool:
    """(ta, fa) comes before (tb, fb): ``blocks._before`` for one pair."""
    # bitwise, not short-circuit: no branch on the (random) times
    return (ta < tb) | ((ta == tb) & (fa < fb) & (fa >= 0)) | ((fb < 0) & (fa >= 0))


def _place(
    c: int, f: int, t: float, f1: np.ndarray, t1: np.ndarray, f2: np.ndarray, t2: np.ndarray
) -> None:
    """Place the pair (f, c, t) among cell c's nearest two if it comes before either."""
    a1, s1, a2, s2 = f1[c], t1[c], f2[c], t2[c]
    first = _before(t, f, s1, a1)
    second = _before(t, f, s2, a2)
    # selects, written every time: no branch on the (random) times
    f1[c] = f if first else a1
    t1[c] = t if first else s1
    f2[c] = a1 if first else (f if second else a2)
    t2[c] = s1 if first else (t if second else s2)


def reduce_pairs(  # noqa: PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    fac: np.ndarray,
    cell: np.ndarray,
    time_s: np.ndarray,
    breaks_s: np.ndarray,
    base: np.ndarray,
    demand: np.ndarray,
    fac_prov: np.ndarray,
    count: np.ndarray,
    prov_bits: np.ndarray,
    f1: np.ndarray,
    t1: np.ndarray,
    f2: np.ndarray,
    t2: np.ndarray,
    coverage: np.ndarray,
) -> None:
    """Add one block's pairs to a ``blocks.CellReduction``'s arrays in place: ``count[k, c]``,
    ``prov_bits[k, w, c]`` and the nearest two (``f1`` empty: none) from the existing (``base``)
    facilities' pairs, ``coverage[k, i]`` from every pair within ``breaks_s[k]``."""
    nb, n_fac = breaks_s.size, coverage.shape[1]
    nearest = f1.size > 0
    local = np.zeros((nb, n_fac))
    seen = np.zeros(n_fac, np.bool_)
    for i in range(fac.size):
        f, c, t = fac[i], cell[i], time_s[i]
        seen[f] = True
        for k in range(nb):
            if t <= breaks_s[k]:
                local[k, f] += demand[c]
        if not base[f]:
            continue
        p = fac_prov[f]
        # selects, not branches, on the (random) times
        bit = np.uint64(1) << np.uint64(p % 64) if p >= 0 else np.uint64(0)
        w = p // 64 if p >= 0 else 0
        for k in range(nb):
            inside = t <= breaks_s[k]
            count[k, c] += 1 if inside else 0
            prov_bits[k, w, c] |= bit if inside else np.uint64(0)
        if nearest:
            _place(c, f, t, f1, t1, f2, t2)
    for f in range(n_fac):
        if seen[f]:
            for k in range(nb):
                coverage[k, f] += local[k, f]


def measure_pairs(  # noqa: PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    fac: np.ndarray,
    cell: np.ndarray,
    time_s: np.ndarray,
    breaks_s: np.ndarray,
    base: np.ndarray,
    demand: np.ndarray,
    fac_prov: np.ndarray,
    count: np.ndarray,
    prov_bits: np.ndarray,
    unique: np.ndarray,
    other: np.ndarray,
) -> None:
    """Add one block's unique and other-province demand per facility (``blocks.Measures``)
    against the merged ``count`` and ``prov_bits``: a pair of an existing facility counts when
    no other reaches its cell (count 1), of a planned one when none does (count 0); other
    province when an existing facility located outside the pair's facility's province reaches
    the cell."""
    nb, n_fac, n_words = breaks_s.size, unique.shape[1], prov_bits.shape[1]
    u = np.zeros((nb, n_fac))
    o = np.zeros((nb, n_fac))
    for i in range(fac.size):
        f, c, t = fac[i], cell[i], time_s[i]
        want = 1 if base[f] else 0
        p = fac_prov[f]
        for k in range(nb):
            if t > breaks_s[k]:
                continue
            u[k, f] += demand[c] * (1.0 if count[k, c] == want else 0.0)
            elsewhere = False
            for w in range(n_words):
                bits = prov_bits[k, w, c]
                if p >= 0 and p // 64 == w:
                    bits &= ~(np.uint64(1) << np.uint64(p % 64))
                if bits != 0:
                    elsewhere = True
                    break
            o[k, f] += demand[c] * (1.0 if elsewhere else 0.0)
    for k in range(nb):
        for f in range(n_fac):
            unique[k, f] += u[k, f]
            other[k, f] += o[k, f]


def or_pairs(
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, threshold_s: float,
    member: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """Set bit ``m % 64`` of word ``m // 64`` of ``out[:, c]`` for every pair (f, c) within
    ``threshold_s`` whose facility's member ``m = member[f]`` is not negative (``block_sets``:
    the province of an existing facility, or the facility itself)."""
    for i in range(fac.size):
        m = member[fac[i]]
        if m >= 0 and time_s[i] <= threshold_s:
            out[m // 64, cell[i]] |= np.uint64(1) << np.uint64(m % 64)


_before = _jit(_before)
_place = _jit(_place)
reduce_pairs = _jit(reduce_pairs)
measure_pairs = _jit(measure_pairs)
or_pairs = _jit(or_pairs)
