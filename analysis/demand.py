"""The demand grid: square cells in the metric CRS carrying people, the common currency of every
measure.

The grid's origin is aligned to multiples of the cell size. A cell belongs to the region when
it touches a province polygon (the 63-province edition; the 34 provinces are whole unions of
them; the province of its centre, else of the polygon that touches it) or when people were placed
on it; with ``populated_only`` (``[region] populated_cells_only``, for 100 m grids) only the cells
with people are demand. Population polygons are spread over the cells whose centres they contain,
in proportion to the count of those cells (uniform density within a polygon); a polygon too small
to contain a cell centre puts its people on the cell under its representative point, so that
every province total is kept exactly.

The grid is never held dense: provinces and population polygons are rasterised in row windows of
at most :data:`WINDOW_CELLS` cells, and only the region's cells (flat index, people, area) are
kept, so memory scales with the cells kept, not with the bounding box (a national 100 m bbox is
~290 M cells, of which ~33 M on land and ~10 M populated). Rasters are read by
``geo.population.raster_to_cells`` in row windows the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from rasterio import features
from rasterio import transform as rtransform

from analysis.demand_memory import MemoryBudget, populated_upper_bound
from analysis.results import GridSpec
from analysis.sparse_raster import SparseRaster
from geo.population_polygons import PopulationLayer

log = logging.getLogger(__name__)

#: cells of one row window rasterised at a time (int32 + int64 per cell, ~100 MB at the peak)
WINDOW_CELLS = 8_000_000


@dataclass(frozen=True)
class DemandGrid:
    """Region cells with people.

    Attributes
    ----------
    grid
        The raster grid (metric CRS).
    row, col
        Position of every region cell in the grid (int32 where the grid's shape fits, as it
        always does: 2**31 rows is 200,000 km of 100 m cells).
    population
        People per cell (float).
    area
        Index of every cell into the table of the region's finest area level (the first of
        ``RegionConfig.area_levels``; Viet Nam: the 63 provinces), -1 if none.
    """

    grid: GridSpec
    row: np.ndarray
    col: np.ndarray
    population: np.ndarray
    area: np.ndarray

    @property
    def xy(self) -> np.ndarray:
        """(n_cells, 2) cell centres in the metric CRS, computed when asked (the run needs them
        once, to snap the cells: 16 bytes a cell not held for the whole run)."""
        size = self.grid.cell_size_m
        xs = self.grid.x0 + (self.col.astype(np.int64) + 0.5) * size
        ys = self.grid.y0 - (self.row.astype(np.int64) + 0.5) * size
        return np.column_stack([xs, ys])

    @property
    def prov63(self) -> np.ndarray:
        """Viet Nam's name of :attr:`area` (the 63 provinces are its finest level); kept for the
        callers not yet on the generic name."""
        return self.area

    @property
    def n_cells(self) -> int:
        return int(self.row.size)

    def to_raster(
        self, values: np.ndarray, *, nodata: float, dtype: type = np.float32
    ) -> SparseRaster:
        """Per-cell values as a raster of the full grid (other cells = nodata), kept sparse:
        the grid is only ever filled a window of rows at a time (:meth:`SparseRaster.window`)."""
        return SparseRaster.of_cells(self.grid.shape, self.row, self.col, values, nodata, dtype)


@dataclass(frozen=True)
class SparseCells:
    """People on some cells of a grid: sorted unique flat indices (row * cols + col) and their
    values (the people of one source, before the region is cut out)."""

    flat: np.ndarray
    people: np.ndarray

    @classmethod
    def from_dense(cls, grid: np.ndarray) -> SparseCells:
        """The nonzero cells of a dense people array (NaN counts as 0)."""
        values = np.nan_to_num(np.asarray(grid, dtype=np.float64)).ravel()
        flat = np.flatnonzero(values)
        return cls(flat.astype(np.int64), values[flat])

    @classmethod
    def summed(cls, flat: np.ndarray, people: np.ndarray) -> SparseCells:
        """Duplicate cells summed, in their given order (0 + a + b ..., as a dense ``+=``)."""
        if flat.size == 0:
            return cls(np.zeros(0, np.int64), np.zeros(0))
        order = np.argsort(flat, kind="stable")
        fs = flat[order].astype(np.int64)
        first = np.ones(fs.size, bool)
        first[1:] = fs[1:] != fs[:-1]
        starts = np.flatnonzero(first)
        # a cell appears once per chunk over it (a handful): summed left to right
        out = np.add.reduceat(np.asarray(people, np.float64)[order], starts)
        return cls(fs[starts], out)


def grid_for_bounds(
    bounds: tuple[float, float, float, float], *, crs: str, cell_size_m: float
) -> GridSpec:
    """A grid covering ``bounds`` (minx, miny, maxx, maxy in ``crs``), origin aligned to the cell size."""
    minx, miny, maxx, maxy = bounds
    x0 = np.floor(minx / cell_size_m) * cell_size_m
    y0 = np.ceil(maxy / cell_size_m) * cell_size_m
    cols = int(np.ceil((maxx - x0) / cell_size_m))
    rows = int(np.ceil((y0 - miny) / cell_size_m))
    return GridSpec(
        crs=crs, x0=float(x0), y0=float(y0), cell_size_m=float(cell_size_m), shape=(rows, cols)
    )


def row_windows(grid: GridSpec, *, window_cells: int | None = None) -> Iterator[GridSpec]:
    """The grid in row windows of at most ``window_cells`` cells (each a grid of its own, its
    origin ``r0`` rows down: exact, since the origin is a multiple of the cell size)."""
    rows, cols = grid.shape
    step = max(1, (window_cells or WINDOW_CELLS) // max(cols, 1))
    for r0 in range(0, rows, step):
        h = min(step, rows - r0)
        yield GridSpec(
            crs=grid.crs,
            x0=grid.x0,
            y0=grid.y0 - r0 * grid.cell_size_m,
            cell_size_m=grid.cell_size_m,
            shape=(h, cols),
        )


def _rasterize_index(geoms: np.ndarray, grid: GridSpec, *, all_touched: bool = False) -> np.ndarray:
    aff = rtransform.Affine(*grid.affine)
    shapes = ((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty)
    out = features.rasterize(
        shapes,
        out_shape=grid.shape,
        transform=aff,
        fill=0,
        dtype="int32",
        all_touched=all_touched,
    )
    index: np.ndarray = out.astype(np.int64) - 1
    return index


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted unique values of two int arrays (``np.union1d`` without its hash table, which is
    slower than a sort here)."""
    c = np.sort(np.concatenate([a, b]).astype(np.int64))
    keep = np.ones(c.size, bool)
    keep[1:] = c[1:] != c[:-1]
    out: np.ndarray = c[keep]
    return out


