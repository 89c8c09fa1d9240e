"""A 100 m population raster (WorldPop's 3 arc-second grid) read in row windows: the windowed sum
keeps the people and equals the one-window sum, onto a 100 m and a 1 km grid."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

import geo.population as population
from geo.population import raster_to_grid

METRIC = "EPSG:3405"
RES_DEG = 1 / 1200  # 3 arc-seconds, WorldPop's ~100 m grid
LEFT, TOP = 105.70, 21.10
ROWS, COLS = 900, 1100


def _worldpop_like(path) -> float:
    """Clustered people on ~25 % of the cells, the rest nodata or 0, as a WorldPop tile."""
    rng = np.random.default_rng(19)
    yy, xx = np.mgrid[0:ROWS, 0:COLS]
    people = np.zeros((ROWS, COLS), dtype="float32")
    for cy, cx, s in rng.uniform([0, 0, 20], [ROWS, COLS, 120], size=(12, 3)):
        people += (200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s**2))).astype("f4")
    people[people < 5] = 0
    people[rng.random(people.shape) < 0.05] = -99999.0  # nodata
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=COLS,
        height=ROWS,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(LEFT, TOP, RES_DEG, RES_DEG),
        nodata=-99999.0,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as ds:
        ds.write(people, 1)
    return float(np.where(people > 0, people, 0).astype("float64").sum())


def _grid(cell: float) -> tuple[float, float, tuple[int, int]]:
    left, bottom, right, top = transform_bounds(
        "EPSG:4326", METRIC, LEFT, TOP - ROWS * RES_DEG, LEFT + COLS * RES_DEG, TOP
    )
    x0, y0 = np.floor(left / cell) * cell - cell, np.ceil(top / cell) * cell + cell
    return x0, y0, (int(np.ceil((y0 - bottom) / cell)) + 2, int(np.ceil((right - x0) / cell)) + 2)


@pytest.mark.parametrize("cell", [100.0, 1000.0])
def test_windowed_read_keeps_the_people_and_equals_one_window(tmp_path, monkeypatch, cell):
    path = tmp_path / "vnm_ppp_100m.tif"
    total = _worldpop_like(path)
    x0, y0, shape = _grid(cell)

    def read() -> np.ndarray:
        return raster_to_grid(path, crs=METRIC, x0=x0, y0=y0, cell_size_m=cell, shape=shape)

    whole = read()  # one window: the raster is far below the chunk size
    monkeypatch.setattr(population, "RASTER_CHUNK_BYTES", COLS * 8 * 37)  # 25 windows of 37 rows
    windows = population._row_windows(
        rasterio.open(path), rasterio.windows.Window(0, 0, COLS, ROWS)
    )
    assert len(windows) == 25
    windowed = read()
    # every source pixel is split whole over the grid (geo.population_warp): no people lost at a
    # window border (GDAL's sum warp, the earlier method, lost some at each: rel=0.01 here)
    assert windowed.sum() == pytest.approx(total, rel=1e-9), "people lost or gained"
    assert whole.sum() == pytest.approx(total, rel=1e-9), "people lost or gained"
    # cell by cell: a window's corners are projected exactly at its own first and last rows, so
    # the footprints move by a fraction of a millimetre between the two reads (measured: 0.006
    # people of a 738-people cell at 100 m; GDAL's sum moved 55)
    assert np.abs(windowed - whole).max() <= 1e-4 * whole.max()
    populated = int(np.count_nonzero(windowed > 0))
    assert 0 < populated < windowed.size


def _provinces():
    """Two made-up provinces splitting the tile (west, east), a strip of the tile outside both."""
    import geopandas as gpd
    from shapely.geometry import box

    mid = LEFT + COLS * RES_DEG / 2
    bottom = TOP - ROWS * RES_DEG
    geoms = [
        box(LEFT + 0.02, bottom, mid, TOP - 0.05),
        box(mid, bottom + 0.1, LEFT + COLS * RES_DEG, TOP),
    ]
    return gpd.GeoDataFrame({"code": ["01", "02"]}, geometry=geoms, crs="EPSG:4326")


def _same(a, b) -> None:
    for f in ("row", "col", "xy", "population", "area"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), f"{f} differs"


@pytest.mark.parametrize("cell", [100.0, 250.0])
def test_sparse_cells_equal_the_dense_grid(tmp_path, monkeypatch, cell):
    """The demand read sparse (row windows of the raster, row windows of the grid) is the demand
    built from the dense grid, cell by cell and bit for bit; with ``populated_only`` it is the
    dense demand's populated cells."""
    from analysis import demand as dm

    path = tmp_path / "vnm_ppp_100m.tif"
    _worldpop_like(path)
    prov = _provinces()
    grid = dm.grid_for_bounds(tuple(prov.to_crs(METRIC).total_bounds), crs=METRIC, cell_size_m=cell)
    # 25 raster windows for both reads (the windowing moves footprints by a fraction of a mm:
    # see the test above)
    monkeypatch.setattr(population, "RASTER_CHUNK_BYTES", COLS * 8 * 37)
    dense = raster_to_grid(
        path, crs=METRIC, x0=grid.x0, y0=grid.y0, cell_size_m=cell, shape=grid.shape
    )
    whole = dm.demand_from_polygons(
        prov, None, crs=METRIC, cell_size_m=cell, population_grid=dense, grid=grid
    )
    assert whole.n_cells > 1000 and (whole.area >= 0).all()
    people = dm.people_from_raster(str(path), grid)
    assert people.flat.tobytes() == np.flatnonzero(dense).tobytes()
    assert people.people.tobytes() == dense.ravel()[people.flat].tobytes()
    windows = list(dm.row_windows(grid, window_cells=grid.shape[1] * 7))
    assert len(windows) > 10
    sparse = dm.demand_from_cells(prov, people, grid, window_cells=grid.shape[1] * 7)
    _same(whole, sparse)
    only = dm.demand_from_cells(
        prov, people, grid, populated_only=True, window_cells=grid.shape[1] * 7
    )
    keep = whole.population > 0
    assert 0 < only.n_cells < whole.n_cells and only.n_cells == int(keep.sum())
    assert only.row.tobytes() == whole.row[keep].tobytes()
    assert only.area.tobytes() == whole.area[keep].tobytes()
    assert only.population.sum() == pytest.approx(whole.population.sum(), rel=1e-12)


