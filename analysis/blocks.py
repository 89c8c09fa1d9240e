"""Per-cell and per-facility reductions merged from facility blocks, without every pair at once.

The kernel (:mod:`analysis.kernel`) solves facilities in contiguous blocks; each block's pairs
(facility, cell, time) are reduced at once to arrays the size of the grid (or of the facility
list), and the partial results of the blocks are merged in block order. Memory is the grid plus
one block, not every (facility, cell) pair within the largest break.

Two passes, each over the same blocks:

1. :func:`reduce_blocks` -> :class:`CellReduction`: per cell and break, the number of existing
   (``base``) facilities within the break and the provinces they are located in (a bit set);
   per cell, the nearest and second-nearest existing facility and their times; per facility and
   break, the demand within reach (``coverage``: each facility lies in exactly one block).
2. :func:`facility_measures` -> :class:`analysis.overlap.Coverage` per break: unique and
   other-province demand need the whole grid's counts, so they are read in a second pass over
   the blocks against the merged reduction.

Every merge is exact (integer counts, bitwise or, minimum with the facility index breaking
ties, a sum of one nonzero term), so the result does not depend on the block size and equals
the whole-array computation (``analysis.overlap.coverage_measures``,
``analysis.catchments.nearest_two``) bit for bit.

Measures between facilities are reduced over cells first: :func:`facility_sets` merges the
set of facilities within a break of every cell (a bit set, or-ed over blocks; the grid times
n_fac / 64 words): :func:`pairwise_overlaps_from_sets` folds every pair of a cell's set over the
cells and :func:`covering_input` (= ``covering.reduce_coverage``) merges cells with the same
set. :func:`province_bits` and :func:`province_matrices_from_bits` give the province matrices
the same way. All equal the sparse products to the last bit (``analysis.block_sets``).

In a pass, each block's pairs are scattered straight into the grid arrays by a compiled loop
(``analysis.block_kernel``: O(pairs) per block, no temporaries of the block's size). Dask
workers (:func:`cell_reductions` with a client) return instead a block's partial
(:class:`Partial`: only the cells its facilities reach, :func:`block_reduction`), which the
client merges in place in block order (:func:`merge_into`); both give the same arrays bit for
bit (``tests/test_block_kernel.py``). Blocks come from the kernel (:func:`kernel_blocks`), from
an existing long-form result (:func:`split_blocks`), or from those workers.

The run (``analysis.type_analysis.analyse_type``) takes every measure it can from blocks (the
table "Measures from facility blocks" of METHOD.md): the reductions here, per-block rows
(``analysis.block_measures``: sharing keys, polygons), the cells' merged sets
(``analysis.block_sets``: overlaps, province matrices, covering input), type demand
(``analysis.type_demand_passes.type_demand_blocks``), units (``analysis.units.unit_travel_times``),
the verdict (``analysis.verdict_blocks``) and the group aggregates (``analysis.aggregate_blocks``).
Its blocks come from the catchment step's :class:`analysis.block_store.BlockStore` (the
kernel's blocks, spilled to disk beyond a size), or are slices of a whole result
(:func:`split_blocks`: multi-site units and the Dask path still merge their pairs).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.block_kernel import measure_pairs, reduce_pairs
from analysis.block_sets import (
    _words,
    covering_input,
    pairwise_overlaps_from_sets,
    province_bits,
    province_matrices_from_bits,
    province_matrices_from_lists,
)
from analysis.block_store import SpanPlan, max_pairs_default, split_blocks
from analysis.catchments import Access, TravelTimes
from analysis.catchments import nearest_two_arrays as _nearest_two
from analysis.cell_sets import facility_sets
from analysis.network import Graph
from analysis.overlap import Coverage

__all__ = [
    "DEFAULT_BLOCK",
    "CellReduction",
    "Measures",
    "Partial",
    "Reduction",
    "block_reduction",
    "cell_reductions",
    "covering_input",
    "empty",
    "facility_measures",
    "facility_sets",
    "kernel_blocks",
    "merge_into",
    "pairwise_overlaps_from_sets",
    "province_bits",
    "province_matrices_from_bits",
    "province_matrices_from_lists",
    "reduce_blocks",
    "split_blocks",
]

#: facilities per block when not told (a block's pairs are its facilities' catchments)
DEFAULT_BLOCK = 32


@dataclass(frozen=True)
class CellReduction:
    """Merged (or partial) reduction of facility blocks for one type.

    ``count[k, c]``: existing facilities within ``breaks_s[k]`` of cell c; ``prov_bits[k, w, c]``:
    bit ``p % 64`` of word ``p // 64`` set when a facility located in province p is among them;
    ``f1/t1, f2/t2``: nearest and second-nearest existing facility within the limit (-1 / inf
    where none; ties to the lower index; ``f1``, ``f2`` int32 from :func:`empty` where the
    facilities fit); ``coverage[k, i]``: demand within ``breaks_s[k]`` of facility i (every
    facility, existing or not).
    """

    breaks_s: tuple[float, ...]
    count: np.ndarray
    prov_bits: np.ndarray
    f1: np.ndarray
    t1: np.ndarray
    f2: np.ndarray
    t2: np.ndarray
    coverage: np.ndarray


def empty(
    n_fac: int, n_cells: int, breaks_s: tuple[float, ...], n_prov: int, nearest: bool = True
) -> CellReduction:
    """The neutral element of :func:`merge` (without ``nearest``: no nearest two, their four
    arrays empty). The nearest facilities are int32 where the facilities count under 2**31
    (half the memory at 100 m; their readers, ``redundancy.removal_penalty``, only index with
    them)."""
    nb, m = len(breaks_s), n_cells if nearest else 0
    fdt = np.int32 if n_fac < 2**31 else np.int64
    return CellReduction(
        breaks_s=tuple(breaks_s),
        count=np.zeros((nb, n_cells), np.int32),
        prov_bits=np.zeros((nb, _words(n_prov), n_cells), np.uint64),
        f1=np.full(m, -1, fdt),
        t1=np.full(m, np.inf),
        f2=np.full(m, -1, fdt),
        t2=np.full(m, np.inf),
        coverage=np.zeros((nb, n_fac)),
    )


@dataclass(frozen=True)
class Partial:
    """One block's reduction, on the cells its existing facilities reach (``cells``, sorted)
    and on its own facilities (``facs``): the size of the block, not of the grid."""

    cells: np.ndarray
    count: np.ndarray
    prov_bits: np.ndarray
    f1: np.ndarray
    t1: np.ndarray
    f2: np.ndarray
    t2: np.ndarray
    facs: np.ndarray
    coverage: np.ndarray


def block_reduction(
    tt: TravelTimes,
    *,
    breaks_s: tuple[float, ...],
    base: np.ndarray,
    demand: np.ndarray,
    fac_prov: np.ndarray,
    n_prov: int,
    nearest: bool = True,
) -> Partial:
    """The partial reduction of one block of pairs (any subset of whole facilities); without
    ``nearest``, no nearest two (their arrays empty)."""
    base = np.asarray(base, bool)
    d = np.asarray(demand, np.float64)
    keep = base[tt.fac]
    bf, bt = tt.fac[keep], tt.time_s[keep]
    cells, inv = np.unique(tt.cell[keep], return_inverse=True)
    facs, f_local = np.unique(tt.fac, return_inverse=True)
    nb, m = len(breaks_s), cells.size
    count = np.zeros((nb, m), np.int32)
    bits_out = np.zeros((nb, _words(n_prov), m), np.uint64)
    coverage = np.zeros((nb, facs.size))
    prov = np.asarray(fac_prov, np.int64)[bf]
    for k, b in enumerate(breaks_s):
        mk = tt.time_s <= b
        # pairs sorted by (fac, cell): a facility's cells are summed in cell order, as a CSR
        # matrix-vector product does
        coverage[k] = np.bincount(f_local[mk], weights=d[tt.cell[mk]], minlength=facs.size)
        mb = bt <= b
        count[k] = np.bincount(inv[mb], minlength=m)
        located = mb & (prov >= 0)
        p, c = prov[located], inv[located]
        bits = np.left_shift(np.uint64(1), (p % 64).astype(np.uint64))
        for w in np.unique(p // 64):
            sel = (p // 64) == w
            np.bitwise_or.at(bits_out[k, w], c[sel], bits[sel])
    if nearest:
        f1, t1, f2, t2 = _nearest_two(inv, bf, bt, m)
    else:
        f1 = f2 = np.zeros(0, np.int64)
        t1 = t2 = np.zeros(0)
    return Partial(cells, count, bits_out, f1, t1, f2, t2, facs, coverage)


def _before(ta: np.ndarray, fa: np.ndarray, tb: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """(ta, fa) comes before (tb, fb): shorter time, then lower facility index (-1 = none)."""
    out: np.ndarray = (ta < tb) | ((ta == tb) & (fa < fb) & (fa >= 0)) | ((fb < 0) & (fa >= 0))
    return out


def merge_into(acc: CellReduction, part: Partial) -> None:
    """Merge a block's partial into ``acc`` in place (exact, whatever the order of blocks)."""
    c = part.cells
    acc.count[:, c] += part.count
    acc.prov_bits[:, :, c] |= part.prov_bits
    acc.coverage[:, part.facs] += part.coverage  # each facility lies in one block: 0 + x
    if acc.f1.size == 0:  # no nearest two (or no cell)
        return
    a1f, a1t, a2f, a2t = acc.f1[c], acc.t1[c], acc.f2[c], acc.t2[c]
    a_wins = _before(a1t, a1f, part.t1, part.f1)
    acc.f1[c] = np.where(a_wins, a1f, part.f1)
    acc.t1[c] = np.where(a_wins, a1t, part.t1)
    # the runner-up: the loser of the first places against the winner's own second
    lf, lt = np.where(a_wins, part.f1, a1f), np.where(a_wins, part.t1, a1t)
    sf, st = np.where(a_wins, a2f, part.f2), np.where(a_wins, a2t, part.t2)
    s_wins = _before(st, sf, lt, lf)
    acc.f2[c] = np.where(s_wins, sf, lf)
    acc.t2[c] = np.where(s_wins, st, lt)


