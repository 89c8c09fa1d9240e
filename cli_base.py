"""The command line's shared parts: context, error guard, progress lines and the options that
several commands take (defined once). ``cli.py`` holds the commands."""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from geo.errors import InputError

if TYPE_CHECKING:
    from geo.config import RegionConfig

log = logging.getLogger("infra_overlap")


class Ctx:
    verbose: int = 0
    quiet: bool = False


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s"
    )


def guard(fn: Callable[..., int | None]) -> Callable[..., None]:
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


def progress(quiet: bool) -> Callable[[str], None]:
    tty = sys.stderr.isatty() and not quiet and not os.environ.get("CI")
    start = time.perf_counter()

    def say(step: str) -> None:
        if tty or (not quiet):
            click.echo(f"[{time.perf_counter() - start:6.1f} s] {step}", err=True)

    return say


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> int:
    obj = ctx.find_object(Ctx)
    if obj is not None and value:
        obj.verbose = max(obj.verbose, value)
        setup_logging(obj.verbose, obj.quiet)
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


def add_option(
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


def region_options() -> list[Callable[..., Any]]:
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
        *region_options(),
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


def load_config(region: str, config_path: str | None) -> RegionConfig:
    """The region configuration (``--config`` file, else ``data/<region>.toml``), validated."""
    from geo.config import load_region_config

    return load_region_config(config_path, region=region)


def bbox_option(
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
        *region_options(),
        click.option(
            "--roads",
            type=click.Path(dir_okay=False),
            help="Road layer replacing the region's (as for run).",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return verbosity_options(f)
