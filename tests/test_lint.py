"""House rule 17: ruff finds nothing and mypy passes (settings: [tool.mypy] in pyproject.toml)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_ruff_check_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed (pip install -e '.[test]')")
    r = subprocess.run([ruff, "check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:]


def test_ruff_format_is_applied():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed (pip install -e '.[test]')")
    r = subprocess.run(
        [ruff, "format", "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, f"run `ruff format .`: {r.stdout[-3000:]}"


def test_mypy_passes():
    """mypy over geo/, analysis/, maps/ and cli.py (the files and flags come from pyproject.toml)."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy not installed (pip install -e '.[test]')")
    r = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]


def test_cli_help_starts_fast_without_heavy_imports():
    """`python cli.py --help` must not import the geospatial stack (issue 10: start-up < 1 s)."""
    code = "import sys, runpy; sys.argv=['cli.py','--help']\ntry:\n    runpy.run_path('cli.py', run_name='__main__')\nexcept SystemExit:\n    pass\nprint(sorted(m for m in ('geopandas','scipy','shapely','rasterio','folium') if m in sys.modules))"
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert r.stdout.strip().splitlines()[-1] == "[]", (
        f"--help imported heavy modules: {r.stdout[-500:]}"
    )
