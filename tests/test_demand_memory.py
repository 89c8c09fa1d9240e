"""The run's memory estimate (``analysis.demand_memory``): its per-cell constants hold what the
run really keeps, it counts the kernel's inputs and the passes' accumulators, a run that would
not fit is refused before the cells are built, and the first pass's facility sets are sized
from what the limit leaves."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import shapely

from analysis import demand_memory as dmm
from analysis.block_sets import fuse_bytes_default
from analysis.catchments import Access
from analysis.demand import SparseCells, demand_from_cells, grid_for_bounds
from analysis.kernel import prepare
from analysis.network import graph_from_edges, snap_points
from analysis.results import GridSpec
from geo.errors import InputError

CRS = "EPSG:3405"
NATIONAL = 27_947_523  # populated 100 m cells of the national benchmark
SEAPORTS = dmm.TypeShape(n_fac=150, n_breaks=3, areas=(34, 63))
GRID = GridSpec(crs=CRS, x0=0.0, y0=0.0, cell_size_m=100.0, shape=(16_500, 6_500))


def _lattice(side: int = 12, spacing: float = 500.0) -> tuple[object, object]:
    """Two-way roads on a lattice and every 100 m cell over it populated."""
    ij = np.arange(side * side)
    xy = np.column_stack([ij % side, ij // side]).astype(float) * spacing + 400_000.0
    right, up = ij[(ij % side) < side - 1], ij[ij < side * (side - 1)]
    u, v = np.r_[right, up], np.r_[right + 1, up + side]
    edges = gpd.GeoDataFrame(
        {"u": u, "v": v, "length_m": spacing, "speed_kmh": 30.0, "oneway": False},
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs=CRS,
    )
    graph = graph_from_edges(edges, xy, crs=CRS)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    grid = grid_for_bounds((*lo, *hi), crs=CRS, cell_size_m=100.0)
    flat = np.arange(grid.shape[0] * grid.shape[1], dtype=np.int64)
    people = SparseCells(flat, np.full(flat.size, 3.0))
    prov = gpd.GeoDataFrame(geometry=[shapely.box(*lo, *hi)], crs=CRS)
    return graph, demand_from_cells(prov, people, grid, populated_only=True)


def test_constants_hold_what_the_run_keeps_per_cell() -> None:
    graph, demand = _lattice()
    n = demand.n_cells
    snap = snap_points(graph, demand.xy)
    access = Access.from_snap(snap, access_speed_kmh=5.0)
    held = sum(a.nbytes for a in (demand.row, demand.col, demand.population, demand.area))
    held += sum(a.nbytes for a in (snap.edge, snap.dist_m, snap.along_m, snap.component))
    held += access.access_s.nbytes
    assert held / n <= dmm.DEMAND_BYTES_PER_CELL, f"{held / n:.1f} B held per cell"
    assert demand.row.dtype == np.int32 and snap.edge.dtype == np.int32, "indices not int32"
    fac = snap_points(graph, demand.xy[:3])
    ki = prepare(graph, Access.from_snap(fac, access_speed_kmh=5.0), access, limit_s=600.0)
    kernel = ki.att_cell.nbytes + ki.att_off.nbytes
    assert kernel / n <= dmm.KERNEL_BYTES_PER_CELL, f"{kernel / n:.1f} B of kernel inputs"
    assert ki.cell_access is access.access_s, "the kernel copied the cells' access times"


def test_construction_stays_within_its_constant() -> None:
    """The grid's construction peak (tracemalloc: numpy's allocations), the people read aside."""
    import tracemalloc

    grid = grid_for_bounds((0.0, 0.0, 150_000.0, 150_000.0), crs=CRS, cell_size_m=100.0)
    n = grid.shape[0] * grid.shape[1]
    flat = np.arange(0, n, 2, dtype=np.int64)  # every other cell populated
    people = SparseCells(flat, np.full(flat.size, 2.0))
    prov = gpd.GeoDataFrame(geometry=[shapely.box(5_000, 5_000, 145_000, 145_000)], crs=CRS)
    tracemalloc.start()
    try:
        demand = demand_from_cells(prov, people, grid, window_cells=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    per_cell = (peak + people.flat.nbytes + people.people.nbytes) / demand.n_cells
    assert per_cell <= dmm.BUILD_BYTES_PER_CELL, f"{per_cell:.1f} B per cell at the peak"


def test_estimate_counts_the_kernel_and_the_passes() -> None:
    budget = dmm.MemoryBudget(limit_gib=64.0, types=(SEAPORTS,) * 3, threads=2)
    need = budget.need_gib(NATIONAL, GRID)
    held = budget.held_bytes(NATIONAL) / 2**30
    passes = NATIONAL * (SEAPORTS.pass_bytes_per_cell() + 2 * SEAPORTS.set_bytes_per_cell())
    assert need >= held + passes / 2**30, "the passes' accumulators are not counted"
    assert need >= held + NATIONAL * dmm.KERNEL_BYTES_PER_CELL / 2**30, "the kernel is not"
    assert 3 < need < 8, f"{need:.2f} GiB for the national 100 m run (target: 8 GB)"
    wide = dmm.TypeShape(n_fac=50_000, n_breaks=3, areas=(34, 63))  # 4-byte members
    more = dmm.MemoryBudget(limit_gib=64.0, types=(SEAPORTS, SEAPORTS, wide), threads=2)
    grow = more.need_gib(NATIONAL, GRID) - need  # two sets of 4-byte members instead of 2
    per = 2 * dmm.SET_MEMBERS_PER_CELL * 2 * NATIONAL / 2**30
    assert grow == pytest.approx(per), grow
    few = dmm.TypeShape(n_fac=4, n_breaks=3, areas=(34, 63))  # never more members than facilities
    assert few.set_bytes_per_cell() == 2 + 4 + 2 * 4


def test_a_run_whose_passes_do_not_fit_is_refused_before_the_work() -> None:
    wide = dmm.TypeShape(n_fac=5_000, n_breaks=3, areas=(34, 63))
    cells_only = dmm.MemoryBudget(limit_gib=64.0, types=(wide,)).held_bytes(NATIONAL) / 2**30
    budget = dmm.MemoryBudget(limit_gib=cells_only + 1.0, types=(wide,), source="r.toml")
    with pytest.raises(InputError) as err:
        budget.check(NATIONAL, GRID, populated_only=True)
    text = str(err.value)
    assert "cell_size_m" in text and "accumulators" in text and "max_grid_gib" in text, text
    assert "populated_cells_only" not in text, "already populated cells only"
    dmm.MemoryBudget(limit_gib=64.0, types=(wide,)).check(NATIONAL, GRID, populated_only=True)


def test_sets_are_sized_from_what_the_limit_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFRA_OVERLAP_FUSE_MB", raising=False)
    budget = dmm.MemoryBudget(limit_gib=10.0, types=(SEAPORTS,) * 3, threads=2)
    fuse = fuse_bytes_default(budget.fuse_bytes(NATIONAL, SEAPORTS))
    one_set = NATIONAL * SEAPORTS.set_bytes_per_cell()
    assert fuse >= 3 * one_set, "the three breaks' sets of 150 seaports would each need a pass"
    less = dmm.MemoryBudget(limit_gib=8.0, types=(SEAPORTS,) * 3, threads=2)
    assert one_set <= less.fuse_bytes(NATIONAL, SEAPORTS) < 3 * one_set, "not from the limit"
    tight = dmm.MemoryBudget(limit_gib=1.0, types=(SEAPORTS,))
    assert tight.fuse_bytes(NATIONAL, SEAPORTS) == dmm.FUSE_BYTES_FLOOR
    assert fuse_bytes_default() == dmm.FUSE_BYTES_FLOOR
    monkeypatch.setenv("INFRA_OVERLAP_FUSE_MB", "3")  # the override still wins
    assert fuse_bytes_default(budget.fuse_bytes(NATIONAL, SEAPORTS)) == 3 * 2**20


def test_for_run_counts_each_types_facilities() -> None:
    from geo.config import load_region_config

    config = load_region_config("data/vietnam.toml")
    fac = gpd.GeoDataFrame({"type": ["seaport"] * 70 + ["airport"] * 3})
    provinces = SimpleNamespace(p34=[0] * 34, p63=[0] * 63)
    budget = dmm.MemoryBudget.for_run(
        config, provinces=provinces, facilities=fac, types=["seaport", "airport"]
    )
    assert [s.n_fac for s in budget.types] == [70, 3]
    assert all(s.areas == tuple(len(getattr(provinces, f"p{lv.edition}"))
                                for lv in config.area_levels) for s in budget.types)  # fmt: skip
    assert budget.n_types == 2


def test_release_freed_hands_the_heaps_free_pages_back() -> None:
    """Small arrays freed among live ones stay in the resident set until the heap is trimmed
    (glibc); ``release_freed`` gives them back, so a type's next stage does not peak on them."""
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's malloc_trim: Linux only")

    def rss_mb() -> float:
        for line in open("/proc/self/status"):  # noqa: SIM115 (read once)
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    dmm.release_freed()
    many = [np.ones(8_000) for _ in range(6_000)]  # 64 KB each, under the mmap threshold
    keep = many[::50]  # pins the heap's top so the frees cannot shrink it
    del many
    before = rss_mb()
    assert dmm.release_freed()
    after = rss_mb()
    assert before - after > 150, f"{before:.0f} -> {after:.0f} MB"
    assert len(keep) == 120
