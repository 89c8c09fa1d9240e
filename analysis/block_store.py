"""The catchment step's hand-over: a type's (facility, cell, time) pairs as facility blocks,
never concatenated into one array (issue 19).

:func:`kernel_store` solves the kernel's blocks (``threads`` at a time) and keeps each block as
it comes, in facility order. Blocks are held in memory until they add up to ``spill_bytes``;
from then on every block is written to a temporary folder (:class:`ScratchArrays`: a NumPy
``.npy`` file an array) and read back one block
at a time by every pass (:meth:`BlockStore.blocks`). The measures read the pairs only through
such passes (``analysis.blocks``, ``block_sets``, ``block_measures``, ``verdict_blocks``,
``aggregate_blocks``, ``type_demand``), so with spilling the process holds the grid, the
kernel's inputs, ``threads`` blocks and the reduced sets, not every pair. The folder is removed
when the store is closed or collected.

``spill_bytes`` defaults to ``INFRA_OVERLAP_SPILL_MB`` (MiB; 1024 when unset): the 1 km
default run stays in memory (its pairs are a few hundred MB), a 100 m run spills.

A block holds at most ``max_pairs`` pairs (``INFRA_OVERLAP_BLOCK_PAIRS``, 8 Mi pairs when unset:
192 MB of pairs as the passes read them), whatever the cell size: whole facilities, a facility
above the cap being its own block. The kernel's facility spans follow the pairs per facility
seen so far (:class:`SpanPlan`), and :meth:`BlockStore.add` cuts what still exceeds the cap, so
a pass holds one bounded block (and its consumers' temporaries), not 32 wide catchments.

Stored pairs are compact: the facility column as runs of one facility, the cells as int32
(where the grid and the facilities count under 2**31), the times as the exact float64: 12
bytes per pair held or spilled instead of 24 (8 + 8 + 8), unpacked to the block's own dtypes
one block at a time when a pass reads it.
``passes`` and ``blocks_read`` count the passes over a store (tests hold the run to a count).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from analysis.catchments import Access, TravelTimes
from analysis.network import Graph
from analysis.packed_block import ARRAYS, PackedBlock
from analysis.scratch import ScratchArrays

__all__ = [
    "BlockStore",
    "SpanPlan",
    "blocks_of",
    "kernel_store",
    "max_pairs_default",
    "pair_cuts",
    "pass_threads",
    "run_pass",
    "spill_bytes_default",
    "split_blocks",
]

#: facilities per kernel block at most (as ``analysis.blocks.DEFAULT_BLOCK``)
PER_BLOCK = 32
#: pairs per block at most when ``INFRA_OVERLAP_BLOCK_PAIRS`` is unset
MAX_BLOCK_PAIRS = 8 * 2**20


def max_pairs_default() -> int:
    """Pairs per block at most (``INFRA_OVERLAP_BLOCK_PAIRS``; :data:`MAX_BLOCK_PAIRS`)."""
    raw = os.environ.get("INFRA_OVERLAP_BLOCK_PAIRS", str(MAX_BLOCK_PAIRS))
    try:
        value = int(float(raw))
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"INFRA_OVERLAP_BLOCK_PAIRS must be a number of pairs >= 1, got {raw!r}")
    return value


def pair_cuts(fac: np.ndarray, max_pairs: int) -> list[tuple[int, int]]:
    """Ranges of a block's pairs (sorted by facility) of whole facilities, each at most
    ``max_pairs`` pairs unless one facility alone has more (then it is a range on its own)."""
    n = int(fac.size)
    if n <= max_pairs:
        return [(0, n)] if n else []
    starts = np.r_[np.flatnonzero(np.diff(fac)) + 1, n]  # where each next facility begins
    out, lo = [], 0
    while lo < n:
        k = int(np.searchsorted(starts, lo + max_pairs, side="right")) - 1
        if k < 0 or starts[k] <= lo:  # one facility above the cap: a range of its own
            k = int(np.searchsorted(starts, lo, side="right"))
        hi = int(starts[k])
        out.append((lo, hi))
        lo = hi
    return out


class SpanPlan:
    """The kernel's facility spans [a, z) in order, sized so a span's pairs stay near
    ``max_pairs``: at most ``per_block`` facilities, at least one, and as many as the cap
    allows at the highest mean pairs per facility of the spans seen so far (a single facility
    per span until one is seen). ``starts`` (sorted) restricts the cuts (whole units)."""

    def __init__(
        self,
        n: int,
        *,
        max_pairs: int,
        per_block: int = PER_BLOCK,
        starts: np.ndarray | None = None,
    ) -> None:
        self.n, self.max_pairs, self.per_block = n, max_pairs, max(1, per_block)
        self.starts = None if starts is None else np.r_[np.asarray(starts, np.int64), n]
        self.lo = 0
        self.rate = 0.0  # the highest pairs per facility of a solved span

    def seen(self, n_fac: int, n_pairs: int) -> None:
        """A solved span of ``n_fac`` facilities gave ``n_pairs`` pairs."""
        if n_fac > 0:
            self.rate = max(self.rate, n_pairs / n_fac)

    def size(self) -> int:
        """Facilities of the next span."""
        if self.rate <= 0:
            return 1
        return int(min(self.per_block, max(1, self.max_pairs // max(1.0, self.rate))))

    def take(self, k: int) -> list[tuple[int, int]]:
        """The next ``k`` spans at most (fewer at the end)."""
        out: list[tuple[int, int]] = []
        while len(out) < k and self.lo < self.n:
            hi = min(self.n, self.lo + self.size())
            if self.starts is not None:  # move the cut forward to the next allowed one
                hi = int(self.starts[np.searchsorted(self.starts, hi)])
            out.append((self.lo, hi))
            self.lo = hi
        return out


def spill_bytes_default() -> int:
    """Bytes of pairs held in memory before blocks go to disk (``INFRA_OVERLAP_SPILL_MB``)."""
    raw = os.environ.get("INFRA_OVERLAP_SPILL_MB", "1024")
    try:
        return int(float(raw) * 2**20)
    except ValueError:
        raise ValueError(f"INFRA_OVERLAP_SPILL_MB must be a number of MiB, got {raw!r}") from None


class BlockStore:
    """A type's pairs as blocks in facility order (see the module docstring)."""

    def __init__(
        self,
        n_fac: int,
        n_cells: int,
        limit_s: float,
        spill_bytes: int,
        max_pairs: int | None = None,
    ) -> None:
        self.n_fac, self.n_cells, self.limit_s = n_fac, n_cells, limit_s
        self.spill_bytes = spill_bytes
        self.max_pairs = max_pairs_default() if max_pairs is None else max(1, max_pairs)
        self.n_pairs = 0
        self.passes = 0  # calls of blocks()
        self.blocks_read = 0  # blocks handed out by those passes
        self._held: list[PackedBlock | int] = []  # a block, or the number of a spilled one
        self._dtypes: dict[int, tuple[np.dtype[Any], np.dtype[Any]]] = {}  # of spilled blocks
        self._bytes = 0
        self._spill = ScratchArrays("infra-overlap-blocks-")

    def add(self, tt: TravelTimes | PackedBlock) -> None:
        """Append the next block (facility order), cut into blocks of at most ``max_pairs``
        (a :class:`PackedBlock` within them is kept as it comes: a Dask worker's)."""
        if isinstance(tt, PackedBlock):
            if tt.n_pairs <= self.max_pairs:
                self._keep(tt)
                return
            tt = tt.restored(self.n_fac, self.n_cells, self.limit_s)
        for lo, hi in pair_cuts(tt.fac, self.max_pairs):
            if (lo, hi) == (0, tt.fac.size):
                self._add(tt)
            else:
                self._add(TravelTimes(tt.fac[lo:hi], tt.cell[lo:hi], tt.time_s[lo:hi],
                                      tt.n_fac, tt.n_cells, tt.limit_s))  # fmt: skip

    def _add(self, tt: TravelTimes) -> None:
        self._keep(PackedBlock.of(tt))

    def _keep(self, packed: PackedBlock) -> None:
        self.n_pairs += packed.n_pairs
        if self._bytes + packed.nbytes <= self.spill_bytes:
            self._held.append(packed)
            self._bytes += packed.nbytes
            return
        k = len(self._held)
        self._spill.put(k, **{name: getattr(packed, name) for name in ARRAYS})
        self._dtypes[k] = (packed.fac_dtype, packed.cell_dtype)
        self._held.append(k)

    @property
    def spilled(self) -> bool:
        return self._spill.dir is not None

    @property
    def _dir(self) -> Path | None:
        """The spilled blocks' folder (None: nothing spilled)."""
        return self._spill.dir

    def __getstate__(self) -> dict[str, Any]:
        """A pickled store carries its blocks (the spilled ones read back): a copy must not
        depend on the original's folder, which goes when the original is collected."""
        state = self.__dict__.copy()
        state["_held"] = [self._packed(item) for item in self._held]
        state.update(_dtypes={}, _bytes=0, n_pairs=0)
        state.pop("_spill")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """The blocks kept again as they come: beyond ``spill_bytes`` into a folder of the
        copy's own."""
        held = state.pop("_held")
        self.__dict__.update(state, _held=[], _spill=ScratchArrays("infra-overlap-blocks-"))
        for packed in held:
            self._keep(packed)

    def _packed(self, item: PackedBlock | int) -> PackedBlock:
        if isinstance(item, PackedBlock):
            return item
        z = self._spill.read(item, mmap=True)
        return PackedBlock(z["facs"], z["runs"], z["cell"], z["time_s"], *self._dtypes[item])

    def blocks(self) -> Iterator[TravelTimes]:
        """One pass over the blocks, in facility order (a spilled block is read when reached)."""
        self.passes += 1
        return self._blocks()

    def _blocks(self) -> Iterator[TravelTimes]:
        for item in self._held:
            self.blocks_read += 1
            yield self._packed(item).unpack(self.n_fac, self.n_cells, self.limit_s)

    def to_travel_times(self) -> TravelTimes:
        """Every pair in one long-form result with the kernel's dtypes (tests and small cases:
        this holds them all)."""
        parts = [
            self._packed(item).restored(self.n_fac, self.n_cells, self.limit_s)
            for item in self._held
        ]
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
        self._spill.close()
        self._held = []


