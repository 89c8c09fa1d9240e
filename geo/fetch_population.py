"""Population grid for a fetched mirror: resumable, checksummed download, then clip and aggregate.

The download goes to ``<target>.part`` and is resumed with an HTTP ``Range`` request after an
interruption (the server must answer ``206 Partial Content``; a ``200`` restarts from zero). Only
a complete file whose SHA-256 matches the expected value is renamed onto ``target``; a mismatch
deletes the partial file, so a corrupt download can never be mistaken for a good one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import rasterio
import rasterio.features
import requests
import shapely
import urllib3
from rasterio.transform import from_origin

from geo.errors import NetworkError, ServerError
from geo.files import atomic_path, sha256_file
from geo.population import raster_to_grid

log = logging.getLogger(__name__)

# WorldPop 2020, 1 km, UN-adjusted, Viet Nam (CC BY 4.0). WorldPop publishes no SHA-256: the first
# download's hash is recorded in PROVENANCE.json and can be pinned with --population-sha256.
WORLDPOP_VNM_URL = (
    "https://data.worldpop.org/GIS/Population/Global_2000_2020_1km_UNadj/2020/VNM/"
    "vnm_ppp_2020_1km_Aggregated_UNadj.tif"
)
WORLDPOP_LICENCE = "CC BY 4.0 (WorldPop, www.worldpop.org)"
GRID_NODATA = -9999.0
CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class Download:
    """A completed download: where it is, its SHA-256, its size and how it was obtained.

    ``how`` is ``downloaded``, ``resumed`` (at least one Range request) or ``cached`` (the
    target already existed with the expected checksum).
    """

    path: Path
    sha256: str
    size_bytes: int
    how: str


def _stream_to(
    part: Path, url: str, *, offset: int, timeout_s: float | tuple[float, float]
) -> tuple[bool, int | None]:
    """Append the bytes from ``offset`` to ``part``; returns (resumed, total size if announced)."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout_s) as r:
        if r.status_code == 416 and offset:  # the partial file is already complete
            total_txt = r.headers.get("Content-Range", "").rpartition("/")[2]
            return True, int(total_txt) if total_txt.isdigit() else offset
        if r.status_code not in (200, 206):
            raise NetworkError(f"{url}: HTTP {r.status_code} {r.reason}")
        resumed = r.status_code == 206
        if resumed:
            start = r.headers.get("Content-Range", "").removeprefix("bytes ").partition("-")[0]
            if not start.isdigit() or int(start) != offset:
                raise NetworkError(
                    f"{url}: the server resumed at byte {start!r}, not {offset}; delete {part} "
                    "and download again"
                )
            total_txt = r.headers["Content-Range"].rpartition("/")[2]
            total = int(total_txt) if total_txt.isdigit() else None
        else:
            length = r.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        with open(part, "ab" if resumed else "wb") as f:
            # read1 returns what has arrived: bytes received before a cut are kept for the resume
            # (iter_content would drop a partly filled chunk when the connection breaks).
            while block := r.raw.read1(CHUNK_BYTES, decode_content=True):
                f.write(block)
                f.flush()
    return resumed, total