def _r0(window: GridSpec, grid: GridSpec) -> int:
    return round((grid.y0 - window.y0) / grid.cell_size_m)


def _province_cells(
    prov_geoms: np.ndarray,
    grid: GridSpec,
    window_cells: int | None,
    only: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(flat index, province) of every cell touched by a province: the province of the cell's
    centre, else of the polygon that touches it; window by window. With ``only`` (sorted flat
    indices): the province (-1 if none) of those cells alone, in their order."""
    flats, provs = [], []
    cols = grid.shape[1]
    for w in row_windows(grid, window_cells=window_cells):
        lo = _r0(w, grid) * cols
        if only is not None:
            i0, i1 = np.searchsorted(only, [lo, lo + w.shape[0] * cols])
            if i1 == i0:
                continue
        centre = _rasterize_index(prov_geoms, w)
        touched = _rasterize_index(prov_geoms, w, all_touched=True)
        idx = np.where(centre >= 0, centre, touched).ravel()
        local = np.flatnonzero(idx >= 0) if only is None else only[i0:i1] - lo
        flats.append(local + lo)
        provs.append(idx[local])
    if not flats:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(flats).astype(np.int64), np.concatenate(provs).astype(np.int64)


def spread_polygons(
    population: gpd.GeoDataFrame, grid: GridSpec, *, window_cells: int | None = None
) -> SparseCells:
    """People of polygons (``population`` column, the grid's CRS) spread evenly over the cells
    whose centres they contain; a polygon without a cell centre puts its people on the cell
    under its representative point. Two passes over row windows (counts, then values)."""
    geoms = np.asarray(population.geometry.values)
    values = population["population"].to_numpy(np.float64)
    cols = grid.shape[1]
    flats, pids = [], []
    for w in row_windows(grid, window_cells=window_cells):
        idx = _rasterize_index(geoms, w).ravel()
        local = np.flatnonzero(idx >= 0)
        flats.append(local + _r0(w, grid) * cols)
        pids.append(idx[local])
    flat = np.concatenate(flats).astype(np.int64)
    pid = np.concatenate(pids)
    counts = np.bincount(pid, minlength=len(population))
    has = counts > 0
    per_cell = np.zeros(len(population))
    per_cell[has] = values[has] / counts[has]
    people = per_cell[pid]
    # polygons without a cell centre: all their people on the cell under a representative point
    small = np.flatnonzero(~has & (values > 0))
    if small.size:
        pts = shapely.point_on_surface(geoms[small])
        r, c = rtransform.rowcol(
            rtransform.Affine(*grid.affine), shapely.get_x(pts), shapely.get_y(pts)
        )
        r = np.clip(np.asarray(r), 0, grid.shape[0] - 1)
        c = np.clip(np.asarray(c), 0, grid.shape[1] - 1)
        extra = (r * cols + c).astype(np.int64)
        allf = _union(flat, extra)
        out = np.zeros(allf.size)
        out[np.searchsorted(allf, flat)] = people
        np.add.at(out, np.searchsorted(allf, extra), values[small])
        flat, people = allf, out
    return SparseCells(flat, people)


def demand_from_cells(
    provinces63: gpd.GeoDataFrame,
    people: SparseCells,
    grid: GridSpec,
    *,
    populated_only: bool = False,
    window_cells: int | None = None,
    memory: MemoryBudget | None = None,
) -> DemandGrid:
    """The demand grid from people on cells of ``grid`` and the 63 provinces (any CRS, in the
    order ``area`` refers to): the cells touched by a province or holding people (with
    ``populated_only``: the cells holding people), row by row. With ``memory``, the run's
    memory for that many cells is checked before the cells are built (:class:`MemoryBudget`)."""
    prov = provinces63.to_crs(grid.crs)
    geoms = np.asarray(prov.geometry.values)
    if populated_only:
        flat = people.flat[people.people > 0]
        if memory is not None:
            memory.check(flat.size, grid, populated_only=populated_only)
        pflat, pidx = _province_cells(geoms, grid, window_cells, only=flat)
    else:
        pflat, pidx = _province_cells(geoms, grid, window_cells)
        flat = _union(pflat, people.flat[people.people > 0])
        if memory is not None:
            memory.check(flat.size, grid, populated_only=populated_only)
    pop = np.zeros(flat.size)
    pos = np.searchsorted(flat, people.flat)
    ok = (pos < flat.size) & (flat[np.minimum(pos, flat.size - 1)] == people.flat)
    pop[pos[ok]] = people.people[ok]
    area = np.full(flat.size, -1, np.int64)
    pos = np.searchsorted(flat, pflat)
    ok = (pos < flat.size) & (flat[np.minimum(pos, flat.size - 1)] == pflat)
    area[pos[ok]] = pidx[ok]
    cols = grid.shape[1]
    index = np.int32 if max(grid.shape) < 2**31 else np.int64
    row, col = (flat // cols).astype(index), (flat % cols).astype(index)
    del flat
    # cells with people but no province centre (coast, islands): the nearest province
    orphan = np.flatnonzero(area < 0)
    if orphan.size:
        xy = DemandGrid(grid, row[orphan], col[orphan], pop[orphan], area[orphan]).xy
        tree = shapely.STRtree(geoms)
        idx = tree.query_nearest(shapely.points(xy[:, 0], xy[:, 1]), all_matches=False)
        area[orphan[idx[0]]] = idx[1]
    log.info("demand grid: %d cells of %.0f m, %.0f people", row.size, grid.cell_size_m, pop.sum())
    return DemandGrid(grid=grid, row=row, col=col, population=pop, area=area)


def demand_from_polygons(
    provinces63: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame | None,
    *,
    crs: str,
    cell_size_m: float,
    population_grid: np.ndarray | None = None,
    grid: GridSpec | None = None,
    populated_only: bool = False,
) -> DemandGrid:
    """Build the demand grid from 63-province polygons and population polygons (or a raster).

    Parameters
    ----------
    provinces63
        The 63 provinces (any CRS), in the order whose index ``prov63`` refers to.
    population
        Polygons with a ``population`` column (any CRS); None when ``population_grid`` is given.
    crs
        The metric CRS of the grid.
    cell_size_m
        Cell size in metres.
    population_grid
        People per cell already on ``grid`` (dense; e.g. a raster summed onto the grid).
    grid
        The grid to use with ``population_grid``; computed from the provinces' bounds otherwise.
    populated_only
        Only the cells holding people are demand (else every cell a province touches, too).

    Returns
    -------
    DemandGrid
    """
    if grid is None:
        bounds = tuple(provinces63.to_crs(crs).total_bounds)
        grid = grid_for_bounds(bounds, crs=crs, cell_size_m=cell_size_m)
    if population_grid is not None:
        people = SparseCells.from_dense(population_grid)
    elif population is not None:
        people = spread_polygons(population.to_crs(crs), grid)
    else:
        people = SparseCells(np.zeros(0, np.int64), np.zeros(0))
    return demand_from_cells(provinces63, people, grid, populated_only=populated_only)


def people_from_raster(path: str, grid: GridSpec) -> SparseCells:
    """A raster of people per cell summed onto ``grid`` (each source cell split over the grid
    cells by footprint overlap, ``geo.population_warp``), row window by row
    window, kept sparse (``geo.population.raster_to_cells``)."""
    from geo.population import raster_to_cells

    flat, people = raster_to_cells(
        path, crs=grid.crs, x0=grid.x0, y0=grid.y0, cell_size_m=grid.cell_size_m, shape=grid.shape
    )
    return SparseCells.summed(flat, people)


def build_demand(
    provinces63: gpd.GeoDataFrame,
    layer: PopulationLayer,
    *,
    crs: str,
    cell_size_m: float,
    populated_only: bool = False,
    memory: MemoryBudget | None = None,
) -> DemandGrid:
    """The demand grid of a region from its population layer (polygons, or a raster read in
    row windows), on the grid over the provinces' bounds; memory checked on the way."""
    grid = grid_for_bounds(
        tuple(provinces63.to_crs(crs).total_bounds), crs=crs, cell_size_m=cell_size_m
    )
    if layer.raster is not None:
        if memory is not None and layer.populated_cells is not None:
            upper = populated_upper_bound(layer.populated_cells, layer.cell_area_m2 or 0.0, grid)
            memory.check_read(upper, grid, str(layer.raster))
        people = people_from_raster(str(layer.raster), grid)
    else:
        people = spread_polygons(layer.polygons.to_crs(crs), grid)
    return demand_from_cells(
        provinces63, people, grid, populated_only=populated_only, memory=memory
    )
