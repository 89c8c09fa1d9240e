"""Accuracy of the model's drive times against the project's real trips (issue 15, item 3).

Runs ``validate`` (the configured speeds) and the cross-validated calibration (k folds
stratified by socio-economic region) on a trips table, and prints the table the issue asks for:
median absolute error, share within tolerance (max(10 min, 30 %)) and unreachable trips, for
the configured speeds, the fitted speeds in sample, and held back. Not a timed test: it says
how right the times are, not how fast they come.

Usage::

    .venv/bin/python bench/validation.py [--trips data/trips_vietnam.csv] [--data DIR]
        [--folds 5] [--start bench/speeds_uncalibrated.toml | --start none] [--out DIR]
        [--json FILE]

The calibration starts from, and is pulled toward, the speeds of ``--start`` (default: the
hand-set speeds the region config had before any calibration, ``speeds_uncalibrated.toml``), so
that the held-back figures do not rest on speeds already fitted to the same trips; the first row
of the table is those start speeds. ``--start none`` starts from the region config's speeds (what
``cli.py calibrate`` does). The region config's own speeds are validated too and printed beside.

Writes ``validation.json`` (figures, targets, fits, per-trip held-back table) and
``validation.md`` (the table against the targets, the worst trips) to DIR (``--out``, else
``$BENCH_DIR``, else ``/tmp/infra_overlap_bench``), atomically; nothing in the repository.

Targets (issue 15, "Done when", held back): median absolute error <= 20 %, >= 85 % within
tolerance, no unreachable trip. Exit code 0 when all three are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import tomllib

if TYPE_CHECKING:
    from geo.config import RegionConfig

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]

TARGET_MEDIAN_ERROR = 0.20
TARGET_WITHIN_SHARE = 0.85


def main(argv: list[str] | None = None) -> int:
    from analysis.trips_run import calibrate_loaded, fit_summary, route_split, validate_loaded
    from geo.config import load_region_config
    from geo.datasets import resolve_data_dir
    from geo.errors import InputError
    from maps.trips_outputs import calibration_lines, calibration_table
    from pipeline import load_trip_inputs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trips", default=str(ROOT / "data" / "trips_vietnam.csv"))
    ap.add_argument("--data", default=None, help="data folder (default: the embedded data)")
    ap.add_argument("--region", default="vietnam")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--start",
        default=str(HERE / "speeds_uncalibrated.toml"),
        help="TOML with the start speeds (access_speed_kmh, [roads] urban_speed_factor, "
        "[roads.speed_kmh]); 'none': the region config's speeds",
    )
    ap.add_argument("--json", default=None, help="also write the figures as JSON here")
    ap.add_argument("--out", default=os.environ.get("BENCH_DIR", "/tmp/infra_overlap_bench"))
    args = ap.parse_args(argv)

    configured = load_region_config(region=args.region)
    config = configured if args.start == "none" else _with_start_speeds(configured, args.start)
    dd = resolve_data_dir(args.data, region=config.name)
    t0 = time.perf_counter()
    try:
        inputs = load_trip_inputs(args.trips, config=config, data_dir=dd.path)
        own = validate_loaded(
            load_trip_inputs(args.trips, config=configured, data_dir=dd.path), configured
        ).summary
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cal = calibrate_loaded(inputs, config, k=args.folds, seed=args.seed)
    wall = time.perf_counter() - t0
    print(
        f"trips: {args.trips} ({len(inputs.table.trips)} usable, "
        f"{len(inputs.table.issues.rejects)} rejected); data: {dd.path}; {args.folds} folds"
    )
    start = "the region config" if args.start == "none" else args.start
    print(f"start speeds (first row 'configured', and the pull of the fit): {start}")
    table = calibration_table(cal)
    for line in calibration_lines(cal):
        print(line)
    print(
        f"region config's own speeds ({args.region}.toml), validated: median "
        f"{_pct(own['median_abs_error'])}, within tolerance {_pct(own['within_tolerance_share'])} "
        f"({own['within_tolerance']}/{own['trips']}), unreachable {own['unreachable']}"
    )
    held = cal.held_back.summary
    worst = cal.held_back.table.sort_values("error", ascending=False).head(8)
    split = route_split(inputs, config).set_index("trip_row")
    worst_lines = []
    for r in worst.itertuples():
        parts = split.loc[r.trip_row]
        where = ", ".join(
            f"{k.removeprefix('min_')} {v:g}"
            for k, v in parts.items()
            if k.startswith("min_") and v
        )
        worst_lines.append(
            f"row {r.trip_row}: {r.origin_name} -> {r.dest_name}: model {r.model_min} min, "
            f"stated {r.minutes_low:g}-{r.minutes_high:g}, error {100 * r.error:.0f} % ({where})"
        )
    print("\nlargest held-back errors (route with the start speeds: minutes per road group):")
    print("\n".join("  " + w for w in worst_lines))
    ok = (
        held["median_abs_error"] is not None
        and held["median_abs_error"] <= TARGET_MEDIAN_ERROR
        and held["within_tolerance_share"] >= TARGET_WITHIN_SHARE
        and held["unreachable"] == 0
    )
    verdict = f"held back vs targets (median <= 20 %, >= 85 % within, 0 unreachable): {'met' if ok else 'NOT met'}"
    print(f"\n{verdict} ({wall:.0f} s)")
    doc = {
        "trips": args.trips,
        "data": str(dd.path),
        "folds": args.folds,
        "targets": {
            "median_abs_error_max": TARGET_MEDIAN_ERROR,
            "within_tolerance_share_min": TARGET_WITHIN_SHARE,
            "unreachable_max": 0,
        },
        "targets_met": ok,
        "start_speeds": start,
        "table": table.to_dict("records"),
        "region_config_validated": own,
        "fit": fit_summary(cal.fit),
        "speed_kmh": cal.speed_kmh,
        "urban_speed_factor": cal.urban_speed_factor,
        "fold_fits": cal.folds,
        "road_additions": _additions_count(inputs.network.report),
        "held_back_trips": cal.held_back.table.to_dict("records"),
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "validation.json", text)
    _write_atomic(out / "validation.md", _markdown(table, verdict, worst_lines, doc))
    print(f"JSON and markdown in {out / 'validation.json'}, {out / 'validation.md'}")
    if args.json:
        _write_atomic(Path(args.json), text)
    return 0 if ok else 1


def _with_start_speeds(config: RegionConfig, path: str) -> RegionConfig:
    """``config`` with the speeds of the TOML ``path`` (access speed, urban factor, speed table);
    every other setting unchanged."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    roads = raw.get("roads", {})
    return replace(
        config,
        access_speed_kmh=float(raw.get("access_speed_kmh", config.access_speed_kmh)),
        roads=replace(
            config.roads,
            speed_kmh={k: float(v) for k, v in roads.get("speed_kmh", {}).items()}
            or config.roads.speed_kmh,
            urban_speed_factor=float(
                roads.get("urban_speed_factor", config.roads.urban_speed_factor)
            ),
        ),
    )


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _additions_count(report: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for rec in report.get("road_additions", []):
        counts[rec["kind"]] = counts.get(rec["kind"], 0) + 1
    return counts


def _markdown(table, verdict: str, worst: list[str], doc: dict) -> str:
    cols = list(table.columns)
    lines = [
        "# Drive times against real trips (bench/validation.py)",
        "",
        f"Trips: `{doc['trips']}`; data: `{doc['data']}`; {doc['folds']} folds stratified by region.",
        "",
        "| " + " | ".join(map(str, cols)) + " |",
        "| " + " | ".join("---" for _ in cols) + " |",
    ]
    for row in table.itertuples(index=False):
        cells = [
            f"{100 * v:.1f} %" if isinstance(v, float) and c != "trips" else str(v)
            for c, v in zip(cols, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"**{verdict}**", "", "Largest held-back errors:", ""]
    lines += [f"- {w}" for w in worst]
    adds = ", ".join(f"{k} {v}" for k, v in doc["road_additions"].items()) or "none"
    lines += ["", f"Road additions in the network (geo.road_additions): {adds}.", ""]
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
