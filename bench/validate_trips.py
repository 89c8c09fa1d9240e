"""Accuracy of the model's drive times against the project's real trips (issue 15, item 3).

Runs ``validate`` (the configured speeds) and the cross-validated calibration (k folds
stratified by socio-economic region) on a trips table, and prints the table the issue asks for:
median absolute error, share within tolerance (max(10 min, 30 %)) and unreachable trips, for
the configured speeds, the fitted speeds in sample, and held back. Not a timed test: it says
how right the times are, not how fast they come.

Usage::

    .venv/bin/python bench/validate_trips.py [--trips data/trips_vietnam.csv] [--data DIR]
        [--folds 5] [--json FILE]

Targets (issue 15, "Done when", held back): median absolute error <= 20 %, >= 85 % within
tolerance, no unreachable trip. Exit code 0 when all three are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]

TARGET_MEDIAN_ERROR = 0.20
TARGET_WITHIN_SHARE = 0.85


def main(argv: list[str] | None = None) -> int:
    from analysis.trips_run import calibrate_loaded, fit_summary, route_split
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
    ap.add_argument("--json", default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    config = load_region_config(region=args.region)
    dd = resolve_data_dir(args.data, region=config.name)
    t0 = time.perf_counter()
    try:
        inputs = load_trip_inputs(args.trips, config=config, data_dir=dd.path)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cal = calibrate_loaded(inputs, config, k=args.folds, seed=args.seed)
    wall = time.perf_counter() - t0
    print(
        f"trips: {args.trips} ({len(inputs.table.trips)} usable, "
        f"{len(inputs.table.issues.rejects)} rejected); data: {dd.path}; {args.folds} folds"
    )
    table = calibration_table(cal)
    for line in calibration_lines(cal):
        print(line)
    held = cal.held_back.summary
    worst = cal.held_back.table.sort_values("error", ascending=False).head(8)
    split = route_split(inputs, config).set_index("trip_row")
    print("\nlargest held-back errors (route with the configured speeds: minutes per road group):")
    for r in worst.itertuples():
        parts = split.loc[r.trip_row]
        where = ", ".join(
            f"{k.removeprefix('min_')} {v:g}"
            for k, v in parts.items()
            if k.startswith("min_") and v
        )
        print(
            f"  row {r.trip_row}: {r.origin_name} -> {r.dest_name}: model {r.model_min} min, "
            f"stated {r.minutes_low:g}-{r.minutes_high:g}, error {100 * r.error:.0f} % ({where})"
        )
    ok = (
        held["median_abs_error"] is not None
        and held["median_abs_error"] <= TARGET_MEDIAN_ERROR
        and held["within_tolerance_share"] >= TARGET_WITHIN_SHARE
        and held["unreachable"] == 0
    )
    print(
        f"\nheld back vs targets (median <= 20 %, >= 85 % within, 0 unreachable): "
        f"{'met' if ok else 'NOT met'} ({wall:.0f} s)"
    )
    if args.json:
        doc = {
            "trips": args.trips,
            "table": table.to_dict("records"),
            "fit": fit_summary(cal.fit),
            "speed_kmh": cal.speed_kmh,
            "folds": cal.folds,
            "targets_met": ok,
        }
        Path(args.json).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
