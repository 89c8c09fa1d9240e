"""Compare two run output folders: every ``tables/*.csv`` and ``rasters/*`` byte for byte, and
the GeoPackage's tables by content (an sqlite dump, rows sorted; GDAL's ``gpkg_contents``
timestamps left out). Prints IDENTICAL or the files that differ; exit status 1 when any does.

Usage: ``python bench/compare_outputs.py OUT_BEFORE OUT_AFTER`` (e.g. a copy of ``out/vietnam``
made before a change, and ``out/vietnam`` after ``make run``).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

VOLATILE = ("last_change",)


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        out = {}
        query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        for (name,) in con.execute(query).fetchall():
            cols = [
                r[1] for r in con.execute(f'PRAGMA table_info("{name}")') if r[1] not in VOLATILE
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            out[name] = sorted(con.execute(f'SELECT {select} FROM "{name}"').fetchall(), key=repr)
        return out


def compare(a: Path, b: Path) -> list[str]:
    """Names of the outputs of ``a`` that differ in ``b`` (or are missing there)."""
    bad = []
    for f in sorted([*(a / "tables").glob("*.csv"), *(a / "rasters").glob("*")]):
        g = b / f.relative_to(a)
        if not g.exists() or f.read_bytes() != g.read_bytes():
            bad.append(str(f.relative_to(a)))
    da, db = _dump(a / "infra_overlap.gpkg"), _dump(b / "infra_overlap.gpkg")
    bad += [f"gpkg {t}" for t in da if da[t] != db.get(t)]
    return bad


if __name__ == "__main__":
    differ = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("IDENTICAL" if not differ else "DIFFER: " + ", ".join(differ))
    sys.exit(1 if differ else 0)
