"""Run QGIS processing algorithms headless (``qgis_process.bin``, Debian QGIS 3.22) from tests.

Pitfalls handled here (see ``../shared/tools/README.md``):

* Debian's ``qgis_process`` wrapper adds ``--noversioncheck``, which 3.22 rejects: call
  ``qgis_process.bin``.
* It needs ``QT_QPA_PLATFORM=offscreen`` and an ``XDG_RUNTIME_DIR``; without
  ``QGIS_CUSTOM_CONFIG_PATH`` and ``TMPDIR`` it writes a profile under ``~/.local/share/QGIS``
  and Qt temp files in ``/tmp``: all of them go to one scratch folder here.
* The network-analysis algorithms refuse to run without ``--PROJECT_PATH``; the project's CRS
  gives the distance unit. :func:`write_minimal_project` writes a tiny ``.qgs`` for that.
* The venv's Python cannot import PyQGIS; only Debian's ``/usr/bin/python3`` can. Nothing
  here imports ``qgis``: :func:`pyqgis_available` asks ``/usr/bin/python3`` in a child.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

SYSTEM_PYTHON = "/usr/bin/python3"


def qgis_process_path() -> str | None:
    """``qgis_process.bin`` (on PATH, or where Debian puts it), or None."""
    found = shutil.which("qgis_process.bin")
    if found:
        return found
    return "/usr/bin/qgis_process.bin" if os.access("/usr/bin/qgis_process.bin", os.X_OK) else None


def pyqgis_available(python: str = SYSTEM_PYTHON) -> bool:
    """Whether ``python`` (Debian's, by default) imports PyQGIS."""
    if not os.access(python, os.X_OK):
        return False
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    try:
        r = subprocess.run(
            [python, "-c", "from qgis.core import Qgis; print(Qgis.QGIS_VERSION)"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def missing_qgis_reason() -> str | None:
    """Why the QGIS tests cannot run here (None when they can)."""
    if qgis_process_path() is None:
        return "qgis_process.bin not found (Debian QGIS: sh ../shared/tools/install.sh)"
    if not pyqgis_available():
        return f"PyQGIS not importable by {SYSTEM_PYTHON} (python3-qgis: sh ../shared/tools/install.sh)"
    return None


def write_minimal_project(path: str | Path, epsg: int) -> Path:
    """A minimal QGIS project (``.qgs``) whose CRS is ``EPSG:<epsg>``; no layers, no ellipsoid.

    The ellipsoid is ``NONE`` so that nothing QGIS measures through the project is ellipsoidal.
    """
    p = Path(path)
    authid = quoteattr(f"EPSG:{int(epsg)}")[1:-1]
    p.write_text(
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis projectname="" version="3.22.16-Białowieża">\n'
        "  <projectCrs>\n"
        "    <spatialrefsys>\n"
        f"      <authid>{authid}</authid>\n"
        "    </spatialrefsys>\n"
        "  </projectCrs>\n"
        "  <properties>\n"
        '    <Measure><Ellipsoid type="QString">NONE</Ellipsoid></Measure>\n'
        "  </properties>\n"
        "</qgis>\n",
        encoding="utf-8",
    )
    return p


def run_qgis_process(
    algorithm: str,
    params: Mapping[str, Any],
    *,
    project: str | Path | None = None,
    timeout: float = 300,
) -> dict[str, Any]:
    """Run ``qgis_process.bin --json run ALGORITHM --KEY=VALUE ...`` headless; its JSON answer.

    Raises AssertionError with QGIS's stderr when the algorithm fails.
    """
    qp = qgis_process_path()
    if qp is None:
        raise FileNotFoundError("qgis_process.bin not found")
    args = [qp, "--json", "run", algorithm]
    if project is not None:
        args.append(f"--PROJECT_PATH={Path(project).resolve()}")
    args += [f"--{k}={v}" for k, v in params.items()]
    with tempfile.TemporaryDirectory(prefix="qgis_process_") as scratch:
        s = Path(scratch)
        for sub in ("xdg", "profile", "tmp"):
            (s / sub).mkdir()
        (s / "xdg").chmod(0o700)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
        }
        env.update(
            QT_QPA_PLATFORM="offscreen",
            XDG_RUNTIME_DIR=str(s / "xdg"),
            QGIS_CUSTOM_CONFIG_PATH=str(s / "profile"),
            TMPDIR=str(s / "tmp"),
        )
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, (
        f"{algorithm} failed (exit {r.returncode}):\n{r.stderr[-3000:]}\n{r.stdout[-2000:]}"
    )
    start = r.stdout.find("{")
    assert start >= 0, f"{algorithm}: no JSON on stdout:\n{r.stdout[-2000:]}"
    return json.loads(r.stdout[start:])