def pass_threads() -> int:
    """Threads a pass runs its consumers on (``INFRA_OVERLAP_PASS_THREADS``; the CPUs this
    process may use when unset)."""
    from analysis.kernel import default_threads

    raw = os.environ.get("INFRA_OVERLAP_PASS_THREADS", "")
    try:
        return max(1, int(raw)) if raw else default_threads()
    except ValueError:
        raise ValueError(f"INFRA_OVERLAP_PASS_THREADS must be a count, got {raw!r}") from None


def run_pass(tt: TravelTimes | BlockStore | Iterable[TravelTimes], consumers: list[Any]) -> None:
    """One pass over the blocks of ``tt``: each block, read once, goes to every consumer's
    ``add`` in block order (consumers that need no result of each other share the read).

    The consumers of a block run side by side on :func:`pass_threads` threads (their compiled
    loops and NumPy release the GIL), and the next block is read meanwhile; each consumer
    still sees the blocks one at a time and in order, so its result is the sequential one."""
    if pass_threads() <= 1 or not consumers:
        for block in blocks_of(tt):
            for c in consumers:
                c.add(block)
        return
    threads = min(pass_threads(), len(consumers))  # one consumer: the read still goes ahead
    # the costliest consumers first (as timed on the previous block), so the threads finish
    # a block together
    cost = dict.fromkeys(range(len(consumers)), 0.0)

    def add(k: int, block: TravelTimes) -> None:
        t0 = time.perf_counter()
        consumers[k].add(block)
        cost[k] = time.perf_counter() - t0

    blocks = iter(blocks_of(tt))
    with ThreadPoolExecutor(max_workers=threads + 1) as pool:
        ahead: Future[TravelTimes | None] = pool.submit(next, blocks, None)
        while (got := ahead.result()) is not None:
            ahead = pool.submit(next, blocks, None)  # the next block read meanwhile
            order = sorted(cost, key=lambda k: -cost[k])
            done = [pool.submit(add, k, got) for k in order]
            for f in done:
                f.result()


