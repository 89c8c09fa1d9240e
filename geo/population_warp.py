"""Summing a chunk of a population raster onto the demand grid, only into the part of the grid
under the chunk: each source pixel's people are split over the grid cells its footprint overlaps,
in proportion to the overlap area (:func:`sum_chunk`). Used by ``geo.population``.

The footprint of a source pixel in the grid's CRS is the quadrilateral of its four corners. The
corners are projected exactly (GDAL's coordinate transformation, the one its warper uses) on a
lattice every :data:`LATTICE_STEP` source pixels and interpolated bilinearly in between: over 16
pixels (1.5 km of a 3 arc-second raster) the transverse Mercator projection departs from
bilinear by 1.5 cm at most near Hà Nội (``tests/test_raster_sum.py`` bounds it at 5 cm at the
zone's edge). Neighbouring pixels share their corners, so the footprints tile the grid without
gap or overlap, and each pixel's people are split by the exact area of its quadrilateral
clipped to each cell (Sutherland-Hodgman): the people of the raster within the grid are kept
exactly (to float rounding); those outside are dropped.

GDAL's ``sum`` warp (:func:`gdal_sum_chunk`, the reference of the tests and of
``bench/raster_bench.py``) splits one pixel as this kernel does, but on a whole chunk its
approximate transformer moves pixels by up to 1/8 of a target cell and it loses people at chunk
seams; it costs 0.8 (1 km) to 1.9 (100 m) µs per source pixel, populated or not. This kernel
costs a few ns per empty pixel and about 0.15 (1 km) to 0.5 (100 m) µs per populated one.
"""

from __future__ import annotations

import numba
import numpy as np
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.warp import reproject, transform

LATTICE_STEP = 16  # source pixels between exactly projected corners


def _lattice_index(n: int, step: int) -> np.ndarray:
    """Corner indices 0, step, 2 step, ..., n (the last one always included)."""
    idx = np.arange(0, n, step, dtype=np.int64)
    return np.append(idx, n)