class Reduction:
    """:func:`reduce_blocks` as one consumer of a pass (``add`` each block in order, then
    ``result``), so that several measures share one read of the blocks."""

    def __init__(
        self,
        *,
        n_fac: int,
        n_cells: int,
        breaks_s: tuple[float, ...],
        base: np.ndarray,
        demand: np.ndarray,
        fac_prov: np.ndarray,
        n_prov: int,
        nearest: bool = True,
    ) -> None:
        self.acc = empty(n_fac, n_cells, tuple(breaks_s), n_prov, nearest)
        self.breaks = np.asarray(breaks_s, np.float64)
        self.base = np.asarray(base, bool)
        self.d = np.ascontiguousarray(demand, np.float64)
        self.prov = np.asarray(fac_prov, np.int64)

    def add(self, tt: TravelTimes) -> None:
        """Scatter the block's pairs into the grid arrays (``block_kernel.reduce_pairs``: the
        same result as ``merge_into(acc, block_reduction(tt))``, without the block's
        temporaries)."""
        a = self.acc
        reduce_pairs(
            tt.fac, tt.cell, tt.time_s, self.breaks, self.base, self.d, self.prov,
            a.count, a.prov_bits, a.f1, a.t1, a.f2, a.t2, a.coverage,
        )  # fmt: skip

    def result(self) -> CellReduction:
        return self.acc


