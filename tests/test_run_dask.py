"""``cli.py run --workers N`` and ``--scheduler ADDRESS``: the catchments run in facility blocks on
Dask workers (``analysis.remote``) and every table and GeoPackage layer equals the single-process
run's. On the São Paulo test region (real OSM roads, small: seconds per run), on a 2-worker
LocalCluster and on a scheduler and a worker started as separate processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest

from data.build_saopaulo import build
from tests.conftest import REPO, run_cli

PBF = REPO.parent / "shared" / "data" / "bench" / "sao_paulo.osm.pbf"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not PBF.is_file(), reason=f"bench PBF not found: {PBF}"),
]


def _run(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    r = run_cli("run", "--region", "saopaulo", "--data", str(data), "--out", str(out), *extra)
    assert r.returncode == 0, f"run {' '.join(extra)} failed:\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("sp_dask")
    data = base / "data"
    build(PBF, data)
    _run(data, base / "single")
    return data, base / "single"


def _assert_same_outputs(a: Path, b: Path) -> None:
    tables = sorted(p.relative_to(a) for p in (a / "tables").rglob("*.csv"))
    assert len(tables) >= 10, tables
    for t in tables:
        assert (a / t).read_bytes() == (b / t).read_bytes(), f"{t} differs"
    layers = [n for n, _ in pyogrio.list_layers(a / "infra_overlap.gpkg") if n != "layer_styles"]
    assert "catchments" in layers or len(layers) > 5, layers
    for name in layers:
        x = pyogrio.read_dataframe(a / "infra_overlap.gpkg", layer=name)
        y = pyogrio.read_dataframe(b / "infra_overlap.gpkg", layer=name)
        assert list(x.columns) == list(y.columns) and len(x) == len(y), name
        for c in x.columns:
            if c == "geometry":
                assert (x.geometry.to_wkb() == y.geometry.to_wkb()).all(), f"{name}.geometry"
            else:
                assert x[c].equals(y[c]), f"{name}.{c} differs"


def test_local_cluster_gives_identical_outputs(single: tuple[Path, Path], tmp_path: Path) -> None:
    data, one = single
    r = _run(data, tmp_path / "two", "--workers", "2")
    assert "on 2 Dask workers" in r.stderr, r.stderr[-2000:]
    _assert_same_outputs(one, tmp_path / "two")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_separate_scheduler_and_worker(single: tuple[Path, Path], tmp_path: Path) -> None:
    data, one = single
    dask = Path(sys.executable).parent / "dask"
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "INFRA_OVERLAP_DATA"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    quiet = {"cwd": REPO, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,  # type: ignore[call-overload]
        )
    ]
    try:
        time.sleep(3)
        procs.append(
            subprocess.Popen(
                [str(dask), "worker", addr, "--nthreads", "1", "--nworkers", "2", "--no-dashboard"],
                **quiet,  # type: ignore[call-overload]
            )
        )
        time.sleep(3)
        r = _run(data, tmp_path / "remote", "--scheduler", addr)
        assert "on 2 Dask workers" in r.stderr, r.stderr[-2000:]
        _assert_same_outputs(one, tmp_path / "remote")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    addr = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    r = run_cli("run", "--region", "saopaulo", "--out", str(tmp_path / "o"), "--scheduler", addr)
    assert r.returncode != 0
    assert addr in r.stderr or "127.0.0.1" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert time.perf_counter() - t0 < 60, "a closed port must fail in seconds, not hang"
    assert not (tmp_path / "o" / "tables").exists()
