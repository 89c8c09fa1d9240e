"""What ``geo.fetch`` downloads and from where (:class:`FetchOptions`) and osmnx's settings
for it (moved from ``geo.fetch``, which re-exports these names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.paths import cache_dir


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
