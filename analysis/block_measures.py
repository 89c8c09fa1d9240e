"""Per-facility and per-pair measures of the run from facility blocks, bit for bit the
whole-array ones (see ``analysis.blocks`` for the block reductions they build on).

- Measures of one facility's row (its catchment's people per province, its polygons) are the
  whole-array function applied to each block's rows: a facility lies in one block, and its row
  is computed by the same code in the same order, so the rows are equal; the blocks' rows are
  then put in the whole result's order (a stable sort on unique keys).
- Measures between facilities (pairwise overlaps) and between provinces (province matrices)
  are in ``analysis.block_sets`` (folded over the cells' merged sets).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
    """:func:`sharing_keys_blocks` as one consumer of a pass (``add`` each block, ``result``)."""

    def __init__(
        self, *, threshold_s: float, demand: np.ndarray, editions: list[tuple[np.ndarray, int]]
    ) -> None:
        self.t, self.demand, self.editions = threshold_s, demand, editions
        self.parts: list[list[pd.DataFrame]] = [[] for _ in editions]

    def add(self, tt: TravelTimes) -> None:
        from analysis.redundancy import sharing_keys

        within = tt.within(self.t)
        for k, (cell_prov, n_prov) in enumerate(self.editions):
            self.parts[k].append(sharing_keys(within, self.demand, cell_prov, n_prov))

    def result(self) -> list[pd.DataFrame]:
        from analysis.redundancy import sharing_keys

        demand, out = self.demand, []
        for frames in self.parts:
            df = (
                pd.concat(frames, ignore_index=True)
                if frames
                else sharing_keys(_empty_within(demand.size), demand, np.full(demand.size, -1), 0)
            )
            out.append(
                df.sort_values(
                    ["i", "share", "prov"], ascending=[True, False, True], kind="stable"
                ).reset_index(drop=True)
            )
        return out


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


def _empty_within(n_cells: int) -> Any:
    import scipy.sparse as sp

    return sp.csr_matrix((0, n_cells), dtype=bool)


class Polygons:
    """:func:`catchment_polygons_blocks` as one consumer of a pass."""

    def __init__(self, demand: DemandGrid, breaks_s: tuple[float, ...]) -> None:
        self.demand, self.breaks_s = demand, breaks_s
        self.out: list[tuple[int, float, Any]] = []

    def add(self, tt: TravelTimes) -> None:
        from analysis.polygons import catchment_polygons

        self.out += catchment_polygons(tt, self.demand, self.breaks_s)

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
