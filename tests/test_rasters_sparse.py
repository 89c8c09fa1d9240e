"""Rasters from a run's cells, never dense over the grid (issue 19): the GeoTIFF written window
by window from a ``SparseRaster`` is byte-identical to the one written from the dense array, the
"served by 2, 3, 4+" outlines are the dense masks', and the memory estimate no longer grows with
the bbox."""

from __future__ import annotations

import types

import numpy as np
import pytest
import shapely

from analysis.demand_memory import MemoryBudget
from analysis.results import GridSpec, RasterLayer
from analysis.sparse_raster import SparseRaster

# more rows than one 256-pixel window, a ragged last window
GRID = GridSpec(crs="EPSG:3405", x0=500_000.0, y0=2_400_000.0, cell_size_m=1000.0, shape=(600, 70))


def _cells(seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random cells in random order (a demand grid's order), some of them twice."""
    rng = np.random.default_rng(seed)
    n = 5000
    row = rng.integers(0, GRID.shape[0], n)
    col = rng.integers(0, GRID.shape[1], n)
    count = rng.integers(0, 7, n)
    return row, col, count


def _dense(row, col, values, nodata, dtype) -> np.ndarray:
    out = np.full(GRID.shape, nodata, dtype=dtype)
    out[row, col] = values  # the former DemandGrid.to_raster
    return out


def test_sparse_raster_is_the_dense_scatter() -> None:
    row, col, count = _cells()
    for nodata, dtype, values in ((-1, np.int16, count), (-9999.0, np.float32, count * 7.25)):
        sparse = SparseRaster.of_cells(GRID.shape, row, col, values, nodata, dtype)
        want = _dense(row, col, values.astype(dtype), nodata, dtype)
        assert np.array_equal(np.asarray(sparse), want)
        assert np.array_equal(sparse.window(250, 513), want[250:513])
        assert np.array_equal(sparse.values_at(row, col), want[row, col])
        assert sparse.values_at(np.array([0]), np.array([0]))[0] == want[0, 0]
        assert sparse.dtype == np.dtype(dtype)


def test_geotiff_from_cells_is_byte_identical(tmp_path) -> None:
    from maps.rasters import valid_max, write_geotiff

    row, col, count = _cells()
    for name, nodata, dtype, values in (
        ("coverage_count_x", -1, np.int16, count),
        ("travel_time_x", -9999.0, np.float32, count * 7.25),
    ):
        sparse = SparseRaster.of_cells(GRID.shape, row, col, values, nodata, dtype)
        dense = _dense(row, col, values.astype(dtype), nodata, dtype)
        a = RasterLayer(sparse, nodata, "min", "d", "d_vi")
        b = RasterLayer(dense, nodata, "min", "d", "d_vi")
        pa = write_geotiff(tmp_path / f"a_{name}.tif", a, GRID, name=name)
        pb = write_geotiff(tmp_path / f"b_{name}.tif", b, GRID, name=name)
        assert pa.read_bytes() == pb.read_bytes(), name
        assert valid_max(a) == valid_max(b) == float(values.astype(dtype).max())


def test_served_by_several_from_cells_equals_the_dense_masks() -> None:
    from maps.html_several import served_by_several

    row, col, count = _cells()
    sparse = SparseRaster.of_cells(GRID.shape, row, col, count, -1, np.int16)
    dense = _dense(row, col, count.astype(np.int16), -1, np.int16)
    got, want = (
        served_by_several(
            types.SimpleNamespace(
                grid=GRID, rasters={"coverage_count_x": RasterLayer(arr, -1, "facilities", "")}
            ),
            ["x"],
            simplify_m=0.0,
        )["x"]
        for arr in (sparse, dense)
    )
    assert list(got["n"]) == list(want["n"]) == [2, 3, 4]
    assert list(got["cells"]) == list(want["cells"])
    assert sum(got["cells"]) == int((dense >= 2).sum())
    for g, w in zip(got.geometry, want.geometry, strict=True):
        assert shapely.to_wkb(g) == shapely.to_wkb(w)


def test_memory_estimate_no_longer_grows_with_the_bbox() -> None:
    """Rasters are filled a window at a time: a grid 100× larger with the same populated cells
    needs at most a window more, not 8 bytes per pixel per type."""
    budget = MemoryBudget(limit_gib=64.0, n_types=3)
    small = GridSpec(crs="EPSG:3405", x0=0.0, y0=0.0, cell_size_m=100.0, shape=(1000, 1000))
    large = GridSpec(crs="EPSG:3405", x0=0.0, y0=0.0, cell_size_m=100.0, shape=(10_000, 10_000))
    n = 500_000
    grow = budget.need_gib(n, large) - budget.need_gib(n, small)
    assert 0 < grow < 0.05  # a window of 256 rows, not 3 × 8 × 99 M bytes (2.2 GiB)
    assert budget.need_gib(2 * n, large) > 1.9 * budget.need_gib(n, large) - 0.05


def test_served_by_several_on_a_fine_grid_draws_kilometre_cells() -> None:
    """At 100 m the areas are drawn on 1 km cells (``html_several.MAP_CELL_M``), each in the
    highest class of its cells; the cell counts stay the grid's."""
    from dataclasses import replace

    from maps.html_several import served_by_several

    fine = replace(GRID, cell_size_m=100.0, shape=(600, 70))
    row, col, count = _cells()
    sparse = SparseRaster.of_cells(fine.shape, row, col, count, -1, np.int16)
    got = served_by_several(
        types.SimpleNamespace(
            grid=fine, rasters={"coverage_count_x": RasterLayer(sparse, -1, "facilities", "")}
        ),
        ["x"],
        simplify_m=0.0,
    )["x"].to_crs(fine.crs)
    several = sparse.values >= 2  # the raster's own cells (a repeated cell once)
    row, col = sparse.row[several], sparse.col[several]
    klass = np.where(sparse.values[several] >= 4, 4, sparse.values[several])
    top: dict[tuple[int, int], int] = {}
    for r, c, k in zip(row // 10, col // 10, klass, strict=True):
        top[(int(r), int(c))] = max(top.get((int(r), int(c)), 0), int(k))
    for n, geom, cells in zip(got["n"], got.geometry, got["cells"], strict=True):
        assert cells == int((klass == n).sum())
        want = sum(1 for k in top.values() if k == n) * 1000.0**2
        assert geom.area == pytest.approx(want, rel=1e-6), n


def test_row_major_check_by_slices_sees_order_and_repeats_across_slice_boundaries() -> None:
    """``of_cells`` shares a demand grid's cells when they are row-major and unique, checked a
    slice at a time: a repeat or a step back inside a slice or across its boundary is seen."""
    from analysis.sparse_raster import _row_major

    row = np.repeat(np.arange(300), 5).astype(np.int32)
    col = np.tile(np.arange(0, 50, 10), 300).astype(np.int32)
    assert _row_major(row, col, 100, step=7) and _row_major(row, col, 100)
    for k in (3, 7, 14, 700):  # inside a slice of 7, on its first cell, and further on
        back = col.copy()
        back[k] = back[k - 1]
        assert not _row_major(row, back, 100, step=7), k
    assert _row_major(row[:0], col[:0], 100)
