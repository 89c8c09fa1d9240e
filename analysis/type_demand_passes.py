"""Type demand as passes over the facility blocks (moved from ``analysis.type_demand``):
:class:`TypeDemandPasses` shares the type's first two passes (``analysis.type_analysis``);
:func:`type_demand_blocks` runs them on their own. Each block is one compiled loop over its
pairs (``analysis.type_demand_kernel``); the columns equal ``type_demand_columns``' to the
last bit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import type_demand_kernel as tdk
from analysis.catchments import TravelTimes
from analysis.type_demand import DemandSpec, decay_args, fill_size


class TypeDemandPasses:
    """:func:`type_demand_columns` as two passes a run can share with its other measures:
    ``first`` (the Huff denominators per cell: needs nothing merged), ``second`` (each
    facility's shares of the cells' demand against the first's denominators, and E2SFCA's
    pool), then :meth:`result`. Each block is one compiled loop over its pairs
    (``analysis.type_demand_kernel``); ``people`` has no pass."""

    def __init__(
        self,
        spec: DemandSpec,
        cells: np.ndarray,
        *,
        n_fac: int,
        breaks_min: tuple[float, ...],
        active: np.ndarray,
        area_ha: np.ndarray | None = None,
        size: np.ndarray | None = None,
    ) -> None:
        self.spec, self.n_fac = spec, n_fac
        self.cutoff_s = 60.0 * (spec.cutoff_min if spec.cutoff_min is not None else max(breaks_min))
        self.act = np.asarray(active, dtype=bool)
        self.labour = spec.kind == "labour"
        self.supply, self.assumed = fill_size(area_ha if self.labour else size, n_fac)
        attract = self.supply if self.labour or size is not None else np.ones(n_fac)
        self.attract = np.asarray(attract, np.float64)
        self.cd = np.asarray(cells, np.float64)
        self.decay = decay_args(spec, breaks_min)
        self.total = np.zeros(0)
        self.demand = np.zeros(n_fac)
        self.pooled = np.zeros(n_fac)

    def first(self) -> list[Any]:
        """The denominators, pair by pair in facility order (none for ``people``)."""
        if self.spec.kind == "people":
            return []
        self.total = np.zeros(self.cd.size)
        return [_Pass(self._totals)]

    def second(self) -> list[Any]:
        """Each facility's shares (and E2SFCA's pool), after the first pass."""
        return [] if self.spec.kind == "people" else [_Pass(self._shares)]

    def _totals(self, tt: TravelTimes) -> None:
        tdk.huff_totals(tt.fac, tt.cell, tt.time_s, self.attract, self.act, self.cutoff_s,
                        *self.decay, self.total)  # fmt: skip

    def _shares(self, tt: TravelTimes) -> None:
        tdk.huff_demand(tt.fac, tt.cell, tt.time_s, self.attract, self.act, self.cutoff_s,
                        *self.decay, self.total, self.cd, self.labour, self.demand,
                        self.pooled)  # fmt: skip

    def result(self) -> pd.DataFrame:
        """The ``demand_*`` columns (see :func:`type_demand_columns`)."""
        n_fac, spec, demand = self.n_fac, self.spec, self.demand
        self.total = np.zeros(0)  # the grid's denominators are no longer needed
        if spec.kind == "people":
            return pd.DataFrame(index=range(n_fac))
        off = ~self.act
        if not self.labour:
            name = "demand_huff" if spec.kind == "huff" else "demand_grdp"
            return pd.DataFrame({name: np.where(off, np.nan, demand)})
        ratio = np.full(n_fac, np.nan)
        np.divide(self.supply, self.pooled, out=ratio, where=self.pooled > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            unshared = 1.0 / ratio
        return pd.DataFrame(
            {
                "demand_workers": np.where(off, np.nan, demand),
                "demand_workers_per_ha": np.where(off, np.nan, demand / self.supply),
                "demand_e2sfca_workers_per_ha": np.where(off, np.nan, unshared),
                "demand_area_assumed": self.assumed,
            }
        )


@dataclass(frozen=True)
class _Pass:
    """A consumer of a pass (``analysis.block_store.run_pass``) calling ``add`` per block."""

    add: Callable[[TravelTimes], None]


def type_demand_blocks(
    spec: DemandSpec,
    blocks: Callable[[], Iterable[TravelTimes]],
    cells: np.ndarray,
    *,
    n_fac: int,
    breaks_min: tuple[float, ...],
    active: np.ndarray,
    area_ha: np.ndarray | None = None,
    size: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`type_demand_columns` from facility blocks (``blocks()`` gives them afresh for each
    pass, in facility order): equal to the last bit, without every pair at once; the two passes
    of :class:`TypeDemandPasses` on their own."""
    tdp = TypeDemandPasses(spec, cells, n_fac=n_fac, breaks_min=breaks_min, active=active,
                           area_ha=area_ha, size=size)  # fmt: skip
    for consumers in (tdp.first(), tdp.second()):
        if consumers:
            for tt in blocks():
                for c in consumers:
                    c.add(tt)
    return tdp.result()
