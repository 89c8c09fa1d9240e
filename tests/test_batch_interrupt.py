"""Ctrl-C in `batch` (issue 20): one line, exit 130, no Dask traceback (without -v)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import EMBEDDED, REPO

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("batch")]

SMALL = """
[defaults]
config = "{config}"
types = ["airport"]

[[scenario]]
name = "base"

[[scenario]]
name = "air60"
primary_min = {{ airport = 60 }}
"""


def test_ctrl_c_in_batch_prints_one_line_and_exits_130(tmp_path):
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    spec = tmp_path / "s.toml"
    spec.write_text(SMALL.format(config=REPO / "data" / "vietnam.toml"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "INFRA_OVERLAP_DATA"}
    cmd = [sys.executable, str(REPO / "cli.py"), "batch", str(spec), "--workers", "2"]
    # its own session: the signal goes to the whole process group, as a terminal's Ctrl-C does
    proc = subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "b")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as from a terminal: Ctrl-C at its default, whatever this test process inherited (a
        # process started with SIGINT ignored keeps it ignored, and Python then installs no
        # KeyboardInterrupt handler: an xdist worker after a test that ignored it)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (tmp_path / "b" / "scenarios").is_dir():
        time.sleep(0.2)
    time.sleep(3)  # the workers are running scenarios now
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, f"exit {proc.returncode}\n{err[-3000:]}"
    assert "Traceback" not in err, f"a traceback reached the user:\n{err[-3000:]}"
    assert sum("interrupted" in line for line in err.splitlines()) == 1, err[-3000:]
