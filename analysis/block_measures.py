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
    "catchment_polygons_blocks",
    "sharing_keys_blocks",
]


def sharing_keys_blocks(
    blocks: Iterable[TravelTimes],
    *,
    threshold_s: float,
    demand: np.ndarray,
    editions: list[tuple[np.ndarray, int]],
) -> list[pd.DataFrame]:
    """``analysis.redundancy.sharing_keys`` of ``tt.within(threshold_s)`` in every edition
    (``(cell_prov, n_prov)`` each), from the blocks: one frame per edition, equal to the whole."""
    from analysis.redundancy import sharing_keys

    parts: list[list[pd.DataFrame]] = [[] for _ in editions]
    for tt in blocks:
        within = tt.within(threshold_s)
        for k, (cell_prov, n_prov) in enumerate(editions):
            parts[k].append(sharing_keys(within, demand, cell_prov, n_prov))
    out = []
    for frames in parts:
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


def _empty_within(n_cells: int) -> Any:
    import scipy.sparse as sp

    return sp.csr_matrix((0, n_cells), dtype=bool)


def catchment_polygons_blocks(
    blocks: Iterable[TravelTimes], demand: DemandGrid, breaks_s: tuple[float, ...]
) -> list[tuple[int, float, Any]]:
    """``analysis.polygons.catchment_polygons`` block by block (a facility's polygons are
    traced from its own pairs), in facility order as the whole call gives them."""
    from analysis.polygons import catchment_polygons

    out: list[tuple[int, float, Any]] = []
    for tt in blocks:
        out += catchment_polygons(tt, demand, breaks_s)
    return out
