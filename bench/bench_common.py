"""Shared by the sections of ``bench/run_bench.py``: paths (the repository put on ``sys.path``),
the JSON-lines writer and the timers (moved from ``run_bench.py``)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]
SHARED_BENCH = ROOT.parent / "shared" / "bench"
VIETNAM_DATA = Path(
    os.environ.get("INFRA_OVERLAP_DATA", ROOT.parent / "shared" / "data" / "vietnam")
)
PREFIX_BUDGET_S = 8.0  # per-facility peers run on a prefix that fits this budget


def emit(out: Path, row: dict) -> None:
    row = {
        k: (float(v) if isinstance(v, np.floating) else int(v) if isinstance(v, np.integer) else v)
        for k, v in row.items()
    }
    with open(out / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


def status_mb(key: str) -> float:
    """A field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in MB; NaN where there is none."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak() -> None:
    """Reset ``VmHWM`` to the current RSS (not Linux, or not allowed: the peak stays the
    process's)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, *a, **k):
    t = time.perf_counter()
    r = fn(*a, **k)
    return r, time.perf_counter() - t
