"""Build a data folder (a mirror) from public sources: OpenStreetMap through osmnx, a population grid.

The folder has the same file names, layers and columns that the loaders read (``run --data DIR``):

- ``transport_facilities_osm.gpkg``: ``aerodromes`` (``aeroway=aerodrome``) and ``ports``
  (``landuse=port``, ``industrial=port``, ``harbour=*`` without marinas), points;
- ``industrial_parks.gpkg``: ``parks`` (polygons) and ``parks_points`` (one point each,
  ``is_group_primary`` on one record per name and province) of ``landuse=industrial`` named
  "Khu công nghiệp", "KCN", "Khu kinh tế" or "industrial park/zone";
- ``roads_trunk_osm.gpkg`` (layer ``roads``): motorway to secondary (``network="main"``), to
  tertiary (``"tertiary"``) or the full drive network (``"drive"``: every primary, secondary,
  tertiary, unclassified, residential and urban road), downloaded per province polygon, merged on
  OSM node ids and simplified once. The full national drive network (millions of edges) is better
  read from a Geofabrik PBF with ``run --roads vietnam-latest.osm.pbf`` (streamed, no graph in
  memory); ``drive`` suits a province or a ``--bbox``;
- ``population_grid.tif``: a WorldPop / GHS-POP raster summed onto the region's grid;
- boundaries, crosswalk, statistics and reference layers copied from the embedded default
  (they have no simple public API);
- ``PROVENANCE.json``: source, licence, date and counts of every layer.

Every layer is written to a temporary file and renamed, so an interrupted fetch leaves each
layer either as it was or complete.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import requests
import shapely

from geo.config import REPO_DATA, RegionConfig
from geo.datasets import PROVENANCE
from geo.errors import DataNotFoundError, InputError, NetworkError, ServerError
from geo.facility_source import normalise_name
from geo.fetch_population import WORLDPOP_LICENCE, download_file, write_population_grid
from geo.files import atomic_path, write_text_atomic
from geo.netcheck import preflight_http
from geo.outdir import check_path_length, folder_lock, partial_dir_of, swap_in
from geo.paths import cache_dir
from geo.provinces import Provinces, load_provinces, tag_provinces
from geo.quality import region_extras
from geo.road_speeds import DRIVE_FILTER
from geo.roads import MAIN_ROADS_FILTER

log = logging.getLogger(__name__)

OSM_LICENCE = "ODbL 1.0 (© OpenStreetMap contributors)"
FEATURE_TAGS: dict[str, bool | str | list[str]] = {
    "aeroway": "aerodrome",
    "landuse": ["port", "industrial"],
    "industrial": "port",
    "harbour": True,
}
TERTIARY_FILTER = MAIN_ROADS_FILTER.replace(
    'secondary_link"', 'secondary_link|tertiary|tertiary_link"'
)
ROAD_FILTERS = {"main": MAIN_ROADS_FILTER, "tertiary": TERTIARY_FILTER, "drive": DRIVE_FILTER}
PARK_NAME = re.compile(r"\b(?:khu cong nghiep|kcn|khu kinh te|industrial (?:park|zone|estate))\b")
FETCHED_FILES = ("transport_facilities_osm.gpkg", "industrial_parks.gpkg", "roads_trunk_osm.gpkg")
NOT_COPIED = (*FETCHED_FILES, "MANIFEST.json")
POPULATION_FILE = "population_grid.tif"
ROAD_BUFFER_M = 2000.0  # bridges and causeways just outside a generalised boundary
PROVENANCE_FILE = PROVENANCE  # one name, read back by geo.datasets.data_attribution


@dataclass(frozen=True)
class FetchOptions:
    """What :func:`fetch_region` downloads and from where.

    Attributes
    ----------
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` limiting the area (default: the region's).
    overpass_url
        Overpass API base URL (osmnx ``settings.overpass_url``); None keeps osmnx's default.
    cache_folder
        osmnx response cache (a second fetch of the same area works offline).
    timeout_s
        Read timeout of each HTTP request (an Overpass query, the raster), in seconds.
    connect_timeout_s
        Connect timeout and the preflight's limit, in seconds: a silent or wrong server fails
        within seconds (geo.netcheck).
    total_s
        Retries of one download stop after this many seconds.
    max_query_area_km2
        Area above which osmnx splits a polygon into several Overpass queries.
    include_tertiary
        Add tertiary roads to the main-road filter (the same as ``network="tertiary"``).
    network
        Roads to download: ``main`` (motorway to secondary), ``tertiary`` or ``drive`` (the
        full drive network, every highway value a car may use; see ``ROAD_FILTERS``).
    population_url, population_sha256
        GeoTIFF of people per cell and its expected SHA-256 (None: recorded, not verified).
    download_dir
        Where the raw raster is kept between fetches (resume, reuse).
    skip
        Parts not to fetch: any of ``facilities``, ``roads``, ``population``.
    base_dir
        Folder whose boundaries and statistics are copied (default: embedded ``data/<region>``).
    """

    bbox: tuple[float, float, float, float] | None = None
    overpass_url: str | None = None
    cache_folder: Path = field(default_factory=lambda: cache_dir() / "osmnx")
    timeout_s: int = 180
    connect_timeout_s: float = 5.0
    total_s: float = 600.0
    max_query_area_km2: float = 50_000.0
    include_tertiary: bool = False
    network: str = "main"
    population_url: str | None = None
    population_sha256: str | None = None
    download_dir: Path = field(default_factory=lambda: cache_dir() / "downloads")
    skip: tuple[str, ...] = ()
    base_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def configure_osmnx(options: FetchOptions) -> None:
    """Set osmnx's cache, timeout, query size and Overpass endpoint (as ``network_from_osmnx_online``)."""
    import osmnx as ox

    ox.settings.use_cache = True
    ox.settings.cache_folder = str(options.cache_folder)
    ox.settings.requests_timeout = int(options.timeout_s)
    ox.settings.max_query_area_size = float(options.max_query_area_km2) * 1e6
    if options.overpass_url:
        ox.settings.overpass_url = options.overpass_url.rstrip("/")


# --------------------------------------------------------------------------- OSM tags -> columns


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
        for c in (
            "prov63_code",
            "prov63_name",
            "prov34_code",
            "prov34_name",
            "region6_code",
            "prov_method",
        ):
            gdf[c] = pd.Series(dtype=object)
        gdf["prov_dist_m"] = pd.Series(dtype=float)
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


# --------------------------------------------------------------------------- roads


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _joined(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def roads_from_graph(
    graph: nx.MultiDiGraph, *, provinces: Provinces, config: RegionConfig, fetched: str
) -> gpd.GeoDataFrame:
    """The ``roads`` layer from an osmnx graph: one line per undirected edge, OSM tags kept.

    ``road_class`` follows the mirror: ``expressway`` (motorway or ref ``CT``),
    ``national_highway`` (ref ``QL``), else the OSM ``highway`` value. ``oneway`` is ``yes``
    (geometry in the legal direction) or ``no``; ``status`` is ``unknown`` (in use).
    """
    import osmnx as ox

    undirected = ox.convert.to_undirected(graph)
    edges = ox.convert.graph_to_gdfs(undirected, nodes=False).reset_index()
    get = lambda c: edges[c] if c in edges else pd.Series(None, index=edges.index, dtype=object)  # noqa: E731
    highway = get("highway").map(_first).astype(str)
    ref = get("ref").map(_joined).fillna("")
    road_class = highway.where(~highway.str.startswith("motorway"), "expressway")
    road_class = road_class.mask(
        ref.str.upper().str.startswith("QL") & ~road_class.eq("expressway"), "national_highway"
    )
    road_class = road_class.mask(ref.str.upper().str.startswith("CT"), "expressway")
    layer = gpd.GeoDataFrame(
        {
            "osm_way_id": get("osmid").map(_joined).to_numpy(),
            "road_class": road_class.to_numpy(),
            "highway": highway.to_numpy(),
            "ref": ref.replace("", None).to_numpy(),
            "name": get("name").map(_joined).to_numpy(),
            "maxspeed": get("maxspeed").map(_joined).to_numpy(),
            "oneway": np.where(get("oneway").fillna(False).astype(bool), "yes", "no"),
            "lanes": get("lanes").map(_joined).to_numpy(),
            "status": "unknown",
            "status_source": "osm",
            "osm_base_timestamp": fetched,
        },
        geometry=edges.geometry.to_numpy(),
        crs=edges.crs,
    ).to_crs("EPSG:4326")
    layer["length_m"] = layer.geometry.to_crs(config.metric_crs).length.round(1)
    mid = gpd.GeoSeries(
        shapely.line_interpolate_point(layer.geometry.to_numpy(), 0.5, normalized=True), crs=4326
    )
    tags = tag_provinces(
        gpd.GeoDataFrame(geometry=mid),
        provinces,
        metric_crs=config.metric_crs,
        tolerance_m=config.province_tolerance_m,
    )
    for c in ("prov63_code", "prov34_code", "region6_code", "prov_method"):
        layer[f"{c}_mid"] = tags[c].to_numpy()
    first_id = layer["osm_way_id"].str.split(";").str[0]
    layer["osm_url"] = "https://www.openstreetmap.org/way/" + first_id
    return layer.sort_values(["osm_way_id", "length_m"], kind="stable", ignore_index=True)


def download_main_roads(
    polygons: list[shapely.Geometry],
    *,
    include_tertiary: bool = False,
    progress: Callable[[str], None],
    road_filter: str | None = None,
) -> nx.MultiDiGraph:
    """Main roads by province polygon with osmnx, merged on OSM node ids, then simplified once.

    Each province is downloaded unsimplified so that ways crossing a boundary join exactly;
    simplifying the merged graph gives the same edges as one national query would.
    """
    import osmnx as ox

    flt = road_filter or (TERTIARY_FILTER if include_tertiary else MAIN_ROADS_FILTER)
    graphs = []
    for i, poly in enumerate(polygons, start=1):
        progress(f"roads: province polygon {i}/{len(polygons)}")
        try:
            graphs.append(
                ox.graph_from_polygon(
                    cast("shapely.Polygon | shapely.MultiPolygon", poly),  # area > 0: see _area
                    custom_filter=flt,
                    simplify=False,
                    retain_all=True,
                    truncate_by_edge=True,
                )
            )
        except ox._errors.InsufficientResponseError:
            log.info("no road in province polygon %d", i)
    if not graphs:
        raise NetworkError("Overpass returned no road in the area; check --bbox")
    merged = nx.compose_all(graphs)
    return ox.simplification.simplify_graph(merged)


# --------------------------------------------------------------------------- the folder


def _network_of(opts: FetchOptions) -> str:
    if opts.network not in ROAD_FILTERS:
        raise InputError(
            f"unknown road network '{opts.network}'; use one of {', '.join(ROAD_FILTERS)}",
            field="network",
        )
    return "tertiary" if opts.include_tertiary and opts.network == "main" else opts.network


def road_filter_of(opts: FetchOptions) -> str:
    """The Overpass filter of ``opts.network`` (``--tertiary`` widens ``main`` to tertiary)."""
    return ROAD_FILTERS[_network_of(opts)]


def coastal_provinces63(config: RegionConfig) -> tuple[str, ...]:
    """``[region] coastal_provinces63`` of the region TOML (2-digit GSO codes; empty if absent)."""
    return region_extras(config).coastal_provinces63


def _write_layers(target: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    with atomic_path(target) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")


def _area(
    provinces: Provinces,
    bbox: tuple[float, float, float, float],
    *,
    buffer_m: float,
    metric_crs: str,
) -> list[shapely.Geometry]:
    """Province polygons (34 edition) grown by ``buffer_m`` and cut to the bbox, in EPSG:4326.

    The boundaries are generalised: coastal ports and bridges lie just outside them, so each
    query polygon is grown (in the metric CRS) before it is cut to the bbox.
    """
    box = shapely.box(*bbox)
    p34 = provinces.p34.sort_values("prov_code")
    grown = p34.geometry.to_crs(metric_crs).buffer(buffer_m).to_crs("EPSG:4326").to_numpy()
    inside = shapely.intersects(p34.geometry.to_numpy(), box)
    parts = shapely.intersection(grown[inside], box)
    return [shapely.make_valid(g) for g in parts if not shapely.is_empty(g) and shapely.area(g) > 0]


def _copy_base(base: Path, out: Path) -> list[str]:
    copied = []
    for src in sorted(base.iterdir()):
        if src.is_file() and src.name not in NOT_COPIED and not src.name.startswith("."):
            with atomic_path(out / src.name) as tmp:
                shutil.copyfile(src, tmp)
            copied.append(src.name)
    return copied


def fetch_region(
    config: RegionConfig,
    out_dir: str | Path,
    *,
    options: FetchOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Download the region's public sources into a data folder that ``run --data`` reads.

    Parameters
    ----------
    config
        Region configuration (metric CRS, grid size, province tolerance).
    out_dir
        The folder to fill: written in ``<out_dir>.partial`` (kept after a failure and reused
        by the next fetch) and moved in whole when complete; an existing ``out_dir`` is replaced
        only if it is empty or a previous fetch's.
    options
        Endpoints, area, cache and what to skip (:class:`FetchOptions`).
    progress
        Called with one line per step.

    Returns
    -------
    dict
        The provenance written to ``PROVENANCE.json``.

    Raises
    ------
    DataNotFoundError
        No base folder to copy boundaries from.
    NetworkError
        A download failed (Overpass, the population raster, a checksum mismatch).
    """
    opts = options or FetchOptions()
    road_filter_of(opts)  # an unknown network name fails here, before any download
    say = progress or (lambda _msg: None)
    final = Path(out_dir)
    base = Path(opts.base_dir) if opts.base_dir else REPO_DATA / config.name
    if not base.is_dir():
        raise DataNotFoundError(
            "no folder with the region's boundaries and statistics to copy; pass --base DIR",
            source=str(base),
        )
    with folder_lock(final, wait_s=0):
        _check_fetch_target(final)
        _preflight(opts, say)
        # everything goes to <out>.partial (kept after a failure: the next fetch resumes in it)
        out = partial_dir_of(final)
        out.mkdir(parents=True, exist_ok=True)
        try:
            provenance = _fetch_into(config, out, base=base, opts=opts, say=say)
        except requests.RequestException as exc:
            host = urlsplit(getattr(exc.request, "url", "") or "").netloc or "the server"
            raise ServerError(
                f"{host} failed during the download ({type(exc).__name__}); check the network "
                f"and the server, then run fetch again (finished parts are kept in {out})",
                source=opts.overpass_url or host,
            ) from None
        swap_in(out, final)
    return provenance


def _check_fetch_target(final: Path) -> None:
    """A fetch replaces only an empty folder or a previous fetch's (holding PROVENANCE.json)."""
    if final.is_dir() and any(final.iterdir()) and not (final / PROVENANCE_FILE).is_file():
        raise InputError(
            f"the folder holds files and is not a previous fetch (no {PROVENANCE_FILE}); nothing "
            "was changed. Choose an empty or new --out",
            source=str(final),
        )
    check_path_length(final)


def _preflight(opts: FetchOptions, say: Callable[[str], None]) -> None:
    """Seconds, not minutes: is each server there and the right kind (geo.netcheck)?"""
    if not {"facilities", "roads"} <= set(opts.skip):
        import osmnx as ox

        status = f"{(opts.overpass_url or ox.settings.overpass_url).rstrip('/')}/status"
        say(f"checking {status}")
        preflight_http(
            status,
            timeout_s=opts.connect_timeout_s,
            what="Overpass API, --overpass-url",
            expect=lambda code, text: code == 200 and ("Rate limit" in text or "slots" in text),
        )
    url = opts.population_url or opts.extra.get("population_url")
    if "population" not in opts.skip and url:
        say(f"checking {url}")
        preflight_http(
            url,
            timeout_s=opts.connect_timeout_s,
            what="population raster, --population-url",
            expect=lambda code, _text: code in (200, 206),
        )


def _fetch_into(
    config: RegionConfig,
    out: Path,
    *,
    base: Path,
    opts: FetchOptions,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Fill ``out`` (the partial folder); returns the provenance written into it."""
    fetched = dt.date.today().isoformat()
    bbox = opts.bbox or config.bbox
    say(f"copying boundaries and statistics from {base}")
    copied = _copy_base(base, out)
    provinces = load_provinces(out, config)
    polygons = _area(provinces, bbox, buffer_m=ROAD_BUFFER_M, metric_crs=config.metric_crs)
    if not polygons:
        raise DataNotFoundError(f"the bbox {list(bbox)} covers no province of the region")
    # Facilities as far offshore as the province tolerance still get a province (ports, islands).
    region = shapely.union_all(
        _area(provinces, bbox, buffer_m=config.province_tolerance_m, metric_crs=config.metric_crs)
    )
    configure_osmnx(opts)
    layers: dict[str, Any] = {
        name: {"source": f"copied from {base}", "licence": "see LICENSES.md", "date": fetched}
        for name in copied
    }
    osm = {
        "licence": OSM_LICENCE,
        "date": fetched,
        "overpass_url": opts.overpass_url or "osmnx default",
    }
    if "facilities" not in opts.skip:
        layers.update(_fetch_facilities(region, provinces, config, fetched, out, osm, say))
    if "roads" not in opts.skip:
        say(f"roads: {len(polygons)} province polygon(s)")
        flt = road_filter_of(opts)
        graph = download_main_roads(polygons, road_filter=flt, progress=say)
        roads = roads_from_graph(graph, provinces=provinces, config=config, fetched=fetched)
        _write_layers(out / "roads_trunk_osm.gpkg", {"roads": roads})
        km = roads.groupby("road_class")["length_m"].sum().div(1000).round(1)
        layers["roads_trunk_osm.gpkg"] = osm | {
            "source": f"OpenStreetMap roads ({_network_of(opts)}) via osmnx graph_from_polygon "
            "per province, merged",
            "filter": flt,
            "counts": {"roads": len(roads)},
            "km_by_class": km.to_dict(),
            "maxspeed_share": round(float(roads["maxspeed"].notna().mean()), 4)
            if len(roads)
            else 0.0,
        }
    url = opts.population_url or opts.extra.get("population_url")
    if "population" not in opts.skip and url:
        say(f"population: {url}")
        raw = download_file(
            url,
            Path(opts.download_dir) / Path(url.split("?")[0]).name,
            sha256=opts.population_sha256,
            timeout_s=opts.timeout_s,
            connect_timeout_s=opts.connect_timeout_s,
            total_s=opts.total_s,
        )
        region_metric = gpd.GeoSeries([region], crs=4326).to_crs(config.metric_crs).iloc[0]
        grid = write_population_grid(
            raw.path,
            out / POPULATION_FILE,
            region_metric=region_metric,
            metric_crs=config.metric_crs,
            cell_size_m=config.cell_size_m,
        )
        layers[POPULATION_FILE] = {
            "source": url,
            "licence": WORLDPOP_LICENCE if "worldpop" in url.lower() else "see the source",
            "date": fetched,
            "sha256_source": raw.sha256,
            "sha256_verified": bool(opts.population_sha256),
            "download": raw.how,
            "grid": grid,
        }
    provenance = {
        "region": config.name,
        "bbox": list(bbox),
        "fetched": fetched,
        "tool": "python cli.py fetch",
        "layers": dict(sorted(layers.items())),
    }
    write_text_atomic(
        out / PROVENANCE_FILE, json.dumps(provenance, ensure_ascii=False, indent=2) + "\n"
    )
    return provenance


def _fetch_facilities(
    region: shapely.Geometry,
    provinces: Provinces,
    config: RegionConfig,
    fetched: str,
    out: Path,
    osm: dict[str, str],
    say: Callable[[str], None],
) -> dict[str, Any]:
    import osmnx as ox

    say("facilities: aerodromes, ports, industrial parks (one Overpass query per area piece)")
    try:
        features = ox.features_from_polygon(
            cast("shapely.Polygon | shapely.MultiPolygon", region), tags=FEATURE_TAGS
        )
    except ox._errors.InsufficientResponseError:
        features = gpd.GeoDataFrame(
            geometry=gpd.GeoSeries([], crs=4326),
            index=pd.MultiIndex.from_arrays([[], []], names=["element", "id"]),
        )
    kw: dict[str, Any] = {"provinces": provinces, "config": config, "fetched": fetched}
    aerodromes = aerodromes_from_features(features, **kw)
    ports = ports_from_features(features, **kw)
    parks, park_points = parks_from_features(features, **kw)
    _write_layers(out / "transport_facilities_osm.gpkg", {"aerodromes": aerodromes, "ports": ports})
    _write_layers(out / "industrial_parks.gpkg", {"parks": parks, "parks_points": park_points})
    return {
        "transport_facilities_osm.gpkg": osm
        | {
            "source": "OpenStreetMap aeroway=aerodrome; landuse=port, industrial=port, harbour=* "
            "(no marinas) via osmnx features_from_polygon",
            "counts": {
                "aerodromes": len(aerodromes),
                "aerodromes_with_iata": int(aerodromes["iata"].notna().sum()),
                "ports": len(ports),
                "ports_by_kind": ports["port_kind"].value_counts().sort_index().to_dict(),
            },
        },
        "industrial_parks.gpkg": osm
        | {
            "source": "OpenStreetMap landuse=industrial named Khu công nghiệp / KCN / Khu kinh tế "
            "via osmnx features_from_polygon",
            "counts": {
                "parks": len(parks),
                "parks_points": len(park_points),
                "name_groups": int(park_points["is_group_primary"].sum()),
            },
        },
    }
