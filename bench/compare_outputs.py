"""Compare two output folders of ``cli run`` (issue 18, "behaviour unchanged").

    python bench/compare_outputs.py BEFORE_DIR AFTER_DIR

Reads both folders and lists every difference: tables/*.csv byte for byte (and, when they
differ, which columns and how many rows), the GeoPackage layer by layer through pyogrio (columns,
values, geometry as WKB), rasters/* byte for byte, report.html and map.html with the run's
timestamps and absolute paths removed, and manifest.json without what differs between any two
runs (run time, timings, the hashes of the output files, which are compared above) and with
each checkout's own folder (``out/<region>``'s grandparent) written as ``<REPO>``. The
``.infra-overlap-run`` marker holds the manifest's hash and is not compared. Exit status 0 when
nothing differs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely

# manifest keys that differ between two runs of the same code on the same data
VOLATILE = ("run_at_utc", "timings_s", "outputs", "python", "packages")
SKIP = (".infra-overlap-run",)
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?")
SECONDS = re.compile(r"\b\d+(\.\d+)? ?s\b")


def _csv(a: Path, b: Path) -> list[str]:
    if a.read_bytes() == b.read_bytes():
        return []
    x = pd.read_csv(a, dtype=str, keep_default_na=False)
    y = pd.read_csv(b, dtype=str, keep_default_na=False)
    out = []
    if list(x.columns) != list(y.columns):
        out.append(f"columns {sorted(set(x.columns) ^ set(y.columns))} on one side only")
    if len(x) != len(y):
        out.append(f"rows {len(x)} -> {len(y)}")
    else:
        for c in [c for c in x.columns if c in y.columns]:
            n = int((x[c] != y[c]).sum())
            if n:
                out.append(f"column {c}: {n} rows differ")
    return out or ["bytes differ (same parsed values)"]


def _gpkg(a: Path, b: Path) -> list[str]:
    la = {str(n) for n, _ in pyogrio.list_layers(a)}
    lb = {str(n) for n, _ in pyogrio.list_layers(b)}
    out = [f"layer {n} on one side only" for n in sorted(la ^ lb)]
    for name in sorted(la & lb):
        x = pyogrio.read_dataframe(a, layer=name)
        y = pyogrio.read_dataframe(b, layer=name)
        if list(x.columns) != list(y.columns) or len(x) != len(y):
            out.append(f"layer {name}: columns/rows {x.shape} -> {y.shape}")
            continue
        for c in x.columns:
            if c == "geometry":
                wa = [shapely.to_wkb(g) if g is not None else b"" for g in x[c]]
                wb = [shapely.to_wkb(g) if g is not None else b"" for g in y[c]]
                n = sum(p != q for p, q in zip(wa, wb, strict=True))
            else:
                both_na = x[c].isna().to_numpy() & y[c].isna().to_numpy()
                differ = x[c].astype(object).to_numpy() != y[c].astype(object).to_numpy()
                n = int((differ & ~both_na).sum())
            if n:
                out.append(f"layer {name}: column {c}: {n} rows differ")
    return out


def _repo(out: Path) -> str:
    return str(out.resolve().parents[1])


def _text(path: Path, out: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = text.replace(str(out.resolve()), "<OUT>").replace(_repo(out), "<REPO>")
    return SECONDS.sub("<S>", TIME.sub("<TIME>", text))


def _manifest(a: Path, b: Path, before: Path, after: Path) -> list[str]:
    x, y = (
        json.loads(p.read_text(encoding="utf-8").replace(_repo(out), "<REPO>"))
        for p, out in ((a, before), (b, after))
    )
    out = []
    for k in sorted(set(x) | set(y)):
        if k in VOLATILE:
            continue
        if x.get(k) != y.get(k):
            out.append(f"manifest {k}: {_short(x.get(k))} -> {_short(y.get(k))}")
    return out


def _short(v: Any) -> str:
    s = json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) < 160 else s[:157] + "..."


def compare(before: Path, after: Path) -> list[str]:
    """Every difference between two output folders, one line each (empty: none)."""
    out: list[str] = []
    names = sorted(
        {p.relative_to(before).as_posix() for p in before.rglob("*") if p.is_file()}
        | {p.relative_to(after).as_posix() for p in after.rglob("*") if p.is_file()}
    )
    for name in names:
        if name in SKIP:
            continue
        a, b = before / name, after / name
        if not a.is_file() or not b.is_file():
            out.append(f"{name}: only in {'after' if b.is_file() else 'before'}")
            continue
        if name.endswith(".csv"):
            diffs = _csv(a, b)
        elif name.endswith(".gpkg"):
            diffs = _gpkg(a, b)
        elif name == "manifest.json":
            diffs = _manifest(a, b, before, after)
        elif name.endswith((".html", ".md", ".qml", ".sld", ".json")):
            diffs = [] if _text(a, before) == _text(b, after) else ["text differs"]
        elif name.endswith(".qgz"):
            continue  # a zip of the .qgs with the run's paths; its layers are the GeoPackage's
        else:
            diffs = [] if a.read_bytes() == b.read_bytes() else ["bytes differ"]
        out += [f"{name}: {d}" for d in diffs]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    diffs = compare(args.before, args.after)
    print("\n".join(diffs) if diffs else "no difference")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
