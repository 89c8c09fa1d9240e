"""A raster of the demand grid held as its populated cells (issue 19: no dense grid per type),
read a window of rows at a time by ``maps.rasters`` and ``maps.html_several``. It depends on
nothing else of the project, so ``analysis.results`` can name it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SparseRaster:
    """A raster of the grid held as its cells (row-major order) and one value each; every other
    cell is ``nodata``. Read a window of rows with :meth:`window` (a dense grid of the window
    only), or the whole grid with ``np.asarray`` (small grids and tests only)."""

    shape: tuple[int, int]
    row: np.ndarray
    col: np.ndarray
    values: np.ndarray
    nodata: float

    @classmethod
    def of_cells(
        cls,
        shape: tuple[int, int],
        row: np.ndarray,
        col: np.ndarray,
        values: np.ndarray,
        nodata: float,
        dtype: type = np.float32,
    ) -> SparseRaster:
        """The raster of ``values`` on cells (``row``, ``col``); a cell given twice keeps its last
        value (as a dense scatter does)."""
        rows, cols = int(shape[0]), int(shape[1])
        if _row_major(np.asarray(row), np.asarray(col), cols):
            # already row-major and unique (a demand grid's cells): the cells are shared with
            # the caller, not copied (every type's two rasters would otherwise hold a copy each)
            vals_all: np.ndarray = np.asarray(values).astype(dtype)
            return cls((rows, cols), np.asarray(row), np.asarray(col), vals_all, nodata)
        flat = np.asarray(row, np.int64) * cols + np.asarray(col, np.int64)
        order = np.argsort(flat, kind="stable")
        fs = flat[order]
        last = np.ones(fs.size, bool)
        last[:-1] = fs[1:] != fs[:-1]
        keep = order[last]
        vals: np.ndarray = np.asarray(values).astype(dtype)[keep]
        return cls((rows, cols), np.asarray(row)[keep], np.asarray(col)[keep], vals, nodata)

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    def window(self, r0: int, r1: int) -> np.ndarray:
        """Rows ``r0``..``r1`` (exclusive) of the dense raster."""
        out: np.ndarray = np.full((r1 - r0, self.shape[1]), self.nodata, dtype=self.dtype)
        # rows are sorted (row-major order); the bounds in the rows' dtype, else numpy casts the
        # whole row array to int64 on every call (5x the cost of the window at 100 m)
        dt = self.row.dtype
        fits = dt.kind in "iu" and r1 <= np.iinfo(dt).max
        a, b = np.searchsorted(self.row, np.array((r0, r1), dtype=dt if fits else np.int64))
        out[self.row[a:b] - r0, self.col[a:b]] = self.values[a:b]
        return out

    def values_at(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """The raster's value on cells (``row``, ``col``) (``nodata`` off its cells)."""
        cols = self.shape[1]
        have = self.row.astype(np.int64) * cols + self.col
        want = np.asarray(row, np.int64) * cols + np.asarray(col, np.int64)
        at = np.minimum(np.searchsorted(have, want), max(have.size - 1, 0))
        hit = have[at] == want if have.size else np.zeros(want.size, bool)
        out = np.full(want.size, self.nodata, dtype=self.dtype)
        out[hit] = self.values[at[hit]]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.window(0, self.shape[0])
        return dense if dtype is None else dense.astype(dtype)


def _row_major(row: np.ndarray, col: np.ndarray, cols: int, step: int = 1 << 22) -> bool:
    """Whether the cells are in row-major order, each once, checked a slice at a time (no
    int64 index of every cell: at 100 m four such arrays were 850 MB at a type's peak)."""
    prev = -1
    for a in range(0, row.size, step):
        f = row[a : a + step].astype(np.int64) * cols + col[a : a + step]
        if f[0] <= prev or not bool(np.all(f[1:] > f[:-1])):
            return False
        prev = int(f[-1])
    return True
