"""Data quality of a region's data: how complete and how trustworthy are the layers behind a run?

Each measure is a plain function from data to a table (facilities, a road network, population
totals in; a DataFrame out). :func:`region_quality` loads a data folder and runs them all, for
``python cli.py check`` without ``--facilities`` and for the report's data-quality section.
The measures live by concept: facilities in :mod:`geo.quality_facilities` (with
:func:`facility_data_flags`, a ``doubtful`` flag and a ``data_note`` per facility for the map),
roads in :mod:`geo.quality_roads`, population here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features

from geo.config import RegionConfig, config_tables
from geo.facilities import FacilityLoad, load_region_facilities
from geo.provinces import Provinces, load_provinces, tag_provinces
from geo.quality_facilities import (
    coastal_without_port,
    counts_by_area,
    facility_data_flags,
    official_coverage,
    status_summary,
    suspected_duplicates,
)
from geo.quality_roads import (
    network_summary,
    road_distance,
    road_layer_summary,
    road_length_by_class,
)
from geo.roads import RoadNetwork, read_road_layer, road_network_for_region

log = logging.getLogger(__name__)

RASTER_NAME = "population_grid.tif"


@dataclass(frozen=True)
class RegionExtras:
    """Region settings used only by the data check (read from the region TOML).

    ``coastal_provinces63``: ``[region] coastal_provinces63``; ``expected_road_km``:
    ``[roads.expected_km]`` (km of roads in use by ``road_class``).
    """

    coastal_provinces63: tuple[str, ...] = ()
    expected_road_km: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityReport:
    """Result of :func:`region_quality`.

    Attributes
    ----------
    tables
        Name -> table; written as ``quality/<name>.csv``.
    findings
        Sentences a planner can quote, most important first.
    flags
        One row per facility: ``facility_id``, ``type``, ``name``, ``doubt_score``, ``doubtful``,
        ``data_note``, ``lon``, ``lat``.
    outline
        Simplified 63-province polygons (EPSG:4326) for a small map.
    """

    tables: dict[str, pd.DataFrame]
    findings: list[str]
    flags: pd.DataFrame
    outline: gpd.GeoSeries


def region_extras(config: RegionConfig) -> RegionExtras:
    """Read ``coastal_provinces63`` and ``[roads.expected_km]`` from the region's TOML file."""
    raw = config_tables(config)
    coastal = tuple(str(c).zfill(2) for c in raw.get("region", {}).get("coastal_provinces63", ()))
    expected = {str(k): float(v) for k, v in raw.get("roads", {}).get("expected_km", {}).items()}
    return RegionExtras(coastal, expected)


# --------------------------------------------------------------------------- facilities


def raster_province_totals(path: str | Path, provinces: Provinces) -> pd.Series:
    """People of a raster per 63-province (cells assigned by their centre), indexed by code."""
    with rasterio.open(path) as ds:
        values = ds.read(1).astype("float64")
        if ds.nodata is not None:
            values[values == ds.nodata] = 0.0
        values[~np.isfinite(values) | (values < 0)] = 0.0
        p63 = provinces.p63.to_crs(ds.crs)
        codes = np.arange(1, len(p63) + 1)
        zones = rasterio.features.rasterize(
            zip(p63.geometry, codes, strict=True),
            out_shape=values.shape,
            transform=ds.transform,
            fill=0,
        )
    sums = np.bincount(zones.ravel(), weights=values.ravel(), minlength=len(p63) + 1)
    return pd.Series(sums[1:], index=p63["prov_code"].to_numpy(), name="population")


def population_vs_census(
    layer_totals: pd.Series, census: pd.Series, *, names: pd.Series
) -> pd.DataFrame:
    """Population per 63-province from a source against the official total (``ratio`` = source / census)."""
    out = pd.DataFrame({"census": census.astype(float)})
    out["source"] = layer_totals.reindex(out.index).fillna(0.0).round(0)
    out["difference"] = (out["source"] - out["census"]).round(0)
    out["ratio"] = (out["source"] / out["census"]).round(4)
    out.insert(0, "prov63_name", names.reindex(out.index))
    return out.rename_axis("prov63_code").reset_index()


