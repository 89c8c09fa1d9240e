"""The memory a run's demand grid needs, estimated from cell counts before the work starts
(issue 19, "bad input": a clear message naming what to change, never an out-of-memory kill):
the cells and their access held through the run, the catchment kernel's inputs, the passes'
accumulators of the largest type and the facility sets. Used by
:func:`analysis.demand.build_demand`; :meth:`MemoryBudget.fuse_bytes` sizes the facility sets a
type's first pass may hold from what the limit leaves (``analysis.type_analysis``). The
per-cell constants are measured by ``bench/grid_memory.py``. :func:`release_freed` hands the
heap's freed pages back to the system between a type's stages.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.results import GridSpec

#: bytes per demand cell held from the grid's construction to the end of the run, measured at
#: 100 m (``bench/grid_memory.py``): the cells (row and col int32, people float64, area int64),
#: their snap onto the roads (edge and component int32, distance and position float64) and
#: their access time (float64); the centres are computed when snapped, never held
DEMAND_BYTES_PER_CELL = 56
#: bytes per cell at the peak of the grid's construction (``analysis.demand.demand_from_cells``:
#: the flat indices, the provinces' cells, the search positions, the people and areas being
#: filled: 64-70 B measured at 2-4 M cells) with the people read from the raster (16 B a cell),
#: freed before the roads are snapped
BUILD_BYTES_PER_CELL = 96
#: bytes per demand cell kept for every type until the outputs are written: the values of its
#: coverage-count (int16) and nearest-time (float32) rasters (their cells are the grid's own)
TYPE_BYTES_PER_CELL = 8
#: bytes per cell of the kernel's inputs while a type's catchments are solved
#: (``analysis.kernel.prepare``): the node -> cell table, a cell at both ends of its edge
#: (int32 cell + float64 offset each); the access times are the cells' own
KERNEL_BYTES_PER_CELL = 24
#: and per cell and kernel thread: the best time (float64) and the touched cells (int32)
KERNEL_THREAD_BYTES_PER_CELL = 12
#: bytes per cell of a type's first pass that do not depend on its breaks
#: (``analysis.blocks.Reduction``'s nearest two: facility int32 and time float64, twice)
NEAREST_BYTES_PER_CELL = 24
#: and per break: the coverage count (int32)
COUNT_BYTES_PER_CELL = 4
#: an allowance per cell for the other consumers of a type's passes: the groups' bits
#: (``aggregate_blocks.GroupBits``: own and outside, a word each up to 64 groups: 16 B; Viet
#: Nam's 6 regions, 34 and 63 provinces: two words each, 32 B; read in the removal's pass,
#: with its two minima, after the first pass's accumulators are let go), the sharing keys'
#: provinces (int16 per edition: 4 B), the type demand's per-cell sums (8 B); the verdict's
#: counts are reserved from the sets' budget (``verdict_blocks.VerdictPasses``)
OTHER_PASS_BYTES_PER_CELL = 44
#: facility sets (``analysis.cell_sets.FacilitySets``) held at once when none is fused into
#: the first pass: the primary break's and the one the covering step asks for
MIN_SETS = 2
#: the mean facilities of a type reaching a populated cell at its widest break, for the
#: estimate made before the catchments are known (measured at 100 m, 1,000 facilities: 14.5
#: for 150 seaports at 120 min, 8.5 for 750 parks at 60 min, 5.0 for 100 airports); the sets'
#: budget is then taken from the counted pairs (``block_sets.SetSource.fillers``)
SET_MEMBERS_PER_CELL = 16
#: rows of the grid a raster fills at a time while it is written (one row of 256-pixel tiles;
#: ``maps.rasters`` writes the coverage-count and nearest-time rasters from the cells, window
#: by window, never dense over the whole grid)
RASTER_WINDOW_ROWS = 256
#: bytes per pixel of that window (the widest raster value, float32, twice while written)
RASTER_WINDOW_BYTES_PER_PIXEL = 8
#: bytes per populated cell while a raster is read (flat index + people, twice while merged)
READ_BYTES_PER_CELL = 32
#: the shared first pass's budget for sets when nothing says how much memory is left
#: (``analysis.block_sets.fuse_bytes_default``)
FUSE_BYTES_FLOOR = 512 * 2**20


def words(n: int) -> int:
    """uint64 words of a bit set of ``n`` members (facilities or areas), at least one."""
    return max(1, (n + 63) // 64)


@dataclass(frozen=True)
class TypeShape:
    """What a type's passes hold per cell depends on: its facilities and breaks, and the area
    levels whose province bits it merges (areas of each level, e.g. (34, 63) for Viet Nam)."""

    n_fac: int
    n_breaks: int
    areas: tuple[int, ...] = (63,)

    def pass_bytes_per_cell(self) -> int:
        """Bytes per cell of the type's first pass without its facility sets: the nearest two,
        a count and the run's level's province bits per break (the other levels' matrices are
        read from the sets' lists; the widest level is taken), the other consumers' allowance."""
        bits = max((8 * words(n) for n in self.areas), default=8)
        per_break = COUNT_BYTES_PER_CELL + bits
        return NEAREST_BYTES_PER_CELL + self.n_breaks * per_break + OTHER_PASS_BYTES_PER_CELL

    def set_bytes_per_cell(self) -> int:
        """Bytes per cell of one facility set (per-cell lists): the count (2 B), the offset
        (4 B) and :data:`SET_MEMBERS_PER_CELL` members of 2 bytes (4 from 32,768 facilities),
        never more members than the type has."""
        member = 2 if self.n_fac < 2**15 else 4
        return 2 + 4 + member * min(self.n_fac, SET_MEMBERS_PER_CELL)


#: a type whose facilities are not known yet: the national benchmark's largest (150 seaports,
#: three breaks, Viet Nam's two area levels)
DEFAULT_TYPE = TypeShape(n_fac=150, n_breaks=3, areas=(34, 63))


@dataclass(frozen=True)
class MemoryBudget:
    """The memory a run may use, checked from cell counts before the work that needs it.

    ``types`` (one :class:`TypeShape` each, when the facilities are known) sizes the passes'
    accumulators; without it every type is taken as :data:`DEFAULT_TYPE`."""

    limit_gib: float
    n_types: int = 1
    source: str = ""
    types: tuple[TypeShape, ...] = ()
    threads: int = 2

    @classmethod
    def for_machine(
        cls,
        *,
        max_gib: float | None = None,
        n_types: int = 1,
        source: str = "",
        types: tuple[TypeShape, ...] = (),
        threads: int | None = None,
    ) -> MemoryBudget:
        """``max_gib`` (``[region] max_grid_gib``), else half of this machine's memory;
        ``threads``: the kernel's (default: the CPUs this process may use)."""
        from analysis.kernel import default_threads
        from geo.config_schema import machine_memory_gib

        threads = threads or default_threads()
        limit = max_gib or machine_memory_gib() * 0.5
        return cls(limit, max(n_types, len(types)), source, types, max(1, threads))

    @classmethod
    def for_run(
        cls,
        config: Any,
        *,
        provinces: Any = None,
        facilities: Any = None,
        types: Sequence[str] | None = None,
    ) -> MemoryBudget:
        """The budget of a run of ``config`` (a ``geo.config.RegionConfig``): its limit, its
        ``types`` (default: every type of the config), each with its facilities counted in
        ``facilities`` (a frame with a ``type`` column; unknown: :data:`DEFAULT_TYPE`'s), its
        breaks and the areas of every level of ``provinces`` (``geo.provinces.Provinces``)."""
        names = tuple(config.types) if types is None else tuple(types)
        areas = DEFAULT_TYPE.areas
        if provinces is not None:
            areas = tuple(len(getattr(provinces, f"p{lv.edition}")) for lv in config.area_levels)
        shapes = tuple(
            TypeShape(
                n_fac=(
                    int((facilities["type"] == t).sum())
                    if facilities is not None
                    else DEFAULT_TYPE.n_fac
                ),
                n_breaks=len(config.types[t].breaks_min),
                areas=areas,
            )
            for t in names
            if t in config.types
        )
        return cls.for_machine(
            max_gib=config.max_grid_gib, n_types=len(names), source=config.path, types=shapes
        )

    def _shapes(self) -> tuple[TypeShape, ...]:
        return self.types or (DEFAULT_TYPE,) * max(self.n_types, 1)

    def held_bytes(self, n_cells: int) -> int:
        """Bytes held through the whole run: the cells, their snap and access, every type's
        kept rasters."""
        return n_cells * (DEMAND_BYTES_PER_CELL + TYPE_BYTES_PER_CELL * len(self._shapes()))

    def type_peak_bytes(self, n_cells: int, shape: TypeShape) -> int:
        """Bytes of one type beyond :meth:`held_bytes` at its peak: the kernel's inputs while
        its pairs are solved, else its passes' accumulators and :data:`MIN_SETS` facility sets
        (the pairs aside: ``INFRA_OVERLAP_SPILL_MB`` bounds them)."""
        kernel = KERNEL_BYTES_PER_CELL + KERNEL_THREAD_BYTES_PER_CELL * self.threads
        passes = shape.pass_bytes_per_cell() + MIN_SETS * shape.set_bytes_per_cell()
        return n_cells * max(kernel, passes)

    def need_gib(self, n_cells: int, grid: GridSpec) -> float:
        """GiB a run needs for ``n_cells`` demand cells on ``grid`` (pairs aside): the larger of
        the grid's construction and the run's peak (what it holds, the largest type's peak,
        one raster window)."""
        rows = min(RASTER_WINDOW_ROWS, grid.shape[0])
        window = RASTER_WINDOW_BYTES_PER_PIXEL * rows * grid.shape[1]  # one raster at a time
        peak = max(self.type_peak_bytes(n_cells, s) for s in self._shapes())
        run = self.held_bytes(n_cells) + peak + window
        return max(run, n_cells * BUILD_BYTES_PER_CELL) / 2**30

    def fuse_bytes(self, n_cells: int, shape: TypeShape) -> int:
        """Bytes the type's shared first pass may give to facility sets: what the limit leaves
        beyond the run's holdings, the type's passes and one set read in a pass of its own
        later (the fused sets are held until the type is done), at least
        :data:`FUSE_BYTES_FLOOR` (``analysis.block_sets.fuse_bytes_default``)."""
        per_cell = shape.pass_bytes_per_cell() + shape.set_bytes_per_cell()
        left = int(self.limit_gib * 2**30) - self.held_bytes(n_cells) - n_cells * per_cell
        return max(FUSE_BYTES_FLOOR, left)

    def check(self, n_cells: int, grid: GridSpec, *, populated_only: bool) -> None:
        """Refuse, before the cells are built, a run that would exceed the budget."""
        from geo.errors import InputError

        need = self.need_gib(n_cells, grid)
        if need <= self.limit_gib:
            return
        fixes = "raise [region] cell_size_m"
        if not populated_only:
            fixes = "set [region] populated_cells_only = true (only cells with people), " + fixes
        n_types = len(self._shapes())
        raise InputError(
            f"{n_cells:,} demand cells of {grid.cell_size_m:g} m on a {grid.shape[0]:,} × "
            f"{grid.shape[1]:,} grid need about {need:,.2f} GiB for {n_types} type(s) "
            f"(the cells, the catchment kernel's inputs and the passes' accumulators; limit "
            f"{self.limit_gib:,.2f} GiB: [region] max_grid_gib, else half of this machine's "
            f"memory); {fixes}, run fewer --types, or raise max_grid_gib on a larger machine",
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


def release_freed() -> bool:
    """Give the pages the C heap holds free back to the system (glibc's ``malloc_trim(0)``;
    elsewhere nothing): arrays under glibc's mmap threshold (grown up to 32 MB by the frees of
    larger ones) and the pass threads' arenas otherwise stay in the resident set after they are
    freed, and a type's next stage then peaks on top of them (at 100 m: 0.5 GB after a type).
    Returns whether any memory was released."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return False
    return bool(trim(0))
