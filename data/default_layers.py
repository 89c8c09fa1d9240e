"""The layers of the embedded default (``data.build_default``): which mirror layers are copied
with which columns, how they are read and written byte-reproducibly, and the generalised
boundaries and communes (moved from ``data.build_default``, which re-exports these names).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.datasets import MIRROR_LAYERS, LayerLicence
from geo.provinces import TAG_COLUMNS

SIMPLIFY_TOLERANCE_M = 100.0
CLEAN_SNAP_M = 1.0
METRIC_CRS = "EPSG:3405"
OGR_DATE = "2000-01-01T00:00:00.000Z"

CSV_FILES = (
    "crosswalk_63_to_34.csv",
    "population_63_nso2024.csv",
    "population_34_nso2024.csv",
    "population_63_census2019.csv",
    "population_communes2025_census2019.csv",
    "cities_geonames.csv",
    "seaports_official_1579.csv",
    "airports_official_caav.csv",
)
PROVINCE_FIELDS = TAG_COLUMNS  # the columns geo.provinces.tag_provinces adds
FACILITY_FIELDS = (
    *("entity_id", "park_id", "osm_type", "osm_id", "osm_url", "name_vi", "name_en"),
    *("official_name", "alt_name", "short_name", "aliases", "kind", "name_kind", "status"),
    *("status_source", "iata", "icao", "unlocode", "operator", "access", "military"),
    *("aerodrome_type", "aerodrome_class", "commercial_service_candidate", "in_airports_gpkg"),
    *("port_kind", "osm_port", "osm_cargo", "vnmap_class", "vnmap_class_disagrees"),
    *("in_coastal_province63", "area_ha", "geometry_kind", "name_group_id", "name_group_size"),
    *("is_group_primary", "overlapping_parks", "point_method"),
    *PROVINCE_FIELDS,
    *("lon", "lat"),
)
ROAD_FIELDS = (
    "osm_way_id",
    "road_class",
    "highway",
    "ref",
    "name",
    "maxspeed",
    "oneway",
    "status",
    "clipped_at_boundary",  # geo.road_additions rejoins the crossings the clipping cut
)
COMMUNE_FIELDS = (
    "commune_code",
    "name_vi",
    "name_en",
    "unit_type",
    "code_name",
    "prov34_code",
    "prov63_code_rep",
)


@dataclass(frozen=True)
class Layer:
    """One layer to copy: file, layer name, columns (None = all), sort keys."""

    file: str
    layer: str
    columns: tuple[str, ...] | None
    sort: tuple[str, ...]


PLAIN_LAYERS = (
    Layer("transport_facilities_osm.gpkg", "aerodromes", FACILITY_FIELDS, ("entity_id",)),
    Layer("transport_facilities_osm.gpkg", "ports", FACILITY_FIELDS, ("entity_id",)),
    Layer("airports.gpkg", "airports", None, ("iata",)),
    Layer("seaports.gpkg", "seaports", None, ("wpi_number", "name")),
    Layer("industrial_parks.gpkg", "parks", FACILITY_FIELDS, ("park_id",)),
    Layer("industrial_parks.gpkg", "parks_points", FACILITY_FIELDS, ("park_id",)),
    Layer(
        "roads_trunk_osm.gpkg", "roads", (*ROAD_FIELDS, "part_index"), ("osm_way_id", "part_index")
    ),
    Layer("roads_national_odv.gpkg", "roads", ("gid", "name_vi", "class_en", "level_en"), ("gid",)),
)
DROP_AFTER_SORT = {"roads_trunk_osm.gpkg": ("part_index",), "roads_national_odv.gpkg": ("gid",)}


@contextmanager
def _pinned_gdal_date() -> Iterator[None]:
    """GDAL stamps GeoPackages with the current time unless OGR_CURRENT_DATE is set."""
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": OGR_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def _licence(file: str) -> LayerLicence:
    return next(entry for entry in MIRROR_LAYERS if entry.file == file)


def _write(frame: gpd.GeoDataFrame, out: Path, file: str, layer: str) -> None:
    entry = _licence(file)
    if not entry.redistributable:
        raise ValueError(f"{file} may not be redistributed")
    pyogrio.write_dataframe(
        frame.reset_index(drop=True),
        out / file,
        layer=layer,
        driver="GPKG",
        promote_to_multi=frame.geom_type.str.startswith("Multi").any() or None,
        layer_metadata={"licence": entry.licence, "attribution": entry.attribution},
    )


CITY_STREET_FILES = (
    "roads_extra/hcmc_2018_roads.gpkg",
    "roads_extra/hue_2026_roads.gpkg",
    "roads_extra/danang_haichau_2026_roads.gpkg",
)
CITY_STREET_FIELDS = (
    *("osm_id", "highway", "name", "ref", "maxspeed", "oneway", "junction", "access"),
    *("motor_vehicle", "source_id"),
)


def build_city_streets(mirror: Path, out: Path) -> None:
    """``roads_extra/*.gpkg``: the motorway-to-tertiary ways of the mirror's city streets."""
    from geo.city_streets import CITY_HIGHWAYS

    (out / "roads_extra").mkdir(exist_ok=True)
    (out / "roads_extra").chmod(0o755)
    for name in CITY_STREET_FILES:
        g = gpd.read_file(mirror / name, layer="roads")
        g = g.loc[g["highway"].isin(CITY_HIGHWAYS)]
        g = g[[c for c in CITY_STREET_FIELDS if c in g.columns] + ["geometry"]]
        _write(g.sort_values("osm_id", kind="mergesort"), out, name, "roads")


def _read(mirror: Path, spec: Layer) -> gpd.GeoDataFrame:
    frame = gpd.read_file(mirror / spec.file, layer=spec.layer)
    columns = (
        list(frame.columns.drop("geometry"))
        if spec.columns is None
        else [c for c in spec.columns if c in frame.columns]
    )
    frame = frame[[*columns, "geometry"]].sort_values(
        list(spec.sort), kind="mergesort", na_position="last"
    )
    return frame.drop(columns=list(DROP_AFTER_SORT.get(spec.file, ()))).reset_index(drop=True)


def _effect(
    before: np.ndarray, after: np.ndarray, *, displacement: bool = True
) -> dict[str, float | None]:
    """Boundary displacement (Hausdorff, m) and relative area change of generalised polygons.

    The discrete Hausdorff distance is quadratic in the vertices of a polygon, so it is skipped
    (None) for the dissolved layers, whose edges are provinces_63 edges anyway.
    """
    area0, area1 = shapely.area(before), shapely.area(after)
    change = np.abs(area1 / np.where(area0 > 0, area0, 1.0) - 1.0)
    effect: dict[str, float | None] = dict.fromkeys(
        ("displacement_median_m", "displacement_p99_m", "displacement_max_m")
    )
    if displacement:
        moved = shapely.hausdorff_distance(shapely.boundary(before), shapely.boundary(after))
        effect["displacement_median_m"] = round(float(np.median(moved)), 1)
        effect["displacement_p99_m"] = round(float(np.quantile(moved, 0.99)), 1)
        effect["displacement_max_m"] = round(float(moved.max()), 1)
    return effect | {
        "area_change_max_pct": round(100 * float(change.max()), 3),
        "area_change_total_pct": round(100 * float(area1.sum() / area0.sum() - 1.0), 4),
        "vertices_before": int(shapely.get_num_coordinates(before).sum()),
        "vertices_after": int(shapely.get_num_coordinates(after).sum()),
    }


def build_boundaries(mirror: Path, out: Path) -> dict[str, dict[str, float | None]]:
    """Provinces 63 cleaned into a coverage and simplified; 34, regions and key regions dissolved from it.

    Dissolving the simplified 63 provinces (every 2025 merger joined whole provinces) keeps all
    four layers nested exactly: a point has the same province in every edition and its region.
    """
    p63 = (
        gpd.read_file(mirror / "provinces_63.gpkg", layer="provinces_63")
        .sort_values("gso_code")
        .reset_index(drop=True)
    )
    metric = p63.geometry.to_crs(METRIC_CRS).values
    clean = shapely.coverage_clean(metric, snapping_distance=CLEAN_SNAP_M)
    simple = shapely.coverage_simplify(clean, SIMPLIFY_TOLERANCE_M)
    effects = {"provinces_63": _effect(metric, simple)}
    simple_by_code = pd.Series(simple, index=p63["gso_code"].to_numpy())
    _write(
        p63.set_geometry(gpd.GeoSeries(simple, crs=METRIC_CRS).to_crs(p63.crs).values),
        out,
        "provinces_63.gpkg",
        "provinces_63",
    )
    groups = {
        ("provinces_34.gpkg", "provinces_34", "gso_code"): "new34_code",
        ("regions_6.gpkg", "regions_6", "region6_code"): "region6_code",
        (
            "key_economic_regions_4.gpkg",
            "key_economic_regions_4",
            "key_econ_region_vi",
        ): "key_econ_region_vi",
    }
    for (file, layer, key), member_key in groups.items():
        target = gpd.read_file(mirror / file, layer=layer).sort_values(key).reset_index(drop=True)
        members = p63.groupby(member_key)["gso_code"].apply(list)
        merged = np.array(
            [shapely.coverage_union_all(simple_by_code[members[k]].to_numpy()) for k in target[key]]
        )
        effects[layer] = _effect(
            target.geometry.to_crs(METRIC_CRS).values, merged, displacement=False
        )
        geometry = gpd.GeoSeries(merged, crs=METRIC_CRS).to_crs(target.crs).values
        _write(target.set_geometry(geometry), out, file, layer)
    return effects


def build_communes(mirror: Path, out: Path) -> dict[str, float]:
    """2025 communes simplified as a coverage (no cleaning: the source has gaps and overlaps)."""
    spec = Layer("communes_2025.gpkg", "communes", COMMUNE_FIELDS, ("commune_code",))
    communes = _read(mirror, spec)
    metric = communes.geometry.to_crs(METRIC_CRS).values
    simple = shapely.make_valid(shapely.coverage_simplify(metric, SIMPLIFY_TOLERANCE_M))
    effect = _effect(metric, simple)
    geometry = gpd.GeoSeries(simple, crs=METRIC_CRS).to_crs(communes.crs).values
    _write(communes.set_geometry(geometry), out, spec.file, spec.layer)
    return effect
