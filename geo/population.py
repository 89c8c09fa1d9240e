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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import shapely
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import Affine, from_origin
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from geo.config import RegionConfig
from geo.errors import ConfigError, DataNotFoundError, InputError

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
URBAN_UNIT_TYPES = ("ward",)
RURAL_UNIT_TYPES = ("commune", "special_zone")
# Special zones whose polygon is a sea area (PROVENANCE: Trường Sa 4,201 km², Hoàng Sa 629 km²).
# They keep a stand-in land polygon of this area around their representative point, so that
# area-weighting gives them a handful of people instead of a large share of their province.
SEA_SPECIAL_ZONES = ("truong_sa", "hoang_sa")
SEA_ZONE_STANDIN_KM2 = 1.0
RASTER_CHUNK_ROWS = 2048
RASTER_CHUNK_BYTES = 64 * 2**20  # memory of one chunk read (issue 20: a 200,000-wide raster)
MAX_RASTER_CELLS = 2_000_000_000  # cells of one raster window: beyond, a message, not a scan


@dataclass(frozen=True)
class PopulationLayer:
    """A demand source.

    Attributes
    ----------
    polygons
        EPSG:4326 GeoDataFrame with ``population`` (float, people), ``prov63_code`` (2-digit
        string) and ``geometry``; empty for raster sources.
    source
        Short id: ``districts_census2019_scaled_nso2024``, ``communes_dasymetric_nso2024`` or
        ``raster:<file name>``.
    description
        One sentence for the report: what it is and how coarse.
    total
        People in the layer.
    raster
        Path of the GeoTIFF for raster sources, else None.
    """

    polygons: gpd.GeoDataFrame
    source: str
    description: str
    total: float
    raster: Path | None = None


# --------------------------------------------------------------------------- tables


