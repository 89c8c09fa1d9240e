"""Catchment polygons for display: the exact outline of the reached demand cells.

Method: raster-to-vector of the demand grid. For every facility and break, the reached cells
form a mask on the 1 km grid; its outline is traced along the cell edges (4-connectivity, as
``rasterio.features.shapes``: cells that touch only at a corner are separate parts), keeping
only the corners. The drawn area and ``coverage`` therefore agree exactly: every reached cell
is inside the polygon and no unreached cell is (checked in the benchmark, and against
``rasterio.features.shapes`` in the tests). An optional ``simplify_m`` simplifies afterwards.

Cost: the tracing is compiled (numba) and runs for all facilities and breaks in one call;
shapely builds all multipolygons in one call on the flat coordinates (``from_ragged_array``:
no ring or polygon cloned on the way, a third of the assembly's time). Nationally it costs
about as much as the catchment computation itself (see ``bench/``), where one
``features.shapes`` call per facility and break cost five times as much.

Tracing: each boundary side of a reached cell is a directed edge with the cell on its left, so
outer rings run counter-clockwise and holes clockwise (x east, y north). At a corner the walk
turns left if it can, else goes straight, else right. Where two cells meet only at a corner,
the walk turns left if they belong to different parts (keeping them apart) and right if they
belong to the same part (splitting off a hole that touches its shell at that corner), so every
ring is simple and every polygon valid (OGC), as GDAL's. Each ring is then assigned to its part (a 4-connected
component of the mask, found by the same compiled pass) through the cell on the left of its
first edge: the part's outer ring first, then its holes.
"""

from __future__ import annotations

import numba
import numpy as np
import shapely

from analysis.catchments import TravelTimes
from analysis.demand import DemandGrid
from analysis.results import GridSpec

# directions: 0 = east (+col), 1 = north (-row), 2 = west (-col), 3 = south (+row)


@numba.njit(cache=True)
def _label(mask: np.ndarray, label: np.ndarray, stack: np.ndarray) -> int:
    """4-connected components of ``mask`` into ``label`` (0 = outside); returns their count."""
    h, w = mask.shape
    n = 0
    for r0 in range(h):
        for c0 in range(w):
            if mask[r0, c0] and label[r0, c0] == 0:
                n += 1
                label[r0, c0] = n
                stack[0] = r0 * w + c0
                top = 1
                while top > 0:
                    top -= 1
                    r = stack[top] // w
                    c = stack[top] % w
                    for k in range(4):
                        rr = r + (k == 3) - (k == 1)
                        cc = c + (k == 0) - (k == 2)
                        if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and label[rr, cc] == 0:
                            label[rr, cc] = n
                            stack[top] = rr * w + cc
                            top += 1
    return n