def reduce_blocks(
    blocks: Iterable[TravelTimes],
    *,
    n_fac: int,
    n_cells: int,
    breaks_s: tuple[float, ...],
    base: np.ndarray,
    demand: np.ndarray,
    fac_prov: np.ndarray,
    n_prov: int,
) -> CellReduction:
    """Pass 1: the merged :class:`CellReduction` of ``blocks``, merged in the order given."""
    acc = Reduction(
        n_fac=n_fac, n_cells=n_cells, breaks_s=breaks_s, base=base, demand=demand,
        fac_prov=fac_prov, n_prov=n_prov,
    )  # fmt: skip
    for tt in blocks:
        acc.add(tt)
    return acc.result()


class Measures:
    """:func:`facility_measures` as one consumer of a pass (see :class:`Reduction`)."""

    def __init__(
        self, red: CellReduction, *, base: np.ndarray, demand: np.ndarray, fac_prov: np.ndarray
    ) -> None:
        self.red = red
        self.base = np.asarray(base, bool)
        self.d = np.ascontiguousarray(demand, np.float64)
        self.prov = np.asarray(fac_prov, np.int64)
        self.breaks = np.asarray(red.breaks_s, np.float64)
        nb, n_fac = len(red.breaks_s), red.coverage.shape[1]
        self.unique = np.zeros((nb, n_fac))
        self.other = np.zeros((nb, n_fac))

    def add(self, tt: TravelTimes) -> None:
        """Per pair, the demand that counts for its facility, summed per facility in pair order
        (pairs are sorted by facility, cell: as a CSR matrix-vector product does) and added to
        the running sums (``block_kernel.measure_pairs``)."""
        red = self.red
        measure_pairs(
            tt.fac, tt.cell, tt.time_s, self.breaks, self.base, self.d, self.prov,
            red.count, red.prov_bits, self.unique, self.other,
        )  # fmt: skip

    def result(self) -> list[Coverage]:
        red = self.red
        return [
            Coverage(
                coverage=red.coverage[k],
                unique=self.unique[k],
                other_province=self.other[k],
                count_per_cell=red.count[k],  # int32, not a float64 copy a break
            )
            for k in range(len(red.breaks_s))
        ]


