"""Warping a chunk of a population raster onto the demand grid (GDAL ``sum``), only into the part
of the grid under the chunk, and the cell-centre fallback. Used by ``geo.population``.
"""

from __future__ import annotations

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import from_bounds


def sum_chunk(
    people: np.ndarray,
    src_transform: Affine,
    src_crs: CRS,
    shape: tuple[int, int],
    dst_transform: Affine,
    dst_crs: str,
) -> tuple[int, int, np.ndarray] | None:
    """One chunk of the raster summed onto the grid (GDAL ``sum``): (row, col, part), warped
    only into the part of the grid under the chunk (plus one cell): at 100 m a national grid is
    ~290 M cells, and a full-grid buffer per chunk would cost 2.3 GB and a full-grid pass each
    time. None when the chunk is off the grid."""
    rows, cols = people.shape
    left, top = src_transform.c, src_transform.f
    right, bottom = src_transform @ (cols, rows)
    box = transform_bounds(
        src_crs,
        dst_crs,
        min(left, right),
        min(top, bottom),
        max(left, right),
        max(top, bottom),
        densify_pts=21,
    )
    win = from_bounds(*box, transform=dst_transform)
    r0 = max(0, int(np.floor(win.row_off)) - 1)
    c0 = max(0, int(np.floor(win.col_off)) - 1)
    r1 = min(shape[0], int(np.ceil(win.row_off + win.height)) + 1)
    c1 = min(shape[1], int(np.ceil(win.col_off + win.width)) + 1)
    if r1 <= r0 or c1 <= c0:
        return None
    part = np.zeros((r1 - r0, c1 - c0), dtype="float64")
    reproject(
        people,
        part,
        src_transform=src_transform,
        src_crs=src_crs,
        dst_transform=dst_transform @ Affine.translation(c0, r0),
        dst_crs=dst_crs,
        resampling=Resampling.sum,
        src_nodata=None,
        dst_nodata=None,
        init_dest_nodata=False,
    )
    return r0, c0, part


def bin_cell_centres(
    people: np.ndarray,
    src_transform: Affine,
    src_crs: CRS,
    dst_crs: str,
    dst_transform: Affine,
    shape: tuple[int, int],
) -> np.ndarray:
    """Fallback: each source cell's people go to the target cell holding its centre."""
    r, c = np.nonzero(people)
    xs, ys = rasterio.transform.xy(src_transform, r, c, offset="center")
    x, y = Transformer.from_crs(src_crs, dst_crs, always_xy=True).transform(
        np.asarray(xs), np.asarray(ys)
    )
    col, row = ~dst_transform * (x, y)
    row, col = np.floor(row).astype(int), np.floor(col).astype(int)
    inside = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    flat = np.bincount(
        row[inside] * shape[1] + col[inside],
        weights=people[r, c][inside],
        minlength=shape[0] * shape[1],
    )
    return flat.reshape(shape)