@numba.njit(cache=True)
def _trace_all(  # noqa: C901, PLR0913 (numba kernel: flat arrays in nopython mode, no objects)
    fac_ptr, cell_row, cell_col, times, breaks,
    out_x, out_y, ring_geom, ring_part, ring_len, ring_area,
):  # fmt: skip
    """Outline of every (facility, break) mask; writes vertices and ring records.

    Vertices are grid corners (row, col) of the whole grid written as (col, -row) so that y
    points north; the caller scales them. Returns (vertices written, rings written). A ring record
    gives its geometry (facility * n_breaks + break), its part (label within that geometry),
    its vertex count and its signed area (> 0: outer ring).
    """
    n_fac = fac_ptr.size - 1
    nb = breaks.size
    nv = 0
    nr = 0
    for i in range(n_fac):
        lo, hi = fac_ptr[i], fac_ptr[i + 1]
        if lo == hi:
            continue
        r0 = cell_row[lo:hi].min() - 1
        c0 = cell_col[lo:hi].min() - 1
        h = cell_row[lo:hi].max() - r0 + 2
        w = cell_col[lo:hi].max() - c0 + 2
        mask = np.zeros((h, w), np.bool_)
        label = np.zeros((h, w), np.int64)
        stack = np.empty(h * w, np.int64)
        out = np.zeros((h + 1, w + 1), np.uint8)  # outgoing edge bits per corner
        for b in range(nb):
            mask[:, :] = False
            any_cell = False
            for j in range(lo, hi):
                if times[j] <= breaks[b]:
                    mask[cell_row[j] - r0, cell_col[j] - c0] = True
                    any_cell = True
            if not any_cell:
                continue
            label[:, :] = 0
            _label(mask, label, stack)
            out[:, :] = 0
            for r in range(1, h - 1):
                for c in range(1, w - 1):
                    if not mask[r, c]:
                        continue
                    if not mask[r - 1, c]:  # top side: west along row r, from corner (r, c+1)
                        out[r, c + 1] |= 4
                    if not mask[r + 1, c]:  # bottom side: east along row r+1, from (r+1, c)
                        out[r + 1, c] |= 1
                    if not mask[r, c - 1]:  # left side: south along col c, from (r, c)
                        out[r, c] |= 8
                    if not mask[r, c + 1]:  # right side: north along col c+1, from (r+1, c+1)
                        out[r + 1, c + 1] |= 2
            used = np.zeros((h + 1, w + 1), np.uint8)
            g = i * nb + b
            for sr in range(h + 1):
                for sc in range(w + 1):
                    free = out[sr, sc] & ~used[sr, sc]
                    while free:
                        d0 = 0
                        while not (free >> d0) & 1:
                            d0 += 1
                        # the part: the cell on the left of the first edge
                        if d0 == 0:
                            part = label[sr - 1, sc]
                        elif d0 == 1:
                            part = label[sr - 1, sc - 1]
                        elif d0 == 2:
                            part = label[sr, sc - 1]
                        else:
                            part = label[sr, sc]
                        start_v = nv
                        r, c, d = sr, sc, d0
                        area2 = 0.0
                        while True:
                            used[r, c] |= 1 << d
                            out_x[nv] = c + c0
                            out_y[nv] = -(r + r0)
                            nv += 1
                            # walk straight to the next corner of the outline
                            while True:
                                r += (d == 3) - (d == 1)
                                c += (d == 0) - (d == 2)
                                bits = out[r, c]
                                left, right = (d + 1) % 4, (d + 3) % 4
                                if (bits >> left) & 1 and (bits >> right) & 1:
                                    # two diagonal cells meet here: of one part, the walk
                                    # splits off a hole (right); of two, it keeps them apart
                                    a, b_ = label[r - 1, c - 1], label[r, c]
                                    if a == 0:
                                        a, b_ = label[r - 1, c], label[r, c - 1]
                                    nd = right if a == b_ else left
                                elif (bits >> left) & 1:
                                    nd = left
                                elif (bits >> d) & 1:
                                    nd = d
                                else:
                                    nd = right
                                if nd != d or (r == sr and c == sc):
                                    break
                                used[r, c] |= 1 << d
                            if r == sr and c == sc and nd == d0:
                                break
                            d = nd
                        m = nv - start_v
                        for k in range(m):  # shoelace
                            x1, y1 = out_x[start_v + k], out_y[start_v + k]
                            x2, y2 = out_x[start_v + (k + 1) % m], out_y[start_v + (k + 1) % m]
                            area2 += x1 * y2 - x2 * y1
                        ring_geom[nr] = g
                        ring_part[nr] = part
                        ring_len[nr] = m
                        ring_area[nr] = 0.5 * area2
                        nr += 1
                        free = out[sr, sc] & ~used[sr, sc]
    return nv, nr


def _capacity(tt: TravelTimes, n_breaks: int) -> int:
    """An upper bound of the vertices written: 4 corners per reached cell and break."""
    return int(4 * tt.fac.size * n_breaks + 16)


def catchment_polygons(
    tt: TravelTimes,
    demand: DemandGrid,
    breaks_s: tuple[float, ...],
    *,
    simplify_m: float = 0.0,
) -> list[tuple[int, float, shapely.Geometry]]:
    """One (facility index, break in seconds, MultiPolygon in the metric CRS) per reached pair.

    Facilities that reach no cell within a break get no row for it. ``simplify_m`` > 0
    simplifies the outlines (topology preserved); by default they are exact.
    """
    return outline_polygons(tt, demand.grid, demand.row, demand.col, breaks_s, simplify_m)


