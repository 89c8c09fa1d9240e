"""Shared fixtures: the real chain run once per data source (embedded default, mirror)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MIRROR = Path(os.environ.get("INFRA_OVERLAP_MIRROR", REPO.parent / "shared" / "data" / "vietnam"))
EMBEDDED = REPO / "data" / "vietnam"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run ``python cli.py ARGS`` as a user would, from the repository root."""
    e = {k: v for k, v in os.environ.items() if k != "INFRA_OVERLAP_DATA"}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args], cwd=REPO, env=e, capture_output=True, text=True, timeout=timeout
    )


def _chain(tmp_path_factory: pytest.TempPathFactory, name: str, data: Path | None) -> Path:
    out = tmp_path_factory.mktemp(name) / "out"
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