def facility_measures(
    blocks: Iterable[TravelTimes],
    red: CellReduction,
    *,
    base: np.ndarray,
    demand: np.ndarray,
    fac_prov: np.ndarray,
) -> list[Coverage]:
    """Pass 2: per break, the :class:`analysis.overlap.Coverage` of every facility (unique and
    other-province demand against the merged counts), equal to ``coverage_measures``."""
    acc = Measures(red, base=base, demand=demand, fac_prov=fac_prov)
    for tt in blocks:
        acc.add(tt)
    return acc.result()


def kernel_blocks(
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    per_block: int = DEFAULT_BLOCK,
) -> Iterator[TravelTimes]:
    """The kernel's pairs block by block (at most ``per_block`` facilities with a road each,
    fewer where their pairs would pass ``INFRA_OVERLAP_BLOCK_PAIRS``: ``block_store.SpanPlan``),
    in facility order; only one block is held at a time."""
    from analysis import kernel

    ki = kernel.prepare(graph, facilities, cells, limit_s=limit_s)
    plan = SpanPlan(ki.fac_ok.size, max_pairs=max_pairs_default(), per_block=per_block)
    while span := plan.take(1):
        tt = kernel.run_block(ki, *span[0])
        plan.seen(span[0][1] - span[0][0], int(tt.fac.size))
        yield tt


# --------------------------------------------------------------------------- over a Dask cluster


def _remote_partial(ki: Any, a: int, z: int, params: dict[str, Any]) -> Partial:
    """On a worker: solve one block and return its partial reduction (not its pairs)."""
    from analysis import kernel

    return block_reduction(kernel.run_block(ki, a, z), **params)


def _remote_measures(
    ki: Any, a: int, z: int, red: CellReduction, params: dict[str, Any]
) -> list[Coverage]:
    """On a worker: pass 2 of one block (its facilities' unique and other-province demand)."""
    from analysis import kernel

    return facility_measures([kernel.run_block(ki, a, z)], red, **params)


def _sum_measures(parts: list[list[Coverage]], red: CellReduction) -> list[Coverage]:
    """Facility measures of disjoint blocks added in block order (one nonzero term each)."""
    out = []
    for k in range(len(red.breaks_s)):
        unique = np.zeros(red.coverage.shape[1])
        other = np.zeros(red.coverage.shape[1])
        for part in parts:
            unique = unique + part[k].unique
            other = other + part[k].other_province
        out.append(Coverage(red.coverage[k], unique, other, red.count[k].astype(np.float64)))
    return out


def cell_reductions(  # noqa: PLR0913 (keyword-only block inputs and the optional Dask client)
    graph: Graph,
    facilities: Access,
    cells: Access,
    *,
    limit_s: float,
    breaks_s: tuple[float, ...],
    base: np.ndarray,
    demand: np.ndarray,
    fac_prov: np.ndarray,
    n_prov: int,
    per_block: int = DEFAULT_BLOCK,
    client: Any = None,
) -> tuple[CellReduction, list[Coverage]]:
    """Both passes for one type, in this process or on the workers of a Dask ``client``.

    With a client, the kernel's inputs are scattered once, every block is a task that returns
    its partial reduction, and the client merges the partials in block order (pass 1), then
    scatters the merged reduction for pass 2. The result equals the single-process one.
    ``analysis.batch.dask_client`` gives a client on a scheduler or a LocalCluster.
    """
    params = {"base": base, "demand": demand, "fac_prov": fac_prov}
    n_fac = facilities.snap.edge.size
    n_cells = cells.snap.edge.size
    if client is None:

        def blocks() -> Iterator[TravelTimes]:
            return kernel_blocks(graph, facilities, cells, limit_s=limit_s, per_block=per_block)

        red = reduce_blocks(
            blocks(), n_fac=n_fac, n_cells=n_cells, breaks_s=breaks_s, n_prov=n_prov, **params
        )
        return red, facility_measures(blocks(), red, **params)
    from analysis import kernel

    ki = kernel.prepare(graph, facilities, cells, limit_s=limit_s)
    bounds = kernel.block_bounds(ki.fac_ok.size, -(-ki.fac_ok.size // max(1, per_block)))
    spans = [(int(a), int(z)) for a, z in itertools.pairwise(bounds) if z > a]
    [ki_f] = client.scatter([ki], broadcast=True)
    p1 = {**params, "breaks_s": tuple(breaks_s), "n_prov": n_prov}
    futs = [client.submit(_remote_partial, ki_f, a, z, p1, pure=False) for a, z in spans]
    red = empty(n_fac, n_cells, tuple(breaks_s), n_prov)
    for fut in futs:  # in block order, one partial in memory at a time
        merge_into(red, fut.result())
        fut.release()
    [red_f] = client.scatter([red], broadcast=True)
    futs = [
        client.submit(_remote_measures, ki_f, a, z, red_f, params, pure=False) for a, z in spans
    ]
    return red, _sum_measures(client.gather(futs), red)
