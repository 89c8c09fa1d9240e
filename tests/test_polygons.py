"""Catchment polygons: the traced outlines against GDAL's (rasterio.features.shapes), cell by cell."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from rasterio import features
from rasterio.transform import Affine

from analysis.catchments import TravelTimes
from analysis.demand import DemandGrid
from analysis.polygons import catchment_polygons
from analysis.results import GridSpec

CELL = 1000.0


def _grid(h: int, w: int) -> DemandGrid:
    rows, cols = np.divmod(np.arange(h * w), w)
    spec = GridSpec(crs="EPSG:3405", x0=500_000.0, y0=2_000_000.0, cell_size_m=CELL, shape=(h, w))
    return DemandGrid(
        grid=spec, row=rows, col=cols, population=np.ones(h * w), area=np.zeros(h * w, int)
    )


def _gdal_outline(mask: np.ndarray, spec: GridSpec) -> shapely.Geometry:
    aff = Affine(CELL, 0, spec.x0, 0, -CELL, spec.y0)
    parts = [
        shapely.geometry.shape(g)
        for g, _ in features.shapes(mask.astype(np.uint8), mask=mask, transform=aff)
    ]
    return shapely.MultiPolygon(parts)


def _tt_from_times(times: np.ndarray) -> TravelTimes:
    """(n_fac, n_cells) times with inf = unreached -> the long form."""
    f, c = np.nonzero(np.isfinite(times))
    return TravelTimes(
        fac=f, cell=c, time_s=times[f, c], n_fac=times.shape[0], n_cells=times.shape[1], limit_s=1e9
    )


@pytest.mark.parametrize("seed", range(40))
def test_outlines_equal_gdal_on_random_masks(seed):
    """Random masks full of corner-touching cells, holes and holes touching their shell."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(3, 25)), int(rng.integers(3, 25))
    demand = _grid(h, w)
    n_fac = 3
    times = rng.uniform(0, 100, (n_fac, h * w))
    times[rng.random((n_fac, h * w)) < rng.uniform(0.2, 0.6)] = np.inf
    breaks = (40.0, 70.0, 100.0)
    got = catchment_polygons(_tt_from_times(times), demand, breaks)
    expected = []
    for i in range(n_fac):
        for b in breaks:
            mask = (times[i] <= b).reshape(h, w)
            if mask.any():
                expected.append((i, b, mask))
    assert [(i, b) for i, b, _ in got] == [(i, b) for i, b, _ in expected]
    for (i, b, geom), (_, _, mask) in zip(got, expected, strict=True):
        ref = _gdal_outline(mask, demand.grid)
        assert geom.geom_type == "MultiPolygon"
        assert shapely.is_valid(geom), shapely.is_valid_reason(geom)
        assert geom.area == pytest.approx(mask.sum() * CELL**2)
        assert shapely.symmetric_difference(geom, ref).area < 1e-6, f"facility {i}, break {b}"
        assert len(geom.geoms) == len(ref.geoms), "parts touching at a corner must stay apart"
        # every reached cell centre inside, every other outside
        inside = shapely.contains_xy(geom, demand.xy[:, 0], demand.xy[:, 1])
        assert np.array_equal(inside, mask.ravel())


def test_hole_touching_its_shell_and_two_parts_meeting_at_a_corner():
    # a ring of cells around (2, 2) whose corner cell is missing diagonally: the hole touches
    # the shell at one point; cell (5, 5) touches the ring's corner (4, 4) only diagonally
    mask = np.zeros((7, 7), bool)
    mask[1:4, 1:4] = True
    mask[2, 2] = False  # the hole
    mask[1, 3] = False  # opens the ring's corner: (1, 2) and (2, 3) now meet only at a corner
    mask[4, 4] = True
    mask[3, 4] = True
    mask[5, 5] = True  # diagonal to (4, 4): a separate part
    demand = _grid(7, 7)
    times = np.where(mask.ravel(), 1.0, np.inf)[None, :]
    [(_, _, geom)] = catchment_polygons(_tt_from_times(times), demand, (10.0,))
    assert shapely.is_valid(geom)
    assert len(geom.geoms) == 2
    assert geom.area == pytest.approx(mask.sum() * CELL**2)
    assert sum(len(p.interiors) for p in geom.geoms) == 1
    assert shapely.symmetric_difference(geom, _gdal_outline(mask, demand.grid)).area < 1e-6


def test_only_corners_are_kept():
    mask = np.zeros((5, 8), bool)
    mask[1:4, 1:7] = True  # a 3 x 6 rectangle: 4 corners
    demand = _grid(5, 8)
    times = np.where(mask.ravel(), 1.0, np.inf)[None, :]
    [(_, _, geom)] = catchment_polygons(_tt_from_times(times), demand, (10.0,))
    assert len(geom.geoms) == 1
    assert len(geom.geoms[0].exterior.coords) <= 6  # 4 corners, the start, the closing point


