"""``cli.py fetch``: download the region's public sources into a data folder."""

from __future__ import annotations

from pathlib import Path

import click

from cli_base import Ctx, bbox_option, guard, load_config, progress, verbosity_options
from geo.paths import default_out


@click.command()
@click.option(
    "--region",
    default="vietnam",
    show_default=True,
    help="Region configuration data/<region>.toml.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Another region configuration file.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Mirror folder to build [default: out/fetch/<region>].",
)
@click.option(
    "--bbox", callback=bbox_option, help="Only this area: min_lon,min_lat,max_lon,max_lat."
)
@click.option(
    "--tertiary", is_flag=True, help="Also tertiary roads (the same as --network tertiary)."
)
@click.option(
    "--network",
    type=click.Choice(["main", "tertiary", "drive"]),
    default="main",
    show_default=True,
    help="Roads: main (motorway to secondary), tertiary, or drive (the full drive network; for "
    "a whole country prefer run --roads COUNTRY.osm.pbf from Geofabrik).",
)
@click.option(
    "--overpass-url", help="Overpass API base URL [default: osmnx's, overpass-api.de/api]."
)
@click.option(
    "--population-url",
    help="Population GeoTIFF (people per cell) [default: WorldPop 2020 1 km for Vietnam].",
)
@click.option(
    "--population-sha256", help="Expected SHA-256 of the population GeoTIFF (verified when given)."
)
@click.option(
    "--base",
    type=click.Path(file_okay=False, exists=True),
    help="Folder to copy boundaries and statistics from [default: the embedded data/<region>].",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False),
    help="osmnx and download cache [default: data/cache in a checkout, else the user's cache folder].",
)
@click.option(
    "--skip",
    multiple=True,
    type=click.Choice(["facilities", "roads", "population"]),
    help="Part not to fetch. Repeatable.",
)
@click.option(
    "--connect-timeout",
    "connect_timeout_s",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to connect to a server and get its first answer (the preflight).",
)
@click.option(
    "--read-timeout",
    "read_timeout_s",
    type=click.IntRange(min=1),
    default=180,
    show_default=True,
    help="Seconds of silence allowed while a long query or download runs.",
)
@verbosity_options
@guard
def fetch(  # noqa: PLR0913 (a click command: one parameter per option)
    region: str,
    config_path: str | None,
    out: str | None,
    bbox: tuple[float, float, float, float] | None,
    tertiary: bool,
    network: str,
    overpass_url: str | None,
    population_url: str | None,
    population_sha256: str | None,
    base: str | None,
    cache: str | None,
    skip: tuple[str, ...],
    connect_timeout_s: float,
    read_timeout_s: int,
) -> int:
    """Download the region's public sources (OpenStreetMap, WorldPop) into a folder `run --data` reads.

    \b
    Example:
      python cli.py fetch --out ../mirror_fresh
      python cli.py fetch --bbox 108.1,15.9,108.3,16.1 --out /tmp/danang --skip population
    """
    from geo.fetch import FetchOptions, fetch_region
    from geo.fetch_population import WORLDPOP_VNM_URL
    from geo.paths import cache_dir as default_cache

    ctx = click.get_current_context().find_object(Ctx) or Ctx()
    config = load_config(region, config_path)
    out_dir = Path(out) if out else default_out("fetch", config.name)
    cache_dir = Path(cache) if cache else default_cache()
    default_pop = WORLDPOP_VNM_URL if config.name == "vietnam" else None
    opts = FetchOptions(
        bbox=bbox,
        overpass_url=overpass_url,
        include_tertiary=tertiary,
        network=network,
        cache_folder=cache_dir / "osmnx",
        download_dir=cache_dir / "downloads",
        population_url=population_url or default_pop,
        population_sha256=population_sha256,
        base_dir=Path(base) if base else None,
        skip=skip,
        timeout_s=read_timeout_s,
        connect_timeout_s=connect_timeout_s,
    )
    prov = fetch_region(config, out_dir, options=opts, progress=progress(ctx.quiet))
    for name, layer in prov["layers"].items():
        if "counts" in layer or "grid" in layer:
            click.echo(f"  {name}: {layer.get('counts') or layer.get('grid')}")
    click.echo(
        f"mirror written to {out_dir} ({len(prov['layers'])} files, PROVENANCE.json); use: python cli.py run --data {out_dir}"
    )
    return 0
