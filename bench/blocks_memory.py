"""Peak memory of the per-cell reductions: every pair at once vs merged facility blocks (issue 19).

One synthetic case: a lattice road graph (random speeds), demand cells spread over it, N and 2N
facilities whose largest break reaches ``--reach`` of the map's width. Each (mode, N) runs in its own process
and reports its peak RSS (``VmHWM``) and time:

- ``pairs``: ``kernel.travel_times`` (every pair within the limit), then per break
  ``coverage_measures`` on the boolean matrix and ``nearest_two`` (what the run did before);
- ``blocks``: ``analysis.blocks.cell_reductions`` (the same measures, merged from blocks of
  32 facilities; equal bit for bit, see tests/test_blocks.py).

``--run`` measures the real run path instead: ``analysis.run.run_region`` on the embedded
default (national, 1 km cells) for the industrial parks, half of them (every second id
removed with ``RunOptions.remove``) and all of them, each in its own process; the peak RSS of
the analysis is taken above the process's RSS once the inputs are loaded (the high-water mark
is reset there through ``/proc/self/clear_refs``).
The run's catchment step hands over the kernel's blocks (``analysis.block_store``); with
``INFRA_OVERLAP_SPILL_MB=0`` every block is spilled to disk and read back per pass (the pairs
are then never all in memory), else blocks up to 1024 MiB stay in memory.

With ``--scheduler ADDRESS`` or ``--workers N`` the blocks run on Dask workers instead (N
facilities): the merged result is checked equal to the single-process one, and the client's
and every worker's peak RSS are reported.

The target of issue 19 is a ratio: doubling the facilities raises the peak by under 25 % when
memory is bounded by the grid, not by the pairs. Usage:
``python bench/blocks_memory.py [--side 200] [--cells 100000] [--facilities 150] [--reach 0.4]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _case(side: int, n_cells: int, n_fac: int, reach: float):  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from analysis.catchments import Access
    from analysis.network import graph_from_edges, snap_points

    rng = np.random.default_rng(0)
    step = 500.0
    ij = np.arange(side * side).reshape(side, side)
    xy = np.column_stack([(ij % side).ravel() * step, (ij // side).ravel() * step]).astype(float)
    u = np.concatenate([ij[:, :-1].ravel(), ij[:-1, :].ravel()])
    v = np.concatenate([ij[:, 1:].ravel(), ij[1:, :].ravel()])
    edges = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "u": u,
                "v": v,
                "length_m": np.full(u.size, step),
                "speed_kmh": rng.choice([30.0, 50.0, 80.0], u.size),
                "oneway": np.zeros(u.size, bool),
            }
        ),
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs="EPSG:3405",
    )
    graph = graph_from_edges(edges, xy, crs="EPSG:3405")
    extent = (side - 1) * step
    cells = Access.from_snap(
        snap_points(graph, rng.uniform(0, extent, (n_cells, 2))), access_speed_kmh=20.0
    )
    fac = Access.from_snap(
        snap_points(graph, rng.uniform(0, extent, (n_fac, 2))), access_speed_kmh=20.0
    )
    demand = rng.gamma(1.5, 200.0, n_cells)
    fac_prov = rng.integers(0, 63, n_fac)
    base = np.ones(n_fac, bool)
    # ``reach`` of the map's width at ~60 km/h
    limit_s = extent * reach / (60 / 3.6)
    breaks = (limit_s / 2, limit_s * 0.75, limit_s)
    return graph, fac, cells, demand, fac_prov, base, breaks


def _one(mode: str, side: int, n_cells: int, n_fac: int, reach: float) -> dict[str, float]:
    import numpy as np

    from analysis import blocks, kernel
    from analysis.catchments import TravelTimes, nearest_two
    from analysis.overlap import coverage_measures

    graph, fac, cells, demand, fac_prov, base, breaks = _case(side, n_cells, n_fac, reach)
    kernel.travel_times(graph, fac, cells, limit_s=1.0)  # compile outside the timing
    hwm0 = _hwm_kb()
    t0 = time.perf_counter()
    pairs = 0
    if mode == "pairs":
        tt = kernel.travel_times(graph, fac, cells, limit_s=breaks[-1])
        pairs = tt.fac.size
        for b in breaks:
            coverage_measures(tt.within(b), demand, fac_prov, 63, base=base)
        keep = base[tt.fac]
        tb = TravelTimes(tt.fac[keep], tt.cell[keep], tt.time_s[keep], tt.n_fac, tt.n_cells, 0)
        nearest_two(tb)
    else:
        red, _ = blocks.cell_reductions(
            graph, fac, cells, limit_s=breaks[-1], breaks_s=breaks, base=base,
            demand=demand, fac_prov=fac_prov, n_prov=63,
        )  # fmt: skip
        pairs = int(np.asarray(red.coverage[-1] > 0).sum())
    return {
        "mode": mode,
        "facilities": n_fac,
        "cells": n_cells,
        "pairs_held": pairs if mode == "pairs" else 0,
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(_hwm_kb() / 1024, 1),
        "rss_before_mb": round(hwm0 / 1024, 1),
    }


def _cluster(a: argparse.Namespace) -> None:
    """The blocks on Dask workers (``--scheduler`` or a LocalCluster of ``--workers``): the
    merged result must equal the single-process one; the client's and each worker's peak RSS."""
    import numpy as np
    from analysis.batch import dask_client

    from analysis import blocks

    graph, fac, cells, demand, fac_prov, base, breaks = _case(
        a.side, a.cells, a.facilities, a.reach
    )
    kw = {"limit_s": breaks[-1], "breaks_s": breaks, "base": base, "demand": demand}
    kw |= {"fac_prov": fac_prov, "n_prov": 63}
    t0 = time.perf_counter()
    local = blocks.cell_reductions(graph, fac, cells, **kw)
    t_local = time.perf_counter() - t0
    with dask_client(a.scheduler, n_workers=a.workers) as client:
        t0 = time.perf_counter()
        remote = blocks.cell_reductions(graph, fac, cells, client=client, **kw)
        t_remote = time.perf_counter() - t0
        workers = client.run(_hwm_kb)
    same = all(
        np.array_equal(getattr(local[0], n), getattr(remote[0], n))
        for n in ("count", "prov_bits", "f1", "t1", "f2", "t2", "coverage")
    ) and all(
        np.array_equal(x.unique, y.unique) and np.array_equal(x.other_province, y.other_province)
        for x, y in zip(local[1], remote[1], strict=True)
    )
    print(
        json.dumps(
            {
                "mode": "cluster",
                "facilities": a.facilities,
                "identical_to_single_process": bool(same),
                "seconds_single_process": round(t_local, 2),
                "seconds_cluster": round(t_remote, 2),
                "client_peak_rss_mb": round(_hwm_kb() / 1024, 1),
                "worker_peak_rss_mb": {k: round(v / 1024, 1) for k, v in workers.items()},
            }
        )
    )
    if not same:
        raise SystemExit("the cluster's merged reductions differ from the single-process run")


def _run_one(half: bool, type_name: str) -> dict[str, float]:
    """The real run path (``run_region``) on the default data for one type, all or half of
    its facilities; peak RSS above the loaded inputs."""
    from analysis.run import RunOptions, apply_overrides, run_region
    from geo.config import load_region_config
    from geo.datasets import resolve_data_dir
    from pipeline import load_inputs

    config = load_region_config(region="vietnam")
    opts = RunOptions(types=(type_name,))
    inputs = load_inputs(
        apply_overrides(config, opts), opts, resolve_data_dir(None, region="vietnam")
    )
    fac = inputs.facilities.facilities
    ids = sorted(fac.loc[fac["type"] == type_name, "facility_id"].astype(str))
    if half:
        opts = RunOptions(types=(type_name,), remove=tuple(ids[1::2]))
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    rss0 = _hwm_kb()
    t0 = time.perf_counter()
    result = run_region(config, opts, inputs)
    n = int((result.layers["facilities"]["type"] == type_name).sum())
    return {
        "mode": "run",
        "facilities": n,
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(_hwm_kb() / 1024, 1),
        "rss_before_mb": round(rss0 / 1024, 1),
    }


def _run_path(type_name: str) -> None:
    rows = []
    for half in ("half", "all"):
        out = subprocess.run(
            [sys.executable, __file__, "--run-one", half, type_name],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    r1, r2 = rows
    grow = (r2["peak_rss_mb"] - r2["rss_before_mb"]) / max(
        r1["peak_rss_mb"] - r1["rss_before_mb"], 1e-9
    )
    print(
        f"run path ({type_name}): peak RSS {r1['peak_rss_mb']} MB at N={r1['facilities']}, "
        f"{r2['peak_rss_mb']} MB at N={r2['facilities']} "
        f"(x{r2['peak_rss_mb'] / r1['peak_rss_mb']:.2f}; above the loaded inputs x{grow:.2f}); "
        f"{r1['seconds']} s / {r2['seconds']} s"
    )


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=200, help="lattice nodes per side")
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--facilities", type=int, default=150, help="N (and 2N)")
    ap.add_argument("--reach", type=float, default=0.4, help="largest break, share of the width")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--run-one", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument(
        "--run", metavar="TYPE", help="the real run path on the default data (e.g. industrial_park)"
    )
    ap.add_argument("--scheduler", help="run the blocks on this Dask scheduler (tcp://HOST:PORT)")
    ap.add_argument("--workers", type=int, help="run the blocks on a LocalCluster of N workers")
    a = ap.parse_args()
    if a.scheduler or a.workers:
        _cluster(a)
        return
    if a.run_one:
        print(json.dumps(_run_one(a.run_one[0] == "half", a.run_one[1])))
        return
    if a.run:
        _run_path(a.run)
        return
    if a.one:
        print(json.dumps(_one(a.one[0], a.side, a.cells, int(a.one[1]), a.reach)))
        return
    rows = []
    for mode in ("pairs", "blocks"):
        for n in (a.facilities, 2 * a.facilities):
            args = ["--side", str(a.side), "--cells", str(a.cells), "--reach", str(a.reach)]
            out = subprocess.run(
                [sys.executable, __file__, *args, "--one", mode, str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    for mode in ("pairs", "blocks"):
        r1, r2 = (r for r in rows if r["mode"] == mode)
        grow = (r2["peak_rss_mb"] - r2["rss_before_mb"]) / max(
            r1["peak_rss_mb"] - r1["rss_before_mb"], 1e-9
        )
        print(
            f"{mode}: peak RSS {r1['peak_rss_mb']} MB at N={r1['facilities']}, "
            f"{r2['peak_rss_mb']} MB at 2N (x{r2['peak_rss_mb'] / r1['peak_rss_mb']:.2f}; "
            f"above the inputs x{grow:.2f}); {r1['seconds']} s / {r2['seconds']} s"
        )


if __name__ == "__main__":
    main()
