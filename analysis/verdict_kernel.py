"""The compiled (numba) half of the verdict's pass consumers (``analysis.verdict_blocks``):
one loop over a block's pairs each, O(pairs), into arrays held across the blocks.

- :func:`catchments_add` (``Catchments``): the existing facilities' coverage in the weight,
  each facility's sum formed from 0 over the block's pairs in reverse order (as ``bincount``
  over the reversed pairs: ``diags(base) @ within`` lists a row's cells in reverse) and then
  added to the running total; and the (province class, cell) counts, kept per cell as a short
  chain of (class, count) entries (a cell is reached by few provinces), so a block costs its
  pairs, not a sort of every key merged so far. :func:`chain_csr` lists them once at the
  end, by class then cell, as a CSR matrix (classes x cells).
- :func:`removal_add` (``Removal``): the nearest time per cell before and after the removal
  (minima: exact in any order).
"""

from __future__ import annotations

import numba
import numpy as np


def catchments_add(  # noqa: PLR0913 (numba kernel: flat arrays and scalars)
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, threshold_s: float,
    base: np.ndarray, weight: np.ndarray, prov: np.ndarray, cov: np.ndarray,
    head: np.ndarray, nxt: np.ndarray, cls: np.ndarray, cnt: np.ndarray, used: int,
) -> int:  # fmt: skip
    """Add a block to ``cov`` and to the cells' (class, count) chains (``head`` per cell, -1:
    none; entries ``nxt``/``cls``/``cnt`` with room for ``used`` + the block's pairs);
    returns the entries used."""
    local = np.zeros(cov.size)
    for j in range(fac.size - 1, -1, -1):
        f = fac[j]
        if time_s[j] <= threshold_s and base[f]:
            c = cell[j]
            local[f] += weight[c]
            k = prov[f]
            e = head[c]
            while e >= 0 and cls[e] != k:
                e = nxt[e]
            if e >= 0:
                cnt[e] += 1
            else:
                cls[used], cnt[used], nxt[used] = k, 1, head[c]
                head[c] = used
                used += 1
    for i in range(cov.size):
        cov[i] += local[i]
    return used


def chain_csr(
    head: np.ndarray, nxt: np.ndarray, cls: np.ndarray, cnt: np.ndarray, used: int, n_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chains as a CSR matrix (class x cell): ``indptr`` (int64), ``indices`` (the cells,
    ascending within a class) and ``data`` (the counts), both int32 (8 bytes an entry)."""
    n_cells = head.size
    start = np.zeros(n_rows + 1, np.int64)
    for e in range(used):
        start[cls[e] + 1] += 1
    for k in range(n_rows):
        start[k + 1] += start[k]
    indptr = start.copy()
    indices = np.empty(used, np.int32)
    data = np.empty(used, np.int32)
    for c in range(n_cells):
        e = head[c]
        while e >= 0:
            p = start[cls[e]]
            indices[p] = c
            data[p] = cnt[e]
            start[cls[e]] = p + 1
            e = nxt[e]
    return indptr, indices, data


def removal_add(
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, threshold_s: float,
    base: np.ndarray, stay: np.ndarray, before: np.ndarray, after: np.ndarray,
) -> None:  # fmt: skip
    """The nearest time per cell of the existing facilities (``before``) and of those that
    stay (``after``), within the threshold."""
    for j in range(fac.size):
        f = fac[j]
        t = time_s[j]
        if base[f] and t <= threshold_s:
            c = cell[j]
            if t < before[c]:
                before[c] = t
            if stay[f] and t < after[c]:
                after[c] = t


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
catchments_add = _jit(catchments_add)
chain_csr = _jit(chain_csr)
removal_add = _jit(removal_add)
