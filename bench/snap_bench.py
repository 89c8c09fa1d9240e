"""Snapping points to a national-size road graph: ``analysis.network.snap_points`` (the numba
segment grid of ``analysis/snap.py``) against the shapely ``STRtree.query_nearest``
implementation it replaced (copied in ``tests/test_snap.py``), in the same process.

The graph is a pickled ``analysis.network.Graph`` (default ``/tmp/s5_bench/graph.pkl``: the
synthetic national graph of ``bench/full_resolution.py``, ~4.1 M arcs). Cases, one after the
other, each with the high-water mark reset (``/proc/self/clear_refs``) so its peak RSS
(``VmHWM``) is its own, reported above the RSS before it:

- ``numba``/``shapely`` on ``--n-ref`` uniform random points over the graph's bounding box
  (sea and neighbouring countries included, so many points are far from any road), then the
  two results compared (edges equal, distances and positions along equal or within 1e-6 m);
- ``numba`` alone on ``--n`` random points;
- with ``--demand FILE.npz`` (key ``xy``, memory-mapped; e.g.
  ``/tmp/r19_full/demand_100m.npz``, 27.9 M synthetic 100 m cell centres) ``numba`` on those
  points (``--demand-n`` of them, evenly spaced, when given), and with ``--ref-demand N``
  both on N evenly spaced cells first.

Usage: ``python bench/snap_bench.py [--graph PKL] [--n-ref 1000000] [--n 5000000]
[--demand FILE] [--threads N]``; prints a markdown table and one JSON line per case.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_common import reset_peak, status_mb  # noqa: E402


def _case(name: str, fn, n: int) -> tuple[object, dict]:
    reset_peak()
    before = status_mb("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    row = {
        "case": name,
        "points": n,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "us_per_point": round(wall / max(n, 1) * 1e6, 3),
        "rss_before_mb": round(before),
        "peak_above_mb": round(status_mb("VmHWM") - before),
    }
    print(json.dumps(row), flush=True)
    return out, row


def _npz_member(path: str, key: str) -> np.ndarray:
    """Array ``key`` of an .npz: memory-mapped when stored uncompressed (``np.savez``), so
    only the pages read count, else loaded."""
    info = zipfile.ZipFile(path).getinfo(key + ".npy")
    if info.compress_type != zipfile.ZIP_STORED:
        with np.load(path) as z:
            return z[key]
    with open(path, "rb") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(fh.read(4), "<u2")
        fh.seek(info.header_offset + 30 + int(name_len) + int(extra_len))
        version = np.lib.format.read_magic(fh)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read(fh)
        offset = fh.tell()
    order = "F" if fortran else "C"
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)


def _against_shapely(graph, xy: np.ndarray, threads: int | None, label: str) -> list[dict]:
    """Both on the same points, then their agreement."""
    from analysis.network import snap_points
    from tests.test_snap import snap_points_shapely

    n = xy.shape[0]
    got, row_new = _case(f"numba, {label}", lambda: snap_points(graph, xy, threads=threads), n)
    ref, row_ref = _case(f"shapely, {label}", lambda: snap_points_shapely(graph, xy), n)
    same_edge = int((got.edge == ref.edge).sum())
    ok = ref.edge >= 0
    d_diff = float(np.abs(got.dist_m[ok] - ref.dist_m[ok]).max(initial=0))
    a_diff = float(np.abs(got.along_m - ref.along_m).max(initial=0))
    bitwise = bool(
        np.array_equal(got.dist_m, ref.dist_m) and np.array_equal(got.along_m, ref.along_m)
    )
    print(f"agreement: {same_edge:,} of {n:,} same edge; max |dist diff| {d_diff:.3g} m, "
          f"max |along diff| {a_diff:.3g} m; bit-identical: {bitwise}", flush=True)  # fmt: skip
    row_ref["same_edge"], row_ref["bit_identical"] = same_edge, bitwise
    return [row_new, row_ref]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--graph", default="/tmp/s5_bench/graph.pkl")
    ap.add_argument("--n-ref", type=int, default=1_000_000)
    ap.add_argument("--n", type=int, default=5_000_000)
    ap.add_argument("--demand", default="")
    ap.add_argument("--demand-n", type=int, default=0)
    ap.add_argument("--ref-demand", type=int, default=0, help="demand cells for shapely too")
    ap.add_argument("--threads", type=int, default=0, help="0: the CPUs this process may use")
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()

    from analysis import network
    from analysis.network import snap_points

    threads = args.threads or None
    t = time.perf_counter()
    with open(args.graph, "rb") as fh:
        graph = pickle.load(fh)
    print(f"graph: {graph.edge_u.size:,} edges, {graph.csr.nnz:,} arcs, loaded in "
          f"{time.perf_counter() - t:.1f} s, RSS {status_mb('VmRSS'):.0f} MB", flush=True)  # fmt: skip
    lo = np.array([graph.node_xy[:, 0].min(), graph.node_xy[:, 1].min()])
    hi = np.array([graph.node_xy[:, 0].max(), graph.node_xy[:, 1].max()])
    rng = np.random.default_rng(args.seed)
    rows = []
    # compile (and build the index of) a tiny call first: the cases time the work, not numba
    t = time.perf_counter()
    snap_points(graph, rng.uniform(lo, hi, (10, 2)), threads=threads)
    index = network._SEGMENT_INDEX[0][2]
    index_mb = index.nbytes / 2**20
    print(f"segment grid (kept for the graph's next calls): {index.entries.size:,} bucket "
          f"entries, {index.nx:,} x {index.ny:,} buckets of {index.cell:.0f} m, "
          f"{index_mb:.0f} MB, built (with numba's cache load) in "
          f"{time.perf_counter() - t:.1f} s", flush=True)  # fmt: skip

    rows += _against_shapely(graph, rng.uniform(lo, hi, (args.n_ref, 2)), threads, "random")
    xy = rng.uniform(lo, hi, (args.n, 2))
    rows.append(_case("numba, random", lambda: snap_points(graph, xy, threads=threads), args.n)[1])
    if args.demand:
        xy = _npz_member(args.demand, "xy")
        if args.ref_demand:
            step = max(1, xy.shape[0] // args.ref_demand)
            sample = np.ascontiguousarray(xy[::step][: args.ref_demand])
            rows += _against_shapely(graph, sample, threads, "demand cells")
            del sample
        if args.demand_n:
            xy = np.ascontiguousarray(xy[:: max(1, xy.shape[0] // args.demand_n)])
        n = xy.shape[0]
        rows.append(
            _case("numba, demand cells", lambda: snap_points(graph, xy, threads=threads), n)[1]
        )
    print("\n| case | points | wall s | CPU s | µs / point | peak above MB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['points']:,} | {r['wall_s']} | {r['cpu_s']} | "
              f"{r['us_per_point']} | {r['peak_above_mb']} |")  # fmt: skip
    for new, ref in itertools.pairwise(rows):
        if ref["case"].startswith("shapely") and new["case"].startswith("numba"):
            print(f"ratio shapely / numba ({ref['case'].split(', ')[1]}, {ref['points']:,} "
                  f"points): {ref['wall_s'] / new['wall_s']:.1f}x wall, "
                  f"{ref['cpu_s'] / new['cpu_s']:.1f}x CPU")  # fmt: skip
    print(f"peak RSS of the process (VmHWM since the last reset): {status_mb('VmHWM'):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
