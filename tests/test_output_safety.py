"""Outputs that cannot destroy anything (issue 20): --overwrite replaces only a previous run,
`check` never writes over its input, an input inside --out is refused, the folder is checked
before computing, and two runs to one folder never both write it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geo.outdir import MARKER, folder_lock, is_run_folder
from tests.conftest import EMBEDDED, REPO, run_cli

ONE_AIRPORT = "name,lon,lat,type,status\nSân bay Cát Bi,106.72,20.82,airport,operating\n"


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def user_folder(root: Path) -> Path:
    d = root / "thesis"
    (d / "chapters").mkdir(parents=True)
    (d / "thesis.docx").write_bytes(b"PK\x03\x04 months of work")
    (d / "chapters" / "one.md").write_text("# one\n", encoding="utf-8")
    return d


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path):
    d = user_folder(tmp_path)
    before = digest(d)
    r = run_cli("run", "--types", "airport", "--out", str(d), "--overwrite", "-q", timeout=120)
    assert r.returncode == 1, r.stderr
    assert "only a folder written by a previous run" in r.stderr and str(d) in r.stderr
    assert digest(d) == before, "a folder that is not a run was changed by --overwrite"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"], "something was left beside it"


def test_a_run_folder_with_a_users_file_added_is_not_replaced(tmp_path):
    """A previous run's folder in which the user saved a file is no longer 'only a run'."""
    d = tmp_path / "run"
    d.mkdir()
    (d / "map.html").write_text("<html></html>", encoding="utf-8")
    man = {"outputs": {"map.html": {}}}
    (d / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    sha = hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()
    (d / MARKER).write_text(json.dumps({"tool": "infra-overlap", "manifest_sha256": sha}))
    assert is_run_folder(d)
    (d / "map.html.aux.xml").write_text("<PAMDataset/>", encoding="utf-8")  # GDAL, on reading
    assert is_run_folder(d), "a side file written by a GIS reader is not a user's work"
    (d / "notes.docx").write_bytes(b"mine")
    assert not is_run_folder(d), "a folder holding a file the manifest does not list"
    (d / "notes.docx").unlink()
    (d / "manifest.json").write_text(json.dumps(man) + " ", encoding="utf-8")
    assert not is_run_folder(d), "a marker whose manifest hash does not match"


def test_check_never_writes_over_its_input(tmp_path):
    f = tmp_path / "facilities.csv"
    text = ONE_AIRPORT + "Bad row,not-a-number,20.8,airport,operating\n"
    f.write_text(text, encoding="utf-8")
    r = run_cli("check", "--facilities", str(f), "--types", "airport", "--out", str(tmp_path))
    assert r.returncode == 1, r.stderr
    assert "also an input" in r.stderr and "facilities.csv" in r.stderr
    assert f.read_text(encoding="utf-8") == text, "check overwrote its input file"


def test_run_refuses_an_input_inside_the_output_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    f = out / "mine.csv"
    f.write_text(ONE_AIRPORT, encoding="utf-8")
    r = run_cli("run", "--facilities", str(f), "--types", "airport", "--out", str(out), "-q")
    assert r.returncode == 1, r.stderr
    assert f.read_text(encoding="utf-8") == ONE_AIRPORT


@pytest.mark.parametrize("kind", ["under_a_file", "name_too_long"])
def test_unwritable_output_folder_is_refused_before_computing(tmp_path, kind):
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    out = blocker / "out" if kind == "under_a_file" else tmp_path / ("n" * 250)
    t0 = time.monotonic()
    r = run_cli("run", "--types", "airport", "--out", str(out), "-q", timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert ("cannot write" in r.stderr) if kind == "under_a_file" else ("too long" in r.stderr)
    assert "done in" not in r.stdout and time.monotonic() - t0 < 60


def test_second_holder_is_named_when_the_lock_is_taken(tmp_path):
    out = tmp_path / "busy"
    with folder_lock(out):
        r = run_cli("run", "--types", "airport", "--out", str(out), "--wait", "0.5", "-q")
    assert r.returncode == 1, r.stderr
    assert "another run is writing this folder" in r.stderr and f"process {os.getpid()}" in r.stderr
    assert not out.exists()


@pytest.mark.integration
def test_two_concurrent_runs_to_one_folder_leave_one_complete_run(tmp_path):
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    out = tmp_path / "same"
    env = {k: v for k, v in os.environ.items() if k != "INFRA_OVERLAP_DATA"}
    cmd = [sys.executable, str(REPO / "cli.py"), "run", "--types", "airport", "--out", str(out)]
    first = subprocess.Popen([*cmd, "-q"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(3)  # the first holds the lock by now (it takes it before loading any data)
    refused = run_cli("run", "--types", "airport", "--out", str(out), "--wait", "1", "-q")
    waited = run_cli(
        "run", "--types", "airport", "--out", str(out), "--overwrite", "--wait", "300", "-q",
        timeout=600,
    )  # fmt: skip
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-3000:]
    assert refused.returncode == 1 and "another run is writing" in refused.stderr, refused.stderr
    assert waited.returncode == 0, waited.stderr[-3000:]
    assert is_run_folder(out), "the folder does not hold one complete run"
    files = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    got = digest(out)
    assert all(got[name] == meta["sha256"] for name, meta in files.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same"]
