"""The memory a run's demand grid needs, estimated from cell counts before the work starts
(issue 19, "bad input": a clear message naming what to change, never an out-of-memory kill).
Used by :func:`analysis.demand.build_demand`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.results import GridSpec

#: bytes per demand cell at the peak of a run, the (facility, cell) pairs aside: the cells
#: (row, col, xy, people, area), their snap and access, the construction's index arrays, and
#: the per-cell measures of the type being analysed; a deliberate over-estimate
DEMAND_BYTES_PER_CELL = 240
#: bytes per demand cell kept for every type (coverage counts, nearest times and their cells,
#: the cells served by several)
TYPE_BYTES_PER_CELL = 40
#: rows of the grid a raster fills at a time while it is written (one row of 256-pixel tiles;
#: ``maps.rasters`` writes the coverage-count and nearest-time rasters from the cells, window
#: by window, never dense over the whole grid)
RASTER_WINDOW_ROWS = 256
#: bytes per pixel of that window (the widest raster value, float32, twice while written)
RASTER_WINDOW_BYTES_PER_PIXEL = 8
#: bytes per populated cell while a raster is read (flat index + people, twice while merged)
READ_BYTES_PER_CELL = 32


@dataclass(frozen=True)
class MemoryBudget:
    """The memory a run may use, checked from cell counts before the work that needs it."""

    limit_gib: float
    n_types: int = 1
    source: str = ""

    @classmethod
    def for_machine(
        cls, *, max_gib: float | None = None, n_types: int = 1, source: str = ""
    ) -> MemoryBudget:
        """``max_gib`` (``[region] max_grid_gib``), else half of this machine's memory."""
        from geo.config_schema import machine_memory_gib

        return cls(max_gib or machine_memory_gib() * 0.5, n_types, source)

    def need_gib(self, n_cells: int, grid: GridSpec) -> float:
        """GiB a run needs for ``n_cells`` demand cells on ``grid`` (pairs aside)."""
        per_cell = DEMAND_BYTES_PER_CELL + TYPE_BYTES_PER_CELL * self.n_types
        rows = min(RASTER_WINDOW_ROWS, grid.shape[0])
        window = RASTER_WINDOW_BYTES_PER_PIXEL * rows * grid.shape[1]  # one raster at a time
        return (n_cells * per_cell + window) / 2**30

    def check(self, n_cells: int, grid: GridSpec, *, populated_only: bool) -> None:
        """Refuse, before the cells are built, a run that would exceed the budget."""
        from geo.errors import InputError

        need = self.need_gib(n_cells, grid)
        if need <= self.limit_gib:
            return
        fixes = "raise [region] cell_size_m"
        if not populated_only:
            fixes = "set [region] populated_cells_only = true (only cells with people), " + fixes
        raise InputError(
            f"{n_cells:,} demand cells of {grid.cell_size_m:g} m on a {grid.shape[0]:,} × "
            f"{grid.shape[1]:,} grid need about {need:,.2f} GiB for {self.n_types} type(s) "
            f"(limit {self.limit_gib:,.2f} GiB: [region] max_grid_gib, else half of this "
            f"machine's memory); {fixes}, run fewer --types, or raise max_grid_gib on a "
            "larger machine",
            source=self.source or None,
        )

    def check_read(self, populated_upper: int, grid: GridSpec, path: str) -> None:
        """Refuse a raster whose populated cells cannot even be read onto the grid."""
        from geo.errors import InputError

        need = populated_upper * READ_BYTES_PER_CELL / 2**30
        if need > self.limit_gib:
            raise InputError(
                f"the raster would put people on up to {populated_upper:,} cells of "
                f"{grid.cell_size_m:g} m, about {need:,.2f} GiB to read (limit "
                f"{self.limit_gib:,.2f} GiB); raise [region] cell_size_m or clip the raster",
                source=path,
            )


def populated_upper_bound(populated_src: int, src_cell_area_m2: float, grid: GridSpec) -> int:
    """At most how many grid cells receive people from ``populated_src`` raster cells of
    ``src_cell_area_m2`` each (a source cell of side s overlaps at most (1 + s / c)² cells of
    side c); never more than the grid has."""
    side = float(np.sqrt(max(src_cell_area_m2, 0.0)))
    per_src = (1.0 + side / grid.cell_size_m) ** 2
    return int(min(populated_src * per_src, grid.shape[0] * grid.shape[1]))
