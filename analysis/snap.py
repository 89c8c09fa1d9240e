"""Exact nearest-segment search behind ``analysis.network.snap_points``: the segment grid
(built here) and the search (compiled, ``analysis.snap_kernel``).

The road edges' LineStrings are exploded once into their vertices, edge after edge (a segment
is named by the index of its first vertex, so segment order is (edge, position) order), and
every segment is binned into the buckets of a uniform grid that it crosses (a conservative
rasterisation, not its bounding box: a long diagonal segment would otherwise fill a square of
buckets). Each point then searches rings of buckets outward from its own, starting at the
first ring that holds anything (a chessboard distance transform of the empty buckets), only
within the best distance found so far (a disc), jumping over empty buckets along each ring's
sides (tables of the next occupied bucket, and of the next occupied block of 8 x 8 buckets),
until the next ring's lower bound exceeds the best distance. Memory is the vertices, the
bucket table and four arrays the size of the grid; per point there is nothing but its
outputs. Results are bit-identical to shapely's (see ``analysis.snap_kernel``).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import shapely
from scipy.ndimage import distance_transform_cdt

from analysis.snap_kernel import bin_segments, next_nonempty, snap_chunk

CELLS_PER_SEGMENT = 1.0  # grid buckets per segment (over the segments' bounding box)
MAX_BUCKETS_PER_SEGMENT = 4.0  # cap on the grid's size where the bounding box is mostly empty
COARSE = 8  # buckets per side of the coarse blocks
CHUNK = 1 << 16  # points per task of the thread pool


@dataclass(frozen=True)
class SegmentIndex:
    """The segments of a set of edges in a uniform bucket grid.

    Attributes
    ----------
    vxy
        (n_vertices, 2) the edges' vertices, edge after edge, each edge's from its start.
    vedge
        (n_vertices,) the edge index of each vertex; a segment ``s`` joins vertices ``s`` and
        ``s + 1`` where both belong to the same edge.
    x0, y0, cell, nx, ny
        The grid: bucket (ix, iy) is ``[x0 + ix * cell, x0 + (ix + 1) * cell)`` x the same in y,
        numbered ``iy * nx + ix``.
    offsets, entries
        CSR of bucket -> segments crossing it (ascending).
    next_in_row, next_in_col
        First non-empty bucket at or after each bucket along its row (a column index, ``nx``
        if none) and along its column (a row index, ``ny`` if none).
    empty_rings
        Chessboard distance, in buckets, from each bucket to the nearest non-empty one.
    coarse_next_in_row, coarse_next_in_col
        ``next_in_row`` and ``next_in_col`` of blocks of ``COARSE`` x ``COARSE`` buckets (small
        enough to stay in the CPU's cache: a search far from any road proves the rows and
        columns it crosses empty there).
    """

    vxy: np.ndarray
    vedge: np.ndarray
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    offsets: np.ndarray
    entries: np.ndarray
    next_in_row: np.ndarray
    next_in_col: np.ndarray
    empty_rings: np.ndarray
    coarse_next_in_row: np.ndarray
    coarse_next_in_col: np.ndarray

    @property
    def grid(self) -> np.ndarray:
        """(x0, y0, cell, nx, ny, COARSE, coarse nx, coarse ny) for the compiled search."""
        cnx, cny = -(-self.nx // COARSE), -(-self.ny // COARSE)
        return np.array([self.x0, self.y0, self.cell, self.nx, self.ny, COARSE, cnx, cny], float)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        arrays = (self.vxy, self.vedge, self.offsets, self.entries, self.next_in_row)
        coarse = (self.coarse_next_in_row, self.coarse_next_in_col)
        return sum(a.nbytes for a in (*arrays, self.next_in_col, self.empty_rings, *coarse))


def build_index(geoms: np.ndarray, edge_ids: np.ndarray) -> SegmentIndex:
    """Explode LineStrings into segments and bin them in a uniform grid.

    Parameters
    ----------
    geoms
        LineStrings (metric CRS); None or empty ones have no segment.
    edge_ids
        The edge index of each geometry, ascending.

    Returns
    -------
    SegmentIndex
    """
    types = shapely.get_type_id(geoms)
    bad = np.flatnonzero((types != 1) & (types != 2) & ~shapely.is_missing(geoms))
    if bad.size:
        raise ValueError(
            f"edge {int(edge_ids[bad[0]])} is a {shapely.get_type_id(geoms[bad[0]])}-type "
            f"geometry, not a LineString ({bad.size} such edges); snapping needs LineStrings"
        )
    vxy, owner = shapely.get_coordinates(geoms, return_index=True)
    vxy = np.ascontiguousarray(vxy, dtype=np.float64)
    small = edge_ids.size == 0 or int(edge_ids.max()) < np.iinfo(np.int32).max
    vedge = np.asarray(edge_ids, np.int32 if small else np.int64)[owner]
    del owner
    n_seg = int(np.count_nonzero(vedge[1:] == vedge[:-1])) if vedge.size else 0
    lo = vxy.min(axis=0) if vxy.size else np.zeros(2)
    hi = vxy.max(axis=0) if vxy.size else np.zeros(2)
    w, h = max(float(hi[0] - lo[0]), 1.0), max(float(hi[1] - lo[1]), 1.0)
    cell = math.sqrt(w * h / max(n_seg * CELLS_PER_SEGMENT, 1.0))
    while (w / cell + 1) * (h / cell + 1) > MAX_BUCKETS_PER_SEGMENT * n_seg + 16:
        cell *= 1.25
    nx, ny = int(w // cell) + 1, int(h // cell) + 1
    offsets = np.zeros(nx * ny + 1, np.int64)
    entry_type = np.int32 if vxy.shape[0] < 2**31 else np.int64
    entries = np.zeros(0, entry_type)  # not written by the counting pass
    x0, y0 = float(lo[0]), float(lo[1])
    bin_segments(vxy, vedge, x0, y0, cell, nx, ny, offsets, entries, False)
    np.cumsum(offsets, out=offsets)
    entries = np.empty(int(offsets[-1]), entry_type)
    cursor = offsets[:-1].copy()
    bin_segments(vxy, vedge, x0, y0, cell, nx, ny, cursor, entries, True)
    del cursor
    occupied = (offsets[1:] > offsets[:-1]).reshape(ny, nx)
    next_in_row, next_in_col = next_nonempty(occupied.ravel(), nx, ny)
    cnx, cny = -(-nx // COARSE), -(-ny // COARSE)
    padded = np.zeros((cny * COARSE, cnx * COARSE), bool)
    padded[:ny, :nx] = occupied
    coarse = padded.reshape(cny, COARSE, cnx, COARSE).any(axis=(1, 3)).ravel()
    del padded
    coarse_row, coarse_col = next_nonempty(coarse, cnx, cny)
    if occupied.any():
        rings = distance_transform_cdt(~occupied, metric="chessboard").astype(np.int32).ravel()
    else:
        rings = np.zeros(nx * ny, np.int32)
    return SegmentIndex(
        vxy=vxy,
        vedge=vedge,
        x0=x0,
        y0=y0,
        cell=cell,
        nx=nx,
        ny=ny,
        offsets=offsets,
        entries=entries,
        next_in_row=next_in_row,
        next_in_col=next_in_col,
        empty_rings=rings,
        coarse_next_in_row=coarse_row,
        coarse_next_in_col=coarse_col,
    )


def nearest_segments(
    index: SegmentIndex,
    xy: np.ndarray,
    *,
    max_dist_m: float,
    edge_len_m: np.ndarray,
    edge_component: np.ndarray,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(edge, dist_m, along_m, component) of each point's nearest segment within
    ``max_dist_m`` (inf for none): edge -1, dist inf, along 0, component -1 where there is
    none; edge and component int32 where the edges count under 2**31. Points go in chunks of ``CHUNK`` over ``threads`` threads (default: numba's thread
    count), each chunk converted to float64 on its own, so a float32 or strided input is never
    copied whole."""
    n = xy.shape[0]
    # edges and components as int32 where they fit (half the memory of a 100 m grid's cells)
    small = edge_len_m.size < 2**31
    edge = np.full(n, -1, np.int32 if small else np.int64)
    dist = np.full(n, np.inf)
    along = np.zeros(n)
    comp = np.full(n, -1, np.int32 if small else np.int64)
    if n == 0 or index.entries.size == 0:
        return edge, dist, along, comp
    grid = index.grid
    lens = np.ascontiguousarray(edge_len_m, dtype=np.float64)
    comps = np.ascontiguousarray(edge_component, dtype=np.int64)

    def run(a: int) -> None:
        z = min(a + CHUNK, n)
        snap_chunk(
            np.ascontiguousarray(xy[a:z], dtype=np.float64), float(max_dist_m),
            index.vxy, index.vedge, grid, index.offsets, index.entries,
            index.next_in_row, index.next_in_col, index.empty_rings,
            index.coarse_next_in_row, index.coarse_next_in_col, lens, comps,
            edge[a:z], dist[a:z], along[a:z], comp[a:z],
        )  # fmt: skip

    threads = threads or numba.get_num_threads()
    starts = range(0, n, CHUNK)
    if threads <= 1 or n <= CHUNK:
        for a in starts:
            run(a)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run, starts))
    return edge, dist, along, comp
