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

from maps.outputs import recover_out_dir
from tests.conftest import EMBEDDED, REPO, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("kill_write")]


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


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
            tmps = [p for p in tmp_path.glob(".tmp-out-*") if p.is_dir()]
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
    assert killed_in is not None, "the run finished or timed out before its .tmp- folder appeared"
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
    pid = dead_pid()
    old = tmp_path / f".old-out-{pid}"
    old.mkdir()
    (old / "map.html").write_text("previous", encoding="utf-8")
    half = tmp_path / f".tmp-out-{pid}-abc123"
    half.mkdir()
    (half / "map.html").write_text("half writ", encoding="utf-8")
    recover_out_dir(tmp_path / "out")
    assert (tmp_path / "out" / "map.html").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_recover_leaves_a_running_writer_alone(tmp_path):
    live = tmp_path / f".tmp-out-{os.getpid()}-abc123"
    live.mkdir()
    (tmp_path / "out").mkdir()
    stale_old = tmp_path / f".old-out-{dead_pid()}"
    stale_old.mkdir()
    recover_out_dir(tmp_path / "out")
    assert live.is_dir(), "the temporary folder of a live writer must not be removed"
    assert not stale_old.exists(), "a finished replacement's leftover .old- folder should go"
