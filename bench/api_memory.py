"""Peak memory of the notebook API (``analysis.api``): ``catchments`` then ``verdict`` on a
synthetic region where the (facility, cell) pairs dominate (issue 19).

The case is built through the API itself: a street lattice (``--side-km`` square, a street
every 250 m, every 4th an arterial), two areas split down the middle, one population point per
``--cell-m`` cell (seeded gamma people), ``--facilities`` random facilities, breaks (10, 15)
min. Each case runs in its own process and reports its peak RSS (``VmHWM``): the high-water
mark is reset once the inputs are built (``/proc/self/clear_refs``), so ``peak_rss_mb`` is the
peak of ``api.catchments`` + ``api.verdict`` and ``rss_before_mb`` the inputs' RSS; time is
given as wall and CPU seconds (all threads; the fairer figure on a loaded machine).

Run it on a commit before and after a change to compare; ``--spill-mb 0`` sets
``INFRA_OVERLAP_SPILL_MB=0`` in the child (every kernel block spilled to disk, read back one
block per pass). Usage:
``python bench/api_memory.py [--side-km 24] [--cell-m 100] [--facilities 200] [--spill-mb 0]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CRS = "EPSG:32648"
X0, Y0 = 500_000.0, 1_000_000.0


def _inputs(side_km: float, cell_m: float, n_fac: int):  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import LineString, box

    from analysis import api

    side = side_km * 1000.0
    n = int(side // 250) + 1
    lines, kinds = [], []
    for i in range(n):
        kind = "primary" if i % 4 == 0 else "residential"
        lines += [
            LineString([(X0 + i * 250.0, Y0), (X0 + i * 250.0, Y0 + side)]),
            LineString([(X0, Y0 + i * 250.0), (X0 + side, Y0 + i * 250.0)]),
        ]
        kinds += [kind, kind]
    roads = gpd.GeoDataFrame({"highway": kinds}, geometry=lines, crs=CRS)
    areas = gpd.GeoDataFrame(
        {"area_id": ["west", "east"]},
        geometry=[
            box(X0, Y0, X0 + side / 2, Y0 + side),
            box(X0 + side / 2, Y0, X0 + side, Y0 + side),
        ],
        crs=CRS,
    )
    rng = np.random.default_rng(0)
    c = (np.arange(int(side // cell_m)) + 0.5) * cell_m
    gx, gy = np.meshgrid(X0 + c, Y0 + c)
    people = gpd.GeoDataFrame(
        {"population": rng.gamma(1.5, 20.0, gx.size)},
        geometry=gpd.points_from_xy(gx.ravel(), gy.ravel()),
        crs=CRS,
    )
    fac = gpd.GeoDataFrame(
        {"facility_id": [f"F{i:04d}" for i in range(n_fac)], "status": "operating"},
        geometry=gpd.points_from_xy(
            rng.uniform(X0, X0 + side, n_fac), rng.uniform(Y0, Y0 + side, n_fac)
        ),
        crs=CRS,
    )
    graph = api.graph_from_roads(roads, crs=CRS)
    demand = api.demand_from_points(areas, people, crs=CRS, cell_size_m=cell_m)
    return graph, demand, fac


def _one(side_km: float, cell_m: float, n_fac: int) -> dict[str, object]:
    from analysis import api

    graph, demand, fac = _inputs(side_km, cell_m, n_fac)
    small = fac.iloc[:2]
    api.verdict(api.catchments(small, graph, demand, breaks_min=(1,)), threshold_min=1)  # compile
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    rss0 = _hwm_kb()
    t0, c0 = time.perf_counter(), time.process_time()
    catch = api.catchments(fac, graph, demand, breaks_min=(10, 15), polygons=False)
    t_catch = time.perf_counter() - t0
    v = api.verdict(catch, threshold_min=15, keep_one_min=0)
    return {
        "facilities": n_fac,
        "cells": int(demand.grid.n_cells),
        "pairs": int(_pairs(catch)),
        "flagged": int(v["verdict"].sum()),
        "spill_mb": os.environ.get("INFRA_OVERLAP_SPILL_MB", "default"),
        "seconds_catchments": round(t_catch, 2),
        "seconds": round(time.perf_counter() - t0, 2),
        "cpu_seconds": round(time.process_time() - c0, 2),
        "peak_rss_mb": round(_hwm_kb() / 1024, 1),
        "rss_before_mb": round(rss0 / 1024, 1),
    }


def _pairs(catch: object) -> int:
    store = getattr(catch, "store", None)
    if store is not None:
        return int(store.n_pairs)
    return int(catch.travel.fac.size)  # type: ignore[attr-defined]  # before: the pairs held


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side-km", type=float, default=24.0)
    ap.add_argument("--cell-m", type=float, default=100.0)
    ap.add_argument("--facilities", type=int, default=200)
    ap.add_argument("--spill-mb", help="INFRA_OVERLAP_SPILL_MB for the measured process")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(_one(a.side_km, a.cell_m, a.facilities)))
        return
    env = dict(os.environ)
    if a.spill_mb is not None:
        env["INFRA_OVERLAP_SPILL_MB"] = a.spill_mb
    args = ["--side-km", str(a.side_km), "--cell-m", str(a.cell_m)]
    out = subprocess.run(
        [sys.executable, __file__, *args, "--facilities", str(a.facilities), "--one"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
