"""Where a run's per-cell memory goes before the passes (issue 19, 100 m): the demand grid, the
cells' snap and access, the kernel's inputs (``analysis.kernel.prepare``) and the blocks held
by ``analysis.block_store.kernel_store``, with the resident memory after each step, and the
passes' grid accumulators as ``analysis.demand_memory.MemoryBudget`` estimates them.

``python bench/grid_memory.py --cached DIR [--cell 100] [--types airport]`` reads the cached
inputs of ``bench/full_run.py`` (``DIR/shared.pkl``, ``DIR/demand_<cell>m.pkl``,
``DIR/synthetic_<cell>m.toml``, ``DIR/facilities_1000.csv``); without ``--cached`` (or when
those files are absent) it builds a small synthetic lattice of roads and cells instead.
Prints one table: MB per array (an array shared by two objects is counted once, at its first
owner) and VmRSS / VmHWM after each step.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

TYPES = {"industrial_park": 60.0, "airport": 120.0, "seaport": 180.0}
SEEN: set[int] = set()  # addresses of the arrays already counted
ROWS: list[tuple[str, str, float, str]] = []


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _base(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def arrays(step: str, name: str, obj: Any, seen: set[int] = SEEN) -> None:
    """One row per array field of a dataclass (recursing into nested dataclasses); an array
    whose memory ``seen`` already holds (live objects only: ids are reused) is counted 0."""
    for f in fields(obj):
        v = getattr(obj, f.name)
        if is_dataclass(v):
            arrays(step, f"{name}.{f.name}", v, seen)
        elif isinstance(v, np.ndarray) and v.size > 1000:
            b = _base(v)
            shared = id(b) in seen
            seen.add(id(b))
            mb = 0.0 if shared else v.nbytes / 2**20
            note = f"{v.dtype}" + (" (shared)" if shared else "")
            ROWS.append((step, f"{name}.{f.name}", mb, note))


def rss(step: str, t0: float) -> None:
    ROWS.append((step, "-- VmRSS / VmHWM", _status_mb("VmRSS"), f"HWM {_status_mb('VmHWM'):,.0f} "
                 f"MB, {time.perf_counter() - t0:.1f} s"))  # fmt: skip


def synthetic(side: int = 60, spacing_m: float = 1000.0, cell_m: float = 100.0) -> Any:
    """A lattice of two-way roads ``side`` x ``side`` nodes, every 100 m cell of it populated,
    and 20 facilities per type on random nodes (fixed seed)."""
    import geopandas as gpd
    import shapely

    from analysis.demand import SparseCells, demand_from_cells, grid_for_bounds
    from analysis.network import graph_from_edges

    crs = "EPSG:3405"
    ij = np.arange(side * side)
    xy = np.column_stack([ij % side, ij // side]).astype(float) * spacing_m + 500_000.0
    right = ij[(ij % side) < side - 1]
    up = ij[ij < side * (side - 1)]
    u = np.r_[right, up]
    v = np.r_[right + 1, up + side]
    edges = gpd.GeoDataFrame(
        {"u": u, "v": v, "length_m": spacing_m, "speed_kmh": 40.0, "oneway": False},
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs=crs,
    )
    graph = graph_from_edges(edges, xy, crs=crs)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    grid = grid_for_bounds((*lo, *hi), crs=crs, cell_size_m=cell_m)
    flat = np.arange(grid.shape[0] * grid.shape[1], dtype=np.int64)
    rng = np.random.default_rng(7)
    people = SparseCells(flat, rng.uniform(0.0, 50.0, flat.size))
    prov = gpd.GeoDataFrame(geometry=[shapely.box(*lo, *hi)], crs=crs)
    demand = demand_from_cells(prov, people, grid, populated_only=True)
    fac = {t: xy[rng.choice(side * side, 20, replace=False)] for t in TYPES}
    return graph, demand, fac, 0.0, 5.0


def cached(d: Path, cell: float) -> Any:
    import pandas as pd
    from pyproj import Transformer

    from analysis.network import graph_from_edges
    from geo.config import load_region_config

    shared = pickle.load(open(d / "shared.pkl", "rb"))  # noqa: SIM115 (bench)
    net = shared.network
    del shared
    graph = graph_from_edges(net.edges, net.node_xy, crs=net.crs)
    demand = pickle.load(open(d / f"demand_{int(cell)}m.pkl", "rb"))  # noqa: SIM115
    if "xy" in vars(demand):  # pickled by an earlier version: rebuilt as the run builds it now
        from analysis.demand import DemandGrid

        v = vars(demand)
        index = np.int32 if max(v["grid"].shape) < 2**31 else np.int64
        grid, row, col = v["grid"], v["row"].astype(index), v["col"].astype(index)
        people, area = v["population"], v["area"]
        del demand, v
        demand = DemandGrid(grid=grid, row=row, col=col, population=people, area=area)
    config = load_region_config(d / f"synthetic_{int(cell)}m.toml")
    table = pd.read_csv(d / "facilities_1000.csv")
    tr = Transformer.from_crs("EPSG:4326", config.metric_crs, always_xy=True)
    fac = {}
    for t in TYPES:
        f = table[table.type == t]
        fac[t] = np.column_stack(tr.transform(f.lon.to_numpy(), f.lat.to_numpy()))
    return graph, demand, fac, config.min_component_km, config.access_speed_kmh


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cached", type=Path, default=None)
    ap.add_argument("--cell", type=float, default=100.0)
    ap.add_argument("--types", nargs="*", default=list(TYPES))
    a = ap.parse_args(argv)
    from analysis import kernel
    from analysis.block_store import kernel_store
    from analysis.catchments import Access
    from analysis.demand_memory import MemoryBudget, TypeShape
    from analysis.network import snap_points

    t0 = time.perf_counter()
    rss("start", t0)
    use = a.cached is not None and (a.cached / f"demand_{int(a.cell)}m.pkl").exists()
    graph, demand, fac, min_km, speed = cached(a.cached, a.cell) if use else synthetic()
    rss("graph + demand", t0)
    arrays("demand", "DemandGrid", demand)
    xy = demand.xy  # computed on demand where the grid no longer holds it
    cs = snap_points(graph, xy, min_component_km=min_km)
    del xy
    rss("cells snapped", t0)
    arrays("snap", "cell Snap", cs)
    ca = Access.from_snap(cs, access_speed_kmh=speed)
    del cs
    rss("cells' access", t0)
    arrays("access", "cell Access", ca)
    n = demand.n_cells
    shapes: list[TypeShape] = []
    for t in a.types:
        s = snap_points(graph, fac[t], min_component_km=min_km, max_dist_m=10_000.0)
        fa = Access.from_snap(s, access_speed_kmh=speed)
        ki = kernel.prepare(graph, fa, ca, limit_s=TYPES[t] * 60.0)
        rss(f"{t}: kernel.prepare", t0)
        arrays(f"{t} prepare", "KernelInputs", ki, set(SEEN))  # freed with the type
        del ki
        st = kernel_store(graph, fa, ca, limit_s=TYPES[t] * 60.0)
        held = sum(b.nbytes for b in st._held if not isinstance(b, int))
        ROWS.append((f"{t} store", "BlockStore held blocks", held / 2**20,
                     f"{st.n_pairs:,} pairs, {len(st._held)} blocks, spilled {st.spilled}"))  # fmt: skip
        rss(f"{t}: kernel_store", t0)
        shape = TypeShape(n_fac=len(fac[t]), n_breaks=3, areas=(34, 63))
        ROWS.append(
            (
                f"{t} passes",
                "first pass, sets aside (estimate)",
                n * shape.pass_bytes_per_cell() / 2**20,
                "TypeShape.pass_bytes_per_cell",
            )
        )
        ROWS.append(
            (
                f"{t} passes",
                "one facility set (estimate)",
                n * shape.set_bytes_per_cell() / 2**20,
                f"{len(fac[t])} facilities",
            )
        )
        shapes.append(shape)  # fmt: skip
        st.close()
        del st
    budget = MemoryBudget(limit_gib=8.0, types=tuple(shapes), threads=kernel.default_threads())
    ROWS.append(("budget", "MemoryBudget.need_gib x 1024", budget.need_gib(n, demand.grid) * 1024,
                 f"types {', '.join(a.types)}, {budget.threads} threads"))  # fmt: skip
    print(f"{n:,} cells\n{'step':<28} {'array':<34} {'MB':>9}  note")
    for step, name, mb, note in ROWS:
        print(f"{step:<28} {name:<34} {mb:>9,.1f}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
