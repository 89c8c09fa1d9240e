"""The compiled (numba) half of the verdict's pass consumers (``analysis.verdict_blocks``):
one loop over a block's pairs each, O(pairs), into arrays held across the blocks.

- :func:`coverage_add` (``Catchments``): the existing facilities' coverage in the weight,
  each facility's sum formed from 0 over the block's pairs in reverse order (as ``bincount``
  over the reversed pairs: ``diags(base) @ within`` lists a row's cells in reverse) and then
  added to the running total. The (province class, cell) counts the verdict reads are not
  kept per pass: they are counted from the cells' facility sets for a candidate's cells
  (``verdict_set.select_verdict``).
- :func:`removal_add` (``Removal``): the nearest time per cell before and after the removal
  (minima: exact in any order).
"""

from __future__ import annotations

import numba
import numpy as np


def coverage_add(
    fac: np.ndarray, cell: np.ndarray, time_s: np.ndarray, threshold_s: float,
    base: np.ndarray, weight: np.ndarray, cov: np.ndarray,
) -> None:  # fmt: skip
    """Add a block to ``cov``: each existing facility's weight within the threshold, formed
    from 0 over the block's pairs in reverse order, then added to the running total."""
    local = np.zeros(cov.size)
    for j in range(fac.size - 1, -1, -1):
        f = fac[j]
        if time_s[j] <= threshold_s and base[f]:
            local[f] += weight[cell[j]]
    for i in range(cov.size):
        cov[i] += local[i]


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
coverage_add = _jit(coverage_add)
removal_add = _jit(removal_add)