def test_polygon_spread_in_windows_equals_one_window() -> None:
    """Population polygons spread over the grid in row windows: the same cells and people as in
    one window (counts per polygon are global; small polygons keep their people)."""
    import geopandas as gpd
    from shapely.geometry import box

    from analysis import demand as dm

    prov = _provinces().to_crs(METRIC)
    x0, y0, x1, y1 = prov.total_bounds
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(x0, x1, 300), rng.uniform(y0, y1, 300)
    size = rng.choice([30.0, 400.0, 3000.0], 300)  # 30 m: smaller than a cell, no centre
    pop = gpd.GeoDataFrame(
        {"population": rng.uniform(0, 1000, 300)},
        geometry=[box(x, y, x + s, y + s) for x, y, s in zip(xs, ys, size, strict=True)],
        crs=METRIC,
    )
    grid = dm.grid_for_bounds((x0, y0, x1, y1), crs=METRIC, cell_size_m=100.0)
    one = dm.spread_polygons(pop, grid, window_cells=grid.shape[0] * grid.shape[1])
    many = dm.spread_polygons(pop, grid, window_cells=grid.shape[1] * 3)
    assert one.flat.tobytes() == many.flat.tobytes()
    assert one.people.tobytes() == many.people.tobytes()
    # overlapping squares: a cell takes the last polygon's share, so compare with that rule
    assert one.people.sum() <= pop["population"].sum() + 1e-6
    small = pop[size == 30.0]
    assert small["population"].sum() > 0 and one.people.max() > 0


def test_memory_check_names_what_to_change(tmp_path) -> None:
    """Too many demand cells for the budget: a message with the count, the GiB and what to
    change, before the cells are built."""
    from analysis import demand as dm
    from analysis import demand_memory as dmm
    from geo.errors import InputError

    path = tmp_path / "vnm_ppp_100m.tif"
    _worldpop_like(path)
    prov = _provinces()
    layer = population.population_from_raster(path)
    assert layer.populated_cells and 0 < layer.populated_cells < ROWS * COLS
    assert layer.cell_area_m2 == pytest.approx(92.6 * 86.4, rel=0.05)  # 3" at 21° N
    with pytest.raises(InputError, match=r"to read .* raise \[region\] cell_size_m"):
        dm.build_demand(  # not even the raster's people fit
            prov, layer, crs=METRIC, cell_size_m=100.0, memory=dmm.MemoryBudget(limit_gib=1e-4)
        )
    tight = dmm.MemoryBudget(limit_gib=0.03, n_types=3, source="region.toml")  # the read fits
    with pytest.raises(InputError) as err:
        dm.build_demand(prov, layer, crs=METRIC, cell_size_m=100.0, memory=tight)
    text = str(err.value)
    assert "demand cells" in text and "GiB" in text and "populated_cells_only = true" in text
    assert "cell_size_m" in text
    roomy = dmm.MemoryBudget(limit_gib=4.0, n_types=3)
    got = dm.build_demand(
        prov, layer, crs=METRIC, cell_size_m=100.0, memory=roomy, populated_only=True
    )
    assert got.n_cells <= dmm.populated_upper_bound(
        layer.populated_cells, layer.cell_area_m2, got.grid
    )
