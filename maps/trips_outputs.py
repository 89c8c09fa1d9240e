"""Write the results of ``validate`` and ``calibrate``: per-trip tables, summaries, a region config.

Tables are UTF-8 CSV without a byte-order mark and JSON, written atomically; the calibrated
configuration is a copy of the input TOML (comments kept) with the fitted ``[roads.speed_kmh]``
values and ``access_speed_kmh``, re-read and validated before it is moved into place.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import tomllib

from analysis.calibration import URBAN_FACTORS
from analysis.trips_run import Calibration, TripValidation, fit_summary
from geo.config import load_region_config
from geo.errors import ConfigError, InputError
from geo.files import atomic_path, write_text_atomic


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in table.to_dict("records"):
        out.append(
            {
                str(k): (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in rec.items()
            }
        )
    return out


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_trip_validation(
    v: TripValidation, out_dir: str | Path, *, forbidden: tuple[str | Path, ...] = ()
) -> dict[str, Path]:
    """Write ``trips_validation.csv``, ``trips_validation.json`` (summary and trips) and
    ``trips_rejects.csv`` into ``out_dir``; returns their paths by kind. An output that would
    replace one of the ``forbidden`` inputs (the trips file) is refused before anything is
    written."""
    o = Path(out_dir)
    paths = {
        "csv": o / "trips_validation.csv",
        "json": o / "trips_validation.json",
        "rejects": o / "trips_rejects.csv",
    }
    inputs = {Path(f).resolve() for f in forbidden}
    for p in paths.values():
        if p.resolve() in inputs:
            raise InputError(
                "an output of validate would replace this input; give another --out folder",
                source=str(p),
            )
    write_text_atomic(paths["csv"], v.table.to_csv(index=False, lineterminator="\n"))
    doc = {"source": v.source, "summary": v.summary, "trips": _records(v.table)}
    write_text_atomic(
        paths["json"],
        json.dumps(doc, ensure_ascii=False, indent=1, default=_json_default) + "\n",
    )
    write_text_atomic(paths["rejects"], v.rejects.to_csv(index=False, lineterminator="\n"))
    return paths


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def summary_lines(summary: Mapping[str, Any], *, label: str = "") -> list[str]:
    """The headline figures in words (one line each)."""
    head = f"{label}: " if label else ""
    return [
        f"{head}{summary['trips']} trips, {summary['reachable']} reachable, "
        f"{summary['unreachable']} unreachable, {summary.get('rejected', 0)} rows rejected",
        f"  median absolute error {_pct(summary['median_abs_error'])} of the stated midpoint; "
        f"{summary['within_tolerance']} of {summary['trips']} "
        f"({_pct(summary['within_tolerance_share'])}) within tolerance (max(10 min, 30 %))",
    ]


def calibration_table(cal: Calibration) -> pd.DataFrame:
    """One row per measure: configured speeds, fitted (in sample), held back (cross-validated)."""
    rows = []
    for name, v in (
        ("configured", cal.before),
        ("fitted (in sample)", cal.in_sample),
        ("held back (k-fold)", cal.held_back),
    ):
        s = v.summary
        rows.append(
            {
                "speeds": name,
                "trips": s["trips"],
                "median_abs_error": s["median_abs_error"],
                "within_tolerance_share": s["within_tolerance_share"],
                "unreachable": s["unreachable"],
            }
        )
    return pd.DataFrame(rows)


def calibration_lines(cal: Calibration) -> list[str]:
    """The calibration in words: the table, the fitted speeds with their bounds, bound hits."""
    lines = [
        f"{'speeds':<20} {'trips':>5} {'median |err|':>12} {'within tol.':>11} {'unreach.':>8}"
    ]
    for r in calibration_table(cal).to_dict("records"):
        lines.append(
            f"{r['speeds']:<20} {r['trips']:>5} {_pct(r['median_abs_error']):>12} "
            f"{_pct(r['within_tolerance_share']):>11} {r['unreachable']:>8}"
        )
    lines.append(_verdict(cal))
    fs = fit_summary(cal.fit)
    lines.append(
        "fitted speeds (the fastest class of each group; its other classes keep their ratio to it):"
    )
    for g, lead, ok in zip(cal.fit.groups, cal.fit.lead_keys, cal.fit.identified[:-1], strict=True):
        v = fs["speeds_kmh"][g.name]
        shown = (
            f"{v:g} km/h" if ok else "not identified (under 3 trips rest on it; kept as configured)"
        )
        lines.append(f"  {g.name:<20} {lead:<18} {shown}  [bounds {g.low_kmh:g}-{g.high_kmh:g}]")
    lines.append(f"  {'access':<20} {'':<18} {fs['access_speed_kmh']:g} km/h")
    lines.append(
        f"  {'urban factor':<20} {'':<18} {cal.urban_speed_factor:g}  [tried "
        + ", ".join(f"{x:g}" for x in URBAN_FACTORS)
        + "; non-expressway roads near the largest cities, geo.urban]"
    )
    for hit in cal.fit.at_bound:
        lines.append(f"warning: {hit}: the data push the parameter beyond its stated range")
    lines.append("fits of the folds (each tested on the trips it did not see):")
    for f in cal.folds:
        speeds = ", ".join(f"{k} {v:g}" for k, v in f["speeds_kmh"].items() if v is not None)
        lines.append(
            f"  fold {f['fold'] + 1} ({f['trips']} held back): {speeds}, access "
            f"{f['access_speed_kmh']:g} km/h, urban factor {f.get('urban_speed_factor', 1):g}"
            + (f"; {'; '.join(f['at_bound'])}" if f["at_bound"] else "")
        )
    return lines


def write_calibration_tables(cal: Calibration, out_dir: str | Path) -> dict[str, Path]:
    """Write ``trips_calibration.csv`` (per trip: stated range, model minutes and error with the
    configured speeds, fitted in sample and held back) and ``calibration.json`` (the table of
    :func:`calibration_table`, the fit, the speed table, the folds) into ``out_dir``."""
    o = Path(out_dir)
    base = cal.before.table[
        [
            c
            for c in (
                "trip_row",
                "origin_name",
                "dest_name",
                "dest_kind",
                "region6_code",
                "minutes_low",
                "minutes_high",
            )
            if c in cal.before.table.columns
        ]
    ].copy()
    for name, v in (
        ("configured", cal.before),
        ("fitted", cal.in_sample),
        ("held_back", cal.held_back),
    ):
        t = v.table.set_index("trip_row")
        base[f"model_min_{name}"] = base["trip_row"].map(t["model_min"]).to_numpy()
        base[f"error_{name}"] = base["trip_row"].map(t["error"]).to_numpy()
        base[f"within_{name}"] = base["trip_row"].map(t["within_tolerance"]).to_numpy()
    paths = {"csv": o / "trips_calibration.csv", "json": o / "calibration.json"}
    write_text_atomic(paths["csv"], base.to_csv(index=False, lineterminator="\n"))
    doc = {
        "table": calibration_table(cal).to_dict("records"),
        "fit": fit_summary(cal.fit),
        "speed_kmh": cal.speed_kmh,
        "folds": cal.folds,
    }
    write_text_atomic(
        paths["json"], json.dumps(doc, ensure_ascii=False, indent=1, default=_json_default) + "\n"
    )
    return paths


def _verdict(cal: Calibration) -> str:
    """Whether the fitted speeds beat the configured ones on trips they did not see (the
    configured speeds were not fitted to these trips, so their figures are out of sample)."""
    b, h = cal.before.summary, cal.held_back.summary
    if b["median_abs_error"] is None or h["median_abs_error"] is None:
        return "verdict: no trip could be timed; nothing to compare"
    better_err = h["median_abs_error"] < b["median_abs_error"]
    better_tol = h["within_tolerance_share"] >= b["within_tolerance_share"]
    if better_err and better_tol:
        return (
            "verdict: the fitted speeds beat the configured ones on held-back trips "
            f"({_pct(h['median_abs_error'])} vs {_pct(b['median_abs_error'])} median error)"
        )
    return (
        "verdict: the fitted speeds do NOT beat the configured ones on held-back trips "
        f"({_pct(h['median_abs_error'])} vs {_pct(b['median_abs_error'])} median error, "
        f"{_pct(h['within_tolerance_share'])} vs {_pct(b['within_tolerance_share'])} within "
        "tolerance): keep the configured speeds, or add trips"
    )


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _replace_in_section(text: str, section: str, values: Mapping[str, float], src: str) -> str:
    """Replace ``key = number`` lines of one ``[section]`` (comments kept); a key the section
    lacks is added at its end."""
    lines = text.split("\n")
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    start = next(
        (i for i, ln in enumerate(lines) if (m := header.match(ln)) and m.group(1) == section), None
    )
    if start is None:
        raise ConfigError(f"no [{section}] table to write the calibrated values into", source=src)
    end = next((i for i in range(start + 1, len(lines)) if header.match(lines[i])), len(lines))
    todo = dict(values)
    for i in range(start + 1, end):
        m = re.match(rf'^(\s*)("?)([A-Za-z0-9_\-]+)\2(\s*=\s*)({_NUMBER})(.*)$', lines[i])
        if m and m.group(3) in todo:
            lines[i] = (
                f"{m.group(1)}{m.group(2)}{m.group(3)}{m.group(2)}{m.group(4)}{todo.pop(m.group(3)):g}{m.group(6)}"
            )
    last = end
    while last > start + 1 and not lines[last - 1].strip():
        last -= 1
    lines[last:last] = [f"{k} = {v:g}" for k, v in todo.items()]
    return "\n".join(lines)


def write_calibrated_config(
    source_config: str | Path,
    target: str | Path,
    *,
    speed_kmh: Mapping[str, float],
    access_speed_kmh: float,
    urban_speed_factor: float | None = None,
    comment: str = "",
    forbidden: tuple[str | Path, ...] = (),
    overwrite: bool = False,
) -> Path:
    """Write a copy of ``source_config`` with the fitted speeds into a new file ``target``.

    Parameters
    ----------
    source_config
        The region TOML the calibration started from (never written).
    target
        The new file.
    speed_kmh
        The full speed table; only keys whose value changed are rewritten.
    access_speed_kmh
        The fitted access speed.
    comment
        Lines put at the top of the copy as TOML comments (e.g. the fit and its error).
    forbidden
        Other inputs the target must not be (the trips file).
    overwrite
        Replace an existing ``target`` (never the source or a forbidden file).

    Raises
    ------
    InputError
        The target is an input, or exists without ``overwrite``.
    """
    src, dst = Path(source_config), Path(target)
    if dst.resolve() in {src.resolve(), *(Path(p).resolve() for p in forbidden)}:
        raise InputError(
            "--write-config must name a new file, not an input (the region config or the trips "
            "file); give another path",
            source=str(dst),
        )
    if dst.exists() and not overwrite:
        raise InputError("the file exists; give a new path or add --overwrite", source=str(dst))
    text = src.read_text(encoding="utf-8")
    current = tomllib.loads(text)
    old = current.get("roads", {}).get("speed_kmh", {})
    changed = {k: float(v) for k, v in speed_kmh.items() if float(old.get(k, math.nan)) != float(v)}
    text = _replace_in_section(text, "roads.speed_kmh", changed, str(src))
    text = _replace_in_section(text, "region", {"access_speed_kmh": access_speed_kmh}, str(src))
    if urban_speed_factor is not None:
        text = _replace_in_section(
            text, "roads", {"urban_speed_factor": urban_speed_factor}, str(src)
        )
    if comment:
        text = "".join(f"# {ln}\n".replace("# \n", "#\n") for ln in comment.splitlines()) + text
    with atomic_path(dst) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        written = load_region_config(tmp)  # the copy must be a valid region config
        if any(abs(written.roads.speed_kmh[k] - v) > 1e-9 for k, v in speed_kmh.items()):
            raise ConfigError(
                "the calibrated speeds did not land in [roads.speed_kmh]", source=str(dst)
            )
        if abs(written.access_speed_kmh - access_speed_kmh) > 1e-9:
            raise ConfigError(
                "the calibrated access speed did not land in [region]", source=str(dst)
            )
    return dst
