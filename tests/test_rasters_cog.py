"""The rasters written by ``maps.rasters.write_geotiff`` (issue 19, faster writing): valid
Cloud Optimized GeoTIFFs with four overviews (checked from the file's bytes, and by GDAL's own
validator when the system's GDAL is installed), the full-resolution pixels equal to the input,
overviews that keep the counts' classes and average the times, and the same bytes whatever the
number of compression threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from analysis.results import GridSpec, RasterLayer
from analysis.sparse_raster import SparseRaster
from tests.cog_check import GDAL_VALIDATOR, cog_errors, gdal_validate, overview_count

# several tiles each way, ragged last tiles, patches of populated cells
GRID = GridSpec(crs="EPSG:3405", x0=500_000.0, y0=2_400_000.0, cell_size_m=100.0, shape=(700, 610))


def _layers() -> dict[str, RasterLayer]:
    rng = np.random.default_rng(3)
    rr, cc = np.mgrid[0 : GRID.shape[0], 0 : GRID.shape[1]]
    field = np.sin(rr / 37.0) * np.cos(cc / 23.0) + 0.3 * rng.standard_normal(GRID.shape)
    row, col = np.nonzero(field > 0.45)  # ~28 % of the cells, row-major
    count = rng.choice([0, 1, 2, 5, 8], row.size)  # an average of counts would show 3, 4, 6, 7
    minutes = (20.0 + 0.1 * row + 0.05 * col + rng.random(row.size)).astype(np.float32)
    minutes[::50] = -9999.0  # unreachable cells among the populated ones
    r32, c32 = row.astype(np.int32), col.astype(np.int32)
    return {
        "coverage_count_x": RasterLayer(
            SparseRaster.of_cells(GRID.shape, r32, c32, count, -1, np.int16), -1, "facilities", "n"
        ),
        "travel_time_x": RasterLayer(
            SparseRaster.of_cells(GRID.shape, r32, c32, minutes, -9999.0, np.float32),
            -9999.0,
            "min",
            "t",
        ),
    }


@pytest.mark.parametrize("name", ["coverage_count_x", "travel_time_x"])
def test_written_raster_is_a_valid_cog_with_the_input_pixels(tmp_path, name) -> None:
    from maps.rasters import write_geotiff

    layer = _layers()[name]
    path = write_geotiff(tmp_path / f"{name}.tif", layer, GRID, name=name)
    assert cog_errors(path) == [], cog_errors(path)
    assert overview_count(path) == 4
    if Path(GDAL_VALIDATOR).is_file():  # else the byte-level checks above stand
        assert gdal_validate(path) is None, gdal_validate(path)
    want = np.asarray(layer.array)
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4, 8, 16]
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.compression.name.upper() == "DEFLATE"
        got = src.read(1)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        # overviews: every count is a count of some cell; every time within the cells' range
        valid = want[want != layer.nodata]
        for f in (2, 16):
            ov = src.read(1, out_shape=(-(-GRID.shape[0] // f), -(-GRID.shape[1] // f)))
            ok = ov[ov != layer.nodata]
            assert ok.size > 0
            if name.startswith("coverage_count"):
                assert set(np.unique(ok)) <= set(np.unique(valid))
            else:
                assert valid.min() <= ok.min() and ok.max() <= valid.max()
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.tif"], "staging files left behind"


def test_same_bytes_with_one_thread(tmp_path, monkeypatch) -> None:
    """Compression on every CPU makes the file the single-threaded writer makes."""
    import maps.rasters as mr

    for name, layer in _layers().items():
        a = mr.write_geotiff(tmp_path / f"a_{name}.tif", layer, GRID, name=name)
        monkeypatch.setattr(mr, "THREADS", "1")
        b = mr.write_geotiff(tmp_path / f"b_{name}.tif", layer, GRID, name=name)
        monkeypatch.undo()
        assert a.read_bytes() == b.read_bytes(), name


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch) -> None:
    """Atomic output: the previous file stays when the copy to a COG fails, no staging left."""
    import maps.rasters as mr

    layer = _layers()["travel_time_x"]
    path = mr.write_geotiff(tmp_path / "t.tif", layer, GRID, name="t")
    before = path.read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mr.rasterio.shutil, "copy", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        mr.write_geotiff(path, layer, GRID, name="t")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.tif"]
