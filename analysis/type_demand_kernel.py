"""The compiled (numba) half of ``analysis.type_demand_passes.type_demand_blocks``: one loop over a
block's pairs per pass, O(pairs) with no temporaries of the block's size.

The arithmetic is :func:`analysis.type_demand.decay_weights`' and ``huff_shares`` / ``e2sfca``'s,
operation for operation, and every sum is formed in the same order (a ``bincount`` or
``np.add.at`` adds pair by pair in the pairs' order; a facility's per-block sum starts from 0 and
is then added to the running total, as ``total += bincount(block)`` does), so the columns are
bit-identical to the whole-array ones:

- pass 1 (:func:`huff_totals`): per cell, ``Σ_j A_j w_jc`` over the facilities within the
  cut-off that compete and take a positive weight;
- pass 2 (:func:`huff_demand`): per facility, ``Σ_c (A_i w_ic / total_c) × demand_c`` and, for
  E2SFCA (``labour``), the pool ``Σ_c demand_c × w_ic`` over every pair within the cut-off.
"""

from __future__ import annotations

import numba
import numpy as np

#: decay codes (``DemandSpec.decay``)
POWER, EXPONENTIAL, STEPS = 0, 1, 2
#: pairs whose weights are computed before their scatter (two arrays of it stay in L1/L2)
CHUNK = 2048


def _decay(
    time_s: float, code: int, beta: float, min_min: float, edges: np.ndarray, weights: np.ndarray
) -> float:
    """``decay_weights`` of one time (seconds): ``power``, ``exponential`` or ``steps`` (the
    weight of the first edge at or above the time, ``searchsorted(side='left')``)."""
    t = time_s / 60.0
    if code == POWER:
        return float(max(t, min_min) ** (-beta))
    if code == EXPONENTIAL:
        return float(np.exp(-beta * t))
    k = 0
    while k < edges.size and edges[k] < t:
        k += 1
    return float(weights[k])


def decay_all(
    time_s: np.ndarray, code: int, beta: float, min_min: float, edges: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """:func:`_decay` of every time: the one definition of the decay that the whole-array
    columns (``type_demand.decay_weights``) and the passes share (NumPy's own vectorised
    ``power`` may differ from the C library's by an ulp)."""
    out = np.empty(time_s.size)
    for j in range(time_s.size):
        out[j] = _decay(time_s[j], code, beta, min_min, edges, weights)
    return out


def _weights(  # noqa: PLR0913 (numba kernel: flat arrays and scalars)
    lo: int, hi: int, fac: np.ndarray, time_s: np.ndarray, attract: np.ndarray,
    active: np.ndarray, cutoff_s: float, code: int, beta: float, min_min: float,
    edges: np.ndarray, weights: np.ndarray, dec: np.ndarray, w: np.ndarray,
) -> None:  # fmt: skip
    """Pairs ``lo:hi``: the decay weight (``dec``, -1: out of the cut-off or not competing)
    and ``A_i w_ic`` (``w``)."""
    for j in range(lo, hi):
        f = fac[j]
        if time_s[j] <= cutoff_s and active[f]:
            d = _decay(time_s[j], code, beta, min_min, edges, weights)
            dec[j - lo], w[j - lo] = d, attract[f] * d
        else:
            dec[j - lo], w[j - lo] = -1.0, 0.0


def huff_totals(  # noqa: PLR0913 (numba kernel: flat arrays and scalars)
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, attract: np.ndarray,
    active: np.ndarray, cutoff_s: float, code: int, beta: float, min_min: float,
    edges: np.ndarray, weights: np.ndarray, total: np.ndarray,
) -> None:  # fmt: skip
    """Pass 1: add each pair's ``A_i w_ic`` (> 0, within the cut-off, competing) to its cell's
    ``total`` in pair order. The weights of a chunk of pairs first, then its scatter: a loop
    without calls, whose cache misses on the grid overlap."""
    dec, w = np.empty(CHUNK), np.empty(CHUNK)
    for lo in range(0, fac.size, CHUNK):
        hi = min(fac.size, lo + CHUNK)
        _weights(lo, hi, fac, time_s, attract, active, cutoff_s, code, beta, min_min, edges,
                 weights, dec, w)  # fmt: skip
        for j in range(lo, hi):
            if w[j - lo] > 0:
                total[cell[j]] += w[j - lo]


def huff_demand(  # noqa: PLR0913 (numba kernel: flat arrays and scalars)
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, attract: np.ndarray,
    active: np.ndarray, cutoff_s: float, code: int, beta: float, min_min: float,
    edges: np.ndarray, weights: np.ndarray, total: np.ndarray, cell_demand: np.ndarray,
    labour: bool, demand: np.ndarray, pooled: np.ndarray,
) -> None:  # fmt: skip
    """Pass 2: the block's shares of each cell's demand per facility, and (``labour``) the
    E2SFCA pool, each summed from 0 over the block in pair order, then added to ``demand`` /
    ``pooled`` (as ``demand += bincount(block)``); chunked as :func:`huff_totals`."""
    n = demand.size
    dem = np.zeros(n)
    pool = np.zeros(n)
    dec, w = np.empty(CHUNK), np.empty(CHUNK)
    for lo in range(0, fac.size, CHUNK):
        hi = min(fac.size, lo + CHUNK)
        _weights(lo, hi, fac, time_s, attract, active, cutoff_s, code, beta, min_min, edges,
                 weights, dec, w)  # fmt: skip
        for j in range(lo, hi):
            if dec[j - lo] < 0:
                continue
            f, c = fac[j], cell[j]
            if w[j - lo] > 0:
                dem[f] += (w[j - lo] / total[c]) * cell_demand[c]
            if labour:
                pool[f] += cell_demand[c] * dec[j - lo]
    for i in range(n):
        demand[i] += dem[i]
    if labour:
        for i in range(n):
            pooled[i] += pool[i]


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_decay = _jit(_decay)
decay_all = _jit(decay_all)
_weights = _jit(_weights)
huff_totals = _jit(huff_totals)
huff_demand = _jit(huff_demand)
