"""Population source ``communes_census``: the 2019 census per 2025 commune, scaled to NSO 2024.

The census of 1 April 2019 counted people per commune of its day; the mirror's table
``population_communes2025_census2019.csv`` carries them over to the 3,321 communes of 2025 (total,
urban and rural; province totals exact; PROVENANCE.md round 4 gives the split rule and its
defects). This module turns it into the default demand surface:

- scaling: every commune of a 63-province (tied by ``prov63_code_rep``, as in the ``communes``
  rule) is multiplied by ``f = pop2024 / Σ pop2019_total`` of that province, urban and rural
  alike (no 2024 urban split per province is at hand), so each 63-province total equals its NSO
  2024 population exactly and each commune keeps its 2019 urban share;
- placement: a commune's people (urban + rural) are spread evenly over its polygon, i.e. over the
  demand cells whose centres it contains (:func:`analysis.demand.demand_from_polygons`). No
  sub-commune footprint is known, so inside a commune urban and rural people share one density;
  the urban/rural split is kept per commune (``population_urban``, ``population_rural``).

Compared with the area-spreading of province totals, this puts people where the census counted
them, commune by commune (inner-city wards 4–66× denser than the spread surface).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.config import RegionConfig
from geo.errors import DataNotFoundError, InputError
from geo.population_polygons import (
    PopulationLayer,
    _check_provinces,
    _fill_prov63,
    _finish,
    _median_km2,
    _shrink_sea_zones,
    province_totals,
)

CENSUS_COLUMNS = ("commune_code", "pop2019_total", "pop2019_urban", "pop2019_rural")
SOURCE_ID = "communes_census2019_scaled_nso2024"


def read_commune_census(path: str | Path) -> pd.DataFrame:
    """Read and check the census table per 2025 commune.

    Parameters
    ----------
    path
        CSV with ``commune_code`` (5-digit text) and ``pop2019_total``, ``pop2019_urban``,
        ``pop2019_rural`` (persons).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``commune_code`` (string), the three counts as float64.

    Raises
    ------
    InputError
        A missing column, a duplicated code, a count that is not a non-negative number, or a row
        whose urban + rural differs from its total; the message names the file, the row (1-based,
        header excluded) and lists every bad row (up to 10).
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError("commune census table not found", source=str(path))
    table = pd.read_csv(path, dtype=str, encoding="utf-8")
    missing = [c for c in CENSUS_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=str(path))
    table = table[list(CENSUS_COLUMNS)].copy()
    table["commune_code"] = table["commune_code"].astype("string").str.strip().str.zfill(5)
    dup = table["commune_code"].duplicated(keep=False).to_numpy()
    if dup.any():
        rows = ", ".join(str(r + 1) for r in np.flatnonzero(dup)[:10])
        raise InputError(
            f"commune code(s) appear twice (rows {rows})", source=str(path), field="commune_code"
        )
    for c in CENSUS_COLUMNS[1:]:
        values = pd.to_numeric(table[c], errors="coerce")
        bad = (values.isna() | (values < 0)).to_numpy()
        if bad.any():
            rows = ", ".join(str(r + 1) for r in np.flatnonzero(bad)[:10])
            raise InputError(
                f"not a non-negative number in {int(bad.sum())} row(s): {rows}",
                source=str(path),
                row=int(np.flatnonzero(bad)[0]) + 1,
                field=c,
            )
        table[c] = values.astype("float64")
    off = (
        (table["pop2019_urban"] + table["pop2019_rural"] - table["pop2019_total"]).abs() > 0.5
    ).to_numpy()
    if off.any():
        rows = ", ".join(str(r + 1) for r in np.flatnonzero(off)[:10])
        raise InputError(
            f"pop2019_urban + pop2019_rural differs from pop2019_total in {int(off.sum())} row(s): {rows}",
            source=str(path),
            row=int(np.flatnonzero(off)[0]) + 1,
            field="pop2019_total",
        )
    return table.set_index("commune_code")


