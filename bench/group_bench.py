"""The two consumers of the first shared pass that grew per block (issue 19): the sharing keys
(``analysis.block_measures.SharingKeys``) and the groups' bits (``analysis.aggregate_blocks.
GroupBits``), then the final group aggregate step (``aggregate_from_bits``) on the whole grid.

A synthetic block of the real size: 27,900,000 cells, 8 Mi pairs over 32 facilities sorted by
(facility, cell), times uniform below the limit (int64 fac / int64 cell / float64 time, as
``BlockStore.blocks()`` yields them); three such blocks (facilities 0-95 of 150) are added, the
threshold at half the limit. Areas: 63 finest areas in bands of cells (every 97th cell in none),
grouped as 63 and 34 provinces, 6 regions, 4 key regions and 3 config groups (110 groups, 2
words); the sharing keys in 3 editions (63, 34, 6 areas). The aggregate step's minimal covers
are left out (``sub_of`` gives an empty matrix: the covers are unchanged by this work).

Before (``GroupCounts`` re-adding a scipy groups x cells count matrix, ``SharingKeys`` building
``tt.within`` and a frame per block and edition), same machine and inputs: SharingKeys 8.6 /
13.3 / 28.8 s for blocks 1-3, GroupCounts 6.9 / 6.2 / 10.8 s, the aggregate step from the
counts (35 M nonzeros after three blocks) 127 s, peak RSS 9.3 GB. After (2026-12-07, load
average 5 on the 2 cores): SharingKeys 0.75 s per block, flat; GroupBits 0.26-0.32 s per block
(the first block 3.6 s: it first touches the 850 MB of bits), ``aggregate_from_bits`` 11.2 s
(of which the two cell loops ~3 s, the rest the covers' inputs per group), peak RSS 3.4 GB.

    .venv/bin/python bench/group_bench.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.aggregate_blocks import GroupBits, aggregate_from_bits
from analysis.block_measures import SharingKeys
from analysis.catchments import TravelTimes

N_CELLS, N_PAIRS, PER, N_FAC, LIMIT_S = 27_900_000, 8 * 2**20, 32, 150, 3_600.0


def main() -> None:
    rng = np.random.default_rng(0)

    def block(k: int) -> TravelTimes:
        fac = np.repeat(np.arange(k * PER, (k + 1) * PER, dtype=np.int64), N_PAIRS // PER)
        cell = np.concatenate(
            [np.sort(rng.choice(N_CELLS, N_PAIRS // PER, replace=False)) for _ in range(PER)]
        ).astype(np.int64)
        return TravelTimes(fac, cell, rng.uniform(0, LIMIT_S, fac.size), N_FAC, N_CELLS, LIMIT_S)

    area = (np.arange(N_CELLS) * 63 // N_CELLS).astype(np.int64)
    area[::97] = -1
    p34, r6 = np.arange(63) * 34 // 63, np.arange(63) * 6 // 63
    member = [np.arange(63) == k for k in range(63)] + [p34 == k for k in range(34)]
    member += [r6 == k for k in range(6)]
    member += [np.isin(np.arange(63), rng.choice(63, 8, replace=False)) for _ in range(7)]
    membership = np.array(member)
    n_groups = len(membership)
    groups = pd.DataFrame(
        {
            "grouping": ["p63"] * 63 + ["p34"] * 34 + ["r6"] * 6 + ["key"] * 4 + ["config"] * 3,
            "group_code": [f"g{k}" for k in range(n_groups)],
            "group_name": [f"g{k}" for k in range(n_groups)],
        }
    )
    fac_area = rng.integers(-1, 63, N_FAC)
    base = rng.random(N_FAC) < 0.8
    d = rng.random(N_CELLS) * 10
    editions = [
        (np.where(area >= 0, of[np.maximum(area, 0)], -1), n)
        for of, n in ((np.arange(63), 63), (p34, 34), (r6, 6))
    ]
    blocks = [block(k) for k in range(3)]
    t = 0.5 * LIMIT_S
    sk = SharingKeys(threshold_s=t, demand=d, editions=editions)
    gb = GroupBits(fac_area, membership, threshold_s=t, base=base, n_cells=N_CELLS)
    b0 = blocks[0]
    warm = TravelTimes(b0.fac[:9], b0.cell[:9] % 10, b0.time_s[:9], N_FAC, 10, LIMIT_S)
    for acc in (
        SharingKeys(threshold_s=t, demand=d, editions=editions),
        GroupBits(fac_area, membership, threshold_s=t, base=base, n_cells=10),
    ):
        acc.add(warm)  # numba compiles (or loads its cache) outside the timings
    rows = []
    for name, acc in (("SharingKeys.add", sk), ("GroupBits.add", gb)):
        for k, b in enumerate(blocks):
            t0 = time.perf_counter()
            acc.add(b)
            rows.append((f"{name} block {k + 1}", (time.perf_counter() - t0) * 1e3))
    t0 = time.perf_counter()
    sk.result()
    rows.append(("SharingKeys.result", (time.perf_counter() - t0) * 1e3))
    own, out = gb.result()
    t0 = time.perf_counter()
    aggregate_from_bits(
        own,
        out,
        lambda mine, cells: sp.csr_matrix((mine.size, cells.size), dtype=bool),
        d,
        cell_area=area,
        fac_area=fac_area,
        status=np.where(base, "operating", "planned"),
        base=base,
        flag=base,
        groups=groups,
        membership=membership,
    )
    rows.append(("aggregate_from_bits (27.9 M cells)", (time.perf_counter() - t0) * 1e3))
    print(f"{'step':<40} {'ms':>10}")
    for name, ms in rows:
        print(f"{name:<40} {ms:>10.0f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB (bits: 2 x {own.nbytes / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
