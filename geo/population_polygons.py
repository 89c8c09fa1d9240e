"""Population polygons: the layer type, the region's tables (province totals, GRDP, urban
shares) and the polygon rules (districts, communes spread by area) of ``geo.population``
(moved from it; it re-exports these names). See ``geo.population``'s docstring for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.config import RegionConfig
from geo.errors import ConfigError, DataNotFoundError, InputError

WGS84 = "EPSG:4326"
URBAN_UNIT_TYPES = ("ward",)
RURAL_UNIT_TYPES = ("commune", "special_zone")
# Special zones whose polygon is a sea area (PROVENANCE: Trường Sa 4,201 km², Hoàng Sa 629 km²).
# They keep a stand-in land polygon of this area around their representative point, so that
# area-weighting gives them a handful of people instead of a large share of their province.
SEA_SPECIAL_ZONES = ("truong_sa", "hoang_sa")
SEA_ZONE_STANDIN_KM2 = 1.0


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
    populated_cells
        Raster sources: cells with people in the region's window (counted while reading the
        total), for the memory estimate before the demand grid is built; else None.
    cell_area_m2
        Raster sources: area of one raster cell in square metres (at the window's mid
        latitude for a geographic raster); else None.
    """

    polygons: gpd.GeoDataFrame
    source: str
    description: str
    total: float
    raster: Path | None = None
    populated_cells: int | None = None
    cell_area_m2: float | None = None


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