def download_file(
    url: str,
    target: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    timeout_s: float = 60.0,
    max_attempts: int = 3,
    connect_timeout_s: float = 5.0,
    total_s: float = 600.0,
) -> Download:
    """Download ``url`` to ``target`` with resume and checksum verification.

    Parameters
    ----------
    url
        HTTP(S) address of the file.
    target
        Final path. The bytes go to ``<target>.part`` first; the file appears under ``target``
        only when complete and verified.
    sha256
        Expected hex SHA-256 (case-insensitive). None: not verified, the hash is returned for
        the record.
    timeout_s
        Read timeout of each request (the longest silence while bytes flow), in seconds.
    max_attempts
        Requests per call; each one after an interruption resumes where the last stopped.
    connect_timeout_s
        Connect timeout of each request, in seconds (a silent host fails fast).
    total_s
        No new attempt starts after this many seconds (retries bounded in total time).

    Returns
    -------
    Download

    Raises
    ------
    NetworkError
        The server failed ``max_attempts`` times (the ``.part`` file is kept: the next call
        resumes it), or the checksum does not match (the ``.part`` file is deleted).
    """
    target = Path(target)
    part = target.with_name(target.name + ".part")
    expected = sha256.lower() if sha256 else None
    if target.is_file():
        digest = sha256_file(target)
        if expected is None or digest == expected:
            return Download(target, digest, target.stat().st_size, "cached")
        log.warning("%s: checksum differs from the expected one, downloading again", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    resumed_any, total, last_error, complete, attempt = False, None, "", False, 0
    deadline = time.monotonic() + total_s
    while attempt < max_attempts and not complete:
        attempt += 1
        if attempt > 1:
            if time.monotonic() + 2 ** (attempt - 1) > deadline:
                last_error += f"; no retry after {total_s:g} s"
                break
            time.sleep(2 ** (attempt - 1))  # backoff: 2, 4, 8 s
        offset = part.stat().st_size if part.is_file() else 0
        try:
            resumed, total = _stream_to(
                part, url, offset=offset, timeout_s=(connect_timeout_s, timeout_s)
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            log.warning("%s: attempt %d/%d interrupted (%s)", url, attempt, max_attempts, exc)
            continue
        resumed_any |= resumed
        size = part.stat().st_size
        complete = total is None or size >= total
        if not complete:
            last_error = f"the connection closed after {size:,} of {total:,} bytes"
    if not complete:
        got = part.stat().st_size if part.is_file() else 0
        host = urlsplit(url).netloc
        raise ServerError(
            f"download from {host} incomplete after {attempt} attempt(s) ({last_error}); "
            f"{got:,} bytes kept in {part}: check the URL and the network, then run fetch "
            "again to resume",
            source=url,
        )
    digest = sha256_file(part)
    if expected is not None and digest != expected:
        part.unlink()
        raise NetworkError(
            f"{url}: SHA-256 mismatch (expected {expected}, got {digest}); the download was "
            "deleted. Check the URL and the expected checksum (--population-sha256)"
        )
    os.replace(part, target)
    return Download(
        target, digest, target.stat().st_size, "resumed" if resumed_any else "downloaded"
    )


def aligned_grid(
    polygon_metric: shapely.Geometry, *, cell_size_m: float
) -> tuple[float, float, tuple[int, int]]:
    """Upper-left corner and shape of the grid covering a polygon, aligned to the cell size.

    The origin is a multiple of ``cell_size_m`` in the metric CRS (DESIGN: the demand grid's
    origin is aligned), so the fetched grid and the run's demand grid share their cells.
    """
    minx, miny, maxx, maxy = shapely.bounds(polygon_metric)
    x0 = float(np.floor(minx / cell_size_m) * cell_size_m)
    y0 = float(np.ceil(maxy / cell_size_m) * cell_size_m)
    cols = int(np.ceil((maxx - x0) / cell_size_m))
    rows = int(np.ceil((y0 - miny) / cell_size_m))
    return x0, y0, (max(rows, 1), max(cols, 1))


def write_population_grid(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    region_metric: shapely.Geometry,
    metric_crs: str,
    cell_size_m: float,
) -> dict[str, float | int | str]:
    """Clip a people-per-cell raster to the region and sum it onto the region's grid.

    Parameters
    ----------
    source
        GeoTIFF of people per cell (any CRS; WorldPop, GHS-POP).
    target
        Output GeoTIFF: float32 people per cell, ``metric_crs``, cells of ``cell_size_m``,
        origin aligned to multiples of the cell size; cells not touching the region are nodata
        (-9999). Written to a temporary file and renamed.
    region_metric
        Region polygon in ``metric_crs``; cells touching it keep their people (coastal cells
        are not lost).
    metric_crs, cell_size_m
        The region's metric CRS and grid cell size.

    Returns
    -------
    dict
        ``people`` in the written grid, ``rows``, ``cols``, ``cell_size_m``, ``crs``.
    """
    x0, y0, shape = aligned_grid(region_metric, cell_size_m=cell_size_m)
    grid = raster_to_grid(
        source, crs=metric_crs, x0=x0, y0=y0, cell_size_m=cell_size_m, shape=shape
    )
    transform = from_origin(x0, y0, cell_size_m, cell_size_m)
    inside = rasterio.features.geometry_mask(
        [region_metric], out_shape=shape, transform=transform, invert=True, all_touched=True
    )
    data = np.where(inside, grid, GRID_NODATA).astype("float32")
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 1,
        "width": shape[1],
        "height": shape[0],
        "crs": metric_crs,
        "transform": transform,
        "nodata": GRID_NODATA,
        "compress": "deflate",
        "tiled": shape[0] >= 256 and shape[1] >= 256,
    }
    with atomic_path(target) as tmp, rasterio.open(tmp, "w", **profile) as ds:
        ds.write(data, 1)
    people = float(grid[inside].sum())
    return {
        "people": round(people, 1),
        "rows": shape[0],
        "cols": shape[1],
        "cell_size_m": cell_size_m,
        "crs": metric_crs,
    }


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes (for tests and recorded responses)."""
    return hashlib.sha256(data).hexdigest()
