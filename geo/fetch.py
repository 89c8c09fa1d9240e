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
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd
import requests
import shapely

from geo.config import REPO_DATA, RegionConfig
from geo.datasets import PROVENANCE
from geo.errors import DataNotFoundError, InputError, ServerError
from geo.fetch_features import (
    PARK_NAME,
    aerodromes_from_features,
    coastal_provinces63,
    parks_from_features,
    ports_from_features,
)
from geo.fetch_options import FetchOptions, configure_osmnx
from geo.fetch_population import WORLDPOP_LICENCE, download_file, write_population_grid
from geo.fetch_roads import (
    ROAD_FILTERS,
    TERTIARY_FILTER,
    _network_of,
    download_main_roads,
    road_filter_of,
    roads_from_graph,
)
from geo.files import atomic_path, write_text_atomic
from geo.netcheck import preflight_http
from geo.outdir import check_path_length, folder_lock, partial_dir_of, swap_in
from geo.provinces import Provinces, load_provinces

__all__ = [
    "FEATURE_TAGS",
    "FETCHED_FILES",
    "NOT_COPIED",
    "OSM_LICENCE",
    "PARK_NAME",
    "POPULATION_FILE",
    "PROVENANCE_FILE",
    "ROAD_BUFFER_M",
    "ROAD_FILTERS",
    "TERTIARY_FILTER",
    "FetchOptions",
    "aerodromes_from_features",
    "coastal_provinces63",
    "configure_osmnx",
    "download_main_roads",
    "fetch_region",
    "parks_from_features",
    "ports_from_features",
    "road_filter_of",
    "roads_from_graph",
]

log = logging.getLogger(__name__)

OSM_LICENCE = "ODbL 1.0 (© OpenStreetMap contributors)"
FEATURE_TAGS: dict[str, bool | str | list[str]] = {
    "aeroway": "aerodrome",
    "landuse": ["port", "industrial"],
    "industrial": "port",
    "harbour": True,
}
FETCHED_FILES = ("transport_facilities_osm.gpkg", "industrial_parks.gpkg", "roads_trunk_osm.gpkg")
NOT_COPIED = (*FETCHED_FILES, "MANIFEST.json")
POPULATION_FILE = "population_grid.tif"
ROAD_BUFFER_M = 2000.0  # bridges and causeways just outside a generalised boundary
PROVENANCE_FILE = PROVENANCE  # one name, read back by geo.datasets.data_attribution


# --------------------------------------------------------------------------- the folder


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
