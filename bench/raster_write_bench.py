"""Writing a run's rasters (issue 19, ROADMAP "Next" 3(c)): ``maps.rasters.write_geotiff``
against the way it wrote them before (kept below as :func:`write_geotiff_old`: an uncompressed
staging GeoTIFF, ``mode`` / ``average`` overviews, then GDAL's COG driver with single-threaded
DEFLATE), in the same process, on the same synthetic rasters.

The rasters are a national 100 m grid's (default 9,900 × 10,000 = 99 M pixels), held as
``SparseRaster`` cells as a run holds them: ~28 % of the pixels populated in coherent patches (a
smooth random field thresholded, with ragged edges), per facility type a coverage count (int16,
0..8, nodata -1, a smooth field rounded) and a travel time (float32 minutes, smooth plus noise,
nodata -9999 beyond 240 min). ``--types 3`` writes the six rasters of a three-type run.

Per method, in its own process on the same rasters (saved as .npy and loaded before the clock
starts): wall and CPU seconds for all rasters, MB written, peak RSS above the RSS before the
method (``VmHWM`` after resetting it with ``/proc/self/clear_refs``: GDAL's block cache counts)
and tracemalloc's peak of Python / numpy allocations. Then the check: every raster's full-resolution pixels read back
from the new file equal the old file's (and the input's), both files are COGs with 4 overviews.
JSON lines to ``OUT/raster_write_bench.jsonl``, a table to ``OUT/raster_write_bench.md``.

    nice .venv/bin/python bench/raster_write_bench.py                # 9,900 x 10,000, 3 types
    nice .venv/bin/python bench/raster_write_bench.py --rows 3000 --cols 3000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import rasterio  # noqa: E402
import rasterio.shutil  # noqa: E402
from affine import Affine  # noqa: E402
from bench_common import reset_peak, status_mb  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402
from rasterio.windows import Window  # noqa: E402

from analysis.results import GridSpec, RasterLayer  # noqa: E402
from analysis.sparse_raster import SparseRaster  # noqa: E402
from geo.files import atomic_path  # noqa: E402

BLOCK_SIZE = 256
OVERVIEW_FACTORS = (2, 4, 8, 16)


def _rows_old(layer: RasterLayer, r0: int, r1: int) -> np.ndarray:
    """``SparseRaster.window`` as of 81f262a (its ``searchsorted`` cast the rows to int64)."""
    src = layer.array
    if not isinstance(src, SparseRaster):
        return np.asarray(src)[r0:r1]
    out: np.ndarray = np.full((r1 - r0, src.shape[1]), src.nodata, dtype=src.dtype)
    a, b = np.searchsorted(src.row, (r0, r1))
    out[src.row[a:b] - r0, src.col[a:b]] = src.values[a:b]
    return out


def write_geotiff_old(path: Path, layer: RasterLayer, grid: GridSpec, *, name: str = "") -> Path:
    """``maps.rasters.write_geotiff`` as of commit 81f262a (the reference)."""
    src = layer.array
    dtype = np.dtype(src.dtype)
    is_int = np.issubdtype(dtype, np.integer)
    profile = {
        "driver": "GTiff",
        "width": grid.shape[1],
        "height": grid.shape[0],
        "count": 1,
        "dtype": dtype.name,
        "crs": grid.crs,
        "transform": Affine(*grid.affine),
        "nodata": layer.nodata,
        "tiled": True,
        "blockxsize": BLOCK_SIZE,
        "blockysize": BLOCK_SIZE,
    }
    with atomic_path(path) as tmp:
        staging = tmp.with_name(tmp.stem + "-staging.tif")
        try:
            with rasterio.open(staging, "w", **profile) as dst:
                for r0 in range(0, grid.shape[0], BLOCK_SIZE):
                    r1 = min(r0 + BLOCK_SIZE, grid.shape[0])
                    window = Window(0, r0, grid.shape[1], r1 - r0)
                    dst.write(_rows_old(layer, r0, r1), 1, window=window)
                both = " / ".join(d for d in (layer.description_vi, layer.description) if d)
                dst.set_band_description(1, both)
                dst.set_band_unit(1, layer.unit)
                dst.update_tags(
                    NAME=name,
                    DESCRIPTION=layer.description,
                    DESCRIPTION_VI=layer.description_vi or layer.description,
                    UNIT=layer.unit,
                )
                dst.update_tags(
                    1, DESCRIPTION_VI=layer.description_vi, DESCRIPTION_EN=layer.description
                )
                dst.build_overviews(
                    list(OVERVIEW_FACTORS), Resampling.mode if is_int else Resampling.average
                )
            rasterio.shutil.copy(
                staging,
                tmp,
                driver="COG",
                BLOCKSIZE=BLOCK_SIZE,
                COMPRESS="DEFLATE",
                PREDICTOR="YES",
                OVERVIEWS="FORCE_USE_EXISTING",
            )
        finally:
            staging.unlink(missing_ok=True)
    return path


# --- synthetic rasters ---------------------------------------------------------------------------


def _smooth(rng: np.random.Generator, shape: tuple[int, int], scale: int) -> Any:
    """A function (r0, r1) -> rows r0..r1 of a smooth random field (bilinear upsampling of
    N(0, 1) noise on a lattice ``scale`` pixels apart), float32."""
    coarse = rng.standard_normal((shape[0] // scale + 2, shape[1] // scale + 2)).astype("float32")
    x = np.arange(shape[1], dtype="float32") / scale
    xi = x.astype(np.int64)
    fx = (x - xi)[None, :]

    def rows(r0: int, r1: int) -> np.ndarray:
        y = np.arange(r0, r1, dtype="float32") / scale
        yi = y.astype(np.int64)
        fy = (y - yi)[:, None]
        a, b = coarse[yi][:, xi], coarse[yi][:, xi + 1]
        c, d = coarse[yi + 1][:, xi], coarse[yi + 1][:, xi + 1]
        out: np.ndarray = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
        return out

    return rows


def synthetic_rasters(
    shape: tuple[int, int], n_types: int, populated: float = 0.28, seed: int = 19
) -> tuple[GridSpec, dict[str, RasterLayer]]:
    """A 100 m grid of ``shape`` and ``2 * n_types`` sparse rasters on its populated cells."""
    rng = np.random.default_rng(seed)
    land, detail = _smooth(rng, shape, 400), _smooth(rng, shape, 25)
    fields = [(_smooth(rng, shape, 300), _smooth(rng, shape, 120)) for _ in range(n_types)]
    # threshold of the land field that populates ``populated`` of the pixels (on a sample)
    sample = np.concatenate(
        [land(r, r + 1)[0] + 0.3 * detail(r, r + 1)[0] for r in range(0, shape[0], 97)]
    )
    cut = float(np.quantile(sample, 1.0 - populated))
    rows, cols = [], []
    counts: list[list[np.ndarray]] = [[] for _ in range(n_types)]
    times: list[list[np.ndarray]] = [[] for _ in range(n_types)]
    step = 512
    for r0 in range(0, shape[0], step):
        r1 = min(r0 + step, shape[0])
        mask = land(r0, r1) + 0.3 * detail(r0, r1) > cut
        rr, cc = np.nonzero(mask)
        rows.append((rr + r0).astype(np.int32))
        cols.append(cc.astype(np.int32))
        for t, (fc, ft) in enumerate(fields):
            k = np.clip(np.rint(2.0 + 2.0 * fc(r0, r1)[mask]), 0, 8).astype(np.int16)
            # network time (smooth) + the cell's own access time (a few minutes, per cell)
            access = np.abs(rng.normal(0.0, 1.5, rr.size)).astype("float32")
            m = 60.0 + 70.0 * ft(r0, r1)[mask] + access
            m = np.where((m < 0) | (m > 240), np.float32(-9999.0), np.maximum(m, 0.1))
            counts[t].append(k)
            times[t].append(m.astype(np.float32))
    row, col = np.concatenate(rows), np.concatenate(cols)
    grid = GridSpec(crs="EPSG:3405", x0=100_000.0, y0=2_600_000.0, cell_size_m=100.0, shape=shape)
    layers: dict[str, RasterLayer] = {}
    for t in range(n_types):
        name = f"type{t}"
        cnt = SparseRaster(shape, row, col, np.concatenate(counts[t]), -1)
        tim = SparseRaster(shape, row, col, np.concatenate(times[t]), -9999.0)
        layers[f"coverage_count_{name}"] = RasterLayer(cnt, -1, "facilities", "count", "số")
        layers[f"travel_time_{name}"] = RasterLayer(tim, -9999.0, "min", "time", "thời gian")
    return grid, layers


# --- measurement ---------------------------------------------------------------------------------


def run(method: str, fn: Any, layers: dict[str, RasterLayer], grid: GridSpec, out: Path) -> dict:
    folder = out / method
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    reset_peak()
    before = status_mb("VmRSS")
    tracemalloc.start()
    t, tc = time.perf_counter(), time.process_time()
    per: dict[str, float] = {}
    for name, layer in sorted(layers.items()):
        t1 = time.perf_counter()
        fn(folder / f"{name}.tif", layer, grid, name=name)
        per[name] = round(time.perf_counter() - t1, 2)
    wall, cpu = time.perf_counter() - t, time.process_time() - tc
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "method": method,
        "shape": list(grid.shape),
        "rasters": len(layers),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "per_raster_s": per,
        "mb_written": round(sum(p.stat().st_size for p in folder.glob("*.tif")) / 2**20, 1),
        "peak_rss_above_mb": round(status_mb("VmHWM") - before),
        "tracemalloc_peak_mb": round(traced / 2**20),
    }


def check(out: Path, layers: dict[str, RasterLayer]) -> dict:
    """Full-resolution pixels of new = old = the input, both COGs with 4 overviews (the checks of
    ``tests/cog_check.py``, and GDAL's validator when the system has it); per raster, the 16×
    overview of new against old: among pixels valid in both, the share equal (counts) or the
    largest difference (times); ``*_nodata_there``: 16 × 16 blocks holding a cell with a value
    drawn as nodata, ``*_value_on_empty``: blocks of nodata only given a value, ``*_drawn``:
    blocks with data that the count's .qml draws (>= 1; 0 and nodata are transparent)."""
    from tests.cog_check import cog_errors, gdal_validate

    ok, notes, overviews = True, [], {}
    for name, layer in sorted(layers.items()):
        files = [out / m / f"{name}.tif" for m in ("old", "new")]
        for f in files:
            errors = cog_errors(f)
            try:
                gdal = gdal_validate(f)
            except FileNotFoundError:
                gdal = None
            if errors or gdal:
                ok, notes = False, [*notes, f"{f}: {errors} {gdal or ''}"]
        with rasterio.open(files[0]) as a, rasterio.open(files[1]) as b:
            if len(a.overviews(1)) != 4 or b.overviews(1) != a.overviews(1):
                ok, notes = False, [*notes, f"{name}: overviews {a.overviews(1)} {b.overviews(1)}"]
            for r0 in range(0, a.height, 2048):
                w = Window(0, r0, a.width, min(2048, a.height - r0))
                want = layer.array.window(r0, r0 + int(w.height))
                if not (
                    np.array_equal(a.read(1, window=w), want)
                    and np.array_equal(b.read(1, window=w), want)
                ):
                    ok, notes = False, [*notes, f"{name}: pixels differ in rows {r0}+"]
                    break
            shape = (-(-a.height // 16), -(-a.width // 16))
            oa, ob = a.read(1, out_shape=shape), b.read(1, out_shape=shape)
        src = layer.array
        has = np.zeros(shape, bool)  # 16 x 16 blocks holding a cell that is not nodata
        cell = src.values != layer.nodata
        has[src.row[cell] // 16, src.col[cell] // 16] = True
        va, vb = oa != layer.nodata, ob != layer.nodata
        both = va & vb
        diff = oa[both].astype("float64") - ob[both]
        count = name.startswith("coverage")
        overviews[name] = {
            "blocks_with_data": int(has.sum()),
            "old_nodata_there": int((has & ~va).sum()),
            "new_nodata_there": int((has & ~vb).sum()),
            "old_value_on_empty": int((~has & va).sum()),
            "new_value_on_empty": int((~has & vb).sum()),
            # coverage counts: 0 and nodata are both transparent in the .qml, >= 1 drawn
            "old_drawn": int((has & (oa >= 1)).sum()) if count else None,
            "new_drawn": int((has & (ob >= 1)).sum()) if count else None,
            "equal_share" if count else "max_abs_diff": (
                round(float((diff == 0).mean()), 4)
                if count
                else round(float(np.abs(diff).max()), 4)
            ),
        }
    return {"method": "check", "pixels_equal_and_cogs": ok, "notes": notes, "ovr16": overviews}


def report(rows: list[dict], setup: dict) -> str:
    old, new = (next(r for r in rows if r["method"] == m) for m in ("old", "new"))
    head = (
        "| method | rasters | wall s | CPU s | MB written | peak RSS above start, MB "
        "| tracemalloc peak, MB |\n|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['method']} | {r['rasters']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
        f"| {r['mb_written']:,.1f} | {r['peak_rss_above_mb']:,} | {r['tracemalloc_peak_mb']:,} |\n"
        for r in rows
        if r["method"] != "check"
    )
    chk = rows[-1]
    return (
        f"Grid {setup['shape'][0]:,} × {setup['shape'][1]:,} ({setup['pixels']:,} pixels, "
        f"{setup['populated']:,} populated = {setup['share']:.1%}), built in {setup['build_s']:.1f} s; "
        f"{os.cpu_count()} CPUs, load average {setup['load']:.1f} at the start.\n\n"
        + head
        + body
        + f"\nold / new wall: **{old['wall_s'] / new['wall_s']:.2f}×**; "
        f"(the check compares old and new only) pixels equal and valid COGs: {chk['pixels_equal_and_cogs']} {chk['notes'] or ''}\n\n"
        "16× overview, new against old: "
        + "; ".join(f"{k}: {json.dumps(v)}" for k, v in chk["ovr16"].items())
        + "\n"
    )


def save_layers(folder: Path, grid: GridSpec, layers: dict[str, RasterLayer]) -> None:
    """The rasters' shared cells and each raster's values as .npy files (for the children)."""
    folder.mkdir(parents=True, exist_ok=True)
    first = next(iter(layers.values())).array
    np.save(folder / "row.npy", first.row)
    np.save(folder / "col.npy", first.col)
    meta = {"grid": [grid.crs, grid.x0, grid.y0, grid.cell_size_m, list(grid.shape)], "layers": {}}
    for name, layer in layers.items():
        np.save(folder / f"{name}.npy", layer.array.values)
        meta["layers"][name] = [layer.nodata, layer.unit, layer.description, layer.description_vi]
    (folder / "meta.json").write_text(json.dumps(meta))


def load_layers(folder: Path) -> tuple[GridSpec, dict[str, RasterLayer]]:
    meta = json.loads((folder / "meta.json").read_text())
    crs, x0, y0, size, shape = meta["grid"]
    grid = GridSpec(crs=crs, x0=x0, y0=y0, cell_size_m=size, shape=tuple(shape))
    row, col = np.load(folder / "row.npy"), np.load(folder / "col.npy")
    layers = {}
    for name, (nodata, unit, d_en, d_vi) in meta["layers"].items():
        values = np.load(folder / f"{name}.npy")
        layers[name] = RasterLayer(
            SparseRaster(grid.shape, row, col, values, nodata), nodata, unit, d_en, d_vi
        )
    return grid, layers


def methods() -> dict[str, Any]:
    """The writers compared: the old one, the production one and variants of it."""
    import maps.rasters as mr

    def variant(**consts: Any) -> Any:
        """``write_geotiff`` with some of the module's constants changed."""

        def fn(*a: Any, **k: Any) -> Path:
            saved = {c: getattr(mr, c) for c in consts}
            for c, v in consts.items():
                setattr(mr, c, v)
            try:
                return mr.write_geotiff(*a, **k)
            finally:
                for c, v in saved.items():
                    setattr(mr, c, v)

        return fn

    return {
        "old": write_geotiff_old,
        "new": mr.write_geotiff,
        "new_level6": variant(DEFLATE_LEVEL=6),  # GDAL's default level
        "new_1thread": variant(THREADS="1"),
        "new_gdal_cache": variant(CACHE_BYTES=0),  # GDAL's default cache (5 % of the RAM)
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=9900)
    ap.add_argument("--cols", type=int, default=10000)
    ap.add_argument("--types", type=int, default=3, help="facility types (two rasters each)")
    ap.add_argument("--out", default="/tmp/infra_overlap_bench/raster_write")
    ap.add_argument(
        "--methods",
        nargs="+",
        default=["old", "new"],
        help="old, new, and variants of new: new_level6 (DEFLATE level 6), new_1thread, "
        "new_gdal_cache (GDAL's default block cache)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)  # one method on the saved rasters
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.child:
        grid, layers = load_layers(out / "data")
        print(json.dumps(run(args.child, methods()[args.child], layers, grid, out)))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    grid, layers = synthetic_rasters((args.rows, args.cols), args.types)
    first = next(iter(layers.values())).array
    setup = {
        "shape": [args.rows, args.cols],
        "pixels": args.rows * args.cols,
        "populated": int(first.values.size),
        "share": first.values.size / (args.rows * args.cols),
        "build_s": time.perf_counter() - t,
        "load": os.getloadavg()[0],
        "rss_after_build_mb": round(status_mb("VmRSS")),
    }
    print(json.dumps(setup), flush=True)
    save_layers(out / "data", grid, layers)
    del layers, first
    rows = []
    for m in args.methods:  # each in its own process: its peak RSS and GDAL's cache its own
        child = [sys.executable, __file__, "--child", m, "--out", str(out)]
        done = subprocess.run(child, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        rows[-1]["load_after"] = os.getloadavg()[0]
        print(json.dumps(rows[-1]), flush=True)
    grid, layers = load_layers(out / "data")
    if {"old", "new"} <= set(args.methods):
        rows.append(check(out, layers))
        print(json.dumps(rows[-1]), flush=True)
    with open(out / "raster_write_bench.jsonl", "a") as fh:
        for r in [setup, *rows]:
            fh.write(json.dumps(r) + "\n")
    shutil.rmtree(out / "data", ignore_errors=True)
    if {"old", "new"} <= set(args.methods):
        text = report(rows, setup)
        (out / "raster_write_bench.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
