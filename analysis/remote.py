"""Catchment travel times on the workers of a Dask client (``cli run --workers N`` or
``--scheduler ADDRESS``).

The kernel's inputs (``analysis.kernel.prepare``: the graph, the facilities' seeds, the cells'
attachments) are scattered to every worker once per type; each task solves one contiguous block
of facilities (``kernel.run_block``) and the client keeps the blocks in block order in a
``BlockStore`` (issue 19: never one array of every pair), so the pairs are the single-process
pairs bit for bit (each facility's bounded Dijkstra is independent
of the others). The spans follow the pairs per facility seen so far (``block_store.SpanPlan``:
a block near ``INFRA_OVERLAP_BLOCK_PAIRS`` pairs, whatever the cell size), a few blocks per
worker in flight at a time. The client is opened and closed by the caller (``batch.dask_client``).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Iterator
from typing import Any

from analysis.access import Access, TravelTimes
from analysis.block_store import BlockStore, SpanPlan, spill_bytes_default
from analysis.catchments import travel_times
from analysis.network import Graph
from analysis.packed_block import PackedBlock

log = logging.getLogger(__name__)

__all__ = ["BLOCKS_PER_WORKER", "n_workers", "solve_blocks", "travel_times_on"]

#: facility blocks per worker in flight: more blocks than workers balance uneven catchments
BLOCKS_PER_WORKER = 4


def n_workers(client: Any) -> int:
    """Workers connected to ``client``'s scheduler (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


def run_block_packed(ki: Any, a: int, z: int) -> PackedBlock:
    """``kernel.run_block`` packed on the worker (``packed_block.PackedBlock``: 12 bytes a pair
    instead of 24 sent back to the client)."""
    from analysis import kernel

    return PackedBlock.of(kernel.run_block(ki, a, z))


def solve_blocks(
    client: Any, ki: Any, spans: list[tuple[int, int]] | SpanPlan, *, packed: bool = False
) -> Iterator[Any]:
    """The kernel's facility blocks (``kernel.run_block``) of ``spans`` (a list, or a
    :class:`SpanPlan` told the pairs of each solved block), in block order: in this process
    (``client`` None), or on the client's workers with the inputs ``ki`` (``kernel.prepare``)
    scattered once, ``BLOCKS_PER_WORKER`` blocks per worker in flight, each future let go once
    its block is read. ``packed``: the workers' blocks come as ``PackedBlock`` (in this
    process, as ``TravelTimes`` either way)."""
    packed = packed and client is not None
    from analysis import kernel

    plan = spans if isinstance(spans, SpanPlan) else None
    todo = iter(() if isinstance(spans, SpanPlan) else spans)

    def take(k: int) -> list[tuple[int, int]]:
        return plan.take(k) if plan is not None else list(itertools.islice(todo, k))

    def seen(span: tuple[int, int], tt: Any) -> Any:
        if plan is not None:
            plan.seen(span[1] - span[0], int(tt.n_pairs if packed else tt.fac.size))
        return tt

    if client is None:
        while batch := take(1):
            yield seen(batch[0], kernel.run_block(ki, *batch[0]))
        return
    first = take(n_workers(client) * BLOCKS_PER_WORKER)
    if not first:
        return
    [ki_f] = client.scatter([ki], broadcast=True)

    def submit(span: tuple[int, int]) -> tuple[tuple[int, int], Any]:
        run = run_block_packed if packed else kernel.run_block
        return span, client.submit(run, ki_f, *span, pure=False)

    futs = deque(submit(s) for s in first)
    while futs:
        span, fut = futs.popleft()
        tt = seen(span, fut.result())
        del fut
        futs.extend(submit(s) for s in take(1))
        yield tt


def travel_times_on(
    client: Any,
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    spill_bytes: int | None = None,
) -> TravelTimes | BlockStore:
    """:func:`analysis.catchments.travel_times` in this process (``client`` None), or in
    facility blocks on the client's workers kept in block order in a
    :class:`analysis.block_store.BlockStore` (in memory, spilled past ``spill_bytes``; the same
    pairs bit for bit, never concatenated into one array)."""
    if client is None:
        return travel_times(graph, facilities, cells, limit_s=limit_s)
    from analysis import kernel

    ki = kernel.prepare(graph, facilities, cells, limit_s=limit_s)
    if ki.fac_ok.size == 0:  # no facility with a road: nothing to send
        return travel_times(graph, facilities, cells, limit_s=limit_s)
    spill = spill_bytes_default() if spill_bytes is None else spill_bytes
    store = BlockStore(ki.n_fac, ki.n_cells, ki.limit_s, spill)
    plan = SpanPlan(ki.fac_ok.size, max_pairs=store.max_pairs)
    n = 0
    for block in solve_blocks(client, ki, plan, packed=True):  # kept (or spilled) in order
        store.add(block)
        n += 1
    log.info("catchments: %d facility blocks on %d Dask workers", n, n_workers(client))
    return store