def test_mask_polygons_trace_what_rasterio_shapes_trace():
    """One polygoniser: the map's "served by 2, 3, 4+" areas use the catchments' tracer; on a
    hand-made mask with two parts, a hole and a diagonal touch it gives rasterio's geometry."""
    from rasterio import features as rfeatures
    from rasterio.transform import Affine

    from analysis.polygons import mask_polygons
    from analysis.results import GridSpec

    grid = GridSpec(crs="EPSG:3405", x0=500_000.0, y0=2_000_000.0, cell_size_m=1000.0, shape=(8, 9))
    a = np.zeros(grid.shape, bool)
    a[1:6, 1:6] = True
    a[3, 3] = False  # a hole
    a[6, 6] = True  # touches the block only at a corner
    a[0:2, 7:9] = True  # a second part
    empty = np.zeros(grid.shape, bool)
    got = mask_polygons(grid, [a, empty])
    parts = [
        shapely.geometry.shape(g)
        for g, _ in rfeatures.shapes(a.astype(np.uint8), mask=a, transform=Affine(*grid.affine))
    ]
    want = shapely.union_all(parts)
    assert got[1] is None
    assert shapely.equals(got[0], want)
    assert got[0].area == a.sum() * 1e6
    assert len(shapely.get_parts(got[0])) >= 2
    assert mask_polygons(grid, []) == []
    assert mask_polygons(grid, [empty, empty]) == [None, None]


@pytest.mark.parametrize("seed", range(6))
def test_outlines_on_larger_cells_draw_every_large_cell_reached(seed):
    """Cells finer than ``outline_cell_m`` (``block_measures.Polygons``): a facility's outline
    at a break is the union of the large cells (3 x 3 here, the grid's last ones cut) holding
    at least one of its cells within the break, nothing else; only populated cells are demand."""
    from analysis.block_measures import Polygons

    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(5, 20)), int(rng.integers(5, 20))
    full = _grid(h, w)
    keep = rng.random(h * w) < 0.6  # the populated cells only, as at 100 m
    demand = DemandGrid(grid=full.grid, row=full.row[keep], col=full.col[keep],
                        population=np.ones(keep.sum()), area=np.zeros(keep.sum(), int))  # fmt: skip
    times = rng.uniform(0, 100, (3, keep.sum()))
    times[rng.random(times.shape) < 0.5] = np.inf
    breaks = (40.0, 100.0)
    polys = Polygons(demand, breaks, outline_cell_m=3 * CELL)
    polys.add(_tt_from_times(times))
    got = {(i, b): g for i, b, g in polys.result()}
    for i in range(3):
        for b in breaks:
            hit = times[i] <= b
            big = {(r // 3, c // 3) for r, c in zip(demand.row[hit], demand.col[hit], strict=True)}
            if not big:
                assert (i, b) not in got
                continue
            squares = [
                shapely.box(
                    demand.grid.x0 + 3 * CELL * c,
                    demand.grid.y0 - 3 * CELL * (r + 1),
                    demand.grid.x0 + 3 * CELL * (c + 1),
                    demand.grid.y0 - 3 * CELL * r,
                )
                for r, c in big
            ]
            ref = shapely.union_all(squares)
            geom = got[(i, b)]
            assert shapely.is_valid(geom), shapely.is_valid_reason(geom)
            assert geom.area == pytest.approx(len(big) * (3 * CELL) ** 2)
            assert shapely.symmetric_difference(geom, ref).area < 1e-6, f"facility {i}, break {b}"


def test_coarse_pairs_keep_each_large_cells_shortest_time() -> None:
    """The compiled min per (facility, large cell) equals the sort it replaced (lexsort by
    facility, large cell, time; first of each), with ties and facilities out of order."""
    from analysis.catchments import TravelTimes
    from analysis.polygons import coarse_pairs

    rng = np.random.default_rng(7)
    n_fac, rows, cols, k = 30, 90, 120, 4
    n_cells = 4_000
    row, col = rng.integers(0, rows, n_cells), rng.integers(0, cols, n_cells)
    fac = rng.integers(0, n_fac, 60_000)
    cell = rng.integers(0, n_cells, fac.size)
    t = rng.integers(0, 20, fac.size) * 60.0  # ties
    n_big_cols = cols // k
    for f in (np.sort(fac, kind="stable"), fac):  # by facility (as blocks come), and not
        tt = TravelTimes(f, cell, t, n_fac, n_cells, 1_200.0)
        got, grow, gcol = coarse_pairs(tt, row, col, k, n_big_cols)
        big = (row[cell] // k) * n_big_cols + col[cell] // k
        order = np.lexsort((t, big, f))
        ff, bb, tt_ = f[order], big[order], t[order]
        first = np.r_[True, (ff[1:] != ff[:-1]) | (bb[1:] != bb[:-1])]
        cells, local = np.unique(bb[first], return_inverse=True)
        assert got.fac.size > 1_000
        assert np.array_equal(got.fac, ff[first]) and np.array_equal(got.time_s, tt_[first])
        assert np.array_equal(got.cell, local.ravel()) and got.n_cells == cells.size
        assert np.array_equal(grow, cells // n_big_cols) and np.array_equal(
            gcol, cells % n_big_cols
        )
