"""The notebook API's demand from points and rasters is kept sparse (issue 19: no array over
the whole bounding box) and equals the dense construction it replaced, cell for cell."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from analysis import api
from analysis import demand as demand_mod
from analysis.api_inputs import _areas, _crs_text
from geo.population import raster_to_grid

CRS = "EPSG:32648"
X0, Y0 = 500_000.0, 1_200_000.0


def _areas_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["B", "A"]},
        geometry=[box(X0 + 3_000, Y0, X0 + 6_000, Y0 + 2_500), box(X0, Y0, X0 + 3_000, Y0 + 2_500)],
        crs=CRS,
    )


def _dense(areas: gpd.GeoDataFrame, arr: np.ndarray, grid: demand_mod.GridSpec, only: bool):
    """The construction the API used before: a dense array over the bounding box."""
    cells = demand_mod.SparseCells.from_dense(arr)
    return demand_mod.demand_from_cells(areas, cells, grid, populated_only=only)


def _same(a: demand_mod.DemandGrid, b: demand_mod.DemandGrid) -> None:
    for name in ("row", "col", "population", "area"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("only", [False, True])
def test_points_demand_is_the_dense_sum_cell_for_cell(only: bool) -> None:
    rng = np.random.default_rng(0)
    n = 400
    xs, ys = X0 + rng.random(n) * 6_500, Y0 + rng.random(n) * 2_700  # some fall outside
    pop = rng.integers(0, 50, n).astype(float)
    pop[:5] = np.nan  # no count: no people
    pts = gpd.GeoDataFrame({"pop": pop}, geometry=gpd.points_from_xy(xs, ys), crs=CRS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = api.demand_from_points(_areas_frame(), pts, population_column="pop",
                                     area_id="code", cell_size_m=250, populated_only=only)  # fmt: skip
    assert any("outside the areas' extent" in str(w.message) for w in caught)
    a = _areas(_areas_frame(), "code", None)
    grid = demand_mod.grid_for_bounds(tuple(a.total_bounds), crs=_crs_text(a), cell_size_m=250)
    col = np.floor((xs - grid.x0) / 250).astype(np.int64)
    row = np.floor((grid.y0 - ys) / 250).astype(np.int64)
    ok = (row >= 0) & (row < grid.shape[0]) & (col >= 0) & (col < grid.shape[1])
    # a point without a count adds nobody (the dense sum lost its whole cell to NaN)
    arr = np.bincount(row[ok] * grid.shape[1] + col[ok], weights=np.nan_to_num(pop[ok]),
                      minlength=grid.shape[0] * grid.shape[1]).reshape(grid.shape)  # fmt: skip
    want = _dense(a, arr, grid, only)
    _same(got.grid, want)
    every = grid.shape[0] * grid.shape[1]
    assert (got.grid.row.size < every) == only, "populated_only did not keep the people's cells"
    assert np.isclose(got.grid.population.sum(), np.nansum(pop[ok])) and (~ok).sum() > 5


@pytest.mark.parametrize("only", [False, True])
def test_raster_demand_is_the_dense_sum_cell_for_cell(tmp_path, only: bool) -> None:
    rng = np.random.default_rng(1)
    values = rng.gamma(0.4, 30.0, (30, 70)).astype(np.float32)
    values[values < 5] = 0.0
    values[0, :3] = -1.0  # nodata
    path = tmp_path / "people.tif"
    with rasterio.open(path, "w", driver="GTiff", height=30, width=70, count=1,
                       dtype="float32", crs=CRS, nodata=-1.0,
                       transform=from_origin(X0 - 130, Y0 + 2_600, 90.0, 90.0)) as ds:  # fmt: skip
        ds.write(values, 1)
    got = api.demand_from_raster(_areas_frame(), path, area_id="code", cell_size_m=200,
                                 populated_only=only)  # fmt: skip
    a = _areas(_areas_frame(), "code", None)
    grid = demand_mod.grid_for_bounds(tuple(a.total_bounds), crs=_crs_text(a), cell_size_m=200)
    arr = raster_to_grid(str(path), crs=grid.crs, x0=grid.x0, y0=grid.y0, cell_size_m=200,
                         shape=grid.shape)  # fmt: skip
    want = _dense(a, arr, grid, only)
    assert got.grid.population.sum() > 1_000 and (got.grid.population == 0).any() != only
    np.testing.assert_allclose(got.grid.population, want.population, rtol=1e-12)
    for name in ("row", "col", "area"):
        assert np.array_equal(getattr(got.grid, name), getattr(want, name)), name


def test_polygons_demand_populated_only_keeps_the_peoples_cells() -> None:
    """``populated_only`` drops the cells an area touches where nobody lives, and nobody."""
    pop = gpd.GeoDataFrame({"population": [900.0]}, geometry=[box(X0 + 500, Y0 + 500,
                           X0 + 1_500, Y0 + 1_500)], crs=CRS)  # fmt: skip
    every = api.demand_from_polygons(_areas_frame(), pop, area_id="code", cell_size_m=250)
    only = api.demand_from_polygons(_areas_frame(), pop, area_id="code", cell_size_m=250,
                                    populated_only=True)  # fmt: skip
    assert every.grid.row.size == 240 and only.grid.row.size == 16
    assert only.grid.population.sum() == every.grid.population.sum() == 900.0
    assert (only.grid.population > 0).all()
