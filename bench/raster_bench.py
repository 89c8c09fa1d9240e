"""A population raster summed onto the demand grid (issue 19, item 3): the footprint-overlap
kernel of ``geo.population_warp.sum_chunk`` against GDAL's ``sum`` warp, on a window of the
synthetic national raster of ``bench/full_resolution.py`` (``--stage raster_write`` writes it).

The window (``--row0``, ``--rows``; default 2,000 rows × the full 17,767 columns through the Red
River delta) is read in the production row chunks (``geo.population._row_windows``: 64 MB of
float64) and summed onto the national grid of each cell size (the provinces' bounds in EPSG:3405,
as ``full_resolution.py``), chunk by chunk, by:

- ``overlap``: ``sum_chunk``, the production kernel (numba);
- ``gdal``: ``gdal_sum_chunk``, GDAL's ``sum`` warp of each whole chunk (the earlier method);
- ``gdal_strips``: GDAL's ``sum`` warp of 1,024-column strips of each chunk (GDAL option 1,
  smaller chunks);
- ``gdal_presum4``: each chunk block-summed 4 × 4 in numpy, then GDAL's ``sum`` warp (option 3,
  for the 1 km grid: a 370 m source onto 1 km cells);
- ``gdal_tiles``: GDAL's ``sum`` warp of 32 × 32-pixel tiles: GDAL's approximate transformer is
  exact enough on a small tile (on a full-width chunk it moves people by up to a pixel), so this
  is the reference of fidelity (slow).

Per method and cell size: CPU and wall seconds of the sum (the read is timed once, apart), the
total against the window's people, and per cell against the reference (``gdal_tiles``, else the
last of ``--methods``): max and 99th-percentile absolute difference (people) and relative
difference (cells of >= 1 person). The ratio GDAL / overlap is the speed-up; the national figure
scales by the raster's cells / the window's. ``--production CELL`` times the production path
instead (``people_from_raster`` on the grid rows under the window; ``--row0 0 --rows 19737``: the
whole country). JSON lines to ``OUT/raster_bench.jsonl``, a table to ``OUT/raster_bench.md``.

    nice .venv/bin/python bench/raster_bench.py --raster /tmp/h19_full/synthetic_vnm_ppp_100m.tif
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

METRIC = "EPSG:3405"
TILE = 32


def _grid(cell: float):
    from full_resolution import _provinces

    from analysis.demand import grid_for_bounds

    _, prov = _provinces()
    return grid_for_bounds(tuple(prov.to_crs(METRIC).total_bounds), crs=METRIC, cell_size_m=cell)


def read_window(path: Path, row0: int, rows: int):
    """The window's chunks as production reads them: [(people float64, transform)], crs, the
    raster's cell count, read CPU seconds."""
    import rasterio
    from rasterio.windows import Window

    from geo.population import _people, _row_windows

    t = time.process_time()
    with rasterio.open(path) as ds:
        win = Window(0, row0, ds.width, min(rows, ds.height - row0))
        chunks = [
            (_people(ds.read(1, window=w), ds.nodata), ds.window_transform(w))
            for w in _row_windows(ds, win)
        ]
        return chunks, ds.crs, ds.width * ds.height, time.process_time() - t


def _tiled(people, src, crs, shape, dst, dst_crs, tile=(TILE, TILE)):
    from rasterio.transform import Affine

    from geo.population_warp import gdal_sum_chunk

    out = []
    for r in range(0, people.shape[0], tile[0]):
        for c in range(0, people.shape[1], tile[1]):
            q = people[r : r + tile[0], c : c + tile[1]]
            if q.any():
                t = src @ Affine.translation(c, r)
                got = gdal_sum_chunk(np.ascontiguousarray(q), t, crs, shape, dst, dst_crs)
                if got is not None:
                    out.append(got)
    return out


