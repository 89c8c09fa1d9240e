"""Network paths fail fast (issue 20): a silent TCP server, an HTTP server that is not the
expected one and a closed port make `batch --scheduler` and `fetch` end within 30 s with exit 1
and a message naming the host; no traceback, nothing half-written in the output folder."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

SCENARIOS = REPO / "data" / "scenarios_vietnam.toml"
BBOX = "106.6,20.7,106.9,20.95"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections (kernel backlog) and never says a word."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def http_port() -> Iterator[int]:
    """An ordinary web server: answers every GET with an HTML page."""

    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = b"<html><body>It works!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def _fails_fast(args: list[str], *needles: str) -> str:
    t0 = time.monotonic()
    r = run_cli(*args, timeout=120)
    took = time.monotonic() - t0
    assert r.returncode == 1, f"exit {r.returncode}\n{r.stderr[-2000:]}"
    assert took < 30, f"took {took:.0f} s (must fail within 30 s)"
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    for n in needles:
        assert n in r.stderr, f"the message should name {n!r}: {r.stderr}"
    return r.stderr


@pytest.mark.parametrize("kind", ["silent", "http", "closed"])
def test_batch_scheduler_that_is_not_dask_fails_fast(
    tmp_path, kind, silent_port, http_port, closed_port
):
    port = {"silent": silent_port, "http": http_port, "closed": closed_port}[kind]
    err = _fails_fast(
        ["batch", str(SCENARIOS), "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "b")],
        f"127.0.0.1:{port}",
        "--scheduler",
    )  # fmt: skip
    expected = {"closed": "nothing listens", "silent": "no Dask handshake", "http": "no Dask handshake"}  # fmt: skip
    assert expected[kind] in err, err


@pytest.mark.parametrize("kind", ["silent", "http", "closed"])
def test_fetch_against_a_wrong_overpass_fails_fast(
    tmp_path, kind, silent_port, http_port, closed_port
):
    port = {"silent": silent_port, "http": http_port, "closed": closed_port}[kind]
    out = tmp_path / "mirror"
    err = _fails_fast(
        [
            "fetch", "--out", str(out), "--bbox", BBOX, "--skip", "population",
            "--overpass-url", f"http://127.0.0.1:{port}/api", "--cache", str(tmp_path / "c"),
        ],
        f"127.0.0.1:{port}",
    )  # fmt: skip
    expected = {"closed": "nothing listens", "silent": "did not answer", "http": "not like the Overpass"}  # fmt: skip
    assert expected[kind] in err, err
    assert not out.exists(), "a failed preflight must leave no output folder"


def test_fetch_against_a_silent_population_server_fails_fast(tmp_path, silent_port):
    _fails_fast(
        [
            "fetch", "--out", str(tmp_path / "m"), "--bbox", BBOX, "--skip", "roads", "--skip",
            "facilities", "--population-url", f"http://127.0.0.1:{silent_port}/pop.tif",
            "--cache", str(tmp_path / "c"),
        ],
        f"127.0.0.1:{silent_port}",
        "did not answer",
    )  # fmt: skip


def test_lock_holder_is_named_for_fetch(tmp_path: Path) -> None:
    from geo.outdir import folder_lock

    out = tmp_path / "m"
    with folder_lock(out):
        r = run_cli("fetch", "--out", str(out), "--bbox", BBOX, "--skip", "roads", "--skip", "facilities", "--skip", "population")  # fmt: skip
    assert r.returncode == 1 and "another run is writing this folder" in r.stderr, r.stderr
