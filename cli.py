"""infra-overlap: which infrastructure investments duplicate each other?

Thin command line: parse, call the pipeline, report. Heavy imports happen inside the commands
so that ``python cli.py --help`` stays fast. Exit codes: 0 done, 1 user or input error, 2
internal error (``-v`` shows its traceback).

The commands: ``run`` and ``check`` here, ``batch`` here over :mod:`batch`, ``fetch`` in
:mod:`cli_fetch`, ``validate`` and ``calibrate`` in :mod:`cli_trips`; the options several
commands share, the error guard and the progress lines in :mod:`cli_base`. Every command loads,
analyses and writes through :mod:`pipeline`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli_base import (
    Ctx,
    add_option,
    data_options,
    guard,
    load_config,
    progress,
    setup_logging,
    verbosity_options,
)
from cli_fetch import fetch
from cli_trips import calibrate, validate
from geo.paths import default_out

if TYPE_CHECKING:
    from analysis.results import RunResult
    from analysis.run import RunOptions
    from geo.config import RegionConfig
    from geo.datasets import DataDir

log = logging.getLogger("infra_overlap")


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
    setup_logging(verbose, quiet)


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
    callback=add_option,
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
@click.option(
    "--scheduler",
    help="Dask scheduler address, e.g. tcp://HOST:8786: the catchments run on its workers.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Run the catchments on a local Dask cluster of N worker processes.",
)
@guard
def run(  # noqa: PLR0913 (a click command: one parameter per option)
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
    scheduler: str | None,
    workers: int | None,
) -> int:
    """The whole chain for one region: map.html, infra_overlap.gpkg, report.html, tables/.

    With --workers N (a local Dask cluster) or --scheduler ADDRESS the catchments run in
    facility blocks on Dask workers; the outputs are the same as in one process.

    \b
    Example:
      python cli.py run --types seaport,airport --lang en --out out/vn_en --overwrite
    """
    from analysis.run import RunOptions
    from geo.datasets import resolve_data_dir
    from geo.outdir import folder_lock
    from maps.outputs import prepare_out_dir

    if scheduler:  # seconds, before the heavy work: a wrong --scheduler fails at once
        from geo.netcheck import preflight_dask

        preflight_dask(scheduler, timeout_s=5.0)
        if workers:
            log.warning("--workers is ignored with --scheduler (the cluster has its own workers)")
    config = load_config(region, config_path)
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
        with _cluster(scheduler, workers) as client:
            return _run_locked(config, opts, dd, out_dir, overwrite=overwrite, client=client)


@contextmanager
def _cluster(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client for ``run`` (``batch.dask_client``: the scheduler, else a LocalCluster of
    ``workers`` processes), closed at the end; None without either option."""
    if not (scheduler or workers):
        yield None
        return
    from batch import dask_client

    ctx = click.get_current_context().find_object(Ctx) or Ctx()
    with dask_client(scheduler, n_workers=workers, verbose=bool(ctx.verbose)) as client:
        yield client


def _summary_line(result: RunResult, seconds: float, out_dir: Path) -> str:
    """The last line of ``run``: facilities per type, flags, rejected rows, where to look."""
    n_rej = len(result.layers["rejects"])
    fac = result.layers["facilities"]
    summary = ", ".join(f"{t}: {int((fac['type'] == t).sum())}" for t in result.meta.types)
    return (
        f"done in {seconds:.1f} s: {summary}; {int(fac['flag'].sum())} flagged; "
        f"{n_rej} input rows rejected (tables/rejects.csv). Open {out_dir / 'map.html'}"
    )


def _run_locked(
    config: RegionConfig,
    opts: RunOptions,
    dd: DataDir,
    out_dir: Path,
    *,
    overwrite: bool,
    client: Any = None,
) -> int:
    """The body of ``run`` once the output folder is locked and checked."""
    import pipeline

    ctx = click.get_current_context().find_object(Ctx) or Ctx()
    say = progress(ctx.quiet)
    say(f"data: {dd.path} ({dd.origin})")
    t0 = time.perf_counter()
    result = pipeline.run(config, opts, source=dd, progress=say, client=client)
    pipeline.write(result, out_dir, config=config, opts=opts, overwrite=overwrite, progress=say)
    click.echo(_summary_line(result, time.perf_counter() - t0, out_dir))
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
@guard
def check(  # noqa: PLR0913 (a click command: one parameter per option)
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
    from analysis.run import RunOptions
    from cli_check import check_locked
    from geo.datasets import resolve_data_dir
    from geo.outdir import check_output_files, check_writable, folder_lock

    config = load_config(region, config_path)
    dd = resolve_data_dir(data, region=config.name)
    o = Path(out)
    names = ("rejects.csv", "repairs.csv", "facilities.csv")
    # no output file may be an input file (check --out . beside facilities.csv)
    check_output_files([o / n for n in names], (*facilities, config.path))
    check_output_files([p for p in Path(dd.path).rglob("*") if p.is_file()], [o / n for n in names])
    opts = RunOptions(
        types=types,
        facilities=facilities,
        keep_default_facilities=keep_default_facilities,
        encoding=encoding,
        crs=crs,
    )
    with folder_lock(o):
        check_writable(o)
        return check_locked(config, opts, dd.path, o)


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
@guard
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
    from analysis.scenarios import Status
    from batch import dask_client, read_scenarios, run_batch
    from geo.outdir import check_writable, folder_lock
    from maps.batch_report import write_batch_report

    ctx = click.get_current_context().find_object(Ctx) or Ctx()
    spec = read_scenarios(scenarios)
    out_dir = Path(out) if out else default_out("batch", Path(scenarios).stem)
    say = progress(ctx.quiet)
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
            run = run_batch(spec, client=cl, out_dir=out_dir, progress_bar=bar)
        files = write_batch_report(run, out_dir)
    click.echo(
        f"batch finished in {run.wall_s:.1f} s: {run.count(Status.DONE)} run, "
        f"{run.count(Status.SKIPPED)} skipped (finished earlier), {run.count(Status.FAILED)} "
        f"failed. Open {files['html']} (also report.xlsx, tables/)"
    )
    for o in run.failed:
        click.echo(f"  failed: {o.name}: {o.error}", err=True)
    return 1 if run.failed else 0


cli.add_command(fetch)
cli.add_command(validate)
cli.add_command(calibrate)


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


__all__ = ["cli", "main"]
