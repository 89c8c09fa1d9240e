"""The demand grid: square cells in the metric CRS carrying people, the common currency of every
measure.

The grid's origin is aligned to multiples of the cell size. A cell belongs to the region when
it touches a province polygon (the 63-province edition; the 34 provinces are whole unions of
them; the province of its centre, else of the polygon that touches it) or when people were placed
on it. Population polygons are spread over the
cells whose centres they contain, in proportion to the count of those cells (uniform density
within a polygon); a polygon too small to contain a cell centre puts its people on the cell
under its representative point, so that every province total is kept exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from rasterio import features
from rasterio import transform as rtransform

from analysis.results import GridSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemandGrid:
    """Region cells with people.

    Attributes
    ----------
    grid
        The raster grid (metric CRS).
    row, col
        Position of every region cell in the grid.
    xy
        (n_cells, 2) cell centres in the metric CRS.
    population
        People per cell (float).
    area
        Index of every cell into the table of the region's finest area level (the first of
        ``RegionConfig.area_levels``; Viet Nam: the 63 provinces), -1 if none.
    """

    grid: GridSpec
    row: np.ndarray
    col: np.ndarray
    xy: np.ndarray
    population: np.ndarray
    area: np.ndarray

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
    ) -> np.ndarray:
        """Scatter per-cell values back onto the full grid (other cells = nodata)."""
        out: np.ndarray = np.full(self.grid.shape, nodata, dtype=dtype)
        out[self.row, self.col] = values
        return out


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


def demand_from_polygons(
    provinces63: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame | None,
    *,
    crs: str,
    cell_size_m: float,
    population_grid: np.ndarray | None = None,
    grid: GridSpec | None = None,
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
        People per cell already on ``grid`` (e.g. a WorldPop raster summed onto the grid).
    grid
        The grid to use with ``population_grid``; computed from the provinces' bounds otherwise.

    Returns
    -------
    DemandGrid
    """
    prov = provinces63.to_crs(crs)
    if grid is None:
        grid = grid_for_bounds(tuple(prov.total_bounds), crs=crs, cell_size_m=cell_size_m)
    prov_idx = _rasterize_index(np.asarray(prov.geometry.values), grid)
    people = np.zeros(grid.shape, dtype=np.float64)
    if population_grid is not None:
        people += np.nan_to_num(np.asarray(population_grid, dtype=np.float64))
    elif population is not None:
        pop = population.to_crs(crs)
        pop_geoms = np.asarray(pop.geometry.values)
        pop_idx = _rasterize_index(pop_geoms, grid)
        values = pop["population"].to_numpy(np.float64)
        counts = np.bincount(pop_idx[pop_idx >= 0], minlength=len(pop))
        has = counts > 0
        per_cell = np.zeros(len(pop))
        per_cell[has] = values[has] / counts[has]
        m = pop_idx >= 0
        people[m] += per_cell[pop_idx[m]]
        # polygons without a cell centre: all their people on the cell under a representative point
        small = np.flatnonzero(~has & (values > 0))
        if small.size:
            pts = shapely.point_on_surface(pop_geoms[small])
            r, c = rtransform.rowcol(
                rtransform.Affine(*grid.affine), shapely.get_x(pts), shapely.get_y(pts)
            )
            r = np.clip(np.asarray(r), 0, grid.shape[0] - 1)
            c = np.clip(np.asarray(c), 0, grid.shape[1] - 1)
            np.add.at(people, (r, c), values[small])
    # coastal cells whose centre is at sea still carry a travel time (a coastal town's point
    # may fall in one): cells touched by a province are in the region, with 0 people
    touched = _rasterize_index(np.asarray(prov.geometry.values), grid, all_touched=True)
    prov_idx = np.where(prov_idx >= 0, prov_idx, touched)
    region = (prov_idx >= 0) | (people > 0)
    row, col = np.nonzero(region)
    xs = grid.x0 + (col + 0.5) * grid.cell_size_m
    ys = grid.y0 - (row + 0.5) * grid.cell_size_m
    p63 = prov_idx[row, col]
    # cells with people but no province centre (coast, islands): the nearest province
    orphan = np.flatnonzero(p63 < 0)
    if orphan.size:
        tree = shapely.STRtree(np.asarray(prov.geometry.values))
        idx = tree.query_nearest(shapely.points(xs[orphan], ys[orphan]), all_matches=False)
        p63[orphan[idx[0]]] = idx[1]
    log.info(
        "demand grid: %d cells of %.0f m, %.0f people",
        row.size,
        cell_size_m,
        people[row, col].sum(),
    )
    return DemandGrid(
        grid=grid,
        row=row.astype(np.int64),
        col=col.astype(np.int64),
        xy=np.column_stack([xs, ys]),
        population=people[row, col],
        area=p63.astype(np.int64),
    )
