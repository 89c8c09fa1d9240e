"""Issue 9, done-criterion: the 8 real Viet Nam scenarios of data/scenarios_vietnam.toml run on a
LocalCluster, a second invocation skips all of them, and the report opens in Chromium and
LibreOffice."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import once_per_session, run_cli

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "data" / "scenarios_vietnam.toml"


@pytest.fixture(scope="session")
def example_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def make(base: Path) -> Path:
        out = base / "batch"
        r = run_cli("batch", str(EXAMPLE), "--out", str(out), "--workers", "2", "-q", timeout=1500)
        assert r.returncode == 0, r.stderr[-3000:]
        return out

    return once_per_session(tmp_path_factory, "example_batch", make)


def test_example_batch_runs_every_scenario(example_batch: Path):
    folders = sorted(
        p for p in (example_batch / "scenarios").iterdir() if (p / "manifest.json").exists()
    )
    assert len(folders) == 8, [p.name for p in folders]
    for f in folders:
        assert (f / "map.html").is_file() and (f / "infra_overlap.gpkg").is_file()
        assert json.loads((f / "manifest.json").read_text())["counts"]["facilities"]


def test_second_invocation_skips_all(example_batch: Path):
    before = {p: p.stat().st_mtime_ns for p in (example_batch / "scenarios").rglob("manifest.json")}
    r = run_cli("batch", str(EXAMPLE), "--out", str(example_batch), "--workers", "1", timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    after = {p: p.stat().st_mtime_ns for p in (example_batch / "scenarios").rglob("manifest.json")}
    assert before == after, "finished scenarios must not be recomputed"
    assert r.stderr.count("skipped") >= 8 or "8 skipped" in r.stderr + r.stdout, r.stderr[-2000:]


def test_example_report_opens_in_chromium_and_libreoffice(example_batch: Path, tmp_path: Path):
    wb = openpyxl.load_workbook(example_batch / "report.xlsx")
    assert len(wb.sheetnames) >= 3 and all(ws.freeze_panes for ws in wb.worksheets)
    tool = REPO.parent / "shared" / "tools" / "check_html.py"
    if tool.exists() and shutil.which("chromium"):
        r = subprocess.run(
            [sys.executable, str(tool), str(example_batch / "report.html"), "--no-map", "--no-png"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert r.returncode == 0, r.stderr[-2000:]
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed (the .ci/run installs libreoffice-calc)")
    r = subprocess.run(
        [
            soffice,
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(example_batch / "report.xlsx"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0 and (tmp_path / "report.pdf").stat().st_size > 1000, r.stderr[-2000:]