def _corner_lattice(
    src_shape: tuple[int, int],
    src_transform: Affine,
    src_crs: CRS | str,
    dst_crs: str,
    dst_transform: Affine,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lattice rows, lattice cols, x, y): the source pixel corners of the lattice in the grid's
    pixel coordinates (column, row of ``dst_transform``), projected exactly."""
    rows, cols = src_shape
    ri = _lattice_index(rows, LATTICE_STEP)
    ci = _lattice_index(cols, LATTICE_STEP)
    cc, rr = np.meshgrid(ci.astype("float64"), ri.astype("float64"))
    a = src_transform
    sx = a.a * cc.ravel() + a.b * rr.ravel() + a.c
    sy = a.d * cc.ravel() + a.e * rr.ravel() + a.f
    mx, my = (np.asarray(v) for v in transform(src_crs, dst_crs, sx, sy))
    b = ~dst_transform
    gx = b.a * mx + b.b * my + b.c
    gy = b.d * mx + b.e * my + b.f
    shape = (ri.size, ci.size)
    return ri, ci, np.asarray(gx).reshape(shape), np.asarray(gy).reshape(shape)


def sum_chunk(
    people: np.ndarray,
    src_transform: Affine,
    src_crs: CRS | str,
    shape: tuple[int, int],
    dst_transform: Affine,
    dst_crs: str,
    nodata: float | None = None,
) -> tuple[int, int, np.ndarray] | None:
    """One chunk of the raster summed onto the grid: (row, col, part), each source pixel's
    people split over the cells its footprint overlaps by area, into the part of the grid under
    the chunk only (at 100 m a national grid is ~290 M cells: a full-grid buffer per chunk would
    cost 2.3 GB). ``people``: the values as read (any real dtype, not copied): NaN, infinite,
    negative and ``nodata`` values count as 0 people. None when the chunk is off the grid."""
    ri, ci, gx, gy = _corner_lattice(people.shape, src_transform, src_crs, dst_crs, dst_transform)
    ok = np.isfinite(gx) & np.isfinite(gy)
    if not ok.any():
        return None
    r0 = max(0, int(np.floor(gy[ok].min())))
    c0 = max(0, int(np.floor(gx[ok].min())))
    r1 = min(shape[0], int(np.floor(gy[ok].max())) + 1)
    c1 = min(shape[1], int(np.floor(gx[ok].max())) + 1)
    if r1 <= r0 or c1 <= c0:
        return None
    part = np.zeros((r1 - r0, c1 - c0), dtype="float64")
    _spread(people, np.nan if nodata is None else nodata, ri, ci, gx - c0, gy - r0, part)
    return r0, c0, part


def gdal_sum_chunk(
    people: np.ndarray,
    src_transform: Affine,
    src_crs: CRS | str,
    shape: tuple[int, int],
    dst_transform: Affine,
    dst_crs: str,
) -> tuple[int, int, np.ndarray] | None:
    """The reference: the same chunk summed by GDAL's ``sum`` warp into the same part of the
    grid as :func:`sum_chunk` (plus one cell each side). For tests and the benchmark."""
    _, _, gx, gy = _corner_lattice(people.shape, src_transform, src_crs, dst_crs, dst_transform)
    r0 = max(0, int(np.floor(np.nanmin(gy))) - 1)
    c0 = max(0, int(np.floor(np.nanmin(gx))) - 1)
    r1 = min(shape[0], int(np.floor(np.nanmax(gy))) + 2)
    c1 = min(shape[1], int(np.floor(np.nanmax(gx))) + 2)
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


# --------------------------------------------------------------------------- numba kernel


def _corner(i, j, ri, ci, lx, ly):
    """Grid coordinates of source corner (row i, col j), bilinear in its lattice cell."""
    a = min(i // (ri[1] - ri[0]), ri.size - 2)
    b = min(j // (ci[1] - ci[0]), ci.size - 2)
    u = (i - ri[a]) / (ri[a + 1] - ri[a])
    w = (j - ci[b]) / (ci[b + 1] - ci[b])
    x = (1 - u) * ((1 - w) * lx[a, b] + w * lx[a, b + 1]) + u * (
        (1 - w) * lx[a + 1, b] + w * lx[a + 1, b + 1]
    )
    y = (1 - u) * ((1 - w) * ly[a, b] + w * ly[a, b + 1]) + u * (
        (1 - w) * ly[a + 1, b] + w * ly[a + 1, b + 1]
    )
    return x, y


def _clip(xs, ys, n, ox, oy, axis, k, keep_above):
    """Sutherland-Hodgman: the polygon (xs, ys)[:n] clipped to the half-plane ``coord >= k``
    (keep_above) or ``coord <= k`` of axis 0 (x) or 1 (y), into (ox, oy); returns its size."""
    m = 0
    for p in range(n):
        q = p + 1 if p + 1 < n else 0
        cp = xs[p] if axis == 0 else ys[p]
        cq = xs[q] if axis == 0 else ys[q]
        inp = cp >= k if keep_above else cp <= k
        inq = cq >= k if keep_above else cq <= k
        if inp:
            ox[m] = xs[p]
            oy[m] = ys[p]
            m += 1
        if inp != inq:
            t = (k - cp) / (cq - cp)
            ox[m] = xs[p] + t * (xs[q] - xs[p])
            oy[m] = ys[p] + t * (ys[q] - ys[p])
            m += 1
    return m


def _area(xs, ys, n):
    """Signed area of the polygon (xs, ys)[:n] (shoelace)."""
    s = 0.0
    for p in range(n):
        q = p + 1 if p + 1 < n else 0
        s += xs[p] * ys[q] - xs[q] * ys[p]
    return 0.5 * s


def _split(v, qx, qy, area, c_lo, c_hi, r_lo, r_hi, part, buf):  # noqa: PLR0913 (numba kernel)
    """The people ``v`` of quadrilateral (qx, qy) added to the cells of part it overlaps, in
    proportion to the overlap (each piece: the quad clipped to a column, then to a row)."""
    nr, nc = part.shape
    ax, ay, bx, by, cx, cy = buf[0], buf[1], buf[2], buf[3], buf[4], buf[5]
    for c in range(max(c_lo, 0), min(c_hi, nc - 1) + 1):
        n = _clip(qx, qy, 4, ax, ay, 0, float(c), True)
        n = _clip(ax, ay, n, bx, by, 0, float(c + 1), False)
        if n < 3:
            continue
        for r in range(max(r_lo, 0), min(r_hi, nr - 1) + 1):
            m = _clip(bx, by, n, ax, ay, 1, float(r), True)
            m = _clip(ax, ay, m, cx, cy, 1, float(r + 1), False)
            if m >= 3:
                part[r, c] += v * (_area(cx, cy, m) / area)


def _spread(people, nodata, ri, ci, lx, ly, part):
    """Every populated pixel of ``people`` (finite, > 0, not ``nodata``) split over the cells of
    ``part`` (grid coordinates relative to part: lx, ly at lattice rows ri, cols ci) by its
    footprint's overlap."""
    rows, cols = people.shape
    nr, nc = part.shape
    qx = np.empty(4)
    qy = np.empty(4)
    buf = np.empty((6, 16))
    for i in range(rows):
        for j in range(cols):
            v = np.float64(people[i, j])
            if not (v > 0.0 and v < np.inf) or v == nodata:
                continue
            qx[0], qy[0] = _corner(i, j, ri, ci, lx, ly)
            qx[1], qy[1] = _corner(i, j + 1, ri, ci, lx, ly)
            qx[2], qy[2] = _corner(i + 1, j + 1, ri, ci, lx, ly)
            qx[3], qy[3] = _corner(i + 1, j, ri, ci, lx, ly)
            x_lo, x_hi = min(qx[0], qx[1], qx[2], qx[3]), max(qx[0], qx[1], qx[2], qx[3])
            y_lo, y_hi = min(qy[0], qy[1], qy[2], qy[3]), max(qy[0], qy[1], qy[2], qy[3])
            if not (np.isfinite(x_lo) and np.isfinite(x_hi) and np.isfinite(y_lo + y_hi)):
                continue
            c_lo, c_hi = int(np.floor(x_lo)), int(np.floor(x_hi))
            r_lo, r_hi = int(np.floor(y_lo)), int(np.floor(y_hi))
            if c_hi < 0 or r_hi < 0 or c_lo >= nc or r_lo >= nr:
                continue
            if c_lo == c_hi and r_lo == r_hi:
                if c_lo >= 0 and r_lo >= 0 and c_hi < nc and r_hi < nr:
                    part[r_lo, c_lo] += v
                continue
            area = _area(qx, qy, 4)
            if area == 0.0:  # a degenerate footprint: its people to the cell of its corner
                if c_lo >= 0 and r_lo >= 0 and c_lo < nc and r_lo < nr:
                    part[r_lo, c_lo] += v
                continue
            _split(v, qx, qy, area, c_lo, c_hi, r_lo, r_hi, part, buf)


_corner = numba.njit(cache=True, nogil=True, inline="always")(_corner)
_clip = numba.njit(cache=True, nogil=True)(_clip)
_area = numba.njit(cache=True, nogil=True)(_area)
_split = numba.njit(cache=True, nogil=True)(_split)
_spread = numba.njit(cache=True, nogil=True)(_spread)
