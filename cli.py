"""infra-overlap: which infrastructure investments duplicate each other?

Thin command line: parse, call the library, report. Heavy imports happen inside the commands so
that ``python cli.py --help`` stays fast. Exit codes: 0 done, 1 user or input error, 2 internal
error (``-v`` shows its traceback).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from geo.errors import InputError
from geo.paths import default_out

log = logging.getLogger("infra_overlap")


class Ctx:
    verbose: int = 0
    quiet: bool = False


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s"
    )


def _guard(fn: Callable[..., int | None]) -> Callable[..., None]:
    """Turn our errors into one clear message and exit code 1; others into exit code 2."""

    def wrapper(*args: Any, **kwargs: Any) -> None:
        from geo.errors import InfraOverlapError, InputError

        ctx = click.get_current_context().find_object(Ctx) or Ctx()
        try:
            code = fn(*args, **kwargs) or 0
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            if ctx.verbose:
                traceback.print_exc()
            sys.exit(1)
        except InfraOverlapError as exc:
            click.echo(f"error: {exc}", err=True)
            if ctx.verbose:
                traceback.print_exc()
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted: previous outputs are left as they were", err=True)
            sys.exit(130)
        except Exception as exc:  # an internal error: say so, traceback with -v
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            if ctx.verbose:
                traceback.print_exc()
            else:
                click.echo(
                    "run again with -v for the traceback, and report it with the command you ran",
                    err=True,
                )
            sys.exit(2)
        sys.exit(code)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _progress(quiet: bool) -> Callable[[str], None]:
    tty = sys.stderr.isatty() and not quiet and not os.environ.get("CI")
    start = time.perf_counter()

    def say(step: str) -> None:
        if tty or (not quiet):
            click.echo(f"[{time.perf_counter() - start:6.1f} s] {step}", err=True)

    return say


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-v", "--verbose", count=True, help="More detail; shows the traceback of internal errors."
)
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Find duplicated infrastructure investment: drive-time catchments of seaports, airports and
    industrial parks, their overlaps between provinces, and redundancy flags with evidence.

    \b
    Example:
      python cli.py run                      # Vietnam, embedded default data -> out/vietnam/
      python cli.py run --data ../shared/data/vietnam --types airport --overwrite
    """
    obj = ctx.ensure_object(Ctx)
    obj.verbose, obj.quiet = verbose, quiet
    _setup_logging(verbose, quiet)


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> int:
    obj = ctx.find_object(Ctx)
    if obj is not None and value:
        obj.verbose = max(obj.verbose, value)
        _setup_logging(obj.verbose, obj.quiet)
    return value


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    obj = ctx.find_object(Ctx)
    if obj is not None and value:
        obj.quiet = True
        logging.getLogger().setLevel(logging.WARNING)
    return value


def verbosity_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """-v/-q on every subcommand too (``cli.py run -q`` as well as ``cli.py -q run``)."""
    f = click.option(
        "-q",
        "--quiet",
        "_quiet",
        is_flag=True,
        expose_value=False,
        callback=_set_quiet,
        help="Only warnings and errors.",
    )(f)
    return click.option(
        "-v",
        "--verbose",
        "_verbose",
        count=True,
        expose_value=False,
        callback=_set_verbose,
        help="More detail; traceback of internal errors.",
    )(f)


