"""Full-resolution benchmark (issue 19): a national-size PBF, a 100 m population raster, 1,000
facilities, on synthetic data of the real size, offline.

Stages (each in its own process, so that its peak memory, VmHWM of /proc/self/status read by the
stage itself, is its own; ``--stage NAME`` runs one):

- ``pbf_write``: a synthetic Viet Nam PBF of about 270 MB (the Geofabrik extract's size) written
  with pyosmium: a jittered road grid over the country's land (highway tags in a hierarchy,
  some oneway and maxspeed, ways of up to 8 segments, one shape node per segment) and building
  ways (closed, ``building=yes``) that fill the file to size as in the real extract, where
  buildings are most of the nodes. Cached: written once per ``--out``.
- ``pbf_read``: ``geo.pbf.network_from_pbf`` (streaming, no networkx) and the CSR graph.
- ``raster_write``: a WorldPop-style 3 arc-second (~100 m) GeoTIFF over the country with
  >= 10 M populated land cells (clustered), written by row blocks. Cached.
- ``demand_1km`` / ``demand_100m``: the raster's populated cells counted
  (``population_from_raster``: the memory estimate's input), the raster summed onto the grid in
  row windows and kept sparse (``analysis.demand.people_from_raster``), the demand cells built
  (``demand_from_cells``; at 100 m the populated cells only) with the memory check; the demand is
  saved (``demand_<cell>m.npz``) for the catchment stage.
- ``catchments_1km`` / ``catchments_100m``: the graph of ``pbf_read`` (pickled), cells snapped,
  1,000 facilities in three types, every type reduced block by block
  (``analysis.blocks.cell_reductions``: counts, nearest two, coverage, unique and
  other-province demand), never holding every pair.
- ``kernel``: the kernel against raw scipy ``dijkstra(limit=)`` and networkx single-source on
  the ≥ 4 M-arc graph (``bench_kernel.kernel_section``: 100 facilities, 60 min).

Results: JSON lines in ``OUT/full_resolution.jsonl`` and a table in ``OUT/full_resolution.md``.
A stage that fails (out of memory, time) is reported with its exit code; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]
DATA = ROOT / "data" / "vietnam"
METRIC = "EPSG:3405"
TYPES = {"seaport": 150, "airport": 100, "industrial_park": 750}
RES_DEG = 1 / 1200  # WorldPop's 3 arc-seconds
STAGES = tuple(
    [
        "pbf_write",
        "pbf_read",
        "raster_write",
        "demand_1km",
        "demand_100m",
        "catchments_1km",
        "catchments_100m",
        "kernel",
        "run_1km",
        "run_100m",
        "run_100m_2x",
        "run_100m_dask",
    ]
)


from full_run import run as full_run  # noqa: E402 (after the sys.path line)
from full_run import run_report, vm_hwm_mb  # noqa: E402
from synthetic_vietnam import land  # noqa: E402


def stage_pbf_write(out: Path, target_mb: float) -> dict[str, Any]:
    """Roads, then buildings to the target size (bytes per building measured on a sample)."""
    from synthetic_vietnam import road_grid, write_pbf

    path = out / "synthetic_vietnam.osm.pbf"
    if path.is_file():
        return {"file": str(path), "bytes": path.stat().st_size, "cached": True}
    t0 = time.perf_counter()
    g = road_grid()
    tmp = path.with_suffix(".tmp.pbf")
    # bytes per building, on a sample (all junctions, 1,000 road segments)
    sample = {**g, "a": g["a"][:1000], "b": g["b"][:1000], "line": g["line"][:1000]}
    base = write_pbf(tmp, sample, 0) and tmp.stat().st_size
    write_pbf(tmp, sample, 300_000)
    per_building = (tmp.stat().st_size - base) / 300_000
    roads_bytes = 8.0 * (g["lon"].size + 2 * g["a"].size)  # measured: ~22 MB for the roads
    n_bld = max(0, int((target_mb * 1e6 - roads_bytes) / per_building))
    row = write_pbf(tmp, g, n_bld)
    tmp.replace(path)
    return {
        "file": str(path),
        "bytes": path.stat().st_size,
        **row,
        "write_s": time.perf_counter() - t0,
    }


def stage_pbf_read(out: Path, **_: Any) -> dict[str, Any]:
    from analysis.network import graph_from_edges
    from geo.config import load_region_config
    from geo.pbf import check_pbf, network_from_pbf

    path = out / "synthetic_vietnam.osm.pbf"
    cfg = load_region_config(region="vietnam")
    t0 = time.perf_counter()
    check = check_pbf(path)
    t_check = time.perf_counter() - t0
    net = network_from_pbf(path, metric_crs=METRIC, speed_kmh=cfg.roads.speed_kmh)
    t_read = time.perf_counter() - t0 - t_check
    rss_read = vm_hwm_mb()
    t1 = time.perf_counter()
    graph = graph_from_edges(net.edges, net.node_xy, crs=net.crs)
    arcs = int(np.where(net.edges["oneway"], 1, 2).sum())
    import pickle

    with open(out / "graph.pkl", "wb") as fh:  # for the catchment and kernel stages
        pickle.dump(graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "bytes": check["bytes"],
        "blocks": check["blocks"],
        "check_s": t_check,
        "read_s": t_read,
        "peak_read_mb": rss_read,
        "csr_s": time.perf_counter() - t1,
        "nodes": len(net.node_xy),
        "edges": len(net.edges),
        "arcs": arcs,
        "graph_arcs": int(getattr(graph, "n_arcs", arcs)),
    }


# --------------------------------------------------------------------------- 100 m population


def stage_raster_write(out: Path, **_: Any) -> dict[str, Any]:
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    path = out / "synthetic_vnm_ppp_100m.tif"
    if path.is_file():
        return {"file": str(path), "bytes": path.stat().st_size, "cached": True}
    _, p63 = land()
    ll = p63.to_crs("EPSG:4326")
    x0, y0, x1, y1 = ll.total_bounds
    left, top = np.floor(x0 * 120) / 120, np.ceil(y1 * 120) / 120
    cols, rows = int(np.ceil((x1 - left) / RES_DEG)), int(np.ceil((top - y0) / RES_DEG))
    transform = from_origin(left, top, RES_DEG, RES_DEG)
    rng = np.random.default_rng(19)
    t0 = time.perf_counter()
    land_cells = populated = 0
    total = 0.0
    tmp = path.with_suffix(".tmp.tif")
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": -99999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "BIGTIFF": "YES",
    }
    shapes = list(ll.geometry)
    with rasterio.open(tmp, "w", **profile) as ds:
        for r in range(0, rows, 512):
            h = min(512, rows - r)
            win = Window(0, r, cols, h)
            mask = rasterize(
                shapes, out_shape=(h, cols), transform=ds.window_transform(win), fill=0
            ).astype(bool)
            # people on ~35 % of the land cells: a log-normal density (towns dense, fields not)
            people = np.where(
                mask & (rng.random((h, cols)) < 0.35),
                rng.lognormal(1.5, 1.4, (h, cols)),
                0.0,
            ).astype("float32")
            people[~mask] = -99999.0
            ds.write(people, 1, window=win)
            land_cells += int(mask.sum())
            populated += int(np.count_nonzero(people > 0))
            total += float(people[people > 0].sum(dtype="float64"))
    tmp.replace(path)
    return {
        "file": str(path),
        "bytes": path.stat().st_size,
        "cells": rows * cols,
        "land_cells": land_cells,
        "populated_cells": populated,
        "people": total,
        "write_s": time.perf_counter() - t0,
    }


def _provinces():
    from geo.config import load_region_config
    from geo.provinces import load_provinces

    cfg = load_region_config(region="vietnam")
    return cfg, load_provinces(DATA, cfg).p63


def stage_demand(out: Path, cell: float) -> dict[str, Any]:
    """The raster's populated cells counted (the memory estimate's input), summed onto the grid
    in row windows (sparse), the demand cells built (100 m: populated cells only); the demand
    is saved for the catchment stage."""
    from analysis.demand import demand_from_cells, grid_for_bounds, people_from_raster
    from analysis.demand_memory import MemoryBudget, populated_upper_bound
    from geo.population import population_from_raster

    cfg, prov = _provinces()
    tif = out / "synthetic_vnm_ppp_100m.tif"
    grid = grid_for_bounds(tuple(prov.to_crs(METRIC).total_bounds), crs=METRIC, cell_size_m=cell)
    populated_only = cell < 1000.0
    t0 = time.perf_counter()
    layer = population_from_raster(tif, bbox=cfg.bbox)
    t_scan = time.perf_counter() - t0
    upper = populated_upper_bound(layer.populated_cells or 0, layer.cell_area_m2 or 0.0, grid)
    t0 = time.perf_counter()
    people = people_from_raster(str(tif), grid)
    t_read = time.perf_counter() - t0
    peak_read = vm_hwm_mb()
    memory = MemoryBudget.for_machine(n_types=len(TYPES))
    t0 = time.perf_counter()
    demand = demand_from_cells(prov, people, grid, populated_only=populated_only, memory=memory)
    t_cells = time.perf_counter() - t0
    np.savez(
        out / f"demand_{int(cell)}m.npz",
        xy=demand.xy,
        population=demand.population,
        area=demand.area,
    )
    return {
        "cell_m": cell,
        "populated_only": populated_only,
        "grid_cells": int(grid.shape[0] * grid.shape[1]),
        "raster_populated_cells": int(layer.populated_cells or 0),
        "populated_upper_bound": upper,
        "raster_scan_s": t_scan,
        "raster_to_cells_s": t_read,
        "peak_read_mb": peak_read,
        "demand_cells_s": t_cells,
        "demand_cells": int(demand.n_cells),
        "populated_cells": int(np.count_nonzero(demand.population > 0)),
        "people": float(demand.population.sum()),
        "memory_estimate_gib": memory.need_gib(demand.n_cells, grid),
        "memory_limit_gib": memory.limit_gib,
    }


def _graph(out: Path):
    import pickle

    with open(out / "graph.pkl", "rb") as fh:
        return pickle.load(fh)


def stage_catchments(out: Path, cell: float, types: str | None = None) -> dict[str, Any]:
    """1,000 facilities in three types on the ≥ 4 M-arc graph: every type's catchments reduced
    block by block (``analysis.blocks.cell_reductions``: counts, nearest two, province bits and
    coverage per break, then unique and other-province demand), never holding every pair."""
    from analysis.blocks import cell_reductions
    from analysis.catchments import Access
    from analysis.network import snap_points

    cfg, _ = _provinces()
    d = np.load(out / f"demand_{int(cell)}m.npz")
    xy, pop, area = d["xy"], d["population"], d["area"]
    t0 = time.perf_counter()
    graph = _graph(out)
    row: dict[str, Any] = {"cell_m": cell, "demand_cells": int(pop.size), "graph_load_s": 0.0}
    row["graph_load_s"] = time.perf_counter() - t0
    row["arcs"] = int(graph.csr.nnz)
    t0 = time.perf_counter()
    cells = Access.from_snap(
        snap_points(graph, xy, min_component_km=cfg.min_component_km),
        access_speed_kmh=cfg.access_speed_kmh,
    )
    row["snap_cells_s"] = time.perf_counter() - t0
    row["peak_after_snap_mb"] = vm_hwm_mb()
    rng = np.random.default_rng(42)
    pick = rng.choice(pop.size, size=sum(TYPES.values()), replace=False, p=pop / pop.sum())
    at, pairs, row["catchments_s"] = 0, 0, 0.0
    only = set(types.split(",")) if types else set(TYPES)
    for tname, count in TYPES.items():
        tc = cfg.types[tname]
        sub = pick[at : at + count]
        if tname not in only:  # --types: a part of the facilities (the same draw)
            at += count
            continue
        t0 = time.perf_counter()
        fac = Access.from_snap(
            snap_points(
                graph,
                xy[sub] + 50.0,
                min_component_km=cfg.min_component_km,
                max_dist_m=cfg.max_facility_access_km * 1000,
            ),
            access_speed_kmh=cfg.access_speed_kmh,
        )
        breaks_s = tuple(b * 60.0 for b in tc.breaks_min)
        red, _ = cell_reductions(
            graph,
            fac,
            cells,
            limit_s=max(breaks_s),
            breaks_s=breaks_s,
            base=np.ones(count, bool),
            demand=pop,
            fac_prov=area[sub],
            n_prov=63,
        )
        dt = time.perf_counter() - t0
        n = int(red.count[-1].sum(dtype=np.int64))  # pairs within the largest break
        row[f"{tname}_s"] = dt
        row[f"{tname}_pairs"] = n
        row["catchments_s"] += dt
        pairs += n
        at += count
        print(f"  {tname}: {dt:.1f} s, {n:,} pairs, peak {vm_hwm_mb():.0f} MB", flush=True)
    row["pairs"] = pairs
    return row


def stage_kernel(out: Path, **_: Any) -> dict[str, Any]:
    """The kernel against raw scipy ``dijkstra(limit=)`` and networkx single-source (on a
    prefix that fits its time budget) on the ≥ 4 M-arc graph: 100 facilities, 60 min."""
    from bench_kernel import kernel_section

    graph = _graph(out)
    kernel_section(out, "synthetic_vietnam_4m", graph, 100, 60.0, slow_peers=True)
    last = (out / "results.jsonl").read_text().strip().splitlines()[-1]
    got = json.loads(last)
    got["kernel_vs_nx"] = got["nx_s"] / got["ours_node_s"]
    got["kernel_vs_scipy"] = got["ours_node_s"] / got["scipy_s"]
    return {k: v for k, v in got.items() if k not in ("section", "graph")}


RUN = {
    "pbf_write": lambda out, a: stage_pbf_write(out, a.pbf_mb),
    "pbf_read": lambda out, a: stage_pbf_read(out),
    "raster_write": lambda out, a: stage_raster_write(out),
    "demand_1km": lambda out, a: stage_demand(out, 1000.0),
    "demand_100m": lambda out, a: stage_demand(out, 100.0),
    "catchments_1km": lambda out, a: stage_catchments(out, 1000.0, a.types),
    "catchments_100m": lambda out, a: stage_catchments(out, 100.0, a.types),
    "kernel": lambda out, a: stage_kernel(out),
    # the whole run through the pipeline (bench/full_run.py): 1 km, 100 m, 2x facilities, Dask
    "run_1km": lambda out, a: full_run(out, 1000.0, 1000, 0),
    "run_100m": lambda out, a: full_run(out, 100.0, 1000, 0),
    "run_100m_2x": lambda out, a: full_run(out, 100.0, 2000, 0),
    "run_100m_dask": lambda out, a: full_run(out, 100.0, 1000, 2),
}


def report(rows: list[dict[str, Any]]) -> str:
    by = {r["stage"]: r for r in rows}
    lines = [
        "## Full resolution (issue 19): synthetic national data, one process per stage",
        "",
        "| stage | exit | wall s | CPU s | peak RSS MB (VmHWM) | sizes |",
        "|---|---|---|---|---|---|",
    ]
    skip = {"stage", "exit", "wall_s", "cpu_s", "peak_mb", "file", "error"}
    for r in rows:
        sizes = ", ".join(
            f"{k}={v:,.1f}" if isinstance(v, float) else f"{k}={v:,}"
            for k, v in r.items()
            if k not in skip and isinstance(v, int | float) and not isinstance(v, bool)
        )
        peak = r.get("peak_mb")
        lines.append(
            f"| {r['stage']} | {r['exit']} | {r['wall_s']:.1f} | {r.get('cpu_s', float('nan')):.1f} | "
            f"{peak if peak is None else round(peak)} | {sizes} |"
        )
    for kind in ("demand", "catchments"):
        lo, hi = by.get(f"{kind}_1km"), by.get(f"{kind}_100m")
        if lo and hi and lo["exit"] == 0 and hi["exit"] == 0:
            lines.append(
                f"\n{kind}: 100 m / 1 km = {hi['wall_s'] / lo['wall_s']:.1f}× time, "
                f"{hi['peak_mb'] / lo['peak_mb']:.1f}× peak memory"
            )
    return "\n".join([*lines, *run_report(rows)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_out = Path(os.environ.get("BENCH_DIR", "/tmp/infra_overlap_bench")) / "full"
    ap.add_argument("--out", default=str(default_out))
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages to run")
    ap.add_argument("--stage", help="run one stage in this process and print its JSON row")
    ap.add_argument("--types", help="catchment stages: these facility types only (a, b)")
    ap.add_argument("--pbf-mb", type=float, default=270.0, help="size of the synthetic PBF")
    ap.add_argument(
        "--timeout", type=float, default=3600.0, help="wall seconds per stage (a loaded machine)"
    )
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.stage:
        t0 = time.perf_counter()
        row = RUN[a.stage](out, a)
        cpu = os.times()
        row.update(
            stage=a.stage,
            wall_s=time.perf_counter() - t0,
            cpu_s=cpu.user + cpu.system,  # the machine is shared: CPU time is the fairer number
            peak_mb=vm_hwm_mb(),
            exit=0,
        )
        print("ROW " + json.dumps(row), flush=True)
        return 0
    rows = []
    log = out / "full_resolution.jsonl"
    for s in a.stages.split(","):
        print(f"# stage {s}", flush=True)
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--stage", s, "--out", str(out), "--pbf-mb", str(a.pbf_mb)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
            code, text = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            code, text = "timeout", str(e.stdout or "")
        found = [ln[4:] for ln in text.splitlines() if ln.startswith("ROW ")]
        row = json.loads(found[-1]) if found else {"stage": s, "peak_mb": None}
        row.update(stage=s, exit=code, wall_s=row.get("wall_s", time.perf_counter() - t0))
        if code != 0:  # -9: killed (out of memory); the tail says why
            row["error"] = " | ".join(text.strip().splitlines()[-3:])
            print(text[-2000:], flush=True)
        print(json.dumps(row), flush=True)
        rows.append(row)
        with open(log, "a") as fh:
            fh.write(json.dumps(row) + "\n")
    text = report(rows)
    (out / "full_resolution.md").write_text(text + "\n")
    print(text)
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
