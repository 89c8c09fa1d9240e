"""A run killed while writing (issue 5): the previous outputs stay intact, no half-written file
replaces them, and the next run cleans up what the killed one left."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geo.outdir import old_dir_of, recover, tmp_dir_of
from tests.conftest import EMBEDDED, REPO, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("kill_write")]


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sigkill_while_writing_leaves_previous_outputs_intact(tmp_path):
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    out = tmp_path / "out"
    first = run_cli("run", "--types", "airport", "--out", str(out), "-q", timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    before = tree_digest(out)
    manifest_hash = before["manifest.json"]
    assert "map.html" in before and "infra_overlap.gpkg" in before

    env = {k: v for k, v in os.environ.items() if k != "INFRA_OVERLAP_DATA"}
    cmd = [sys.executable, str(REPO / "cli.py"), "run", "--types", "airport", "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--overwrite", "-q"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed_in = None
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            tmps = [p for p in [tmp_dir_of(out)] if p.is_dir()]
            # kill once the writer has begun to fill its temporary folder
            if tmps and any(tmps[0].iterdir()):
                proc.send_signal(signal.SIGKILL)
                killed_in = tmps[0]
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None and killed_in is None:
            proc.kill()
        proc.wait(timeout=30)
    assert killed_in is not None, (
        "the run finished or timed out before its temporary folder appeared"
    )
    assert proc.returncode == -signal.SIGKILL

    assert tree_digest(out) == before, "the previous outputs changed after a kill during writing"
    assert hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest() == manifest_hash
    files = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    for name, meta in files.items():
        assert tree_digest(out)[name] == meta["sha256"], f"{name} does not match its manifest"

    # the next command on this folder removes what the killed run left (and, without
    # --overwrite, still refuses to touch the outputs)
    again = run_cli("run", "--types", "airport", "--out", str(out), "-q", timeout=120)
    assert again.returncode == 1 and "--overwrite" in again.stderr, again.stderr
    assert not killed_in.exists(), "the killed run's temporary folder was not cleaned up"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert tree_digest(out) == before


def test_recover_restores_outputs_moved_aside_by_a_killed_writer(tmp_path):
    """Killed between moving the old folder aside and moving the new one in."""
    out = tmp_path / "out"
    old = old_dir_of(out)
    old.mkdir()
    (old / "map.html").write_text("previous", encoding="utf-8")
    half = tmp_dir_of(out)
    half.mkdir()
    (half / "map.html").write_text("half writ", encoding="utf-8")
    recover(out)
    assert (out / "map.html").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_recover_never_touches_the_folders_of_a_run_to_another_name(tmp_path):
    """A run to X must not remove the live temporary folder of a run to X-2024 (issue 20: the
    year used to be read as a dead process id)."""
    other = tmp_dir_of(tmp_path / "X-2024")
    other.mkdir()
    (other / "map.html").write_text("being written", encoding="utf-8")
    (tmp_path / "X").mkdir()
    stale_old = old_dir_of(tmp_path / "X")
    stale_old.mkdir()
    recover(tmp_path / "X")
    assert other.is_dir() and (other / "map.html").exists(), "another run's folder was removed"
    assert not stale_old.exists(), "a finished replacement's leftover folder should go"
