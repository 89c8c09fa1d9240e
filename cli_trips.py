"""``cli.py validate`` and ``cli.py calibrate``: the model's drive times against real trips."""

from __future__ import annotations

from pathlib import Path

import click

from cli_base import guard, load_config, trips_options
from geo.paths import default_out


@click.command()
@trips_options
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for trips_validation.csv/.json and trips_rejects.csv [default: out/<region>/validation].",
)
@guard
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
    from geo.datasets import resolve_data_dir
    from maps.trips_outputs import summary_lines, write_trip_validation
    from pipeline import validate_trips

    config = load_config(region, config_path)
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


@click.command()
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
@guard
def calibrate(  # noqa: PLR0913 (a click command: one parameter per option)
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

    At most four bounded parameters (expressway, national and provincial roads, tertiary and
    below, access) and the urban factor; the error is reported on held-back folds as well as in
    sample; a parameter that ends on a bound is named. Writes a new region config.

    \b
    Example:
      python cli.py calibrate --trips data/trips_vietnam.csv --write-config /tmp/vietnam_calibrated.toml
    """
    from geo.config import REPO_DATA
    from geo.datasets import resolve_data_dir
    from maps.trips_outputs import (
        calibration_lines,
        write_calibrated_config,
        write_calibration_tables,
    )
    from pipeline import calibrate_trips

    config = load_config(region, config_path)
    source = Path(config_path) if config_path else REPO_DATA / f"{region}.toml"
    _refuse_input_target(write_config, source, trips, overwrite)
    dd = resolve_data_dir(data, region=config.name)
    cal = calibrate_trips(
        trips, config=config, data_dir=dd.path, roads_file=roads, folds=(folds, seed)
    )
    lines = calibration_lines(cal)
    for line in lines:
        click.echo(line)
    write_calibrated_config(
        source,
        write_config,
        speed_kmh=cal.speed_kmh,
        access_speed_kmh=round(cal.fit.access_speed_kmh, 1),
        urban_speed_factor=cal.urban_speed_factor,
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
