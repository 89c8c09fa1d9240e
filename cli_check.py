"""``cli.py check``: load and validate the facilities, and measure the region's data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from analysis.run import RunOptions
    from geo.config import RegionConfig
    from geo.facilities import FacilityLoad


def check_locked(config: RegionConfig, opts: RunOptions, data_dir: Path, o: Path) -> int:
    """The body of ``check`` once its output folder is locked and checked."""
    from maps.safe_table import write_csv
    from pipeline import load_facilities

    facilities = opts.facilities
    load = load_facilities(config, opts, data_dir, add=False)
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
        _check_region_quality(data_dir, config, load, o)
    return 0 if len(fac) else 1


def _check_region_quality(
    data_dir: Path, config: RegionConfig, load: FacilityLoad, o: Path
) -> None:
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


def _echo_validation(config: RegionConfig, data_dir: Path) -> None:
    """The model's drive times against the region's real trips (``[validation] trips_file``)."""
    if not config.validation_trips or not Path(config.validation_trips).is_file():
        return
    from pipeline import trips_summary

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
