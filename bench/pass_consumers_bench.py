"""Per-block cost of the pass consumers outside ``analysis.blocks`` / ``block_sets`` /
``aggregate_blocks`` at the 100 m scale: ``type_demand_passes.type_demand_blocks`` (its own two passes,
for each demand kind of the default config), ``verdict_blocks.Catchments`` and ``Removal``, and
``block_measures.Polygons`` (``analysis.polygons.catchment_polygons``).

The synthetic blocks are those of the 100 m national run: 27.9 M demand cells, 1,000
facilities, a block of 8 Mi pairs over 32 facilities sorted by (facility, cell), int64 facility
and cell, float64 times:

- ``uniform``: each facility's cells drawn at random over the grid, times uniform below the
  type's limit (the demand and verdict consumers, whose cost does not depend on where the
  cells lie);
- ``blob``: the cells of a 5,000 x 5,600 raster (row-major, the first 27.9 M populated) and
  each facility's cells a disc of 262,144 cells around its own centre, the time growing with
  the distance (x 0.8-1.0 noise) up to the limit: compact outlines as the polygons meet them.

``Catchments`` is fed ``--blocks`` blocks of successive facilities (the cost of a block may
grow with what the earlier blocks merged): its row gives the mean and the last block's ms, and
the next one the listing of the merged keys once after the pass.
Each case's peak is the high-water mark of the process's RSS (``VmHWM``, reset before the
case through ``/proc/self/clear_refs``) above the RSS before it.

Measured (session 7, 2 shared cores, against the branch point's consumers with ``--root``):
type_demand 1,240-1,300 -> 700-830 ms per block for both passes (peak 770 -> 211 MiB; on the
blob block, realistic locality, 930-1,500 -> 165-406 ms), Removal 250-380 -> 145-190 ms,
Polygons 2,060 -> 734 ms (the shapely assembly was two thirds of it), Catchments 2,244 mean /
3,163 at the 4th block, growing with the keys merged -> 670-800 flat, plus 0.7-1 s once to
list the keys (peak 1,669 -> 703 MiB).

Usage: ``python bench/pass_consumers_bench.py [--blocks 4] [--only NAME] [--root DIR]``
(``--root /work/main``: main's consumers, same blocks and machine); prints a markdown table
(runs in about a minute and a half).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# --root DIR: time another checkout's consumers (e.g. main's, for the "before" column)
_at = sys.argv.index("--root") + 1 if "--root" in sys.argv else 0
sys.path.insert(0, sys.argv[_at] if _at else str(ROOT))

from analysis.block_measures import Polygons  # noqa: E402
from analysis.catchments import TravelTimes  # noqa: E402
from analysis.demand import DemandGrid  # noqa: E402
from analysis.results import GridSpec  # noqa: E402
from analysis.type_demand import DemandSpec  # noqa: E402
from analysis.type_demand_passes import type_demand_blocks  # noqa: E402
from analysis.verdict_blocks import Catchments, Removal  # noqa: E402

N_CELLS = 27_900_000
N_FAC = 1000
PER_BLOCK = 32
PAIRS = 8 * 2**20
SHAPE = (5000, 5600)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def uniform_block(k: int, limit_s: float, seed: int = 0) -> TravelTimes:
    """Block ``k``: facilities 32k..32k+31, random distinct cells each, uniform times."""
    rng = np.random.default_rng(seed + k)
    per = PAIRS // PER_BLOCK
    facs, cells = [], []
    for j in range(PER_BLOCK):
        c = np.unique(rng.integers(0, N_CELLS, int(per * 1.02)))[:per]
        cells.append(c)
        facs.append(np.full(c.size, PER_BLOCK * k + j, np.int64))
    fac, cell = np.concatenate(facs), np.concatenate(cells).astype(np.int64)
    t = rng.uniform(0.0, limit_s, fac.size)
    return TravelTimes(fac, cell, t, N_FAC, N_CELLS, limit_s)


def blob_grid() -> DemandGrid:
    """The first 27.9 M cells of a 5,000 x 5,600 raster, row-major (100 m cells)."""
    idx = np.arange(N_CELLS, dtype=np.int64)
    grid = GridSpec("EPSG:3405", 0.0, 0.0, 100.0, SHAPE)
    z = np.zeros(0)
    kw = {"grid": grid, "row": idx // SHAPE[1], "col": idx % SHAPE[1], "population": z,
          "area": z.astype(np.int64), "xy": z}  # fmt: skip
    names = {f.name for f in dataclasses.fields(DemandGrid)}  # xy: not in every version
    return DemandGrid(**{k: v for k, v in kw.items() if k in names})


def blob_block(limit_s: float, seed: int = 0) -> TravelTimes:
    """32 facilities, each a disc of about 262,144 cells, time ~ distance to its centre."""
    rng = np.random.default_rng(seed)
    per = PAIRS // PER_BLOCK
    r = np.sqrt(per / np.pi)
    span = int(r) + 2
    dr, dc = np.mgrid[-span : span + 1, -span : span + 1]
    dist = np.hypot(dr, dc).ravel()
    disc = np.argsort(dist, kind="stable")[:per]
    facs, cells, times = [], [], []
    for j in range(PER_BLOCK):
        r0 = rng.integers(span, N_CELLS // SHAPE[1] - span)
        c0 = rng.integers(span, SHAPE[1] - span)
        cell = (r0 + dr.ravel()[disc]) * SHAPE[1] + (c0 + dc.ravel()[disc])
        t = np.minimum(limit_s, dist[disc] / r * limit_s * rng.uniform(0.8, 1.0, per))
        o = np.argsort(cell)
        facs.append(np.full(per, j, np.int64))
        cells.append(cell[o])
        times.append(t[o])
    return TravelTimes(
        np.concatenate(facs), np.concatenate(cells), np.concatenate(times), N_FAC, N_CELLS,
        limit_s,
    )  # fmt: skip


def timed(fn: Callable[[], Any], repeat: int = 2) -> tuple[float, int]:
    """Best ms of ``repeat`` calls (the first one compiles and warms) and the peak KiB."""
    fn()
    rss0 = _rss_kib("VmRSS")
    _reset_peak()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3, max(0, _rss_kib("VmHWM") - rss0)


def demand_case(kind: str) -> Callable[[], Any]:
    specs = {
        "huff": (DemandSpec(kind="huff", decay="power", beta=2.0), (60.0, 90.0, 120.0)),
        "economic_huff": (
            DemandSpec(kind="economic_huff", decay="power", beta=0.9),
            (120.0, 150.0, 180.0),
        ),
        "labour": (
            DemandSpec(kind="labour", decay="steps", step_weights=(1.0, 0.68, 0.22)),
            (30.0, 45.0, 60.0),
        ),
    }
    spec, breaks = specs[kind]
    block = uniform_block(0, 60.0 * max(breaks))
    rng = np.random.default_rng(1)
    cells = rng.uniform(0.0, 50.0, N_CELLS)
    active = rng.random(N_FAC) > 0.1
    area = rng.uniform(50.0, 500.0, N_FAC)
    return lambda: type_demand_blocks(
        spec, lambda: [block], cells, n_fac=N_FAC, breaks_min=breaks, active=active,
        area_ha=area,
    )  # fmt: skip


def catchments_case(n_blocks: int) -> tuple[float, float, int]:
    blocks = [uniform_block(k, 7200.0) for k in range(n_blocks)]
    rng = np.random.default_rng(2)
    w = rng.uniform(0.0, 50.0, N_CELLS)
    base = rng.random(N_FAC) > 0.1
    Catchments(w, threshold_s=5400.0, base=base).add(blocks[0])  # compile / warm
    rss0 = _rss_kib("VmRSS")
    _reset_peak()
    acc = Catchments(w, threshold_s=5400.0, base=base)
    ms = []
    for b in blocks:
        t0 = time.perf_counter()
        acc.add(b)
        ms.append((time.perf_counter() - t0) * 1e3)
    return float(np.mean(ms)), ms[-1], max(0, _rss_kib("VmHWM") - rss0)


def removal_case() -> Callable[[], Any]:
    block = uniform_block(0, 7200.0)
    rng = np.random.default_rng(3)
    p = rng.uniform(0.0, 50.0, N_CELLS)
    base = rng.random(N_FAC) > 0.1
    removed = rng.random(N_FAC) > 0.9

    acc = Removal(p, base=base, removed=removed, threshold_s=5400.0)  # the grid's minima once

    def run() -> None:
        acc.add(block)

    return run


def polygons_case() -> Callable[[], Any]:
    demand = blob_grid()
    block = blob_block(3600.0)
    breaks = (1800.0, 2700.0, 3600.0)
    return lambda: Polygons(demand, breaks).add(block)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=4, help="blocks fed to Catchments")
    ap.add_argument("--only", default="", help="run only the cases whose name contains this")
    ap.add_argument("--root", default=str(ROOT), help="the checkout whose consumers are timed")
    args = ap.parse_args()
    rows: list[tuple[str, str, int]] = []
    cases: dict[str, Callable[[], Callable[[], Any]]] = {
        "type_demand huff (2 passes)": lambda: demand_case("huff"),
        "type_demand economic_huff (2 passes)": lambda: demand_case("economic_huff"),
        "type_demand labour (2 passes)": lambda: demand_case("labour"),
        "verdict Removal.add": removal_case,
        "Polygons.add (blob block)": polygons_case,
    }
    for name, make in cases.items():
        if args.only and args.only not in name:
            continue
        ms, kib = timed(make())
        rows.append((name, f"{ms:,.0f}", kib))
    name = f"verdict Catchments.add ({args.blocks} blocks: mean / last)"
    if not args.only or args.only in name:
        mean, last, kib = catchments_case(args.blocks)
        rows.append((name, f"{mean:,.0f} / {last:,.0f}", kib))
    print("| consumer | ms per block | peak MiB above start |")
    print("|---|---:|---:|")
    for n, ms_s, kib in rows:
        print(f"| {n} | {ms_s} | {kib / 1024:,.0f} |")


if __name__ == "__main__":
    main()
