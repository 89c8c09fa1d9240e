"""Performance benchmark of the catchment kernel and the whole chain (issue 10).

Runs, side by side in one process per section (these machines are noisy: read the ratios):

kernel    on the real Vietnam roads and on a real OSM city tiled to 0.5 M and 2 M arcs:
          raw scipy ``dijkstra(indices, limit=)``, networkx ``single_source_dijkstra_path_length``
          and the osmnx-documentation ``nx.ego_graph(distance="travel_time")`` per facility
          (on a facility prefix, extrapolated, marked ``~``), and ours: the chain's
          ``analysis.catchments.travel_times`` (the numba kernel of analysis/kernel.py), its
          scipy reference ``travel_times_scipy``, and the kernel's node form. Ours must agree
          with scipy.
scaling   1x / 4x / 10x graph (and facilities in proportion): ratio of ratios.
national  the whole chain on a 2 M-arc replicated real graph laid over Vietnam's land cells,
          1,000 facilities of three types, the real 1 km demand grid (~333 k cells): every step
          timed, peak RSS, polygons for display (cost and accuracy).
harness   ../shared/bench/peers.py with bench/peers_plugin.py (scipy, nx, infra_overlap).
startup   ``python cli.py --help``.

Usage: ``python bench/run_bench.py [--out DIR] [--sections kernel,scaling,national,harness,startup]``
(``make bench``). JSON lines go to DIR/results.jsonl (DIR: --out, else $BENCH_DIR, else
/tmp/infra_overlap_bench); graphs are rebuilt each run (seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_common import (
    HERE,
    ROOT,
    SHARED_BENCH,
    emit,
)
from bench_kernel import _graph, run_kernel, run_scaling
from bench_national import run_national
from bench_report import report


# ----------------------------------------------------------------------------- harness, startup
def run_harness(out: Path) -> None:
    import graphs as bg

    gdir = out / "graphs"
    gdir.mkdir(parents=True, exist_ok=True)
    base = bg.load_base()
    for name, target in (("sp_tiled_500k", 500_000),):
        g = _graph(bg.tile_grid(base, target_arcs=target))
        coo = g.csr.tocoo()
        np.savez(
            gdir / f"{name}.npz",
            src=coo.row,
            dst=coo.col,
            travel_time=coo.data,
            length=coo.data,
            x=g.node_xy[:, 0],
            y=g.node_xy[:, 1],
            source=np.array("REPLICATED real graph"),
        )
        cmd = [
            sys.executable,
            str(SHARED_BENCH / "peers.py"),
            "--plugin",
            str(HERE / "peers_plugin.py"),
            "--graph",
            str(gdir / f"{name}.npz"),
            "--facilities",
            "100",
            "--cutoff-min",
            "30",
            "--peers",
            "scipy,scipy_multi,nx,infra_overlap",
            "--max-seconds",
            "8",
            "--repeats",
            "3",
            "--json",
            str(out / "harness.jsonl"),
        ]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=SHARED_BENCH)
        print(p.stdout + p.stderr, flush=True)
        emit(
            out,
            {"section": "harness", "graph": name, "exit_code": p.returncode, "stdout": p.stdout},
        )


def run_startup(out: Path) -> None:
    ts = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "--help"],
            capture_output=True,
            check=True,
            cwd=ROOT,
        )
        ts.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t
    row = {"section": "startup", "cli_help_s": float(np.median(ts)), "python_bare_s": bare}
    emit(out, row)
    print(json.dumps(row), flush=True)


SECTIONS = {
    "kernel": run_kernel,
    "scaling": run_scaling,
    "national": run_national,
    "harness": run_harness,
    "startup": run_startup,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.environ.get("BENCH_DIR", "/tmp/infra_overlap_bench"))
    ap.add_argument("--sections", default="startup,harness,kernel,scaling,national")
    ap.add_argument("--section", help=argparse.SUPPRESS)  # one section, in this process
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.section:
        SECTIONS[a.section](out)
        return 0
    (out / "results.jsonl").unlink(missing_ok=True)
    (out / "harness.jsonl").unlink(missing_ok=True)
    t0 = time.perf_counter()
    failed = []
    for s in a.sections.split(","):
        t = time.perf_counter()
        print(f"# section {s}", flush=True)
        # each section in its own process: peak RSS and caches are its own
        p = subprocess.run([sys.executable, __file__, "--section", s, "--out", str(out)])
        if p.returncode:
            failed.append(s)
        print(f"# section {s}: {time.perf_counter() - t:.0f} s (exit {p.returncode})", flush=True)
    text = report(out)
    print(text)
    (out / "report.md").write_text(text + "\n")
    print(
        f"\n# make bench: {time.perf_counter() - t0:.0f} s; JSON lines in {out / 'results.jsonl'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