def region_quality(
    data_dir: str | Path,
    config: RegionConfig,
    *,
    load: FacilityLoad | None = None,
    network: RoadNetwork | None = None,
    provinces: Provinces | None = None,
    population: Any = None,
    population_raster: str | Path | None = None,
    roads_file: str | Path | None = None,
) -> QualityReport:
    """Run every measure on a data folder (loading what is not given).

    Parameters
    ----------
    data_dir
        The data folder (mirror, fetched folder or embedded default).
    config
        Region configuration (official totals, thresholds, metric CRS; extras from its TOML).
    load, network, provinces, population
        Already loaded facilities / road network / provinces / the config's population layer
        (``geo.population.population_from_config``); what is not given is loaded from
        ``data_dir``.
    population_raster
        A people-per-cell GeoTIFF to compare with the census (default: ``population_grid.tif``
        of ``data_dir`` if present).
    roads_file
        The road file that replaced the config's layer (``run --roads``): the config's layer is
        then not read again (it is not what the run used), and ``road_layer`` is left out.
    """
    d = Path(data_dir)
    extras = region_extras(config)
    provinces = provinces or load_provinces(d, config)
    load = load or load_region_facilities(d, config)
    if network is None:
        from geo.point_connectors import facilities_to_connect

        gap_m = config.max_facility_access_km * 1000
        network = road_network_for_region(
            d, config, points=facilities_to_connect(load.facilities, min_gap_m=gap_m)
        )
    fac = load.facilities
    tables = _facility_tables(load, provinces, network, config, extras)
    tables.update(_road_tables(d, config, network, extras, roads_file))
    raster = Path(population_raster) if population_raster else d / RASTER_NAME
    pop_tables, pop_source = _population_tables(
        d, config, provinces, population, raster if raster.is_file() else None
    )
    tables.update(pop_tables)
    flags = facility_data_flags(
        fac, duplicates=tables["suspected_duplicates"], road=tables["road_distance"]
    )
    tables["facility_flags"] = flags
    findings = _findings(tables, extras, pop_source, raster if raster.is_file() else None)
    outline = provinces.p63.geometry.simplify(0.02)
    return QualityReport(tables=tables, findings=findings, flags=flags, outline=outline)


def _facility_tables(
    load: FacilityLoad,
    provinces: Provinces,
    network: RoadNetwork,
    config: RegionConfig,
    extras: RegionExtras,
) -> dict[str, pd.DataFrame]:
    """The facility measures of :func:`region_quality`, in the order they are written."""
    from geo.units import units_specs

    fac = load.facilities
    tables: dict[str, pd.DataFrame] = {}
    tables["official_coverage"] = official_coverage(load.counts, missing=load.missing)
    tables["counts_by_area"] = counts_by_area(fac, provinces, config.area_levels)
    tables["coastal_ports"] = coastal_without_port(
        fac,
        provinces,
        coastal63=extras.coastal_provinces63,
        port_class=None if "seaport" in units_specs(config) else "general",
    )
    if load.missing is not None:
        tables["missing_units"] = load.missing
    tables["suspected_duplicates"] = suspected_duplicates(
        fac, metric_crs=config.metric_crs, near_m=2 * config.duplicate_distance_m
    )
    tables["merged_duplicates"] = load.merged
    tables["road_distance"] = road_distance(fac, network, max_km=config.max_facility_access_km)
    if getattr(network, "repairs", None) is not None:
        from geo.road_repairs import repairs_table

        tables["road_repairs"] = repairs_table(
            network, fac, max_m=config.max_facility_access_km * 1000
        )
    tables["province_by_rule"] = fac.loc[
        ~fac["prov_method"].isin(["point_in_polygon", "official_list"]),
        ["facility_id", "type", "name", "prov63_name", "prov_method"],
    ].reset_index(drop=True)
    rejects = load.issues.rejects_frame()
    tables["missing_names"] = rejects.loc[rejects["reason"].str.startswith("no name")].reset_index(
        drop=True
    )
    tables["status"] = status_summary(fac)
    return tables


def _road_tables(
    d: Path,
    config: RegionConfig,
    network: RoadNetwork,
    extras: RegionExtras,
    roads_file: str | Path | None = None,
) -> dict[str, pd.DataFrame]:
    """The road measures of :func:`region_quality`: the raw line layer and the network."""
    r = config.roads
    out: dict[str, pd.DataFrame] = {}
    if roads_file is None:
        out["road_layer"] = road_layer_summary(
            read_road_layer(d / r.file, layer=r.layer),
            class_field=r.class_field,
            status_field=r.status_field,
            maxspeed_field=r.maxspeed_field,
            metric_crs=config.metric_crs,
        )
    out["road_length"] = road_length_by_class(network, extras.expected_road_km)
    out["road_network"] = network_summary(network)
    return out


def _population_tables(
    d: Path,
    config: RegionConfig,
    provinces: Provinces,
    population: Any,
    raster: Path | None,
) -> tuple[dict[str, pd.DataFrame], str]:
    """Population per province against the census: the config's layer and a raster, if any."""
    from geo.population import population_from_config, province_totals

    census = province_totals(d, config)
    names = provinces.p63.set_index("prov_code")["prov_name"]
    pop = population or population_from_config(d, config)
    rep = pop.polygons.representative_point()
    located = tag_provinces(
        gpd.GeoDataFrame(pop.polygons[["population"]], geometry=rep),
        provinces,
        metric_crs=config.metric_crs,
        tolerance_m=config.province_tolerance_m,
    )
    tables = {
        "population": population_vs_census(
            located.groupby("prov63_code")["population"].sum(), census, names=names
        )
    }
    if raster is not None:
        tables["population_raster"] = population_vs_census(
            raster_province_totals(raster, provinces), census, names=names
        )
    return tables, pop.source


