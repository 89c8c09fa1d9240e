"""A population raster summed onto the demand grid by footprint overlap (geo.population_warp):
against GDAL's ``sum`` warp on small hand-made rasters with known overlaps, totals kept, nodata
and people outside the grid, and on a WorldPop-like tile against GDAL summed tile by tile."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine, from_origin
from rasterio.warp import transform

import geo.population_warp as pw
from geo.population import raster_to_cells, raster_to_grid
from geo.population_warp import gdal_sum_chunk, sum_chunk

METRIC = "EPSG:3405"
RES_DEG = 1 / 1200  # WorldPop's 3 arc-seconds
X0, Y0 = 580_000.0, 2_330_000.0  # a 100 m grid corner near Hà Nội in EPSG:3405


def _dense(got, shape) -> np.ndarray:
    out = np.zeros(shape)
    if got is not None:
        r0, c0, part = got
        out[r0 : r0 + part.shape[0], c0 : c0 + part.shape[1]] += part
    return out


def _both(people, src, src_crs, shape, cell=100.0):
    dst = from_origin(X0, Y0, cell, cell)
    mine = _dense(sum_chunk(people, src, src_crs, shape, dst, METRIC), shape)
    gdal = _dense(gdal_sum_chunk(people, src, src_crs, shape, dst, METRIC), shape)
    return mine, gdal


@pytest.mark.parametrize(
    ("dx", "dy", "expected"),
    [
        (0.0, 0.0, [[8, 0], [0, 0]]),  # on the cell
        (50.0, 0.0, [[4, 4], [0, 0]]),  # straddling two cells
        (50.0, -50.0, [[2, 2], [2, 2]]),  # straddling four
        (25.0, -75.0, [[1.5, 0.5], [4.5, 1.5]]),  # 75/25 in x, 25/75 in y
    ],
)
def test_a_pixel_is_split_by_its_overlap_as_by_hand_and_by_gdal(dx, dy, expected):
    """A 100 m pixel of 8 people on a 100 m grid of the same CRS, shifted by (dx, dy)."""
    people = np.array([[8.0]])
    src = from_origin(X0 + dx, Y0 + dy, 100.0, 100.0)
    mine, gdal = _both(people, src, METRIC, (3, 3))
    assert mine[:2, :2] == pytest.approx(np.array(expected, float), abs=1e-9)
    assert mine.sum() == pytest.approx(8.0, rel=1e-12)
    assert mine == pytest.approx(gdal, abs=1e-9)


@pytest.mark.parametrize(("row", "col"), [(5, 5), (5, 6), (7, 3), (0, 11)])
def test_a_geographic_pixel_is_split_as_by_gdal(row, col):
    """One 3" pixel (about 86 × 92 m, turned by the meridian convergence) onto a 100 m grid."""
    people = np.zeros((12, 12))
    people[row, col] = 1.0
    src = from_origin(105.8, 21.0, RES_DEG, RES_DEG)
    mx, my = transform("EPSG:4326", METRIC, [105.8], [21.0])
    dst_x0, dst_y0 = np.floor(mx[0] / 100) * 100 - 100, np.ceil(my[0] / 100) * 100 + 100
    dst = from_origin(dst_x0, dst_y0, 100.0, 100.0)
    shape = (20, 20)
    mine = _dense(sum_chunk(people, src, "EPSG:4326", shape, dst, METRIC), shape)
    gdal = _dense(gdal_sum_chunk(people, src, "EPSG:4326", shape, dst, METRIC), shape)
    assert mine.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.count_nonzero(mine) >= 1
    assert mine == pytest.approx(gdal, abs=1e-3)


def _tif(path, people, *, left=105.7, top=21.1, nodata=-99999.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=people.shape[1],
        height=people.shape[0],
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(left, top, RES_DEG, RES_DEG),
        nodata=nodata,
    ) as ds:
        ds.write(people.astype("float32"), 1)


def _grid_over(left, top, rows, cols, cell, margin=2):
    mx, my = transform(
        "EPSG:4326", METRIC, [left, left + cols * RES_DEG], [top, top - rows * RES_DEG]
    )
    x0 = np.floor(min(mx) / cell) * cell - margin * cell
    y0 = np.ceil(max(my) / cell) * cell + margin * cell
    shape = (
        int(np.ceil((y0 - min(my)) / cell)) + margin + 1,
        int(np.ceil((max(mx) - x0) / cell)) + margin + 1,
    )
    return x0, y0, shape


