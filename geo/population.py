"""Population: where people live, as polygons carrying people or as a raster of people per cell.

Two polygon layers are built from the region's data folder (see ``[population]`` in the region
config) and one raster source can replace them (``--population FILE``):

- ``districts``: 2019 census per district (GADM geometry: mirror only, never redistributed),
  scaled so that each 63-province total equals its NSO 2024 average population;
- ``communes_census`` (:mod:`geo.population_census`): the 2019 census per 2025 commune scaled
  to the NSO 2024 province totals, the rule of the embedded default;
- ``communes``: the earlier redistributable rule, kept as a fallback. Each 63-province's NSO 2024
  population is split into urban and rural by its 2019 census urban share; the urban people are
  spread over its wards (phường) by area, the rest over its communes (xã) and special zones
  (đặc khu) by area. Communes are 2025 units and are tied to a 63-province by
  ``prov63_code_rep`` (the province of their representative point);
- a GeoTIFF of people per cell (WorldPop, GHS-POP), summed onto the demand grid by
  :func:`raster_to_grid`.

Every polygon layer keeps each 63-province total exactly (to float rounding). Areas are measured
in the region's metric CRS, never in degrees.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.errors
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from geo.config import RegionConfig
from geo.errors import DataNotFoundError, InputError
from geo.population_polygons import (
    RURAL_UNIT_TYPES,
    SEA_SPECIAL_ZONES,
    SEA_ZONE_STANDIN_KM2,
    URBAN_UNIT_TYPES,
    WGS84,
    PopulationLayer,
    population_from_communes,
    population_from_districts,
    province_grdp_per_head,
    province_totals,
    spread_by_area,
)
from geo.population_warp import sum_chunk

__all__ = [
    "MAX_RASTER_CELLS",
    "POLYGON_SOURCES",
    "RASTER_CACHE_BYTES",
    "RASTER_CHUNK_BYTES",
    "RASTER_CHUNK_ROWS",
    "RURAL_UNIT_TYPES",
    "SEA_SPECIAL_ZONES",
    "SEA_ZONE_STANDIN_KM2",
    "URBAN_UNIT_TYPES",
    "WGS84",
    "PopulationLayer",
    "population_from_communes",
    "population_from_config",
    "population_from_districts",
    "population_from_raster",
    "province_grdp_per_head",
    "province_totals",
    "raster_to_cells",
    "raster_to_grid",
    "spread_by_area",
]

log = logging.getLogger(__name__)

RASTER_CHUNK_ROWS = 2048
RASTER_CHUNK_BYTES = 64 * 2**20  # memory of one chunk read (issue 20: a 200,000-wide raster)
RASTER_CACHE_BYTES = 128 * 2**20  # GDAL's block cache while a raster is summed onto the grid
MAX_RASTER_CELLS = 2_000_000_000  # cells of one raster window: beyond, a message, not a scan


POLYGON_SOURCES = {
    "districts": (population_from_districts, ("districts_file", "province_totals_file")),
    "communes": (
        population_from_communes,
        ("communes_file", "province_totals_file", "census2019_file"),
    ),
}


def _polygon_sources() -> dict[str, tuple[Any, tuple[str, ...]]]:
    from geo.population_census import population_from_commune_census

    return {
        "communes_census": (
            population_from_commune_census,
            ("communes_file", "communes_census_file", "province_totals_file"),
        ),
        **POLYGON_SOURCES,
    }


def population_from_config(data_dir: str | Path, config: RegionConfig) -> PopulationLayer:
    """The first source of ``population.sources`` whose files all exist in ``data_dir``."""
    data_dir = Path(data_dir)
    sources = _polygon_sources()
    tried = []
    for name in config.population.get("sources", []):
        if name not in sources and name != "grid":
            raise InputError(
                f"unknown population source '{name}'; use grid, {', '.join(sources)}",
                source=config.path,
            )
        if name == "grid":  # a people-per-cell GeoTIFF in the folder (e.g. made by `fetch`)
            grid_file = config.population.get("grid_file", "population_grid.tif")
            if (data_dir / grid_file).is_file():
                return population_from_raster(data_dir / grid_file, bbox=config.bbox)
            tried.append(f"grid (missing {grid_file})")
            continue
        build, keys = sources[name]
        files = [config.population.get(k, f"<population.{k} not set>") for k in keys]
        missing = [f for f in files if not (data_dir / f).is_file()]
        if not missing:
            return build(data_dir, config)
        tried.append(f"{name} (missing {', '.join(missing)})")
    raise DataNotFoundError(
        f"no population source available: {'; '.join(tried)}; run `python cli.py fetch --out DIR`, "
        "pass --data DIR or --population FILE",
        source=str(data_dir),
    )


# --------------------------------------------------------------------------- rasters


def _people(values: np.ndarray, nodata: float | None) -> np.ndarray:
    """People per cell as float64: nodata, NaN and negative cells count as 0."""
    out = values.astype("float64", copy=True)
    bad = ~np.isfinite(out) | (out < 0)
    if nodata is not None and not np.isnan(nodata):
        bad |= values == nodata
    out[bad] = 0.0
    return out


def _tally(values: np.ndarray, nodata: float | None) -> tuple[float, int, int]:
    """(people, populated cells, negative cells) of a chunk as read, without a float64 copy: the
    people are the values that are finite, > 0 and not nodata (the rule of :func:`_people` and
    of the kernel of :mod:`geo.population_warp`)."""
    valid = values > 0
    below = values < 0
    if values.dtype.kind == "f":
        valid &= values < np.inf
    if nodata is not None and not np.isnan(nodata):
        valid &= values != nodata
        below &= values != nodata
    total = float(np.sum(values, where=valid, dtype=np.float64))
    return total, int(np.count_nonzero(valid)), int(np.count_nonzero(below))


def _cache_bytes(ds: rasterio.io.DatasetReader) -> int:
    """GDAL's block cache while a raster is read in row chunks: two rows of blocks (a chunk is at
    most one block row high), at least ``RASTER_CACHE_BYTES``. By default GDAL keeps up to 5 %
    of the RAM of decoded blocks (1.2 GB on a 23 GB machine)."""
    block_row = ds.block_shapes[0][0] * ds.width * np.dtype(ds.dtypes[0]).itemsize
    return max(RASTER_CACHE_BYTES, 2 * block_row)


def _open(path: Path) -> rasterio.io.DatasetReader:
    if not path.is_file():
        raise DataNotFoundError(
            "population raster not found; check the path given to --population", source=str(path)
        )
    if path.stat().st_size == 0:
        raise InputError(
            "the population raster is an empty file (0 bytes); copy or download it again",
            source=str(path),
        )
    try:
        ds = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"cannot be read as a raster ({exc}); give a GeoTIFF of people per cell (WorldPop, GHS-POP)",
            source=str(path),
        ) from None
    if ds.crs is None:
        ds.close()
        raise InputError(
            "the raster has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4326)",
            source=str(path),
        )
    return ds


def _row_windows(ds: rasterio.io.DatasetReader, window: Window) -> list[Window]:
    """Row chunks of ``window`` of at most ``RASTER_CHUNK_BYTES`` each (a very wide raster is
    read a few rows at a time), after refusing a window of more than ``MAX_RASTER_CELLS``."""
    cells = int(window.width) * int(window.height)
    if cells > MAX_RASTER_CELLS:
        raise InputError(
            f"the raster window to read has {int(window.width):,} × {int(window.height):,} = "
            f"{cells:,} cells (limit {MAX_RASTER_CELLS:,}); clip it to the region or resample it "
            "coarser first (e.g. gdalwarp -tr 100 100 -r sum), or raise cell_size_m",
            source=str(ds.name),
        )
    per_row = max(1, int(window.width)) * 8  # float64 after _people
    step = max(1, min(RASTER_CHUNK_ROWS, RASTER_CHUNK_BYTES // per_row))
    rows = range(int(window.row_off), int(window.row_off + window.height), step)
    end = int(window.row_off + window.height)
    return [Window(window.col_off, r, window.width, min(step, end - r)) for r in rows]


def population_from_raster(
    path: str | Path, *, bbox: tuple[float, float, float, float] | None = None
) -> PopulationLayer:
    """Validate a GeoTIFF of people per cell and return its path and the total in the region.

    Parameters
    ----------
    path
        GeoTIFF of people per cell (band 1), any CRS.
    bbox
        The region's ``(min_lon, min_lat, max_lon, max_lat)``: only the raster's window over it
        is read (a continental raster is not scanned whole); None reads the whole raster.

    Raises
    ------
    InputError
        The file cannot be opened, has no CRS, or holds no people in the region (the message
        names the file).
    """
    path = Path(path)
    with _open(path) as ds:
        full = Window(0, 0, ds.width, ds.height)
        if bbox is not None:
            box = transform_bounds("EPSG:4326", ds.crs, *bbox, densify_pts=21)
            win = from_bounds(*box, transform=ds.transform).round_offsets().round_lengths()
            try:
                full = win.intersection(full)
            except rasterio.errors.WindowError:
                raise InputError(
                    f"the raster does not cover the region (bbox {list(bbox)}); give a raster of "
                    "the region's people",
                    source=str(path),
                ) from None
        total, negative, populated = 0.0, 0, 0
        with rasterio.Env(GDAL_CACHEMAX=_cache_bytes(ds)):
            for w in _row_windows(ds, full):
                people, n_people, n_negative = _tally(ds.read(1, window=w), ds.nodata)
                total += people
                populated += n_people
                negative += n_negative
        if negative:
            log.warning("%s: %d cells with negative values counted as 0 people", path, negative)
        if not total > 0:
            raise InputError(
                f"the raster holds no people (all {ds.width * ds.height:,} cells are nodata, zero "
                "or negative); give a raster of people per cell (WorldPop, GHS-POP)",
                source=str(path),
            )
        cell = f"{abs(ds.res[0]):g} × {abs(ds.res[1]):g} {ds.crs.linear_units or 'units'}"
        crs = ds.crs.to_string()
        width, height = ds.width, ds.height
        cell_area = _cell_area_m2(ds, full)
    empty = gpd.GeoDataFrame({"population": [], "prov63_code": []}, geometry=[], crs=WGS84)
    return PopulationLayer(
        empty,
        f"raster:{path.name}",
        f"Raster {path.name}: {width:,} × {height:,} cells of {cell} ({crs}), {total:,.0f} people.",
        total,
        raster=path,
        populated_cells=populated,
        cell_area_m2=cell_area,
    )


def _cell_area_m2(ds: rasterio.io.DatasetReader, window: Window) -> float:
    """Area of one cell in m² (a geographic raster: at the window's mid latitude)."""
    rx, ry = abs(ds.res[0]), abs(ds.res[1])
    if not ds.crs.is_geographic:
        return float(rx * ry * (ds.crs.linear_units_factor[1] ** 2))
    mid = ds.window_bounds(window)
    lat = np.radians((mid[1] + mid[3]) / 2)
    return float(rx * 111_320 * max(np.cos(lat), 0.01) * ry * 110_574)


def raster_to_grid(
    path: str | os.PathLike[str],
    *,
    crs: str,
    x0: float,
    y0: float,
    cell_size_m: float,
    shape: tuple[int, int],
) -> np.ndarray:
    """Sum a raster of people per cell onto a north-up target grid.

    Parameters
    ----------
    path
        GeoTIFF of people per cell (band 1), any CRS. Nodata, NaN and negative cells count as 0.
    crs
        CRS of the target grid (the region's metric CRS).
    x0, y0
        Upper-left corner of the grid in ``crs`` (metres).
    cell_size_m
        Cell size in metres.
    shape
        (rows, cols) of the grid.

    Returns
    -------
    numpy.ndarray
        float64 people per grid cell. The people of the raster within the grid extent are kept
        (each source cell's people are split over the target cells by the area of overlap of
        its footprint: :func:`geo.population_warp.sum_chunk`);
        people outside the extent are dropped. The raster is read in row chunks. Dense: for a
        fine grid over a large extent use :func:`raster_to_cells`.
    """
    grid = np.zeros(shape, dtype="float64")
    for r0, c0, part in _summed_chunks(
        path, crs=crs, x0=x0, y0=y0, cell_size_m=cell_size_m, shape=shape
    ):
        grid[r0 : r0 + part.shape[0], c0 : c0 + part.shape[1]] += part
    if not grid.sum() > 0:
        raise InputError(NO_PEOPLE_IN_GRID, source=str(path))
    return grid


def raster_to_cells(
    path: str | os.PathLike[str],
    *,
    crs: str,
    x0: float,
    y0: float,
    cell_size_m: float,
    shape: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`raster_to_grid` without the dense grid: (flat index ``row * cols + col``, people)
    of the grid cells that receive people, one entry per (chunk, cell) in chunk order (a cell
    under two chunks appears twice; sum them in order for the dense result). Memory: one chunk
    plus the cells with people."""
    cols = shape[1]
    flats, values = [], []
    for r0, c0, part in _summed_chunks(
        path, crs=crs, x0=x0, y0=y0, cell_size_m=cell_size_m, shape=shape
    ):
        idx = np.flatnonzero(part)  # one pass, no (row, col) pair of arrays
        r, c = np.divmod(idx, part.shape[1])
        flats.append((r + r0) * cols + (c + c0))
        values.append(part.ravel()[idx])
    flat = np.concatenate(flats) if flats else np.zeros(0, np.int64)
    people = np.concatenate(values) if values else np.zeros(0)
    if not people.sum() > 0:
        raise InputError(NO_PEOPLE_IN_GRID, source=str(path))
    return flat, people


NO_PEOPLE_IN_GRID = (
    "no people of the raster fall within the region's demand grid (does the raster cover "
    "the region?); give a population raster of the region"
)


def _people_chunks(
    path: Path, *, crs: str, x0: float, y0: float, cell_size_m: float, shape: tuple[int, int]
) -> Any:
    """(values, nodata, transform, crs) of every row chunk of the raster under the grid, as read
    (the kernel of :func:`geo.population_warp.sum_chunk` counts nodata, NaN and negatives as 0:
    no float64 copy of the chunk)."""
    rows, cols = shape
    with _open(path) as ds:
        bounds = transform_bounds(
            crs, ds.crs, x0, y0 - rows * cell_size_m, x0 + cols * cell_size_m, y0
        )
        window = from_bounds(*bounds, transform=ds.transform).round_offsets().round_lengths()
        window = Window(window.col_off - 2, window.row_off - 2, window.width + 4, window.height + 4)
        try:
            window = window.intersection(Window(0, 0, ds.width, ds.height))
        except rasterio.errors.WindowError:
            raise InputError(
                "the raster does not overlap the region; give a population raster of the region",
                source=str(path),
            ) from None
        with rasterio.Env(GDAL_CACHEMAX=_cache_bytes(ds)):
            for w in _row_windows(ds, window):
                yield ds.read(1, window=w), ds.nodata, ds.window_transform(w), ds.crs


def _summed_chunks(
    path: str | os.PathLike[str],
    *,
    crs: str,
    x0: float,
    y0: float,
    cell_size_m: float,
    shape: tuple[int, int],
) -> Any:
    """(row, col, part) of every chunk summed onto the grid cells under it (by footprint overlap:
    :func:`geo.population_warp.sum_chunk`)."""
    dst_transform = from_origin(x0, y0, cell_size_m, cell_size_m)
    for values, nodata, src_transform, src_crs in _people_chunks(
        Path(path), crs=crs, x0=x0, y0=y0, cell_size_m=cell_size_m, shape=shape
    ):
        got = sum_chunk(values, src_transform, src_crs, shape, dst_transform, crs, nodata)
        if got is not None:
            yield got
