"""A block of a type's (facility, cell, time) pairs as ``analysis.block_store`` keeps it
(held or spilled) and as a Dask worker sends it (``analysis.remote``): compact (12 bytes a
pair), and read by a pass without copies (issue 19)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from analysis.catchments import TravelTimes

__all__ = ["ARRAYS", "PackedBlock", "expand_runs"]

ARRAYS = ("facs", "runs", "cell", "time_s")


@dataclass(frozen=True)
class PackedBlock:
    """A block as stored: the facility column as runs (``facs[k]`` repeated ``runs[k]``
    times), the cells as int32 where they fit, the exact times (4 + 8 bytes per pair instead of
    8 + 8 + 8, plus 8 per facility). A pass reads the cells and times as stored (read-only: the
    store's own arrays) and the facilities expanded in their stored dtype (:meth:`unpack`);
    :meth:`restored` gives the kernel's dtypes."""

    facs: np.ndarray
    runs: np.ndarray
    cell: np.ndarray
    time_s: np.ndarray
    fac_dtype: np.dtype[Any]
    cell_dtype: np.dtype[Any]

    @classmethod
    def of(cls, tt: TravelTimes) -> PackedBlock:
        f = np.asarray(tt.fac)
        first = np.flatnonzero(np.r_[True, f[1:] != f[:-1]]) if f.size else np.zeros(0, np.intp)
        runs = np.diff(np.r_[first, f.size]).astype(np.int32)
        small = tt.n_cells < 2**31 and tt.n_fac < 2**31
        cell = tt.cell.astype(np.int32) if small else tt.cell
        facs = f[first].astype(np.int32) if small else f[first]
        return cls(facs, runs, _frozen(cell), _frozen(tt.time_s), f.dtype, tt.cell.dtype)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, n).nbytes for n in ARRAYS)

    @property
    def n_pairs(self) -> int:
        return int(self.cell.size)

    def unpack(self, n_fac: int, n_cells: int, limit_s: float) -> TravelTimes:
        """The block as a pass reads it: the facility column expanded from its runs, the cells
        and times as stored (int32 cells where they fit: no copy of either; a spilled block's
        arrays are the file's pages, mapped read-only)."""
        return TravelTimes(expand_runs(self.facs, self.runs), self.cell, self.time_s, n_fac,
                           n_cells, limit_s)  # fmt: skip

    def restored(self, n_fac: int, n_cells: int, limit_s: float) -> TravelTimes:
        """The block with the kernel's own dtypes (int64 facilities and cells, copies; the
        times as stored, read-only)."""
        tt = self.unpack(n_fac, n_cells, limit_s)
        return TravelTimes(tt.fac.astype(self.fac_dtype), tt.cell.astype(self.cell_dtype),
                           tt.time_s, n_fac, n_cells, limit_s)  # fmt: skip


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only view: passes share a held block's arrays, none may write into them."""
    v = np.asarray(a).view()
    v.flags.writeable = False
    return v


@numba.njit(cache=True, nogil=True)
def _fill_runs(facs: np.ndarray, runs: np.ndarray, out: np.ndarray) -> None:
    at = 0
    for k in range(facs.size):
        for i in range(at, at + runs[k]):
            out[i] = facs[k]
        at += runs[k]


def expand_runs(facs: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """``np.repeat(facs, runs)`` in ``facs``' dtype, by one compiled fill (np.repeat into
    int64 was a fifth of a 100 m run's reads)."""
    out = np.empty(int(runs.sum(dtype=np.int64)), facs.dtype)
    _fill_runs(facs, runs, out)
    return out
