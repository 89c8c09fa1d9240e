"""The per-cell reductions of a pass, one block at a time (issue 19): ms per block and the
temporaries of ``add`` for ``blocks.Reduction`` (3 breaks, 34 provinces), ``blocks.Measures``,
``block_sets.ProvinceBits`` and ``cell_sets.FacilitySets`` (150 facilities; its count and its fill).

The block is the size the passes read at 100 m: 8 Mi pairs over 32 facilities of a grid of
27.9 M cells, sorted by (facility, cell), times uniform below the 180 min limit, int64 facility
/ int64 cell / float64 time as ``BlockStore.blocks()`` yields them. Each facility reaches a
random 1/8 of a window of 2 Mi cells somewhere in the grid (overlapping windows: counts above
one, several provinces per cell). The accumulators (grid arrays) are made once; ``add`` is
timed ``--reps`` times (the first call, which compiles or loads the numba kernels, is left
out) and its peak of new memory (tracemalloc: numpy's allocations) measured once apart.

    .venv/bin/python bench/reduce_bench.py
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import blocks
from analysis.block_sets import ProvinceBits
from analysis.catchments import TravelTimes
from analysis.cell_sets import FacilitySets

N_CELLS = 27_900_000
N_PAIRS = 8 * 2**20
N_BLOCK_FAC = 32
N_FAC = 150
FIRST_FAC = 100  # the block's facilities 100..131: words 1 and 2 of the facility sets
LIMIT_S = 180 * 60.0
BREAKS_S = (60 * 60.0, 120 * 60.0, 180 * 60.0)
N_PROV = 34
WINDOW = 2**21


def synthetic_block(seed: int = 0) -> tuple[TravelTimes, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    per = N_PAIRS // N_BLOCK_FAC
    cells = []
    for _ in range(N_BLOCK_FAC):
        lo = int(rng.integers(0, N_CELLS - WINDOW))
        keep = np.flatnonzero(rng.random(WINDOW) < per / WINDOW * 1.05)[:per]
        cells.append(lo + keep)
    fac = np.repeat(np.arange(FIRST_FAC, FIRST_FAC + N_BLOCK_FAC, dtype=np.int64), per)
    cell = np.concatenate(cells).astype(np.int64)
    fac, cell = fac[: cell.size], cell  # the odd facility may fall a few pairs short
    time_s = rng.uniform(0.0, LIMIT_S, cell.size)
    tt = TravelTimes(fac, cell, time_s, N_FAC, N_CELLS, LIMIT_S)
    base = rng.random(N_FAC) < 0.75
    fac_prov = rng.integers(-1, N_PROV, N_FAC)
    demand = rng.gamma(1.5, 20.0, N_CELLS)
    return tt, {"base": base, "demand": demand, "fac_prov": fac_prov}


def consumers(tt: TravelTimes, p: dict[str, Any]) -> dict[str, Any]:
    red = blocks.Reduction(n_fac=N_FAC, n_cells=N_CELLS, breaks_s=BREAKS_S, n_prov=N_PROV, **p)
    red.add(tt)
    return {
        "Reduction": red,
        "Measures": blocks.Measures(red.result(), **p),
        "ProvinceBits": ProvinceBits(
            threshold_s=BREAKS_S[1], base=p["base"], fac_prov=p["fac_prov"], n_prov=N_PROV
        ),
        "FacilitySets": FacilitySets(threshold_s=BREAKS_S[1], n_fac=N_FAC, n_cells=N_CELLS),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    tt, p = synthetic_block()
    print(f"block: {tt.fac.size:,} pairs, {N_BLOCK_FAC} facilities, {N_CELLS:,} cells "
          f"(made in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    rows = []
    for name, acc in consumers(tt, p).items():
        acc.add(tt)  # compile / load the kernels; ProvinceBits allocates its grid array
        ms = []
        for _ in range(args.reps):
            t = time.perf_counter()
            acc.add(tt)
            ms.append((time.perf_counter() - t) * 1e3)
        tracemalloc.start()
        acc.add(tt)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append((name, min(ms), float(np.median(ms)), peak / 2**20))
    # the lists' second pass: counted for every fill below, then each fill places one block
    fs = FacilitySets(threshold_s=BREAKS_S[1], n_fac=N_FAC, n_cells=N_CELLS)
    for _ in range(args.reps + 1):
        fs.add(tt)
    fs.start_fill()
    fs.add(tt)  # compile
    ms = []
    for _ in range(args.reps):
        t = time.perf_counter()
        fs.add(tt)
        ms.append((time.perf_counter() - t) * 1e3)
    rows.append(("FacilitySets fill", min(ms), float(np.median(ms)), 0.0))
    print(f"{'consumer':<14} {'min ms':>9} {'median ms':>10} {'ns/pair':>8} {'temp MiB':>9}")
    for name, lo, med, mib in rows:
        print(f"{name:<14} {lo:>9.1f} {med:>10.1f} {lo * 1e6 / tt.fac.size:>8.1f} {mib:>9.1f}")


if __name__ == "__main__":
    main()
