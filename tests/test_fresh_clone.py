"""Issue 4: `make run` in a fresh clone, with no data mirror anywhere, gives the national outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("clone")]


@pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("git") is None, reason="needs git and make"
)
def test_make_run_in_a_fresh_clone_without_mirror(tmp_path: Path):
    clone = tmp_path / "somewhere" / "infra-overlap"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    assert not (clone.parent / "shared").exists(), "the clone must have no ../shared beside it"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFRA_OVERLAP", "VIRTUAL_ENV", "PYTHON"))
    }
    r = subprocess.run(
        ["make", "run"], cwd=clone, env=env, capture_output=True, text=True, timeout=1500
    )
    assert r.returncode == 0, f"make run failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    out = clone / "out" / "vietnam"
    for name in (
        "map.html",
        "infra_overlap.gpkg",
        "report.html",
        "manifest.json",
        "tables/rejects.csv",
    ):
        assert (out / name).is_file(), f"{name} missing after make run"
    man = json.loads((out / "manifest.json").read_text())
    assert man["data_origin"] == "embedded", (
        f"the default run must read the embedded data, not {man['data_origin']}"
    )
    assert man["demand_source"].startswith("communes_census2019_scaled_nso2024")
    assert all("shared" not in i["path"] for i in man["inputs"]), (
        "a default run must not read a mirror"
    )
    report = (out / "report.html").read_text()
    page = (out / "map.html").read_text()
    for text in (report, page):
        assert "OpenStreetMap contributors" in text and "CC BY-SA 4.0" in text
    # a second make run (venv already there) replaces the outputs without asking
    r2 = subprocess.run(
        ["make", "run"], cwd=clone, env=env, capture_output=True, text=True, timeout=900
    )
    assert r2.returncode == 0, r2.stderr[-2000:]