def coarse_grid(g: GridSpec, k: int) -> GridSpec:
    """``g`` with cells ``k`` times larger (same origin; the last row and column cut)."""
    from dataclasses import replace

    shape = (-(-g.shape[0] // k), -(-g.shape[1] // k))
    return replace(g, cell_size_m=g.cell_size_m * k, shape=shape)


@numba.njit(cache=True, nogil=True)
def _coarse_min(
    fac: np.ndarray, big: np.ndarray, time_s: np.ndarray, n_big: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per facility (``fac`` ascending) and large cell: the shortest time, by facility then
    large cell; a scratch row over the large grid, reset after each facility."""
    best = np.full(n_big, np.inf)
    touched = np.empty(fac.size, np.int64)
    out_f = np.empty(fac.size, np.int64)  # the facilities as int64, whatever ``fac``'s type
    out_b = np.empty(fac.size, np.int64)
    out_t = np.empty(fac.size, np.float64)
    n = 0
    lo = 0
    while lo < fac.size:
        hi = lo
        while hi < fac.size and fac[hi] == fac[lo]:
            hi += 1
        k = 0
        for i in range(lo, hi):
            b = big[i]
            if best[b] == np.inf:
                touched[k] = b
                k += 1
            if time_s[i] < best[b]:
                best[b] = time_s[i]
        cells = np.sort(touched[:k])
        for j in range(k):
            out_f[n] = fac[lo]
            out_b[n] = cells[j]
            out_t[n] = best[cells[j]]
            best[cells[j]] = np.inf
            n += 1
        lo = hi
    return out_f[:n], out_b[:n], out_t[:n]


@numba.njit(cache=True, nogil=True)
def _big_cells(
    fac: np.ndarray, cell: np.ndarray, row: np.ndarray, col: np.ndarray, k: int, n_cols: int
) -> tuple[np.ndarray, int, bool]:
    """Each pair's large cell ``(row // k) * n_cols + col // k`` (one loop, no temporaries of
    the pairs' size but the result), the largest plus one, and whether ``fac`` ascends."""
    big = np.empty(cell.size, np.int64)
    top = np.int64(-1)
    ascending = True
    for i in range(cell.size):
        c = cell[i]
        b = (np.int64(row[c]) // k) * n_cols + np.int64(col[c]) // k
        big[i] = b
        if b > top:
            top = b
        if i > 0 and fac[i] < fac[i - 1]:
            ascending = False
    return big, int(top) + 1, ascending


def coarse_pairs(
    tt: TravelTimes, row: np.ndarray, col: np.ndarray, k: int, n_cols: int
) -> tuple[TravelTimes, np.ndarray, np.ndarray]:
    """The pairs on a grid of cells ``k`` times larger: each (facility, large cell) with the
    shortest time of the facility's cells inside it, sorted by facility and large cell; the
    large cells' rows and columns (``n_cols``: columns of the large grid)."""
    fac = np.asarray(tt.fac)
    big, n_big, ascending = _big_cells(fac, np.asarray(tt.cell), row, col, k, n_cols)
    t = np.asarray(tt.time_s, np.float64)
    if not ascending:  # blocks come by facility; else sort
        order = np.argsort(fac, kind="stable")
        fac, big, t = fac[order], big[order], t[order]
    f, b, tm = _coarse_min(fac, big, t, n_big)
    cells, local = np.unique(b, return_inverse=True)
    out = TravelTimes(f, local.astype(np.int64).ravel(), tm, tt.n_fac, cells.size, tt.limit_s)
    return out, cells // n_cols, cells % n_cols


def outline_polygons(
    tt: TravelTimes,
    g: GridSpec,
    row: np.ndarray,
    col: np.ndarray,
    breaks_s: tuple[float, ...],
    simplify_m: float = 0.0,
) -> list[tuple[int, float, shapely.Geometry]]:
    """:func:`catchment_polygons` on any grid ``g`` whose cells lie at ``row``, ``col``."""
    breaks = np.asarray(breaks_s, np.float64)
    nb = breaks.size
    fac_ptr = np.searchsorted(tt.fac, np.arange(tt.n_fac + 1)).astype(np.int64)
    rows = row[tt.cell].astype(np.int64)
    cols = col[tt.cell].astype(np.int64)
    cap = _capacity(tt, nb)
    out_x = np.empty(cap, np.float64)
    out_y = np.empty(cap, np.float64)
    ring_geom = np.empty(cap // 4 + 1, np.int64)
    ring_part = np.empty(cap // 4 + 1, np.int64)
    ring_len = np.empty(cap // 4 + 1, np.int64)
    ring_area = np.empty(cap // 4 + 1, np.float64)
    nv, nr = _trace_all(
        fac_ptr, rows, cols, tt.time_s.astype(np.float64), breaks,
        out_x, out_y, ring_geom, ring_part, ring_len, ring_area,
    )  # fmt: skip
    if nr == 0:
        return []
    ring_geom, ring_part, ring_len, ring_area = (
        ring_geom[:nr],
        ring_part[:nr],
        ring_len[:nr],
        ring_area[:nr],
    )
    x = g.x0 + out_x[:nv] * g.cell_size_m
    y = g.y0 + out_y[:nv] * g.cell_size_m
    # rings in order (geometry, part, outer before holes), each closed (its first vertex again),
    # built into multipolygons by one GEOS call on the flat coordinates and their offsets (as
    # linearrings -> polygons -> multipolygons would, without cloning every ring and polygon)
    order = np.lexsort((ring_area <= 0, ring_part, ring_geom))
    starts = np.cumsum(ring_len) - ring_len
    len_o = ring_len[order]
    ring_end = np.cumsum(len_o + 1)
    at = np.arange(ring_end[-1]) - np.repeat(ring_end - len_o - 1, len_o + 1)
    at[ring_end - 1] = 0  # the closing vertex
    v_order = np.repeat(starts[order], len_o + 1) + at
    rg, rp = ring_geom[order], ring_part[order]
    poly_key = np.concatenate([[True], (rg[1:] != rg[:-1]) | (rp[1:] != rp[:-1])])
    pg = rg[poly_key]
    geom_key = np.concatenate([[True], pg[1:] != pg[:-1]])
    geoms = shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON,
        np.column_stack([x[v_order], y[v_order]]),
        (
            np.r_[0, ring_end],
            np.r_[np.flatnonzero(poly_key), nr],
            np.r_[np.flatnonzero(geom_key), pg.size],
        ),
    )
    if simplify_m > 0:
        geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
    gid = pg[geom_key]
    return [(int(k // nb), float(breaks[k % nb]), geom) for k, geom in zip(gid, geoms, strict=True)]


def mask_polygons(grid: GridSpec, masks: list[np.ndarray]) -> list[shapely.Geometry | None]:
    """The outline of each boolean grid mask (rows x cols of ``grid``) in the grid's metric CRS,
    traced by the same compiled pass as the catchments (one polygoniser); None for an empty mask."""
    cells = [(r, c) for r, c in (np.nonzero(m) for m in masks)]
    return cell_polygons(grid, cells)


def cell_polygons(
    grid: GridSpec, cells: list[tuple[np.ndarray, np.ndarray]]
) -> list[shapely.Geometry | None]:
    """The outline of each set of grid cells (``(rows, cols)``, row-major order) in the grid's
    metric CRS, as :func:`mask_polygons` without a dense mask of the grid; None for an empty set."""
    if not any(np.asarray(r).size for r, _c in cells):
        return [None] * len(cells)
    rows, cols, owner = [], [], []
    for i, (r, c) in enumerate(cells):
        rows.append(np.asarray(r, np.int64))
        cols.append(np.asarray(c, np.int64))
        owner.append(np.full(np.asarray(r).size, i, np.int64))
    row, col, fac = np.concatenate(rows), np.concatenate(cols), np.concatenate(owner)
    n = row.size
    grid_cells = DemandGrid(
        grid=grid,
        row=row,
        col=col,
        population=np.zeros(n),
        area=np.full(n, -1, np.int64),
    )
    tt = TravelTimes(fac, np.arange(n, dtype=np.int64), np.zeros(n), len(cells), n, 1.0)
    traced = {i: g for i, _b, g in catchment_polygons(tt, grid_cells, (1.0,))}
    return [traced.get(i) for i in range(len(cells))]