def scale_commune_census(
    units: gpd.GeoDataFrame, census: pd.DataFrame, totals: pd.Series
) -> gpd.GeoDataFrame:
    """Scale the 2019 census per commune to the province totals, urban and rural alike.

    Parameters
    ----------
    units
        Commune polygons with ``commune_code`` and ``prov63_code``; any CRS.
    census
        :func:`read_commune_census` output (indexed by commune code).
    totals
        People per province code (the target, e.g. NSO 2024).

    Returns
    -------
    geopandas.GeoDataFrame
        ``commune_code``, ``prov63_code``, ``population``, ``population_urban``,
        ``population_rural`` and the geometry of ``units``. Per province
        ``f = totals[p] / Σ pop2019_total`` over its units; each unit gets ``f ×`` its census
        counts, so province sums equal ``totals`` and each unit keeps its census urban share.

    Raises
    ------
    InputError
        Codes of the census absent from the units or units absent from the census (listed), or a
        province with people in ``totals`` but none in the census.
    """
    codes = units["commune_code"].astype(str).str.zfill(5)
    no_row = sorted(set(codes) - set(census.index))
    no_unit = sorted(set(census.index) - set(codes))
    if no_row or no_unit:
        raise InputError(
            f"commune codes do not match: {len(no_row)} polygon(s) without a census row "
            f"({', '.join(no_row[:10]) or 'none'}), {len(no_unit)} census row(s) without a polygon "
            f"({', '.join(no_unit[:10]) or 'none'})",
            source="commune census table",
            field="commune_code",
        )
    prov = units["prov63_code"]
    _check_provinces(prov, totals, "commune census units")
    counts = census.reindex(codes.to_numpy())
    pop2019 = counts["pop2019_total"].to_numpy()
    by_prov = pd.Series(pop2019).groupby(prov.to_numpy()).sum()
    empty = sorted(p for p in totals.index[totals > 0] if by_prov.get(p, 0.0) <= 0)
    if empty:
        raise InputError(
            f"province(s) {', '.join(empty)} have no census people in any commune: their NSO total "
            "cannot be placed",
            source="commune census table",
        )
    factor = (totals / by_prov.reindex(totals.index)).reindex(prov.to_numpy()).to_numpy()
    return gpd.GeoDataFrame(
        {
            "commune_code": codes.to_numpy(),
            "prov63_code": prov.to_numpy(),
            "population": pop2019 * factor,
            "population_urban": counts["pop2019_urban"].to_numpy() * factor,
            "population_rural": counts["pop2019_rural"].to_numpy() * factor,
        },
        geometry=units.geometry.values,
        crs=units.crs,
    )


def commune_census_frame(data_dir: str | Path, config: RegionConfig) -> gpd.GeoDataFrame:
    """The scaled commune surface with its urban/rural columns (see :func:`scale_commune_census`)."""
    data_dir = Path(data_dir)
    path = data_dir / config.population["communes_file"]
    if not path.is_file():
        raise DataNotFoundError("commune layer not found", source=str(path))
    communes = gpd.read_file(path, layer=config.population.get("communes_layer"))
    for column in ("commune_code", "prov34_code", "prov63_code_rep"):
        if column not in communes.columns:
            raise InputError(f"missing column '{column}'", source=str(path), field=column)
    units = gpd.GeoDataFrame(
        {
            "commune_code": communes["commune_code"],
            "prov63_code": _fill_prov63(communes, data_dir, config),
        },
        geometry=_shrink_sea_zones(communes, config.metric_crs),
        crs=communes.crs,
    )
    census = read_commune_census(data_dir / config.population["communes_census_file"])
    return scale_commune_census(units, census, province_totals(data_dir, config))


def population_from_commune_census(data_dir: str | Path, config: RegionConfig) -> PopulationLayer:
    """Population source ``communes_census``: 2019 census per 2025 commune scaled to NSO 2024.

    Each commune's census people times its 63-province's factor ``pop2024 / pop2019``, spread
    evenly over the commune polygon (Trường Sa and Hoàng Sa keep their 1 km² stand-in disc).
    """
    frame = commune_census_frame(data_dir, config)
    urban = float(frame["population_urban"].sum() / max(frame["population"].sum(), 1.0))
    median = _median_km2(frame, config.metric_crs)
    return _finish(
        frame,
        SOURCE_ID,
        f"{len(frame):,} commune polygons of 2025 (median {median:,.0f} km²) with their 2019 census "
        f"people, scaled per province to the NSO 2024 totals ({100 * urban:.1f} % urban); people "
        "spread evenly within each commune.",
    )