def test_nodata_nan_and_negative_cells_carry_no_people(tmp_path):
    rng = np.random.default_rng(3)
    people = rng.gamma(2.0, 5.0, size=(40, 50))
    people[5:9, 5:9] = -99999.0  # nodata
    people[12, 12] = -5.0
    people[20, 20] = np.nan
    _tif(tmp_path / "p.tif", people)
    clean = np.where(np.isfinite(people) & (people >= 0), people, 0.0).astype("float32")
    _tif(tmp_path / "clean.tif", clean)
    x0, y0, shape = _grid_over(105.7, 21.1, 40, 50, 100.0)
    kw = dict(crs=METRIC, x0=x0, y0=y0, cell_size_m=100.0, shape=shape)
    got = raster_to_grid(tmp_path / "p.tif", **kw)
    assert got.sum() == pytest.approx(clean.astype("float64").sum(), rel=1e-12)
    assert got.tobytes() == raster_to_grid(tmp_path / "clean.tif", **kw).tobytes()
    assert (got >= 0).all()


@pytest.mark.parametrize(
    ("dtype", "nodata"), [("float32", -99999.0), ("uint16", 65535.0), ("float64", None)]
)
def test_the_kernel_reads_values_as_stored(dtype, nodata):
    """Values as read (no float64 copy): nodata (here also a positive one), NaN, infinite and
    negative values carry no people, the rest exactly as the cleaned float64 values."""
    rng = np.random.default_rng(8)
    clean = np.floor(rng.gamma(2.0, 5.0, size=(20, 24)))
    raw = clean.copy()
    bad = {(1, 1): nodata} if nodata is not None else {}
    if dtype != "uint16":
        bad.update({(2, 3): np.nan, (5, 5): -5.0, (7, 2): np.inf})
    for rc, value in bad.items():
        raw[rc], clean[rc] = value, 0.0
    src = from_origin(105.8, 21.0, RES_DEG, RES_DEG)
    x0, y0, shape = _grid_over(105.8, 21.0, 20, 24, 100.0)
    dst = from_origin(x0, y0, 100.0, 100.0)
    got = sum_chunk(raw.astype(dtype), src, "EPSG:4326", shape, dst, METRIC, nodata)
    want = sum_chunk(clean, src, "EPSG:4326", shape, dst, METRIC)
    assert got is not None and want is not None
    assert got[2].tobytes() == want[2].tobytes()
    assert got[2].sum() == pytest.approx(clean.sum(), rel=1e-12)


def test_a_raster_partly_outside_the_grid_keeps_the_people_inside(tmp_path):
    """The grid's west half: the people of the pixels inside it are kept, those outside dropped,
    and the pixels the grid's edge crosses are split as GDAL splits them."""
    people = np.random.default_rng(5).gamma(2.0, 5.0, size=(30, 40))
    _tif(tmp_path / "p.tif", people)
    x0, y0, shape = _grid_over(105.7, 21.1, 30, 40, 100.0)
    half = (shape[0], shape[1] // 2)
    full = raster_to_grid(
        tmp_path / "p.tif", crs=METRIC, x0=x0, y0=y0, cell_size_m=100, shape=shape
    )
    west = raster_to_grid(tmp_path / "p.tif", crs=METRIC, x0=x0, y0=y0, cell_size_m=100, shape=half)
    assert full.sum() == pytest.approx(people.sum(), rel=1e-6)  # float32 on disk
    # the west half is read from a narrower window of the raster, whose lattice of exactly
    # projected corners differs: footprints move by centimetres
    assert np.abs(west - full[:, : half[1]]).max() < 1e-3 * people.max()
    assert 0.2 * full.sum() < west.sum() < 0.8 * full.sum()
    src = from_origin(105.7, 21.1, RES_DEG, RES_DEG)
    on_disk = people.astype("float32").astype("float64")
    dst = from_origin(x0, y0, 100.0, 100.0)
    gdal = _dense(gdal_sum_chunk(on_disk, src, "EPSG:4326", half, dst, METRIC), half)
    assert west.sum() == pytest.approx(gdal.sum(), rel=1e-4)
    assert np.abs(west - gdal).max() < 1e-3 * people.max()


def test_a_raster_off_the_grid_gives_no_part():
    people = np.ones((4, 4))
    src = from_origin(110.0, 15.0, RES_DEG, RES_DEG)  # ~600 km from the grid
    assert (
        sum_chunk(people, src, "EPSG:4326", (10, 10), from_origin(X0, Y0, 100, 100), METRIC) is None
    )


def test_the_corner_lattice_departs_from_the_projection_by_under_a_millimetre_per_100m():
    """Bilinear between exactly projected corners every LATTICE_STEP pixels, checked against
    every corner projected exactly, at the zone's edge (12° east of the central meridian)."""
    n = 3 * pw.LATTICE_STEP + 5
    src = from_origin(116.5, 9.0, RES_DEG, RES_DEG)
    mx, my = transform("EPSG:4326", METRIC, [116.5], [9.0])
    dst = from_origin(np.floor(mx[0] / 100) * 100, np.ceil(my[0] / 100) * 100, 100.0, 100.0)
    ri, ci, gx, gy = pw._corner_lattice((n, n), src, "EPSG:4326", METRIC, dst)
    rr, cc = np.mgrid[0 : n + 1, 0 : n + 1]
    lon, lat = src @ (cc.ravel().astype(float), rr.ravel().astype(float))
    ex, ey = transform("EPSG:4326", METRIC, lon, lat)
    ex, ey = ~dst @ (np.asarray(ex), np.asarray(ey))
    got = np.array(
        [
            pw._corner(int(r), int(c), ri, ci, gx, gy)
            for r, c in zip(rr.ravel(), cc.ravel(), strict=True)
        ]
    )
    err_m = 100.0 * np.hypot(got[:, 0] - ex, got[:, 1] - ey)
    assert err_m.max() < 0.05, f"lattice error {err_m.max():.4f} m"


def _worldpop_like(rows, cols, seed=19):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    people = np.zeros((rows, cols))
    for cy, cx, s in rng.uniform([0, 0, 10], [rows, cols, 60], size=(8, 3)):
        people += 200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s**2))
    people[people < 5] = 0
    people *= rng.lognormal(0.0, 0.5, people.shape)  # pixel to pixel noise, as in WorldPop
    return people


