"""The group aggregates (``analysis.aggregate.aggregate_measures``) from facility blocks, equal
to the whole-array ones to the last bit, without every (facility, cell) pair at once.

What the measures read of the pairs is merged over the blocks: the existing facilities
reaching each cell (the block reduction's ``count``) and those of each group (groups x cells,
integer counts added block by block: exact); a group's minimal cover reads the pattern of its
own existing facilities on its own cells, rebuilt from the cells' facility sets
(``analysis.block_sets.facility_sets``): the same boolean matrix as the pairs' sub-matrix, so
the covering step reduces and solves the same problem.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.aggregate import _member_of, aggregate_from_counts
from analysis.block_sets import _members
from analysis.catchments import TravelTimes

__all__ = ["GroupCounts", "aggregate_measures_blocks", "group_counts", "sub_from_sets"]


class GroupCounts:
    """:func:`group_counts` as one consumer of a pass (``add`` each block, then ``result``)."""

    def __init__(
        self, fac_in: sp.csr_matrix, *, threshold_s: float, base: np.ndarray, n_cells: int
    ) -> None:
        self.fin = sp.csc_matrix(fac_in.astype(np.float64))
        self.t, self.base, self.n_cells = threshold_s, np.asarray(base, bool), n_cells
        self.out = sp.csr_matrix((fac_in.shape[0], n_cells))

    def add(self, tt: TravelTimes) -> None:
        m = (tt.time_s <= self.t) & self.base[tt.fac]
        facs, f_local = np.unique(tt.fac[m], return_inverse=True)
        if facs.size == 0:
            return
        a = sp.csr_matrix(
            (np.ones(f_local.size), (f_local, tt.cell[m])), shape=(facs.size, self.n_cells)
        )
        self.out = (self.out + self.fin[:, facs] @ a).tocsr()

    def result(self) -> sp.csr_matrix:
        return self.out


def group_counts(
    blocks: Iterable[TravelTimes],
    fac_in: sp.csr_matrix,
    *,
    threshold_s: float,
    base: np.ndarray,
    n_cells: int,
) -> sp.csr_matrix:
    """(groups x cells) float: the existing facilities of each group within ``threshold_s`` of
    each cell (``fac_in``: groups x facilities membership), added over the blocks."""
    acc = GroupCounts(fac_in, threshold_s=threshold_s, base=base, n_cells=n_cells)
    for tt in blocks:
        acc.add(tt)
    return acc.result()


def sub_from_sets(sets: np.ndarray, mine: np.ndarray, cells: np.ndarray) -> sp.csr_matrix:
    """Boolean (mine x cells): facility ``mine[k]`` within the sets' threshold of ``cells[j]``,
    from the cells' facility sets (the pairs' sub-matrix ``within[mine][:, cells]``)."""
    n_fac = 64 * sets.shape[0]
    r, m = _members(sets, np.asarray(cells), n_fac)
    local = np.full(n_fac, -1, np.int64)
    local[mine] = np.arange(mine.size)
    k = local[m] >= 0
    return sp.csr_matrix(
        (np.ones(int(k.sum()), bool), (local[m[k]], r[k])), shape=(mine.size, cells.size)
    )


def aggregate_measures_blocks(  # noqa: PLR0913 (the merged inputs and the call's keywords)
    blocks: Iterable[TravelTimes] | sp.csr_matrix,
    sets: np.ndarray,
    count: np.ndarray,
    demand: np.ndarray,
    *,
    threshold_s: float,
    cell_area: np.ndarray,
    fac_area: np.ndarray,
    status: np.ndarray,
    base: np.ndarray,
    flag: np.ndarray,
    groups: pd.DataFrame,
    membership: np.ndarray,
    time_limit_s: float = 30.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``aggregate_measures`` at ``threshold_s`` from the blocks, the cells' facility sets at
    that threshold (``facility_sets``) and the existing facilities reaching each cell
    (``count``, the block reduction's). ``blocks`` may instead be the merged
    :func:`group_counts` (read in a pass shared with other measures: :class:`GroupCounts`)."""
    base = np.asarray(base, bool)
    d = np.asarray(demand, np.float64)
    if sp.issparse(blocks):
        n_own = blocks
    else:
        fac_in = _member_of(np.asarray(fac_area), membership)
        n_own = group_counts(blocks, fac_in, threshold_s=threshold_s, base=base, n_cells=d.size)
    return aggregate_from_counts(
        np.asarray(count, np.float64),
        n_own,
        lambda mine, cells: sub_from_sets(sets, mine, cells),
        d,
        cell_area=cell_area,
        fac_area=fac_area,
        status=status,
        base=base,
        flag=flag,
        groups=groups,
        membership=membership,
        time_limit_s=time_limit_s,
    )