def _findings(
    t: dict[str, pd.DataFrame], extras: RegionExtras, pop_source: str, raster: Path | None
) -> list[str]:
    out = [s[0].upper() + s[1:] + "." for s in t["official_coverage"]["sentence"]]
    c = t["coastal_ports"]
    if len(c):
        missing = c.loc[~c["has_port"], "prov63_name"].tolist()
        out.append(
            f"{len(missing)} of {len(c)} coastal provinces have "
            + ("no general port" if "general_ports" in c else "no seaport with a mapped terminal")
            + " in the data"
            + (f": {', '.join(missing)}." if missing else ".")
        )
    d, m = t["suspected_duplicates"], t["merged_duplicates"]
    out.append(
        f"{len(m)} duplicates were merged on loading; {len(d)} more pairs are suspected "
        f"({', '.join(f'{k}: {v}' for k, v in d['type'].value_counts().sort_index().items()) or 'none'})."
    )
    far = t["road_distance"]
    out.append(
        f"{int(far['far'].sum())} facilities are farther than the access distance from any road; "
        f"{int((far['nearest_component'].fillna(0) > 0).sum())} are nearest to a road off the main component."
    )
    out.append(
        f"{len(t['province_by_rule'])} facilities took their province by the tolerance rule or an override; "
        f"{len(t['missing_names'])} input rows were rejected for a missing name."
    )
    s = t["status"]
    assumed = int(s.loc[s["status_source"] == "assumed", "count"].sum())
    planned = int(s.loc[s["status"] == "planned", "count"].sum())
    out.append(
        f"Status: {planned} planned, {int(s['count'].sum()) - planned} operating, of which {assumed} assumed (no status in the source)."
    )
    rl = t["road_length"].dropna(subset=["expected_km"])
    for row in rl.itertuples():
        out.append(
            f"Roads {row.road_class}: {row.km:,.0f} km in the network vs {row.expected_km:,.0f} km expected ({row.ratio:.0%})."
        )
    net = t["road_network"].set_index("metric")["value"]
    lay = t.get("road_layer")
    no_speed = (
        float(lay["km_without_maxspeed"].sum() / lay["km"].sum())
        if lay is not None and lay["km"].sum()
        else float("nan")
    )
    dangling = net.get("dangling_ends_after_repair")
    out.append(
        f"Road network: {int(net['components'])} components (largest {net['largest_component_share']}), "
        f"{'?' if pd.isna(dangling) else int(dangling)} dangling ends after repair; "
        f"{no_speed:.0%} of the road layer has no maxspeed."
    )
    p = t["population"]
    worst = p.assign(dev=(p["ratio"] - 1).abs()).sort_values("dev", ascending=False).iloc[0]
    out.append(
        f"Population ({pop_source}): {p['source'].sum():,.0f} vs census {p['census'].sum():,.0f}; "
        f"largest provincial deviation {worst['prov63_name']} ({worst['ratio']:.3f})."
    )
    if raster is not None:
        pr = t["population_raster"]
        out.append(
            f"Population grid {raster.name}: {pr['source'].sum():,.0f} vs census {pr['census'].sum():,.0f}."
        )
    return out


def tolerance_sensitivity(
    data_dir: str | Path,
    config: RegionConfig,
    facilities: gpd.GeoDataFrame,
    *,
    tolerances_m: tuple[float, ...] = (25.0, 50.0, 100.0, 250.0),
) -> pd.DataFrame:
    """How the repaired road network, and which facilities it strands, change with the snap tolerance.

    For each tolerance the region's road network is rebuilt with that snapping tolerance
    (everything else as configured); a facility is *on the main network* when its nearest road
    (metric CRS) belongs to the largest component and lies within ``max_facility_access_km``.

    Returns
    -------
    DataFrame
        ``tolerance_m``, ``components``, ``largest_share`` (of road length), ``km_joined``,
        ``facilities_on_main``, ``facilities_stranded`` and ``stranded`` (names, ``; ``-joined,
        first 30).
    """
    from dataclasses import replace

    rows = []
    for tol in tolerances_m:  # a few full repairs, each vectorised
        cfg = replace(config, roads=replace(config.roads, snap_tolerance_m=float(tol)))
        net = road_network_for_region(data_dir, cfg)
        rd = road_distance(facilities, net, max_km=config.max_facility_access_km)
        main = (rd["nearest_component"] == 0).fillna(False).astype(bool) & ~rd["far"]
        names = (
            facilities.set_index("facility_id")
            .loc[rd.loc[~main, "facility_id"], "name"]
            .astype(str)
        )
        comp_km = net.edges.groupby("component")["length_m"].sum() / 1000
        rows.append(
            {
                "tolerance_m": tol,
                "components": int(comp_km.size),
                "largest_share": round(float(comp_km.max() / comp_km.sum()), 4),
                "km_joined": round(float(net.report.get("connector_km", 0.0)), 1),
                "facilities_on_main": int(main.sum()),
                "facilities_stranded": int((~main).sum()),
                "stranded": "; ".join(sorted(names)[:30]),
            }
        )
    return pd.DataFrame(rows)