def _types_option(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    """``--types``: names in order, each once; an empty value is refused (not "every type")."""
    if value is None:
        return None
    names = tuple(dict.fromkeys(t.strip() for t in value.split(",") if t.strip()))
    if not names:
        raise InputError("no facility type given; e.g. --types seaport,airport", field="--types")
    return names


def _crs_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--crs``: any CRS pyproj knows; refused by name otherwise."""
    if value is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError:
        raise InputError(f"unknown CRS {value!r}; e.g. EPSG:4326", field="--crs") from None
    return value


def _add_option(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """``--add "name,lon,lat,type"``: every value checked here (exit 1 naming it and the field)."""
    from geo.config import FACILITY_TYPES

    for i, item in enumerate(value, start=1):
        parts = [p.strip() for p in item.rsplit(",", 3)]

        def bad(msg: str, field: str, i: int = i, item: str = item) -> InputError:
            return InputError(f"{msg} (in {item!r})", source="--add", row=i, field=field)

        if len(parts) != 4 or not parts[0]:
            raise bad("give name,lon,lat,type", "name")
        for field, text, lo, hi in (("lon", parts[1], -180, 180), ("lat", parts[2], -90, 90)):
            try:
                v = float(text)
            except ValueError:
                raise bad(f"{text!r} is not a number", field) from None
            if not lo <= v <= hi or v != v:
                raise bad(f"{v:g} lies outside [{lo}, {hi}]", field)
        if parts[3] not in FACILITY_TYPES:
            raise bad(f"unknown type '{parts[3]}'; allowed: {', '.join(FACILITY_TYPES)}", "type")
    return value


def _region_options() -> list[Callable[..., Any]]:
    """--region, --config and --data: the region and its data folder (run, check, validate,
    calibrate)."""
    return [
        click.option(
            "--region",
            default="vietnam",
            show_default=True,
            help="Region configuration data/<region>.toml.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            help="Another region configuration file.",
        ),
        click.option(
            "--data",
            "data",
            type=click.Path(file_okay=False),
            help="Data folder (else $INFRA_OVERLAP_DATA, else the embedded default).",
        ),
    ]


def data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by run and check (defined once)."""
    opts = [
        *_region_options(),
        click.option(
            "--facilities",
            multiple=True,
            type=click.Path(dir_okay=False),
            help="Facility file (CSV, XLSX, GeoJSON, GPKG, SHP/zip, GeoParquet); replaces the defaults. Repeatable.",
        ),
        click.option(
            "--keep-default-facilities",
            is_flag=True,
            help="Add --facilities to the region's defaults instead of replacing them.",
        ),
        click.option("--encoding", help="Text encoding of CSV facility files (default: detected)."),
        click.option(
            "--crs",
            callback=_crs_option,
            help="CRS of --facilities layers that declare none, e.g. EPSG:4326 or EPSG:3405.",
        ),
        click.option(
            "--types",
            callback=_types_option,
            help="Comma-separated facility types, e.g. seaport,airport (each once).",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return verbosity_options(f)


def _load_config(region: str, config_path: str | None) -> Any:
    from geo.config import load_region_config

    return load_region_config(config_path, region=region)


@cli.command()
@data_options
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output folder [default: out/<region>]."
)
@click.option(
    "--roads",
    type=click.Path(dir_okay=False),
    help="Road layer (GPKG/SHP/GeoJSON lines, .osm XML or .osm.pbf); replaces the default.",
)
@click.option(
    "--population",
    type=click.Path(dir_okay=False),
    help="Population raster (WorldPop, GHS-POP GeoTIFF); replaces the default.",
)
@click.option(
    "--edition",
    type=click.Choice(["34", "63"]),
    help="Province edition [default: from the config, 34].",
)
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of the map and report.",
)
@click.option(
    "--add",
    multiple=True,
    callback=_add_option,
    help='A planned facility "name,lon,lat,type" for a what-if. Repeatable.',
)
@click.option(
    "--overwrite", is_flag=True, help="Replace the output folder of a previous run (only that)."
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds to wait for another run writing the same --out, then refuse.",
)
@_guard
def run(
    region: str,
    config_path: str | None,
    data: str | None,
    facilities: tuple[str, ...],
    keep_default_facilities: bool,
    encoding: str | None,
    crs: str | None,
    types: tuple[str, ...] | None,
    out: str | None,
    roads: str | None,
    population: str | None,
    edition: str | None,
    lang: str,
    add: tuple[str, ...],
    overwrite: bool,
    wait_s: float,
) -> int:
    """The whole chain for one region: map.html, infra_overlap.gpkg, report.html, tables/.

    \b
    Example:
      python cli.py run --types seaport,airport --lang en --out out/vn_en --overwrite
    """
    from analysis.run import RunOptions
    from geo.datasets import resolve_data_dir
    from geo.outdir import folder_lock
    from maps.outputs import prepare_out_dir

    ctx = click.get_current_context().find_object(Ctx) or Ctx()
    config = _load_config(region, config_path)
    out_dir = Path(out) if out else default_out(config.name)
    dd = resolve_data_dir(data, region=config.name)
    opts = RunOptions(
        data=str(dd.path),
        types=types,
        facilities=facilities,
        keep_default_facilities=keep_default_facilities,
        add=add,
        roads=roads,
        population=population,
        edition=int(edition) if edition else None,
        lang=lang,
        encoding=encoding,
        crs=crs,
    )
    inputs_used = (*facilities, roads, population, config.path, str(dd.path))
    # the folder's lock is held from the first check to the last file: a second run waits, then
    # refuses naming the holder, and the folder always holds one complete run
    with folder_lock(out_dir, wait_s=wait_s):
        prepare_out_dir(out_dir, overwrite=overwrite, inputs=inputs_used)
        return _run_locked(config, opts, dd, out_dir, overwrite=overwrite, quiet=ctx.quiet)


def _run_locked(
    config: Any, opts: Any, dd: Any, out_dir: Path, *, overwrite: bool, quiet: bool
) -> int:
    """The body of ``run`` once the output folder is locked and checked."""
    from analysis.run import run_region
    from maps.manifest import build_manifest
    from maps.outputs import write_outputs

    say = _progress(quiet)
    say(f"data: {dd.path} ({dd.origin})")
    t0 = time.perf_counter()
    from analysis.glossary import demand_source_text
    from analysis.run import apply_overrides, load_inputs
    from geo.quality import region_quality
    from maps.quality_report import findings_vi, quality_section_html

    cfg = apply_overrides(config, opts)
    say("load")
    inputs = load_inputs(cfg, opts, dd.path)
    result = run_region(
        config, opts, data_dir=dd.path, data_origin=dd.origin, progress=say, inputs=inputs
    )
    say("data quality")
    q = region_quality(
        dd.path,
        cfg,
        load=inputs["facilities"],
        network=inputs["network"],
        provinces=inputs["provinces"],
        # the config's population layer only (a --population raster is not what the census check reads)
        population=None if opts.population else inputs["population"],
    )
    findings = [*q.findings, *_demand_findings(config, inputs)]
    for line in findings[len(q.findings) :]:
        log.warning("warning: %s", line)
    lang = opts.lang
    labels = {t: str(m.get(f"label_{lang}", t)) for t, m in result.meta["types"].items()}
    labels_vi = {t: str(m.get("label_vi", t)) for t, m in result.meta["types"].items()}
    result.meta["quality_html"] = quality_section_html(
        q.tables,
        findings,
        outline=q.outline,
        flags=q.flags,
        lang=lang,
        findings_vi=findings_vi(
            q.tables,
            type_labels=labels_vi,
            population_text=demand_source_text(result.meta, "vi"),
        ),
        type_labels=labels,
    )
    result.meta["quality_findings"] = findings
    manifest = build_manifest(
        result, config=config, opts=opts, data_dir=dd.path, data_origin=dd.origin
    )
    write_outputs(result, out_dir, overwrite=overwrite, lang=opts.lang, manifest=manifest, say=say)
    n_rej = len(result.layers["rejects"])
    fac = result.layers["facilities"]
    summary = ", ".join(f"{t}: {int((fac['type'] == t).sum())}" for t in result.meta["types"])
    click.echo(
        f"done in {time.perf_counter() - t0:.1f} s: {summary}; {int(fac['flag'].sum())} flagged; "
        f"{n_rej} input rows rejected (tables/rejects.csv). Open {out_dir / 'map.html'}"
    )
    return 0


def _demand_findings(config: Any, inputs: dict[str, Any]) -> list[str]:
    """Implausible demand cells (above ``[population] max_density_per_km2``) as a finding."""
    from analysis.plausibility import dense_cells_finding

    limit = float(config.population.get("max_density_per_km2", 100_000.0))
    out = []
    for demand, _snap in inputs.get("_demand_cache", {}).values():
        line = dense_cells_finding(
            demand.population, cell_size_m=config.cell_size_m, max_density_per_km2=limit
        )
        if line:
            out.append(line)
    return out[:1]


def _bbox(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    if not value:
        return None
    try:
        box = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("give four numbers: min_lon,min_lat,max_lon,max_lat") from None
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise click.BadParameter("give four numbers: min_lon,min_lat,max_lon,max_lat")
    return box


@cli.command()
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
@click.option("--bbox", callback=_bbox, help="Only this area: min_lon,min_lat,max_lon,max_lat.")
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
@_guard
def fetch(
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
    config = _load_config(region, config_path)
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
    prov = fetch_region(config, out_dir, options=opts, progress=_progress(ctx.quiet))
    for name, layer in prov["layers"].items():
        if "counts" in layer or "grid" in layer:
            click.echo(f"  {name}: {layer.get('counts') or layer.get('grid')}")
    click.echo(
        f"mirror written to {out_dir} ({len(prov['layers'])} files, PROVENANCE.json); use: python cli.py run --data {out_dir}"
    )
    return 0


@cli.command()
@data_options
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="out/check",
    show_default=True,
    help="Where to write rejects.csv, repairs.csv, facilities.csv.",
)
@_guard
def check(
    region: str,
    config_path: str | None,
    data: str | None,
    facilities: tuple[str, ...],
    keep_default_facilities: bool,
    encoding: str | None,
    crs: str | None,
    types: tuple[str, ...] | None,
    out: str,
) -> int:
    """Load and validate only: rejected rows with reasons, repairs, the facilities as read.

    \b
    Example:
      python cli.py check --facilities my_ports.csv
    """
    from geo.datasets import resolve_data_dir
    from geo.outdir import check_output_files, check_writable, folder_lock

    config = _load_config(region, config_path)
    dd = resolve_data_dir(data, region=config.name)
    o = Path(out)
    names = ("rejects.csv", "repairs.csv", "facilities.csv")
    # no output file may be an input file (check --out . beside facilities.csv)
    check_output_files([o / n for n in names], (*facilities, config.path))
    check_output_files([p for p in Path(dd.path).rglob("*") if p.is_file()], [o / n for n in names])
    with folder_lock(o):
        check_writable(o)
        return _check_locked(
            config, dd, o, facilities, keep_default_facilities, encoding, types, crs=crs
        )


def _check_locked(
    config: Any,
    dd: Any,
    o: Path,
    facilities: tuple[str, ...],
    keep_default_facilities: bool,
    encoding: str | None,
    types: tuple[str, ...] | None,
    *,
    crs: str | None = None,
) -> int:
    """The body of ``check`` once its output folder is locked and checked."""
    from geo.facilities import load_region_facilities
    from maps.safe_table import write_csv

    load = load_region_facilities(
        dd.path,
        config,
        types=types,
        extra_files=facilities,
        keep_default=keep_default_facilities or not facilities,
        encoding=encoding,
        crs=crs,
    )
    rejects, repairs = load.issues.rejects_frame(), load.issues.repairs_frame()
    write_csv(rejects, o / "rejects.csv")
    write_csv(repairs, o / "repairs.csv")
    fac = load.facilities
    table = fac.drop(columns=[c for c in ("geometry", "area_wkb") if c in fac.columns]).assign(
        lon=fac.geometry.x.round(6), lat=fac.geometry.y.round(6)
    )
    write_csv(table, o / "facilities.csv")
    click.echo(load.counts.to_string(index=False))
    click.echo(
        f"{len(fac)} facilities usable, {len(rejects)} rows rejected, {len(repairs)} repairs -> {o}/"
    )
    for r in rejects.head(10).itertuples():
        click.echo(f"  rejected: {r.source} row {r.row} [{r.field}]: {r.reason}")
    if not facilities and len(fac):
        _check_region_quality(dd.path, config, load, o)
    return 0 if len(fac) else 1


def _check_region_quality(data_dir: Path, config: Any, load: Any, o: Path) -> None:
    """Without --facilities, `check` also measures the whole region's data (geo.quality)."""
    from geo.files import write_text_atomic
    from geo.quality import region_quality
    from maps.quality_report import quality_section_html
    from maps.safe_table import write_csv

    q = region_quality(data_dir, config, load=load)
    for name, table in q.tables.items():
        write_csv(table, o / "quality" / f"{name}.csv")
    fragment = quality_section_html(q.tables, q.findings, outline=q.outline, flags=q.flags)
    write_text_atomic(o / "quality" / "quality.html", fragment + "\n")
    from geo.quality import tolerance_sensitivity

    sens = tolerance_sensitivity(data_dir, config, load.facilities)
    write_csv(sens, o / "quality" / "road_tolerance.csv")
    click.echo("data quality:")
    for line in q.findings:
        click.echo(f"  - {line}")
    click.echo(
        "road repair by snap tolerance (components, largest share, km joined, facilities off the main network):"
    )
    for r in sens.to_dict("records"):
        click.echo(
            f"  {r['tolerance_m']:>6g} m: {r['components']} components, {100 * r['largest_share']:.1f} %, "
            f"{r['km_joined']} km joined, {r['facilities_stranded']} facilities stranded"
        )
    _echo_road_repairs(q.tables.get("road_repairs"))
    _echo_validation(config, data_dir)
    click.echo(f"tables and an HTML section -> {o / 'quality'}/")


def _echo_validation(config: Any, data_dir: Path) -> None:
    """The model's drive times against the region's real trips (``[validation] trips_file``)."""
    if not config.validation_trips or not Path(config.validation_trips).is_file():
        return
    from analysis.trips_run import trips_summary

    s = trips_summary(config.validation_trips, config=config, data_dir=data_dir)
    click.echo(
        f"travel times against {s['trips']} real trips ({Path(config.validation_trips).name}): "
        f"median absolute error {100 * s['median_abs_error']:.1f} %, "
        f"{100 * s['within_tolerance_share']:.1f} % within tolerance, "
        f"{s['unreachable']} unreachable (cli.py validate for the table)"
    )


def _echo_road_repairs(table: Any) -> None:
    """The road repairs of the network (geo.road_repairs), by kind, and what they reconnected."""
    if table is None or len(table) == 0:
        return
    click.echo(f"road repairs ({len(table)}, quality/road_repairs.csv):")
    for kind, g in table.groupby("kind"):
        click.echo(f"  {kind}: {len(g)}, {g['length_m'].sum() / 1000:.1f} km")
    for r in table[table["facilities_reconnected"] != ""].to_dict("records"):
        click.echo(
            f"  #{r['repair_id']} {r['kind']} {r['length_m']:.0f} m at {r['lon']}, {r['lat']}: "
            f"{r['facilities_reconnected']}"
        )


@cli.command()
@click.argument("scenarios", type=click.Path(dir_okay=False))
@click.option(
    "--scheduler", help="Dask scheduler address, e.g. tcp://HOST:8786 [default: a local cluster]."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Batch folder [default: out/batch/<file name>]; finished scenarios in it are skipped.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Workers of the local cluster [default: CPU count].",
)
@click.option(
    "--connect-timeout",
    "connect_timeout_s",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to reach --scheduler and see its Dask handshake.",
)
@verbosity_options
@_guard
def batch(
    scenarios: str,
    scheduler: str | None,
    out: str | None,
    workers: int | None,
    connect_timeout_s: float,
) -> int:
    """Many scenarios on Dask, one comparative report (report.html, report.xlsx, tables/).

    Each scenario's outputs go to OUT/scenarios/<name>-<hash>/; a re-run skips finished ones.
    Exit code 1 when a scenario failed (the others still run and are reported).

    \b
    Example:
      python cli.py batch data/scenarios_vietnam.toml --out out/batch_vn
      python cli.py batch my.toml --scheduler tcp://10.0.0.5:8786
    """
    if scheduler:  # seconds, before the heavy imports: a wrong --scheduler fails at once
        from geo.netcheck import preflight_dask

        preflight_dask(scheduler, timeout_s=connect_timeout_s)
    from analysis.batch import dask_client, read_scenarios, run_batch
    from geo.outdir import check_writable, folder_lock
    from maps.batch_report import write_batch_report, write_scenario_outputs

    ctx = click.get_current_context().find_object(Ctx) or Ctx()
    spec = read_scenarios(scenarios)
    out_dir = Path(out) if out else default_out("batch", Path(scenarios).stem)
    say = _progress(ctx.quiet)
    if scheduler and workers:
        log.warning("--workers is ignored with --scheduler (the cluster has its own workers)")
    say(
        f"{len(spec.scenarios)} scenarios from {scenarios} on {scheduler or 'a local Dask cluster'} -> {out_dir}"
    )
    bar = sys.stderr.isatty() and not ctx.quiet and not os.environ.get("CI")
    with folder_lock(out_dir, wait_s=0):
        check_writable(out_dir)
        with dask_client(
            scheduler,
            n_workers=workers,
            connect_timeout_s=connect_timeout_s,
            verbose=bool(ctx.verbose),
        ) as cl:
            run = run_batch(
                spec, client=cl, out_dir=out_dir, writer=write_scenario_outputs, progress_bar=bar
            )
        files = write_batch_report(run, out_dir)
    n = {s: sum(o["status"] == s for o in run.outcomes) for s in ("done", "skipped", "failed")}
    click.echo(
        f"batch finished in {run.wall_s:.1f} s: {n['done']} run, {n['skipped']} skipped (finished earlier), "
        f"{n['failed']} failed. Open {files['html']} (also report.xlsx, tables/)"
    )
    for o in run.failed:
        click.echo(f"  failed: {o['name']}: {o['error']}", err=True)
    return 1 if run.failed else 0


# --------------------------------------------------------------------------- real trips


def trips_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by validate and calibrate (defined once)."""
    opts = [
        click.option(
            "--trips",
            required=True,
            type=click.Path(dir_okay=False),
            help="Trips table (CSV: origin_name, origin_lon, origin_lat, dest_name, dest_lon, "
            "dest_lat, dest_kind, minutes_low, minutes_high, source_url, source_date, note).",
        ),
        *_region_options(),
        click.option(
            "--roads",
            type=click.Path(dir_okay=False),
            help="Road layer replacing the region's (as for run).",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return verbosity_options(f)


@cli.command()
@trips_options
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for trips_validation.csv/.json and trips_rejects.csv [default: out/<region>/validation].",
)
@_guard
def validate(
    trips: str,
    region: str,
    config_path: str | None,
    data: str | None,
    roads: str | None,
    out: str | None,
) -> int:
    """The model's drive time for each real trip against its stated range.

    Writes per trip the model minutes, the stated range, the error and whether it lies within
    tolerance (max(10 min, 30 %)); prints the median error, the share within tolerance and the
    unreachable trips. Exit 1 when the file is not usable (rejected rows are listed, not fatal).

    \b
    Example:
      python cli.py validate --trips data/trips_vietnam.csv --out out/validation
    """
    from analysis.trips_run import validate_trips
    from geo.datasets import resolve_data_dir
    from maps.trips_outputs import summary_lines, write_trip_validation

    config = _load_config(region, config_path)
    dd = resolve_data_dir(data, region=config.name)
    v = validate_trips(trips, config=config, data_dir=dd.path, roads_file=roads)
    o = Path(out) if out else default_out(config.name, "validation")
    paths = write_trip_validation(v, o, forbidden=(trips,))
    for line in summary_lines(v.summary, label=f"validate {trips}"):
        click.echo(line)
    for r in v.table[~v.table["reachable"]].itertuples():
        click.echo(
            f"  unreachable: row {r.trip_row} {r.origin_name} -> {r.dest_name}: {r.unreachable_reason}"
        )
    for r in v.rejects.head(10).itertuples():
        click.echo(f"  rejected: row {r.row} [{r.field}]: {r.reason}")
    click.echo(f"per-trip table -> {paths['csv']} (and .json, trips_rejects.csv)")
    return 0


@cli.command()
@trips_options
@click.option(
    "--write-config",
    "write_config",
    required=True,
    type=click.Path(dir_okay=False),
    help="New region config to write (a copy of the input with the fitted speeds); never the input.",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="k of the k-fold cross-validation.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fold shuffle.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --write-config file.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Also write trips_calibration.csv (per trip) and calibration.json here.",
)
@_guard
def calibrate(
    trips: str,
    region: str,
    config_path: str | None,
    data: str | None,
    roads: str | None,
    write_config: str,
    folds: int,
    seed: int,
    overwrite: bool,
    out: str | None,
) -> int:
    """Fit class speeds and the access speed to real trips, cross-validated by region.

    At most five bounded parameters (expressway, trunk/national, provincial/primary/secondary,
    tertiary and below, access); the error is reported on held-back folds as well as in
    sample; a parameter that ends on a bound is named. Writes a new region config.

    \b
    Example:
      python cli.py calibrate --trips data/trips_vietnam.csv --write-config /tmp/vietnam_calibrated.toml
    """
    from analysis.trips_run import calibrate_trips
    from geo.config import REPO_DATA
    from geo.datasets import resolve_data_dir
    from maps.trips_outputs import (
        calibration_lines,
        write_calibrated_config,
        write_calibration_tables,
    )

    config = _load_config(region, config_path)
    source = Path(config_path) if config_path else REPO_DATA / f"{region}.toml"
    _refuse_input_target(write_config, source, trips, overwrite)
    dd = resolve_data_dir(data, region=config.name)
    cal = calibrate_trips(
        trips, config=config, data_dir=dd.path, roads_file=roads, k=folds, seed=seed
    )
    lines = calibration_lines(cal)
    for line in lines:
        click.echo(line)
    write_calibrated_config(
        source,
        write_config,
        speed_kmh=cal.speed_kmh,
        access_speed_kmh=round(cal.fit.access_speed_kmh, 1),
        comment=f"Speeds calibrated by `cli.py calibrate` on {Path(trips).name}:\n"
        + "\n".join(lines),
        forbidden=(trips,),
        overwrite=overwrite,
    )
    click.echo(f"calibrated config -> {write_config}")
    if out:
        paths = write_calibration_tables(cal, out)
        click.echo(f"per-trip table -> {paths['csv']} (and calibration.json)")
    return 0


def _refuse_input_target(target: str, config: Path, trips: str, overwrite: bool) -> None:
    """Fail before the fit, not after it, when --write-config names an input or an existing file."""
    from geo.errors import InputError

    t = Path(target).resolve()
    if t in (config.resolve(), Path(trips).resolve()):
        raise InputError(
            "--write-config must name a new file, not an input (the region config or the trips file)",
            source=target,
        )
    if t.exists() and not overwrite:
        raise InputError("the file exists; give a new path or add --overwrite", source=target)


def main() -> None:
    """Entry point: click's own usage errors are user errors too (exit 1, not 2)."""
    from geo.errors import InfraOverlapError

    try:
        cli.main(obj=Ctx(), standalone_mode=False)
    except InfraOverlapError as exc:  # raised by an option's check, before the command runs
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()


__all__ = ["cli", "json"]
