"""Catchment travel times on the workers of a Dask client (``cli run --workers N`` or
``--scheduler ADDRESS``).

The kernel's inputs (``analysis.kernel.prepare``: the graph, the facilities' seeds, the cells'
attachments) are scattered to every worker once per type; each task solves one contiguous block
of facilities (``kernel.run_block``) and the client keeps the blocks in block order in a
``BlockStore`` (issue 19: never one array of every pair), so the pairs are the single-process
pairs bit for bit (each facility's bounded Dijkstra is independent
of the others). The client is opened and closed by the caller (``batch.dask_client``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

from analysis.access import Access, TravelTimes
from analysis.block_store import BlockStore, spill_bytes_default
from analysis.catchments import travel_times
from analysis.network import Graph

log = logging.getLogger(__name__)

__all__ = ["BLOCKS_PER_WORKER", "n_workers", "solve_blocks", "travel_times_on"]

#: facility blocks per worker: more blocks than workers balance uneven catchments
BLOCKS_PER_WORKER = 4


def n_workers(client: Any) -> int:
    """Workers connected to ``client``'s scheduler (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


def solve_blocks(client: Any, ki: Any, spans: list[tuple[int, int]]) -> Iterator[TravelTimes]:
    """The kernel's facility blocks ``spans`` (``kernel.run_block``), in block order: in this
    process (``client`` None), or on the client's workers with the inputs ``ki``
    (``kernel.prepare``) scattered once and each future let go once its block is read."""
    from analysis import kernel

    if client is None or not spans:
        for a, z in spans:
            yield kernel.run_block(ki, a, z)
        return
    [ki_f] = client.scatter([ki], broadcast=True)
    futs = [client.submit(kernel.run_block, ki_f, a, z, pure=False) for a, z in spans]
    while futs:
        yield futs.pop(0).result()


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
    bounds = kernel.block_bounds(ki.fac_ok.size, n_workers(client) * BLOCKS_PER_WORKER)
    spans = [(int(a), int(z)) for a, z in itertools.pairwise(bounds) if z > a]
    if not spans:  # no facility with a road: nothing to send
        return travel_times(graph, facilities, cells, limit_s=limit_s)
    spill = spill_bytes_default() if spill_bytes is None else spill_bytes
    store = BlockStore(ki.n_fac, ki.n_cells, ki.limit_s, spill)
    for block in solve_blocks(client, ki, spans):  # each block kept (or spilled) in block order
        store.add(block)
    log.info("catchments: %d facility blocks on %d Dask workers", len(spans), n_workers(client))
    return store
