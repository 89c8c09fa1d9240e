"""The compiled (numba) half of ``analysis.snap``: binning segments in the bucket grid, and the
search of each point's nearest segment (rings of buckets outward, within the best distance).

The arithmetic is GEOS's, operation for operation, so results are bit-identical to shapely's
``STRtree.query_nearest`` + ``line_locate_point(normalized=True)`` (the implementation this
replaced, kept as the reference in ``tests/test_snap.py``):

- distance point-segment: ``geos::algorithm::Distance::pointToSegment``;
- the distance to an edge is the minimum over its segments; the nearest edge is the one of
  smallest distance, ties to the lowest edge index (shapely returns every tied edge, the
  caller kept the lowest);
- the position along the edge: ``geos::linearref::LengthIndexOfPoint`` (the first segment of
  smallest distance, its ``LineSegment::projectionFactor`` clamped to [0, 1] times its length
  plus the lengths before it) over ``Length::ofLine``.

The search bounds (which buckets and segments may hold the nearest) are widened by
``BOUND_EPS_M`` so that rounding in them never drops a segment at exactly the best distance.
"""

from __future__ import annotations

import math

import numba
import numpy as np

COVER_EPS_M = 1e-6  # a segment's rows in a column are widened by this (rounding)
BOUND_EPS_M = 1e-3  # a bucket or ring is skipped only when its lower bound beats the best by this
NO_SEGMENT = np.iinfo(np.int64).max