def _code(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.zfill(2)


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise DataNotFoundError(
            "file not found; run `python cli.py fetch --out DIR`", source=str(path)
        )
    table = pd.read_csv(path, dtype=str, encoding="utf-8")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=str(path))
    table = table[list(columns)].copy()
    table["gso_code"] = _code(table["gso_code"])
    if table["gso_code"].duplicated().any():
        dup = table.loc[table["gso_code"].duplicated(), "gso_code"].iloc[0]
        raise InputError(f"province code {dup} appears twice", source=str(path), field="gso_code")
    for c in columns[1:]:
        values = pd.to_numeric(table[c], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError("not a non-negative number", source=str(path), row=row, field=c)
        table[c] = values.astype("float64")
    return table.set_index("gso_code")


def province_totals(data_dir: str | Path, config: RegionConfig) -> pd.Series:
    """NSO population per 63-province (``population.province_totals_file``), indexed by code."""
    if not config.population.get("province_totals_file"):
        raise ConfigError(
            "[population] province_totals_file is not set: the data-quality report compares "
            "the population layer with a total per area (CSV: gso_code, pop2024)",
            source=config.path,
        )
    path = Path(data_dir) / config.population["province_totals_file"]
    return _read_csv(path, ("gso_code", "pop2024"))["pop2024"].rename("population")


def province_grdp_per_head(data_dir: str | Path, config: RegionConfig) -> pd.Series:
    """GRDP per head (million VND a year) per 63-province, indexed by code.

    Read from ``population.province_totals_file``, column ``population.grdp_field`` (default
    ``grdp_per_capita_2024_mvnd``: NSO table E03.12, preliminary 2024).
    """
    path = Path(data_dir) / config.population["province_totals_file"]
    field = str(config.population.get("grdp_field", "grdp_per_capita_2024_mvnd"))
    return _read_csv(path, ("gso_code", field))[field].rename("grdp_per_head")


def _urban_share(data_dir: Path, config: RegionConfig) -> pd.Series:
    path = data_dir / config.population["census2019_file"]
    census = _read_csv(path, ("gso_code", "pop2019_total", "pop2019_urban"))
    if (census["pop2019_urban"] > census["pop2019_total"]).any():
        raise InputError(
            "pop2019_urban exceeds pop2019_total", source=str(path), field="pop2019_urban"
        )
    share = census["pop2019_urban"] / census["pop2019_total"].where(census["pop2019_total"] > 0)
    return share.fillna(0.0).rename("urban_share")


def _check_provinces(units: pd.Series, totals: pd.Series, source: str) -> None:
    """Every province with people needs units, and every unit a province with a total."""
    no_units = sorted(set(totals.index[totals > 0]) - set(units.dropna()))
    if no_units:
        raise InputError(
            f"no polygon for province(s) {', '.join(no_units)}: their people would be lost; "
            "check the province codes of the layer",
            source=source,
        )
    unknown = sorted(set(units.dropna()) - set(totals.index))
    if unknown or units.isna().any():
        raise InputError(
            f"polygons in province(s) without a population total: {', '.join(unknown) or 'none'}"
            f"{' and some with no province code' if units.isna().any() else ''}",
            source=source,
        )


# --------------------------------------------------------------------------- polygon rules


def spread_by_area(
    units: gpd.GeoDataFrame,
    totals: pd.Series,
    urban_share: pd.Series,
    *,
    metric_crs: str,
) -> gpd.GeoDataFrame:
    """Spread province totals over units by area, urban people over urban units only.

    Parameters
    ----------
    units
        Polygons with ``prov63_code`` and ``is_urban`` (bool); any CRS.
    totals
        People per province code.
    urban_share
        Urban share (0..1) per province code; missing codes count as 0.
    metric_crs
        CRS in which areas are measured.

    Returns
    -------
    geopandas.GeoDataFrame
        ``population``, ``prov63_code``, ``geometry`` in the CRS of ``units``. Per province the
        urban pool is ``total × share`` over the urban units and the rest goes to the other units;
        a province without urban units gives them all to the others and vice versa, so every
        province total is kept. A pool of zero total area is split equally.
    """
    _check_provinces(units["prov63_code"], totals, "population units")
    prov = units["prov63_code"].astype(str).to_numpy()
    urban = units["is_urban"].astype(bool).to_numpy()
    area = shapely.area(units.geometry.to_crs(metric_crs).values)
    frame = pd.DataFrame({"prov": prov, "urban": urban, "area": area, "one": 1.0})
    has = (
        frame.groupby(["prov", "urban"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=[False, True], fill_value=0)
    )
    share = urban_share.reindex(has.index).fillna(0.0).clip(0.0, 1.0)
    share = share.where(has[True] > 0, 0.0).where(has[False] > 0, 1.0)
    people = totals.reindex(frame["prov"]).to_numpy()
    s = share.reindex(frame["prov"]).to_numpy()
    pool_people = np.where(urban, people * s, people * (1.0 - s))
    keys = [frame["prov"], frame["urban"]]
    pool_area = frame.groupby(keys)["area"].transform("sum").to_numpy()
    pool_count = frame.groupby(keys)["one"].transform("sum").to_numpy()
    weight = np.where(
        pool_area > 0, area / np.where(pool_area > 0, pool_area, 1.0), 1.0 / pool_count
    )
    return gpd.GeoDataFrame(
        {"population": pool_people * weight, "prov63_code": prov},
        geometry=units.geometry.values,
        crs=units.crs,
    )


def _median_km2(polygons: gpd.GeoDataFrame, metric_crs: str) -> float:
    return float(np.median(shapely.area(polygons.geometry.to_crs(metric_crs).values)) / 1e6)


def _finish(frame: gpd.GeoDataFrame, source: str, description: str) -> PopulationLayer:
    frame = frame.to_crs(WGS84)[["population", "prov63_code", "geometry"]].reset_index(drop=True)
    frame["population"] = frame["population"].astype("float64")
    frame["prov63_code"] = frame["prov63_code"].astype(str)
    return PopulationLayer(frame, source, description, float(frame["population"].sum()))


def population_from_districts(data_dir: str | Path, config: RegionConfig) -> PopulationLayer:
    """2019 census districts (GADM geometry) scaled to the NSO 2024 province totals.

    Each district keeps its 2019 share of its 63-province; the province sums equal
    ``pop2024`` of ``population.province_totals_file``. Internal use only: GADM geometry may
    not be redistributed, so nothing of this layer is ever written into the embedded data.
    """
    data_dir = Path(data_dir)
    path = data_dir / config.population["districts_file"]
    if not path.is_file():
        raise DataNotFoundError("district population layer not found", source=str(path))
    districts = gpd.read_file(
        path,
        layer=config.population.get("districts_layer"),
        columns=["prov63_code", "pop2019_total"],
    )
    totals = province_totals(data_dir, config)
    districts["prov63_code"] = _code(districts["prov63_code"])
    _check_provinces(districts["prov63_code"], totals, str(path))
    pop2019 = pd.to_numeric(districts["pop2019_total"], errors="coerce").fillna(0.0).clip(lower=0.0)
    by_prov = pop2019.groupby(districts["prov63_code"]).transform("sum")
    if (by_prov[totals.reindex(districts["prov63_code"]).to_numpy() > 0] <= 0).any():
        raise InputError("a province has districts but no 2019 population", source=str(path))
    target = totals.reindex(districts["prov63_code"]).to_numpy()
    districts["population"] = np.where(
        by_prov > 0, target * pop2019 / by_prov.where(by_prov > 0, 1.0), 0.0
    )
    median = _median_km2(districts, config.metric_crs)
    return _finish(
        districts,
        "districts_census2019_scaled_nso2024",
        f"{len(districts):,} district polygons (2019 census, GADM 4.1 geometry) scaled to NSO 2024 "
        f"province totals; median district {median:,.0f} km².",
    )


def _fill_prov63(communes: gpd.GeoDataFrame, data_dir: Path, config: RegionConfig) -> pd.Series:
    """``prov63_code_rep``, with missing codes filled from the 34-province through the crosswalk.

    Trường Sa has no representative-point province (it is > 10 km from every polygon); its
    34-province (Khánh Hòa, 56) kept the code of its absorbing 63-province, which is used.
    """
    codes = _code(communes["prov63_code_rep"])
    missing = codes.isna()
    if not missing.any():
        return codes
    new34 = _code(communes["prov34_code"])
    path = data_dir / config.provinces.get("crosswalk", "")
    members: dict[str, list[str]] = {}
    if path.is_file():
        cw = pd.read_csv(path, dtype=str)
        for old, new in zip(_code(cw["old63_gso_code"]), _code(cw["new34_code"]), strict=True):
            members.setdefault(new, []).append(old)
    for i in np.flatnonzero(missing.to_numpy()):
        p34 = new34.iloc[i]
        cands = members.get(p34, [p34])
        codes.iloc[i] = p34 if p34 in cands else (cands[0] if len(cands) == 1 else pd.NA)  # type: ignore[call-overload]
    return codes


def _shrink_sea_zones(communes: gpd.GeoDataFrame, metric_crs: str) -> gpd.GeoSeries:
    """Replace the sea-area special zones by a small disc around their representative point."""
    sea = (
        communes["code_name"].isin(SEA_SPECIAL_ZONES).to_numpy()
        if "code_name" in communes
        else None
    )
    if sea is None or not sea.any():
        return communes.geometry
    metric = communes.geometry[sea].to_crs(metric_crs)
    radius = np.sqrt(SEA_ZONE_STANDIN_KM2 * 1e6 / np.pi)
    discs = gpd.GeoSeries(
        shapely.buffer(shapely.point_on_surface(metric.values), radius), crs=metric_crs
    )
    geometry = communes.geometry.copy()
    geometry[sea] = discs.to_crs(communes.crs).values
    return geometry


def population_from_communes(data_dir: str | Path, config: RegionConfig) -> PopulationLayer:
    """NSO 2024 province totals spread over the 2025 communes (urban/rural dasymetric by area).

    Per 63-province: urban people = ``pop2024 × pop2019_urban / pop2019_total`` spread over its
    wards by area, the rest over its communes and special zones by area; a province without
    wards gives all its people to its communes. Communes are tied to a 63-province by
    ``prov63_code_rep``. The sea-area special zones Trường Sa and Hoàng Sa are replaced by a
    1 km² disc at their representative point before area-weighting.
    """
    data_dir = Path(data_dir)
    path = data_dir / config.population["communes_file"]
    if not path.is_file():
        raise DataNotFoundError("commune layer not found", source=str(path))
    communes = gpd.read_file(path, layer=config.population.get("communes_layer"))
    for column in ("unit_type", "prov34_code", "prov63_code_rep"):
        if column not in communes.columns:
            raise InputError(f"missing column '{column}'", source=str(path), field=column)
    unknown = sorted(set(communes["unit_type"].dropna()) - set(URBAN_UNIT_TYPES + RURAL_UNIT_TYPES))
    if unknown or communes["unit_type"].isna().any():
        raise InputError(
            f"unknown unit_type {unknown or [None]}", source=str(path), field="unit_type"
        )
    units = gpd.GeoDataFrame(
        {
            "prov63_code": _fill_prov63(communes, data_dir, config),
            "is_urban": communes["unit_type"].isin(URBAN_UNIT_TYPES),
        },
        geometry=_shrink_sea_zones(communes, config.metric_crs),
        crs=communes.crs,
    )
    totals = province_totals(data_dir, config)
    spread = spread_by_area(
        units, totals, _urban_share(data_dir, config), metric_crs=config.metric_crs
    )
    n_wards = int(units["is_urban"].sum())
    median = _median_km2(spread, config.metric_crs)
    return _finish(
        spread,
        "communes_dasymetric_nso2024",
        f"{len(spread):,} commune polygons of 2025 ({n_wards:,} wards), median {median:,.0f} km²: NSO 2024 "
        "province totals split urban/rural by the 2019 census share and spread evenly by area within "
        "wards and within communes.",
    )


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
        total, negative = 0.0, 0
        for w in _row_windows(ds, full):
            values = ds.read(1, window=w)
            total += float(_people(values, ds.nodata).sum())
            below = values < 0
            if ds.nodata is not None:
                below &= values != ds.nodata
            negative += int(np.count_nonzero(below))
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
    empty = gpd.GeoDataFrame({"population": [], "prov63_code": []}, geometry=[], crs=WGS84)
    return PopulationLayer(
        empty,
        f"raster:{path.name}",
        f"Raster {path.name}: {width:,} × {height:,} cells of {cell} ({crs}), {total:,.0f} people.",
        total,
        raster=path,
    )


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
        (GDAL ``sum`` resampling weights source cells by their overlap with each target cell);
        people outside the extent are dropped. The raster is read in row chunks.
    """
    path = Path(path)
    dst_transform = from_origin(x0, y0, cell_size_m, cell_size_m)
    rows, cols = shape
    grid = np.zeros((rows, cols), dtype="float64")
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
        for w in _row_windows(ds, window):
            people = _people(ds.read(1, window=w), ds.nodata)
            if not people.any():
                continue
            src_transform = ds.window_transform(w)
            if hasattr(Resampling, "sum"):
                _sum_chunk(people, src_transform, ds.crs, grid, dst_transform, crs)
            else:  # pragma: no cover - rasterio < 1.3
                grid += _bin_cell_centres(people, src_transform, ds.crs, crs, dst_transform, shape)
    if not grid.sum() > 0:
        raise InputError(
            "no people of the raster fall within the region's demand grid (does the raster cover "
            "the region?); give a population raster of the region",
            source=str(path),
        )
    return grid


def _sum_chunk(
    people: np.ndarray,
    src_transform: Affine,
    src_crs: CRS,
    grid: np.ndarray,
    dst_transform: Affine,
    dst_crs: str,
) -> None:
    """Add one chunk of the raster to ``grid`` (GDAL ``sum``), warping only into the part of the
    grid under the chunk (plus one cell): at 100 m a national grid is ~150 M cells, and a
    full-grid buffer per chunk would cost 1.2 GB and a full-grid pass each time."""
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
    r1 = min(grid.shape[0], int(np.ceil(win.row_off + win.height)) + 1)
    c1 = min(grid.shape[1], int(np.ceil(win.col_off + win.width)) + 1)
    if r1 <= r0 or c1 <= c0:
        return
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
    grid[r0:r1, c0:c1] += part


def _bin_cell_centres(
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
