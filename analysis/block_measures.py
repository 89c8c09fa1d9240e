"""Per-facility and per-pair measures of the run from facility blocks, bit for bit the
whole-array ones (see ``analysis.blocks`` for the block reductions they build on).

- A facility's polygons are the whole-array function applied to each block's rows: a facility
  lies in one block, and its row is computed by the same code in the same order, so the rows
  are equal, in the whole result's facility order.
- Its catchment's people per province (the sharing keys) are added pair by pair into dense
  (facility, province) arrays in the order of the whole-array sparse product
  (:class:`SharingKeys`): O(pairs) per block, one frame per edition at the end.
- Measures between facilities (pairwise overlaps) and between provinces (province matrices)
  are in ``analysis.block_sets`` (folded over the cells' merged sets).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numba
import numpy as np
import pandas as pd

from analysis.catchments import TravelTimes
from analysis.demand import DemandGrid

__all__ = [
    "Polygons",
    "SharingKeys",
    "catchment_polygons_blocks",
    "sharing_keys_blocks",
]


class SharingKeys:
    """:func:`sharing_keys_blocks` as one consumer of a pass (``add`` each block, ``result``).

    Each edition's people per (facility, province) are added into a dense (edition, n_fac,
    n_prov) float64 array (a few hundred KB) pair by pair, in the blocks' (facility, cell) order
    (one compiled loop for every edition, O(pairs) per block, nothing that grows): the
    order in which ``within.astype(float64) @ onehot`` (``analysis.redundancy.sharing_keys``)
    adds a row's cells (ascending cell, products by 1.0 exact), so the sums are its bits, also
    for a facility cut over several blocks. The rank of each province's first cell is kept too:
    the product lists a row's provinces in the reverse of that order, and the frame's group sum
    (compensated) is taken in it. ``result`` builds each edition's frame once.
    """

    def __init__(
        self, *, threshold_s: float, demand: np.ndarray, editions: list[tuple[np.ndarray, int]]
    ) -> None:
        self.t, self.demand, self.editions = threshold_s, np.asarray(demand, np.float64), editions
        # the editions' provinces of a cell side by side (one cache line per pair; int16: 6
        # bytes per cell for three editions)
        small = max((n for _, n in editions), default=0) < 2**15
        self.cell_prov = np.stack(
            [np.asarray(cp) for cp, _ in editions] or [np.zeros(demand.size, np.int64)], axis=1
        ).astype(np.int16 if small else np.int32)
        self.people = np.zeros(0)  # (edition, facility, province), from the first block
        self.first = np.zeros(0, np.int32)  # rank of each one's first cell (0: none)
        self.n_seen = np.zeros(0, np.int32)

    def add(self, tt: TravelTimes) -> None:
        if self.people.size == 0:
            shape = (len(self.editions), tt.n_fac, max((n for _, n in self.editions), default=0))
            self.people = np.zeros(shape)
            self.first = np.zeros(shape, np.int32)
            self.n_seen = np.zeros(shape[:2], np.int32)
        _add_sharing(
            tt.fac, tt.cell, tt.time_s, self.t, self.demand, self.cell_prov,
            self.people, self.first, self.n_seen,
        )  # fmt: skip

    def result(self) -> list[pd.DataFrame]:
        from analysis.redundancy import sharing_frame

        out = []
        for k in range(len(self.editions)):
            if self.people.size == 0:
                z = np.zeros(0, np.int64)
                out.append(sharing_frame(z, z, np.zeros(0)))
                continue
            first = self.first[k]
            i, prov = np.nonzero(first)
            order = np.lexsort((-first[i, prov], i))
            i, prov = i[order].astype(np.int64), prov[order].astype(np.int64)
            out.append(sharing_frame(i, prov, self.people[k][i, prov]))
        return out


@numba.njit(cache=True, nogil=True)
def _add_sharing(  # noqa: PLR0913 (the block's columns and the accumulators)
    fac: np.ndarray,
    cell: np.ndarray,
    time_s: np.ndarray,
    threshold_s: float,
    demand: np.ndarray,
    cell_prov: np.ndarray,
    people: np.ndarray,
    first: np.ndarray,
    n_seen: np.ndarray,
) -> None:
    """Add each pair's cell's people into its (edition, facility, province), in pair order
    (cells in no province are skipped); rank each by the first pair that reaches it."""
    for p in range(fac.size):
        if time_s[p] <= threshold_s:
            c = cell[p]
            f = fac[p]
            x = demand[c]
            for e in range(cell_prov.shape[1]):
                k = cell_prov[c, e]
                if k >= 0:
                    people[e, f, k] += x
                    if first[e, f, k] == 0:
                        n_seen[e, f] += 1
                        first[e, f, k] = n_seen[e, f]


def sharing_keys_blocks(
    blocks: Iterable[TravelTimes],
    *,
    threshold_s: float,
    demand: np.ndarray,
    editions: list[tuple[np.ndarray, int]],
) -> list[pd.DataFrame]:
    """``analysis.redundancy.sharing_keys`` of ``tt.within(threshold_s)`` in every edition
    (``(cell_prov, n_prov)`` each), from the blocks: one frame per edition, equal to the whole."""
    acc = SharingKeys(threshold_s=threshold_s, demand=demand, editions=editions)
    for tt in blocks:
        acc.add(tt)
    return acc.result()


class Polygons:
    """:func:`catchment_polygons_blocks` as one consumer of a pass.

    ``outline_cell_m`` (``[region] outline_cell_m``): where the demand cells are finer, the
    outlines are traced on cells of about this size (a whole multiple of the cell), each drawn
    when any of its demand cells is reached within the break. At 100 m the exact outline of the
    populated cells is millions of squares per catchment (4 corners per reached cell: more
    memory than every pair), far beyond what a map or a GIS layer shows; the numbers stay
    exact at the cell size."""

    def __init__(
        self, demand: DemandGrid, breaks_s: tuple[float, ...], outline_cell_m: float = 0.0
    ) -> None:
        from analysis.polygons import coarse_grid

        self.demand, self.breaks_s = demand, breaks_s
        self.out: list[tuple[int, float, Any]] = []
        self.k = max(1, round(outline_cell_m / demand.grid.cell_size_m))
        self.grid = coarse_grid(demand.grid, self.k)

    def add(self, tt: TravelTimes) -> None:
        from analysis.polygons import catchment_polygons, coarse_pairs, outline_polygons

        if self.k == 1:
            self.out += catchment_polygons(tt, self.demand, self.breaks_s)
            return
        big, row, col = coarse_pairs(tt, self.demand.row, self.demand.col, self.k,
                                     self.grid.shape[1])  # fmt: skip
        self.out += outline_polygons(big, self.grid, row, col, self.breaks_s)

    def result(self) -> list[tuple[int, float, Any]]:
        return self.out


def catchment_polygons_blocks(
    blocks: Iterable[TravelTimes], demand: DemandGrid, breaks_s: tuple[float, ...]
) -> list[tuple[int, float, Any]]:
    """``analysis.polygons.catchment_polygons`` block by block (a facility's polygons are
    traced from its own pairs), in facility order as the whole call gives them."""
    acc = Polygons(demand, breaks_s)
    for tt in blocks:
        acc.add(tt)
    return acc.result()