def _seg_dist(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """GEOS ``Distance::pointToSegment``, operation for operation."""
    if ax == bx and ay == by:
        dx = px - ax
        dy = py - ay
        return math.sqrt(dx * dx + dy * dy)
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        dx = px - ax
        dy = py - ay
        return math.sqrt(dx * dx + dy * dy)
    if r >= 1.0:
        dx = px - bx
        dy = py - by
        return math.sqrt(dx * dx + dy * dy)
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * math.sqrt(len2)


def _cell_of(v: float, v0: float, cell: float, n: int) -> int:
    """The bucket index of coordinate ``v``, clamped to [0, n - 1]."""
    i = math.floor((v - v0) / cell)
    return int(min(max(i, 0), n - 1))


def bin_segments(  # noqa: PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    vxy: np.ndarray,
    vedge: np.ndarray,
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    ny: int,
    offsets: np.ndarray,
    entries: np.ndarray,
    fill: bool,
) -> None:
    """Count (``fill`` false: into ``offsets[b + 1]``) or write (``fill`` true: at
    ``offsets[b]``, advanced) every segment in every bucket it crosses: per column of its
    x-range (per row of its y-range when it is steeper than 45°), the rows its stretch in that
    column spans, widened by ``COVER_EPS_M``."""
    for s in range(vxy.shape[0] - 1):
        if vedge[s] != vedge[s + 1]:
            continue
        ax, ay, bx, by = vxy[s, 0], vxy[s, 1], vxy[s + 1, 0], vxy[s + 1, 1]
        steep = abs(by - ay) > abs(bx - ax)
        if steep:  # iterate over rows: swap the roles of x and y
            ax, ay, bx, by = ay, ax, by, bx
        if bx < ax:
            ax, ay, bx, by = bx, by, ax, ay
        u0, v0, nu, nv = (y0, x0, ny, nx) if steep else (x0, y0, nx, ny)
        lo_v = _cell_of(min(ay, by) - COVER_EPS_M, v0, cell, nv)
        hi_v = _cell_of(max(ay, by) + COVER_EPS_M, v0, cell, nv)
        slope = (by - ay) / (bx - ax) if bx > ax else 0.0
        for iu in range(_cell_of(ax, u0, cell, nu), _cell_of(bx, u0, cell, nu) + 1):
            ua = max(ax, u0 + iu * cell)
            ub = min(bx, u0 + (iu + 1) * cell)
            va = ay + (ua - ax) * slope
            vb = ay + (ub - ax) * slope
            r0 = max(_cell_of(min(va, vb) - COVER_EPS_M, v0, cell, nv), lo_v)
            r1 = min(_cell_of(max(va, vb) + COVER_EPS_M, v0, cell, nv), hi_v)
            for iv in range(r0, r1 + 1):
                b = iu * nx + iv if steep else iv * nx + iu
                if fill:
                    entries[offsets[b]] = s
                    offsets[b] += 1
                else:
                    offsets[b + 1] += 1


def next_nonempty(occupied: np.ndarray, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """First occupied bucket at or after each bucket along its row (a column index, nx if
    none) and along its column (a row index, ny if none)."""
    row = np.empty(nx * ny, np.int32)
    col = np.empty(nx * ny, np.int32)
    for iy in range(ny):
        nxt = nx
        for ix in range(nx - 1, -1, -1):
            b = iy * nx + ix
            if occupied[b]:
                nxt = ix
            row[b] = nxt
    for ix in range(nx):
        nxt = ny
        for iy in range(ny - 1, -1, -1):
            b = iy * nx + ix
            if occupied[b]:
                nxt = iy
            col[b] = nxt
    return row, col


def _scan(
    b: int,
    px: float,
    py: float,
    best_d: float,
    best_s: int,
    vxy: np.ndarray,
    offsets: np.ndarray,
    entries: np.ndarray,
) -> tuple[float, int]:
    """The best (distance, segment) after the segments of bucket ``b``: smaller distance, or the
    same distance and a lower segment (so a lower edge, then the edge's first segment). A
    segment whose bounding box is farther than the best (by ``BOUND_EPS_M``) is skipped."""
    reach2 = (best_d + BOUND_EPS_M) * (best_d + BOUND_EPS_M)
    for k in range(offsets[b], offsets[b + 1]):
        s = entries[k]
        ax, ay, bx, by = vxy[s, 0], vxy[s, 1], vxy[s + 1, 0], vxy[s + 1, 1]
        gx = max(min(ax, bx) - px, 0.0, px - max(ax, bx))
        gy = max(min(ay, by) - py, 0.0, py - max(ay, by))
        if gx * gx + gy * gy > reach2:
            continue
        d = _seg_dist(px, py, ax, ay, bx, by)
        if d < best_d or (d == best_d and s < best_s):
            best_d = d
            best_s = s
            reach2 = (best_d + BOUND_EPS_M) * (best_d + BOUND_EPS_M)
    return best_d, best_s


def _box_gap2(px: float, py: float, bx0: float, by0: float, cell: float) -> float:
    """Squared distance from the point to the bucket [bx0, bx0 + cell) x [by0, by0 + cell)."""
    dx = max(bx0 - px, 0.0, px - (bx0 + cell))
    dy = max(by0 - py, 0.0, py - (by0 + cell))
    return dx * dx + dy * dy


def _scan_line(  # noqa: PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    fixed: int,
    lo: int,
    hi: int,
    along_x: bool,
    px: float,
    py: float,
    best_d: float,
    best_s: int,
    vxy: np.ndarray,
    grid: np.ndarray,
    offsets: np.ndarray,
    entries: np.ndarray,
    nxt: np.ndarray,
    coarse_nxt: np.ndarray,
) -> tuple[float, int]:
    """Buckets ``lo..hi`` of row ``fixed`` (``along_x``, ``nxt`` = next_in_row) or of column
    ``fixed`` (``nxt`` = next_in_col), jumping over the empty ones (first over empty coarse
    blocks); a bucket farther than the best distance is not opened."""
    x0, y0, cell, nx = grid[0], grid[1], grid[2], int(grid[3])
    a, z = _disc_span(fixed, along_x, px, py, best_d, grid)
    lo, hi = max(lo, a), min(hi, z)
    if lo > hi:
        return best_d, best_s
    f, cnx = int(grid[5]), int(grid[6])
    c = (
        int(coarse_nxt[(fixed // f) * cnx + lo // f])
        if along_x
        else int(coarse_nxt[(lo // f) * cnx + fixed // f])
    )
    lo = max(lo, c * f)
    if lo > hi:
        return best_d, best_s
    i = int(nxt[fixed * nx + lo]) if along_x else int(nxt[lo * nx + fixed])
    while i <= hi:
        bx, by = (i, fixed) if along_x else (fixed, i)
        b = by * nx + bx
        reach = best_d + BOUND_EPS_M
        if _box_gap2(px, py, x0 + bx * cell, y0 + by * cell, cell) <= reach * reach:
            d = best_d
            best_d, best_s = _scan(b, px, py, best_d, best_s, vxy, offsets, entries)
            if best_d < d:  # a smaller disc: a shorter stretch of the line is left
                a, z = _disc_span(fixed, along_x, px, py, best_d, grid)
                lo, hi = max(lo, a), min(hi, z)
        j = max(i + 1, lo)
        if j > hi:
            break
        i = int(nxt[fixed * nx + j]) if along_x else int(nxt[j * nx + fixed])
    return best_d, best_s


def _disc_span(
    fixed: int, along_x: bool, px: float, py: float, best_d: float, grid: np.ndarray
) -> tuple[int, int]:
    """The buckets of row (``along_x``) or column ``fixed`` that meet the disc of radius
    ``best_d + BOUND_EPS_M`` around the point, as a range of indices along the line (may
    reach one bucket beyond the grid; empty, lo > hi, when the disc misses the line)."""
    x0, y0, cell = grid[0], grid[1], grid[2]
    n = int(grid[3]) if along_x else int(grid[4])
    reach = best_d + BOUND_EPS_M
    band = (y0 if along_x else x0) + fixed * cell
    across = py if along_x else px
    gap = max(band - across, 0.0, across - (band + cell))
    if gap > reach:
        return 1, 0
    half = math.sqrt(reach * reach - gap * gap) / cell  # inf while nothing is found
    centre = ((px - x0) if along_x else (py - y0)) / cell
    return math.floor(max(centre - half, -1.0)), math.floor(min(centre + half, float(n)))


def _scan_ring(  # noqa: PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    k: int,
    ix: int,
    iy: int,
    px: float,
    py: float,
    best_d: float,
    best_s: int,
    vxy: np.ndarray,
    grid: np.ndarray,
    offsets: np.ndarray,
    entries: np.ndarray,
    next_in_row: np.ndarray,
    next_in_col: np.ndarray,
    coarse_next_in_row: np.ndarray,
    coarse_next_in_col: np.ndarray,
) -> tuple[float, int]:
    """The buckets at chessboard distance ``k`` from bucket (ix, iy), inside the grid: its
    bottom and top rows, then its left and right columns without their corners."""
    nx, ny = int(grid[3]), int(grid[4])
    lo_x, hi_x = max(ix - k, 0), min(ix + k, nx - 1)
    if lo_x <= hi_x:
        for t in range(2 if k > 0 else 1):
            ry = iy - k if t == 0 else iy + k
            if 0 <= ry < ny:
                best_d, best_s = _scan_line(
                    ry, lo_x, hi_x, True, px, py, best_d, best_s,
                    vxy, grid, offsets, entries, next_in_row, coarse_next_in_row,
                )  # fmt: skip
    lo_y, hi_y = max(iy - k + 1, 0), min(iy + k - 1, ny - 1)
    if lo_y <= hi_y:
        for rx in (ix - k, ix + k):
            if 0 <= rx < nx:
                best_d, best_s = _scan_line(
                    rx, lo_y, hi_y, False, px, py, best_d, best_s,
                    vxy, grid, offsets, entries, next_in_col, coarse_next_in_col,
                )  # fmt: skip
    return best_d, best_s


def _nearest(  # noqa: PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    px: float,
    py: float,
    max_d: float,
    vxy: np.ndarray,
    grid: np.ndarray,
    offsets: np.ndarray,
    entries: np.ndarray,
    next_in_row: np.ndarray,
    next_in_col: np.ndarray,
    empty_rings: np.ndarray,
    coarse_next_in_row: np.ndarray,
    coarse_next_in_col: np.ndarray,
) -> tuple[float, int]:
    """(distance, segment) of the nearest segment within ``max_d`` of (px, py), or
    (inf, NO_SEGMENT). ``grid``: ``SegmentIndex.grid``."""
    if not (math.isfinite(px) and math.isfinite(py)):
        return math.inf, NO_SEGMENT
    best_d, best_s = max_d, NO_SEGMENT
    x0, y0, cell = grid[0], grid[1], grid[2]
    nx, ny = int(grid[3]), int(grid[4])
    big = 4.0 * (nx + ny) + 4.0  # farther out than this, every bucket is in the first ring
    ix = math.floor(min(max((px - x0) / cell, -big), big))
    iy = math.floor(min(max((py - y0) / cell, -big), big))
    # the point's distance to its own bucket's sides: ring k >= 1 is (k - 1) * cell + inner away
    inner = max(
        0.0,
        min(
            px - (x0 + ix * cell),
            x0 + (ix + 1) * cell - px,
            py - (y0 + iy * cell),
            y0 + (iy + 1) * cell - py,
        ),
    )
    cx, cy = min(max(ix, 0), nx - 1), min(max(iy, 0), ny - 1)
    outside = max(abs(ix - cx), abs(iy - cy))  # rings before the grid
    k = max(outside, int(empty_rings[cy * nx + cx]) - outside)  # rings before a segment
    while k == 0 or (k - 1) * cell + inner - BOUND_EPS_M <= best_d:
        best_d, best_s = _scan_ring(
            k, ix, iy, px, py, best_d, best_s,
            vxy, grid, offsets, entries, next_in_row, next_in_col,
            coarse_next_in_row, coarse_next_in_col,
        )  # fmt: skip
        if ix - k <= 0 and iy - k <= 0 and ix + k >= nx - 1 and iy + k >= ny - 1:
            break  # the whole grid is searched
        k += 1
    if best_s == NO_SEGMENT:
        return math.inf, NO_SEGMENT
    return best_d, best_s


def _along_fraction(px: float, py: float, s: int, vxy: np.ndarray, vedge: np.ndarray) -> float:
    """GEOS ``LengthIndexOfPoint`` on segment ``s`` of its edge over ``Length::ofLine``: the
    normalised position of the point's projection (0 for a zero-length edge)."""
    e = vedge[s]
    first = s
    while first > 0 and vedge[first - 1] == e:
        first -= 1
    last = s + 1
    while last + 1 < vedge.size and vedge[last + 1] == e:
        last += 1
    start = 0.0
    total = 0.0
    seg_len = 0.0
    for j in range(first, last):
        dx = vxy[j + 1, 0] - vxy[j, 0]
        dy = vxy[j + 1, 1] - vxy[j, 1]
        length = math.sqrt(dx * dx + dy * dy)
        if j < s:
            start += length
        elif j == s:
            seg_len = length
        total += length
    ax, ay, bx, by = vxy[s, 0], vxy[s, 1], vxy[s + 1, 0], vxy[s + 1, 1]
    if px == ax and py == ay:
        r = 0.0
    elif px == bx and py == by:
        r = 1.0
    else:
        dx = bx - ax
        dy = by - ay
        r = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    if r <= 0.0:
        measure = start
    elif r <= 1.0:
        measure = start + r * seg_len
    else:  # also a zero-length segment (r is nan)
        measure = start + seg_len
    frac = measure / total
    return 0.0 if math.isnan(frac) else frac


def snap_chunk(  # noqa: PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    pxy: np.ndarray,
    max_d: float,
    vxy: np.ndarray,
    vedge: np.ndarray,
    grid: np.ndarray,
    offsets: np.ndarray,
    entries: np.ndarray,
    next_in_row: np.ndarray,
    next_in_col: np.ndarray,
    empty_rings: np.ndarray,
    coarse_next_in_row: np.ndarray,
    coarse_next_in_col: np.ndarray,
    edge_len_m: np.ndarray,
    edge_component: np.ndarray,
    out_edge: np.ndarray,
    out_dist: np.ndarray,
    out_along: np.ndarray,
    out_comp: np.ndarray,
) -> None:
    for i in range(pxy.shape[0]):
        px, py = pxy[i, 0], pxy[i, 1]
        d, s = _nearest(
            px, py, max_d, vxy, grid, offsets, entries, next_in_row, next_in_col,
            empty_rings, coarse_next_in_row, coarse_next_in_col,
        )  # fmt: skip
        if s == NO_SEGMENT:
            out_edge[i] = -1
            out_dist[i] = math.inf
            out_along[i] = 0.0
            out_comp[i] = -1
        else:
            e = vedge[s]
            out_edge[i] = e
            out_dist[i] = d
            out_along[i] = _along_fraction(px, py, s, vxy, vedge) * edge_len_m[e]
            out_comp[i] = edge_component[e]


# IEEE division (x / 0 = inf or nan, as in GEOS) instead of Python's ZeroDivisionError
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_seg_dist = _jit(_seg_dist)
_cell_of = _jit(_cell_of)
bin_segments = _jit(bin_segments)
next_nonempty = _jit(next_nonempty)
_scan = _jit(_scan)
_box_gap2 = _jit(_box_gap2)
_disc_span = _jit(_disc_span)
_scan_line = _jit(_scan_line)
_scan_ring = _jit(_scan_ring)
_nearest = _jit(_nearest)
_along_fraction = _jit(_along_fraction)
snap_chunk = _jit(snap_chunk)