def _presum(people, src, crs, shape, dst, dst_crs, k=4):
    """Block-sum k × k source pixels (the last partial block padded with zeros), then GDAL."""
    from rasterio.transform import Affine

    from geo.population_warp import gdal_sum_chunk

    h, w = -(-people.shape[0] // k) * k, -(-people.shape[1] // k) * k
    pad = np.zeros((h, w))
    pad[: people.shape[0], : people.shape[1]] = people
    block = pad.reshape(h // k, k, w // k, k).sum(axis=(1, 3))
    got = gdal_sum_chunk(block, src @ Affine.scale(k), crs, shape, dst, dst_crs)
    return [] if got is None else [got]


def run_method(method: str, chunks, crs, grid) -> tuple[tuple[int, int, np.ndarray], float, float]:
    """(r0, c0, dense part of the grid under the window), CPU s, wall s."""
    from rasterio.transform import from_origin

    from geo.population_warp import gdal_sum_chunk, sum_chunk

    dst = from_origin(grid.x0, grid.y0, grid.cell_size_m, grid.cell_size_m)
    one = {"overlap": sum_chunk, "gdal": gdal_sum_chunk}.get(method)
    t, tw = time.process_time(), time.perf_counter()
    parts = []
    for people, src in chunks:
        if not people.any():
            continue
        if method == "gdal_strips":
            parts += _tiled(people, src, crs, grid.shape, dst, grid.crs, (people.shape[0], 1024))
        elif method == "gdal_presum4":
            parts += _presum(people, src, crs, grid.shape, dst, grid.crs)
        elif one is None:
            parts += _tiled(people, src, crs, grid.shape, dst, grid.crs)
        else:
            got = one(people, src, crs, grid.shape, dst, grid.crs)
            if got is not None:
                parts.append(got)
    cpu, wall = time.process_time() - t, time.perf_counter() - tw
    r0 = min(p[0] for p in parts)
    c0 = min(p[1] for p in parts)
    r1 = max(p[0] + p[2].shape[0] for p in parts)
    c1 = max(p[1] + p[2].shape[1] for p in parts)
    dense = np.zeros((r1 - r0, c1 - c0))
    for r, c, p in parts:
        dense[r - r0 : r - r0 + p.shape[0], c - c0 : c - c0 + p.shape[1]] += p
    return (r0, c0, dense), cpu, wall


def fidelity(
    ref: tuple[int, int, np.ndarray], got: tuple[int, int, np.ndarray]
) -> dict[str, float]:
    """Per-cell differences of ``got`` against ``ref`` (both placed on their common box)."""
    r0, c0 = min(ref[0], got[0]), min(ref[1], got[1])
    r1 = max(x[0] + x[2].shape[0] for x in (ref, got))
    c1 = max(x[1] + x[2].shape[1] for x in (ref, got))
    a, b = np.zeros((r1 - r0, c1 - c0)), np.zeros((r1 - r0, c1 - c0))
    for z, (r, c, p) in ((a, ref), (b, got)):
        z[r - r0 : r - r0 + p.shape[0], c - c0 : c - c0 + p.shape[1]] = p
    m = (a > 0) | (b > 0)
    d = np.abs(a[m] - b[m])
    big = a[m] >= 1.0
    rel = d[big] / a[m][big]
    return {
        "abs_max": float(d.max()),
        "abs_p99": float(np.percentile(d, 99)),
        "rel_max": float(rel.max()),
        "rel_p99": float(np.percentile(rel, 99)),
        "rel_median": float(np.median(rel)),
    }


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _warm() -> None:
    """Load the compiled kernel (numba) before timing."""
    from geo.population_warp import _spread

    lattice = np.array([0, 1], dtype=np.int64)
    for dtype in ("float32", "float64"):
        one = np.ones((1, 1), dtype)
        _spread(one, np.nan, lattice, lattice, np.eye(2), np.eye(2), np.zeros((2, 2)))


def bench(args: argparse.Namespace) -> list[dict[str, Any]]:
    chunks, crs, raster_cells, t_read = read_window(Path(args.raster), args.row0, args.rows)
    window_px = sum(p.size for p, _ in chunks)
    people = float(sum(p.sum() for p, _ in chunks))
    scale = raster_cells / window_px
    _warm()
    rows: list[dict[str, Any]] = []
    for cell in args.cells:
        grid = _grid(cell)
        results = {m: run_method(m, chunks, crs, grid) for m in args.methods}
        ref_name = "gdal_tiles" if "gdal_tiles" in results else args.methods[-1]
        ref = results[ref_name][0]
        base = results.get("gdal")
        for m, (got, cpu, wall) in results.items():
            row = {
                "cell_m": cell,
                "method": m,
                "window_px": window_px,
                "populated_px": int(sum(np.count_nonzero(p) for p, _ in chunks)),
                "read_cpu_s": t_read,
                "cpu_s": cpu,
                "wall_s": wall,
                "national_cpu_s_est": cpu * scale,
                "speedup_vs_gdal_cpu": base[1] / cpu if base else float("nan"),
                "people_window": people,
                "reference": ref_name,
                "people_kept": float(got[2].sum()),
                "people_lost": people - float(got[2].sum()),
                "cells": int(np.count_nonzero(got[2])),
                **fidelity(ref, got),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    rows.append({"method": "peak", "vm_hwm_mb": vm_hwm_mb(), "scale_to_national": scale})
    return rows


def production(args: argparse.Namespace, cell: float) -> dict[str, Any]:
    """``analysis.demand.people_from_raster`` (read, sum, sparse cells) on the national grid's
    rows under the window, in this process: CPU, wall and peak RSS of the production path."""
    import rasterio
    from rasterio.warp import transform_bounds

    from analysis.demand import people_from_raster
    from analysis.results import GridSpec

    grid = _grid(cell)
    with rasterio.open(args.raster) as ds:
        top = ds.transform.f + args.row0 * ds.transform.e
        bottom = top + args.rows * ds.transform.e
        box = transform_bounds(ds.crs, METRIC, ds.bounds.left, bottom, ds.bounds.right, top)
    r0 = max(0, int((grid.y0 - box[3]) // cell))
    r1 = min(grid.shape[0], int(-((box[1] - grid.y0) // cell)))
    band = GridSpec(grid.crs, grid.x0, grid.y0 - r0 * cell, cell, (r1 - r0, grid.shape[1]))
    _warm()
    t, tw = time.process_time(), time.perf_counter()
    cells = people_from_raster(args.raster, band)
    return {
        "cell_m": cell,
        "method": "production",
        "grid_rows": band.shape[0],
        "national_grid_rows": grid.shape[0],
        "cpu_s": time.process_time() - t,
        "wall_s": time.perf_counter() - tw,
        "national_cpu_s_est": (time.process_time() - t) * grid.shape[0] / band.shape[0],
        "cells": int(cells.flat.size),
        "people_kept": float(cells.people.sum()),
        "vm_hwm_mb": vm_hwm_mb(),
    }


def report(rows: list[dict[str, Any]]) -> str:
    head = (
        "| cell | method | CPU s | wall s | × GDAL (CPU) | national CPU s (est.) | people lost "
        "| abs max | abs p99 | rel p99 | rel median |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['cell_m']:g} m | {r['method']} | {r['cpu_s']:.2f} | {r['wall_s']:.1f} "
        f"| {r['speedup_vs_gdal_cpu']:.1f} | {r['national_cpu_s_est']:.0f} | {r['people_lost']:,.2f} "
        f"| {r['abs_max']:.3g} | {r['abs_p99']:.3g} | {r['rel_p99']:.3g} | {r['rel_median']:.3g} |\n"
        for r in rows
        if r["method"] != "peak"
    )
    peak = rows[-1]
    r0 = rows[0]
    return (
        f"Window: {r0['window_px']:,} pixels ({r0['populated_px']:,} populated, "
        f"{r0['people_window']:,.1f} people), read + cleaned in {r0['read_cpu_s']:.2f} CPU s; "
        f"national = × {peak['scale_to_national']:.2f}; peak RSS {peak['vm_hwm_mb']:,.0f} MB. "
        f"Differences per cell against {r0['reference']}.\n\n" + head + body
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--raster", default="/tmp/h19_full/synthetic_vnm_ppp_100m.tif")
    ap.add_argument("--row0", type=int, default=2400)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--cells", type=float, nargs="+", default=[1000.0, 100.0])
    ap.add_argument("--methods", nargs="+", default=["overlap", "gdal", "gdal_tiles"])
    ap.add_argument("--out", default="/tmp/infra_overlap_bench/raster")
    ap.add_argument(
        "--production",
        type=float,
        metavar="CELL",
        help="only time people_from_raster on the grid rows under the window (one cell size)",
    )
    args = ap.parse_args(argv)
    if not Path(args.raster).is_file():
        print(
            f"{args.raster}: missing; write it with bench/full_resolution.py --stage raster_write"
        )
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.production:
        row = production(args, args.production)
        with open(out / "raster_bench.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(json.dumps(row))
        return 0
    rows = bench(args)
    with open(out / "raster_bench.jsonl", "a") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    text = report(rows)
    (out / "raster_bench.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