def _gdal_tiled(people, src, shape, dst, tile=32):
    """GDAL's sum warp tile by tile: on small tiles its approximate transformer is exact enough
    (on a whole chunk it moves people by up to a pixel: bench/raster_bench.py)."""
    out = np.zeros(shape)
    for r in range(0, people.shape[0], tile):
        for c in range(0, people.shape[1], tile):
            q = np.ascontiguousarray(people[r : r + tile, c : c + tile])
            if q.any():
                t = src @ Affine.translation(c, r)
                out += _dense(gdal_sum_chunk(q, t, "EPSG:4326", shape, dst, METRIC), shape)
    return out


@pytest.mark.parametrize("cell", [100.0, 1000.0])
def test_a_worldpop_like_tile_matches_gdal_summed_tile_by_tile(cell):
    """Within the tolerance measured on the synthetic national raster (bench/raster_bench.py:
    99th-percentile per-cell difference ~1e-4 of the cell, total exact)."""
    rows, cols = 160, 200
    people = _worldpop_like(rows, cols)
    x0, y0, shape = _grid_over(105.7, 21.1, rows, cols, cell)
    src = from_origin(105.7, 21.1, RES_DEG, RES_DEG)
    dst = from_origin(x0, y0, cell, cell)
    mine = _dense(sum_chunk(people, src, "EPSG:4326", shape, dst, METRIC), shape)
    gdal = _gdal_tiled(people, src, shape, dst)
    assert mine.sum() == pytest.approx(people.sum(), rel=1e-12)
    assert gdal.sum() == pytest.approx(people.sum(), rel=1e-9)
    diff = np.abs(mine - gdal)
    assert diff.max() < 1e-3 * mine.max()
    populated = mine >= 1.0
    assert np.percentile(diff[populated] / mine[populated], 99) < 1e-3


def test_sparse_cells_are_the_dense_grid(tmp_path, monkeypatch):
    import geo.population as population

    people = _worldpop_like(120, 90, seed=4)
    _tif(tmp_path / "p.tif", people)
    x0, y0, shape = _grid_over(105.7, 21.1, 120, 90, 100.0)
    monkeypatch.setattr(population, "RASTER_CHUNK_BYTES", 90 * 8 * 17)  # 8 windows
    kw = dict(crs=METRIC, x0=x0, y0=y0, cell_size_m=100.0, shape=shape)
    dense = raster_to_grid(tmp_path / "p.tif", **kw)
    flat, values = raster_to_cells(tmp_path / "p.tif", **kw)
    again = np.zeros(shape[0] * shape[1])
    np.add.at(again, flat, values)
    assert again.reshape(shape) == pytest.approx(dense, abs=1e-9)
    assert len(np.unique(flat)) == np.count_nonzero(dense)