def blocks_of(tt: TravelTimes | BlockStore | Iterable[TravelTimes]) -> Iterator[TravelTimes]:
    """One pass over the blocks of a store, of a whole long-form result (32 facilities each),
    or of blocks given as they come."""
    if isinstance(tt, BlockStore):
        return tt.blocks()
    if isinstance(tt, TravelTimes):
        return split_blocks(tt)
    return iter(tt)


def split_blocks(tt: TravelTimes, per_block: int = PER_BLOCK) -> Iterator[TravelTimes]:
    """Blocks of ``per_block`` facilities (by index) of a long-form result sorted by facility."""
    if per_block < 1:
        raise ValueError(f"split_blocks: per_block must be >= 1, got {per_block}")
    cuts = np.searchsorted(tt.fac, np.arange(0, tt.n_fac + per_block, per_block))
    for lo, hi in itertools.pairwise(cuts):
        if hi > lo:
            yield TravelTimes(
                tt.fac[lo:hi], tt.cell[lo:hi], tt.time_s[lo:hi], tt.n_fac, tt.n_cells, tt.limit_s
            )


def kernel_store(
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    threads: int | None = None,
    spill_bytes: int | None = None,
    max_pairs: int | None = None,
) -> BlockStore:
    """The kernel's pairs (``kernel.travel_times``' blocks) in a :class:`BlockStore`: spans of
    at most ``PER_BLOCK`` facilities sized to ``max_pairs`` (:class:`SpanPlan`), ``threads``
    spans solved at a time."""
    from analysis import kernel

    ki = kernel.prepare(graph, facilities, cells, limit_s=limit_s)
    threads = threads or kernel.default_threads()
    store = BlockStore(
        ki.n_fac,
        ki.n_cells,
        limit_s,
        spill_bytes_default() if spill_bytes is None else spill_bytes,
        max_pairs,
    )
    n_ok = ki.fac_ok.size
    # at least threads * 8 spans (uneven catchments balanced over the threads), of at most
    # PER_BLOCK facilities, fewer where the pairs seen say a span would pass the pair cap
    per_block = -(-n_ok // max(threads * 8, -(-n_ok // PER_BLOCK), 1))
    plan = SpanPlan(n_ok, max_pairs=store.max_pairs, per_block=per_block)
    # a batch's blocks are packed (and spilled) by a thread of their own while the next batch
    # is solved: the spans depend only on the pairs counted, so the blocks are the same
    keeping: Future[None] | None = None

    def keep(parts: list[TravelTimes]) -> None:
        for part in parts:
            store.add(part)

    with ThreadPoolExecutor(max_workers=threads) as pool, ThreadPoolExecutor(1) as keeper:
        while batch := plan.take(threads):
            parts = list(pool.map(lambda s: kernel.run_block(ki, *s), batch))
            for (a, z), part in zip(batch, parts, strict=True):
                plan.seen(z - a, part.fac.size)
            if keeping is not None:  # one batch in hand at most
                keeping.result()
            keeping = keeper.submit(keep, parts)
            del parts
        if keeping is not None:
            keeping.result()
    return store
