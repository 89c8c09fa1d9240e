"""Shared fixtures: the real chain run once per data source (embedded default, mirror)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MIRROR = Path(os.environ.get("INFRA_OVERLAP_MIRROR", REPO.parent / "shared" / "data" / "vietnam"))
EMBEDDED = REPO / "data" / "vietnam"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``python cli.py ARGS`` as a user would, from the repository root."""
    e = {k: v for k, v in os.environ.items() if k != "INFRA_OVERLAP_DATA"}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args],
        cwd=REPO,
        env=e,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def once_per_session(tmp_path_factory: pytest.TempPathFactory, name: str, make) -> Path:
    """Run ``make(folder)`` once per test session, even when pytest-xdist spreads the tests over
    several workers (its xdist_group does not keep them together under pytest 9): the first
    worker makes it under a file lock in the workers' shared temporary folder."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    base = root / f"once_{name}"
    with open(root / f"once_{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = base / "done.json"
        if done.exists():
            info = json.loads(done.read_text())
            if info.get("error"):
                pytest.fail(f"{name} failed in another worker: {info['error']}")
            return Path(info["path"])
        if base.exists():
            shutil.rmtree(base)
        base.mkdir()
        try:
            path = make(base)
        except BaseException as exc:
            done.write_text(json.dumps({"error": str(exc)[-2000:]}))
            raise
        done.write_text(json.dumps({"path": str(path)}))
        return path


def _chain(tmp_path_factory: pytest.TempPathFactory, name: str, data: Path | None) -> Path:
    return once_per_session(
        tmp_path_factory, name, lambda base: _run_chain(base / "out", name, data)
    )


def _run_chain(out: Path, name: str, data: Path | None) -> Path:
    args = ["run", "--out", str(out), "--lang", "vi"]
    env = {}
    if data is not None:
        env["INFRA_OVERLAP_DATA"] = str(data)
    r = run_cli(*args, env=env)
    assert r.returncode == 0, f"run on {name} failed (exit {r.returncode}):\n{r.stderr[-3000:]}"
    return out


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Outputs of ``cli.py run`` on the embedded default (no mirror, no env)."""
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    return _chain(tmp_path_factory, "default", None)


@pytest.fixture(scope="session")
def mirror_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Outputs of ``cli.py run`` on the full mirror through INFRA_OVERLAP_DATA."""
    if not MIRROR.is_dir():
        pytest.skip(f"no data mirror at {MIRROR}")
    return _chain(tmp_path_factory, "mirror", MIRROR)
