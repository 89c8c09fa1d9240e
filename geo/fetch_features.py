"""OSM features -> the mirror's facility layers (aerodromes, ports, industrial parks) with their
province tags (moved from ``geo.fetch``, which re-exports these names)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.config import RegionConfig
from geo.facility_source import normalise_name
from geo.provinces import TAG_COLUMNS, Provinces, tag_provinces
from geo.quality import region_extras

PARK_NAME = re.compile(r"\b(?:khu cong nghiep|kcn|khu kinh te|industrial (?:park|zone|estate))\b")


def coastal_provinces63(config: RegionConfig) -> tuple[str, ...]:
    """``[region] coastal_provinces63`` of the region TOML (2-digit GSO codes; empty if absent)."""
    return region_extras(config).coastal_provinces63


def _tag(frame: pd.DataFrame, key: str) -> pd.Series:
    """A tag column as stripped strings, '' where absent."""
    if key not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    col = frame[key]
    return col.astype(str).str.strip().where(col.notna(), "")


def _status(frame: pd.DataFrame) -> pd.Series:
    """OSM lifecycle tags -> ``unknown`` (in use), ``under_construction``, ``planned``, ``abandoned``."""
    status = pd.Series("unknown", index=frame.index, dtype=object)
    lifecycle = (
        ("abandoned", ("abandoned", "disused", "abandoned:aeroway", "disused:aeroway")),
        ("planned", ("proposed", "proposed:aeroway", "planned")),
        ("under_construction", ("construction", "construction:aeroway")),
    )
    for value, keys in lifecycle:
        hit = pd.Series(False, index=frame.index)
        for k in keys:
            hit |= ~_tag(frame, k).isin(["", "no"])
        status = status.mask(hit, value)
    return status


def _port_kind(frame: pd.DataFrame, names: pd.Series) -> pd.Series:
    """Port class from the OSM ``port`` tag and the accent-free name (never ``cang ca`` inside ``cang cat``)."""
    norm = names.map(normalise_name)
    kind = pd.Series("general_or_unspecified", index=frame.index, dtype=object)
    fishing = (
        norm.str.contains(r"\bcang ca\b", regex=True)
        | _tag(frame, "port").eq("fishing")
        | _tag(frame, "seamark:harbour:category").str.contains("fishing")
    )
    kind = kind.mask(fishing, "fishing_port")
    kind = kind.mask(norm.str.contains(r"\b(?:icd|cang can)\b", regex=True), "dry_port_icd")
    kind = kind.mask(
        norm.str.contains(r"\b(?:bai cat|vat lieu)\b", regex=True), "sand_or_material_wharf"
    )
    return kind


def _points(features: gpd.GeoDataFrame) -> gpd.GeoSeries:
    geoms = features.geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    return gpd.GeoSeries(
        np.where(is_point, geoms, shapely.point_on_surface(geoms)), index=features.index, crs=4326
    )


def _base_columns(features: gpd.GeoDataFrame, kind: str, fetched: str) -> pd.DataFrame:
    element = features.index.get_level_values(0).astype(str)
    osm_id = features.index.get_level_values(1).astype(str)
    name_vi = _tag(features, "name:vi").where(
        _tag(features, "name:vi") != "", _tag(features, "name")
    )
    return pd.DataFrame(
        {
            "entity_id": ("osm-" + element + "-" + osm_id).to_numpy(),
            "osm_type": element.to_numpy(),
            "osm_id": osm_id.to_numpy(),
            "osm_url": ("https://www.openstreetmap.org/" + element + "/" + osm_id).to_numpy(),
            "name_vi": name_vi.replace("", None).to_numpy(),
            "name_en": _tag(features, "name:en").replace("", None).to_numpy(),
            "kind": kind,
            "status": _status(features).to_numpy(),
            "status_source": "osm_lifecycle_tags",
            "operator": _tag(features, "operator").replace("", None).to_numpy(),
            "osm_base_timestamp": fetched,
        },
        index=features.index,
    )


def _tagged(
    frame: pd.DataFrame, points: gpd.GeoSeries, provinces: Provinces, config: RegionConfig
) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")
    gdf["lon"] = gdf.geometry.x.round(7)
    gdf["lat"] = gdf.geometry.y.round(7)
    if gdf.empty:
        for c in TAG_COLUMNS:  # the columns tag_provinces adds, empty
            gdf[c] = pd.Series(dtype=float if c == "prov_dist_m" else object)
        return gdf.reset_index(drop=True)
    tagged = tag_provinces(
        gdf, provinces, metric_crs=config.metric_crs, tolerance_m=config.province_tolerance_m
    )
    return tagged.reset_index(drop=True)


def aerodromes_from_features(
    features: gpd.GeoDataFrame, *, provinces: Provinces, config: RegionConfig, fetched: str
) -> gpd.GeoDataFrame:
    """Aerodromes as the ``aerodromes`` layer (``iata``, ``icao``, ``military``, province tags)."""
    sel = features.loc[_tag(features, "aeroway") == "aerodrome"]
    out = _base_columns(sel, "aerodrome", fetched)
    out["iata"] = _tag(sel, "iata").str.upper().replace("", None).to_numpy()
    out["icao"] = _tag(sel, "icao").str.upper().replace("", None).to_numpy()
    out["military"] = _tag(sel, "military").replace("", None).to_numpy()
    out["aerodrome_type"] = _tag(sel, "aerodrome:type").replace("", None).to_numpy()
    return _tagged(out, _points(sel), provinces, config)


def ports_from_features(
    features: gpd.GeoDataFrame, *, provinces: Provinces, config: RegionConfig, fetched: str
) -> gpd.GeoDataFrame:
    """Ports and harbours as the ``ports`` layer (``port_kind``, ``osm_port``, ``osm_cargo``).

    Marinas (``leisure=marina``) are left out: they are boat landings, not cargo ports.
    """
    is_port = (
        _tag(features, "landuse").eq("port")
        | _tag(features, "industrial").eq("port")
        | ~_tag(features, "harbour").isin(["", "no"])
    )
    sel = features.loc[is_port & ~_tag(features, "leisure").eq("marina")]
    out = _base_columns(sel, "port", fetched)
    out["osm_port"] = _tag(sel, "port").replace("", None).to_numpy()
    out["osm_cargo"] = _tag(sel, "cargo").replace("", None).to_numpy()
    out["port_kind"] = _port_kind(sel, out["name_vi"].fillna(out["name_en"]).fillna("")).to_numpy()
    tagged = _tagged(out, _points(sel), provinces, config)
    coastal = set(coastal_provinces63(config))
    tagged["in_coastal_province63"] = tagged["prov63_code"].isin(coastal)
    return tagged


def parks_from_features(
    features: gpd.GeoDataFrame, *, provinces: Provinces, config: RegionConfig, fetched: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Industrial parks: (``parks`` polygons, ``parks_points``) with area and name groups.

    Records with the same accent-free name in the same 63-province form one group; its primary
    record (``is_group_primary``) is the largest polygon, else the first point by OSM id.
    """
    names = _tag(features, "name:vi").where(_tag(features, "name:vi") != "", _tag(features, "name"))
    named = names.map(normalise_name).str.contains(PARK_NAME, regex=True) | _tag(
        features, "name:en"
    ).map(normalise_name).str.contains(PARK_NAME, regex=True)
    sel = features.loc[_tag(features, "landuse").eq("industrial") & named]
    base = _base_columns(sel, "industrial_park", fetched)
    base["park_id"] = ("osm_" + base["osm_type"] + "_" + base["osm_id"]).to_numpy()
    base["osm_landuse"] = "industrial"
    geoms = sel.geometry.to_numpy()
    is_poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    area = gpd.GeoSeries(np.where(is_poly, geoms, None), crs=4326).to_crs(config.metric_crs).area
    base["area_ha"] = np.where(is_poly, np.round(area.to_numpy() / 1e4, 3), np.nan)
    base["geometry_kind"] = np.where(is_poly, "polygon", "point_only")
    points = _tagged(base, _points(sel), provinces, config)
    key = points["name_vi"].fillna(points["name_en"]).fillna("").map(normalise_name)
    key = key + "|" + points["prov63_code"].fillna("")
    order = points.assign(_k=key, _a=points["area_ha"].fillna(-1.0)).sort_values(
        ["_k", "_a", "park_id"], ascending=[True, False, True]
    )
    points["name_group_id"] = pd.factorize(key, sort=True)[0] + 1
    points["name_group_size"] = key.map(key.value_counts()).astype(int)
    points["is_group_primary"] = False
    points.loc[order.drop_duplicates("_k").index, "is_group_primary"] = True
    polys = points.loc[is_poly].drop(columns=["lon", "lat"]).copy()
    polys = polys.set_geometry(gpd.GeoSeries(geoms[is_poly], index=polys.index, crs=4326))
    return polys.reset_index(drop=True), points
