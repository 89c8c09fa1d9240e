"""The whole run at full resolution (issue 19's target): the real pipeline on the synthetic
national inputs of ``bench/full_resolution.py``.

``python bench/full_run.py --out DIR --cell 100 [--facilities 1000] [--workers 2]`` (one
process; ``bench/full_resolution.py`` calls it for its ``run_*`` stages) runs

1. ``pipeline.load_shared`` on the synthetic PBF (``--roads``: streaming read, road repairs)
   and the synthetic 100 m raster (``--population``), cached in ``DIR/shared.pkl`` (built once:
   the read of the inputs is timed apart, in its own row, as the issue asks);
2. the demand grid (``analysis.run.build_demand``: the raster summed onto the grid; at 100 m the
   populated cells only), cached in ``DIR/demand_<cell>m.pkl`` and timed apart;
3. the run itself, timed step by step: ``pipeline.load_inputs`` (the facilities), ``analyse``
   (the graph, the cells snapped, every type's catchments, measures and verdict, the layers),
   ``describe_quality`` and ``write`` (map, report, GeoPackage, QGIS project, rasters, tables,
   manifest) into ``DIR/out_<cell>m_<n>``.

The configuration is ``data/vietnam.toml`` with ``cell_size_m`` set (and
``populated_cells_only`` below 1 km), the validation trips and the official-unit lists left out
(the synthetic facilities are not the official seaports and airports, and the trips are on
real roads). The facilities (1,000 by default: 150 seaports, 100 airports, 750 parks, as
``full_resolution.TYPES``) are drawn from the 1 km demand cells with the people as weights, with
a fixed seed; ``--facilities 2000`` keeps those and draws as many again (the memory-doubling
target). ``--workers N`` runs the catchments on a LocalCluster of N processes and reports
every worker's peak memory apart.

The last line printed is ``ROW {json}``: seconds per step, peak RSS (VmHWM) of this process
and of the workers, pairs, cells and output sizes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]
DATA = ROOT / "data" / "vietnam"
TYPES = {"seaport": 150, "airport": 100, "industrial_park": 750}
PBF = "synthetic_vietnam.osm.pbf"
TIF = "synthetic_vnm_ppp_100m.tif"


def vm_hwm_mb() -> float:
    """Peak resident memory of this process (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def synthetic_config(out: Path, cell: float) -> Path:
    """``data/vietnam.toml`` with the cell size set, without the trips and the unit lists."""
    text = (ROOT / "data" / "vietnam.toml").read_text(encoding="utf-8")
    keep, skip = [], False
    for line in text.splitlines():
        m = re.match(r"^\[\[?([^\]]+)\]\]?", line)
        if m:
            name = m.group(1)
            skip = (
                name == "validation"
                or name.endswith(".units")
                or ".units." in name
                or name.endswith(".sources")
                or name.endswith(".class_map")
            )
        if skip:
            continue
        if line.startswith("exact_shares"):  # unbounded MILPs: the curve keeps its work budget
            line = "exact_shares = []"
        if line.startswith("cell_size_m"):
            line = f"cell_size_m = {cell:g}\npopulated_cells_only = {'true' if cell < 1000 else 'false'}"
        keep.append(line)
    path = out / f"synthetic_{int(cell)}m.toml"
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return path


def synthetic_facilities(out: Path, demand_1km: Any, n: int) -> Path:
    """``n`` facilities drawn from the 1 km cells, people as weights; the first 1,000 are the
    same whatever ``n`` (150 seaports, 100 airports, 750 parks; then the same shares again)."""
    from pyproj import Transformer

    path = out / f"facilities_{n}.csv"
    if path.is_file():
        return path
    pop = np.asarray(demand_1km.population, np.float64)
    rng = np.random.default_rng(42)
    pick = rng.choice(pop.size, size=n, replace=False, p=pop / pop.sum())
    xy = demand_1km.xy[pick] + rng.uniform(-400, 400, size=(n, 2))
    to_ll = Transformer.from_crs(demand_1km.grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
    per_type = list(TYPES.values())
    if n < sum(per_type):  # a smaller probe: the same shares (at least one of each type)
        per_type = [max(1, round(k * n / sum(TYPES.values()))) for k in per_type]
    base = np.repeat(list(TYPES), per_type)
    types = np.resize(base, n)
    lines = ["facility_id,name,type,status,lon,lat"]
    for i in range(n):
        lines.append(
            f"S{i:05d},Synthetic {types[i]} {i},{types[i]},operating,{lon[i]:.6f},{lat[i]:.6f}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cached(path: Path, build: Any) -> tuple[Any, float, bool]:
    """(object, seconds to build it, cached?): built once and pickled."""
    if path.is_file():
        with open(path, "rb") as fh:
            return pickle.load(fh), 0.0, True
    t0 = time.perf_counter()
    obj = build()
    dt = time.perf_counter() - t0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return obj, dt, False


def _shared(out: Path, config: Any, opts: Any) -> tuple[Any, float, bool]:
    import pipeline

    # without facilities: the network is shared by the 1 km and 100 m runs and every facility
    # count (as a batch shares it), so no far-facility connectors are added
    return _cached(out / "shared.pkl", lambda: pipeline.load_shared(config, opts, DATA))


def _demand(out: Path, cell: float, shared: Any) -> tuple[Any, float, bool]:
    from analysis.run import build_demand
    from geo.config import load_region_config

    cfg = load_region_config(synthetic_config(out, cell))
    return _cached(out / f"demand_{int(cell)}m.pkl", lambda: build_demand(cfg, shared))


def _time_covering() -> list[float]:
    """Seconds of every type's coverage curve and minimal cover (``covering_tables``), which the
    issue times apart from the run: the call in ``analysis.type_analysis`` is wrapped."""
    import analysis.type_analysis as ta

    spent: list[float] = []
    inner = ta.covering_tables

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    ta.covering_tables = timed  # type: ignore[assignment]
    return spent


def _time_passes() -> dict[str, float]:
    """Seconds per consumer of the passes of ``analysis.type_analysis`` (summed over the types
    and blocks; the consumers of a block run side by side, so the sum may exceed the pass's
    wall time, ``passes_wall``): the passes' profile without a sampler."""
    import analysis.type_analysis as ta

    spent: dict[str, float] = {}
    inner = ta.run_pass

    class Timed:
        def __init__(self, c: Any) -> None:
            self.c, self.name = c, type(c).__name__

        def add(self, block: Any) -> None:
            t0 = time.perf_counter()
            self.c.add(block)
            spent[self.name] = spent.get(self.name, 0.0) + time.perf_counter() - t0

    def timed(tt: Any, consumers: list[Any]) -> None:
        t0 = time.perf_counter()
        inner(tt, [Timed(c) for c in consumers])
        spent["passes_wall"] = spent.get("passes_wall", 0.0) + time.perf_counter() - t0

    ta.run_pass = timed  # type: ignore[assignment]
    return spent


def _time_kernel() -> list[dict[str, Any]]:
    """Per type, the kernel's seconds, pairs and blocks (``kernel_store`` in ``analysis.run``)."""
    import analysis.run as run_mod

    rows: list[dict[str, Any]] = []
    inner = run_mod.kernel_store

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        store = inner(*args, **kwargs)
        rows.append({"kernel_s": round(time.perf_counter() - t0, 2), "pairs": store.n_pairs,
                     "blocks": len(store._held), "spilled": store.spilled})  # fmt: skip
        return store

    run_mod.kernel_store = timed  # type: ignore[assignment]
    return rows


def _worker_peaks(client: Any) -> dict[str, float]:
    if client is None:
        return {}
    return {str(k): float(v) for k, v in client.run(vm_hwm_mb).items()}


def run(out: Path, cell: float, n_fac: int, workers: int) -> dict[str, Any]:
    """Steps 1-3 of the module docstring; the row of figures."""
    import analysis.run as run_mod
    import pipeline
    from analysis.options import RunOptions
    from geo.config import load_region_config
    from geo.datasets import DataDir

    out.mkdir(parents=True, exist_ok=True)
    cfg_path = synthetic_config(out, cell)
    config = load_region_config(cfg_path)
    opts0 = RunOptions(data=str(DATA), roads=str(out / PBF), population=str(out / TIF))
    row: dict[str, Any] = {"cell_m": cell, "facilities": n_fac, "workers": workers}
    shared, row["shared_build_s"], row["shared_cached"] = _shared(out, config, opts0)
    demand_1km, _, _ = _demand(out, 1000.0, shared)
    demand, row["demand_build_s"], row["demand_cached"] = _demand(out, cell, shared)
    row["demand_cells"] = int(demand.n_cells)
    row["people"] = float(demand.population.sum())
    row["peak_inputs_mb"] = vm_hwm_mb()
    del demand_1km
    fac_csv = synthetic_facilities(out, _demand(out, 1000.0, shared)[0], n_fac)
    opts = RunOptions(
        data=str(DATA),
        facilities=(str(fac_csv),),
        roads=opts0.roads,
        population=opts0.population,
        lang="vi",
    )
    # the demand grid was built (and timed) above: the run takes it as built
    run_mod.build_demand = lambda _config, _inputs: demand  # type: ignore[assignment]
    covering_s = _time_covering()
    pass_s = _time_passes()
    kernel_rows = _time_kernel()
    steps: list[tuple[str, float]] = []
    t_run = time.perf_counter()

    def say(step: str) -> None:
        steps.append((step, time.perf_counter()))
        print(f"[{time.perf_counter() - t_run:7.1f} s] {step}", flush=True)

    client_ctx = None
    client = None
    if workers:
        from batch import dask_client

        client_ctx = dask_client(None, n_workers=workers)
        client = client_ctx.__enter__()
    try:
        say("facilities")
        inputs = pipeline.load_inputs(config, opts, DataDir(DATA, "--data"), shared=shared)
        result = pipeline.analyse(config, opts, inputs, progress=say, client=client)
        say("data quality")
        result.quality = pipeline.describe_quality(config, opts, inputs, result)
        dest = out / f"out_{int(cell)}m_{n_fac}{'_dask' if workers else ''}"
        say("write")
        pipeline.write(result, dest, config=config, opts=opts, overwrite=True, progress=say)
        say("done")
        row["worker_peak_mb"] = _worker_peaks(client)
    finally:
        if client_ctx is not None:
            client_ctx.__exit__(None, None, None)
    row["run_s"] = steps[-1][1] - t_run
    row["steps_s"] = {name: round(t1 - t0, 2) for (name, t0), (_, t1) in itertools.pairwise(steps)}
    row["timings_s"] = result.meta.timings
    row["covering_s"] = round(sum(covering_s), 2)  # the coverage curve, inside analyse
    row["kernel"] = kernel_rows
    row["pass_s"] = {k: round(v, 2) for k, v in sorted(pass_s.items(), key=lambda kv: -kv[1])}
    row["output_mb"] = round(sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) / 1e6, 1)
    fac = result.layers["facilities"]
    row["flagged"] = int(fac["flag"].sum())
    row["out_dir"] = str(dest)
    return row


def run_report(rows: list[dict[str, Any]]) -> list[str]:
    """Lines of the whole-run stages' table (``bench/full_resolution.py`` appends them): per
    stage the run's seconds (the coverage curve apart), the kernel and the passes, the peak
    memory of the client and of the workers; the ratios the issue's targets are about."""
    by = {r["stage"]: r for r in rows if str(r.get("stage", "")).startswith("run_")}
    if not by:
        return []
    out = [
        "",
        "| run | exit | run s | without curve s | kernel s (pairs) | passes s | client peak MB "
        "| workers' peak MB | flagged |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in by.items():
        if r.get("exit") != 0 or "run_s" not in r:
            out.append(f"| {name} | {r.get('exit')} | | | | | | | |")
            continue
        k = r.get("kernel", [])
        kern = f"{sum(x['kernel_s'] for x in k):.1f} ({sum(x['pairs'] for x in k) / 1e6:.0f} M)"
        workers = ", ".join(f"{v:.0f}" for v in r.get("worker_peak_mb", {}).values()) or "-"
        out.append(
            f"| {name} | 0 | {r['run_s']:.1f} | {r['run_s'] - r.get('covering_s', 0):.1f} | "
            f"{kern} | {r.get('pass_s', {}).get('passes_wall', 0):.1f} | {r['peak_mb']:.0f} | "
            f"{workers} | {r.get('flagged')} |"
        )
    ok = {n: r for n, r in by.items() if r.get("exit") == 0 and "run_s" in r}
    if "run_1km" in ok and "run_100m" in ok:
        lo, hi = ok["run_1km"], ok["run_100m"]
        out.append(f"\nrun: 100 m / 1 km = {hi['run_s'] / lo['run_s']:.1f}x time, "
                   f"{hi['peak_mb'] / lo['peak_mb']:.1f}x peak memory")  # fmt: skip
    if "run_100m" in ok and "run_100m_2x" in ok:
        ratio = ok["run_100m_2x"]["peak_mb"] / ok["run_100m"]["peak_mb"]
        out.append(f"\nrun: 2,000 / 1,000 facilities at 100 m = {ratio:.2f}x peak memory")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_out = Path(os.environ.get("BENCH_DIR", "/tmp/infra_overlap_bench")) / "full"
    ap.add_argument("--out", default=str(default_out))
    ap.add_argument("--cell", type=float, default=100.0)
    ap.add_argument("--facilities", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=0)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    row = run(Path(a.out), a.cell, a.facilities, a.workers)
    cpu = os.times()
    row.update(
        wall_s=time.perf_counter() - t0,
        cpu_s=cpu.user + cpu.system,
        peak_mb=vm_hwm_mb(),
    )
    print("ROW " + json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
