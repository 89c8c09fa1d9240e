"""The catchment step's hand-over: a type's (facility, cell, time) pairs as facility blocks,
never concatenated into one array (issue 19).

:func:`kernel_store` solves the kernel's blocks (``threads`` at a time) and keeps each block as
it comes, in facility order. Blocks are held in memory until they add up to ``spill_bytes``;
from then on every block is written to a temporary folder (NumPy ``.npy`` files, the exact
arrays: not Parquet, which would add a dependency for no gain here) and read back one block
at a time by every pass (:meth:`BlockStore.blocks`). The measures read the pairs only through
such passes (``analysis.blocks``, ``block_sets``, ``block_measures``, ``verdict_blocks``,
``aggregate_blocks``, ``type_demand``), so with spilling the process holds the grid, the
kernel's inputs, ``threads`` blocks and the reduced sets, not every pair. The folder is removed
when the store is closed or collected.

``spill_bytes`` defaults to ``INFRA_OVERLAP_SPILL_MB`` (MiB; 1024 when unset): the 1 km
default run stays in memory (its pairs are a few hundred MB), a 100 m run spills.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from analysis.catchments import Access, TravelTimes
from analysis.network import Graph

__all__ = ["BlockStore", "blocks_of", "kernel_store", "spill_bytes_default"]

#: facilities per kernel block at most (as ``analysis.blocks.DEFAULT_BLOCK``)
PER_BLOCK = 32


def spill_bytes_default() -> int:
    """Bytes of pairs held in memory before blocks go to disk (``INFRA_OVERLAP_SPILL_MB``)."""
    raw = os.environ.get("INFRA_OVERLAP_SPILL_MB", "1024")
    try:
        return int(float(raw) * 2**20)
    except ValueError:
        raise ValueError(f"INFRA_OVERLAP_SPILL_MB must be a number of MiB, got {raw!r}") from None


class BlockStore:
    """A type's pairs as blocks in facility order (see the module docstring)."""

    def __init__(self, n_fac: int, n_cells: int, limit_s: float, spill_bytes: int) -> None:
        self.n_fac, self.n_cells, self.limit_s = n_fac, n_cells, limit_s
        self.spill_bytes = spill_bytes
        self.n_pairs = 0
        self._held: list[TravelTimes | int] = []  # a block, or the number of a spilled one
        self._bytes = 0
        self._dir: Path | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def add(self, tt: TravelTimes) -> None:
        """Append the next block (facility order)."""
        self.n_pairs += int(tt.fac.size)
        size = tt.fac.nbytes + tt.cell.nbytes + tt.time_s.nbytes
        if self._bytes + size <= self.spill_bytes:
            self._held.append(tt)
            self._bytes += size
            return
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="infra-overlap-blocks-"))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        k = len(self._held)
        for name in ("fac", "cell", "time_s"):
            np.save(self._dir / f"{k}_{name}.npy", getattr(tt, name))
        self._held.append(k)

    @property
    def spilled(self) -> bool:
        return self._dir is not None

    def blocks(self) -> Iterator[TravelTimes]:
        """One pass over the blocks, in facility order (a spilled block is read when reached)."""
        for item in self._held:
            if isinstance(item, TravelTimes):
                yield item
                continue
            assert self._dir is not None
            f, c, t = (np.load(self._dir / f"{item}_{n}.npy") for n in ("fac", "cell", "time_s"))
            yield TravelTimes(f, c, t, self.n_fac, self.n_cells, self.limit_s)

    def to_travel_times(self) -> TravelTimes:
        """Every pair in one long-form result (tests and small cases: this holds them all)."""
        parts = list(self.blocks())
        if not parts:
            z = np.zeros(0, np.int64)
            return TravelTimes(z, z, np.zeros(0), self.n_fac, self.n_cells, self.limit_s)
        return TravelTimes(
            np.concatenate([p.fac for p in parts]),
            np.concatenate([p.cell for p in parts]),
            np.concatenate([p.time_s for p in parts]),
            self.n_fac,
            self.n_cells,
            self.limit_s,
        )

    def close(self) -> None:
        """Remove the spilled blocks now."""
        if self._finalizer is not None:
            self._finalizer()
        self._held = []


def blocks_of(tt: TravelTimes | BlockStore) -> Iterator[TravelTimes]:
    """One pass over the blocks of a store, or of a whole long-form result (32 facilities each)."""
    if isinstance(tt, BlockStore):
        return tt.blocks()
    from analysis.blocks import split_blocks

    return split_blocks(tt)


def kernel_store(
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    threads: int | None = None,
    spill_bytes: int | None = None,
) -> BlockStore:
    """The kernel's pairs (``kernel.travel_times``' blocks) in a :class:`BlockStore`: at most
    ``PER_BLOCK`` facilities per block, ``threads`` blocks solved at a time."""
    from analysis import kernel

    ki = kernel.prepare(graph, facilities, cells, limit_s=limit_s)
    threads = threads or kernel.default_threads()
    n_ok = ki.fac_ok.size
    bounds = kernel.block_bounds(n_ok, max(threads * 8, -(-n_ok // PER_BLOCK)))
    spans = [(int(a), int(z)) for a, z in itertools.pairwise(bounds) if z > a]
    store = BlockStore(
        ki.n_fac, ki.n_cells, limit_s, spill_bytes_default() if spill_bytes is None else spill_bytes
    )
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for lo in range(0, len(spans), threads):
            batch = spans[lo : lo + threads]
            for part in pool.map(lambda s: kernel.run_block(ki, *s), batch):
                store.add(part)
    return store
