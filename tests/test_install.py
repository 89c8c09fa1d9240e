"""Issue 18 item 5: the wheel, installed (not editable) into a fresh venv, is a working
``infra-overlap`` application with its templates, region configs and embedded default data.

The wheel is built from a copy of the working tree (so the build leaves no ``build/`` or
``*.egg-info`` in the repository). The fresh venv sees the dependencies already installed in the
test's own environment through a ``.pth`` line naming that environment's site-packages, instead of
downloading them again (minutes, and a network) or using ``--system-site-packages`` (which would
expose the base interpreter's site-packages, not this environment's). A plain directory in a
``.pth`` file is appended to ``sys.path`` after the venv's own site-packages, and the ``.pth``
files inside it are not run: the editable install of the project there (its ``__editable__``
finder) cannot shadow the wheel. The test checks this by asking where ``cli`` was imported from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from maps.report import T

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("install")]

_NOT_COPIED = {".git", ".venv", "out", "build", "dist", "__pycache__", ".pytest_cache"}
_NOT_COPIED |= {".mypy_cache", ".ruff_cache", ".hypothesis"}


# the wheel only: its dependencies come from the .pth line, the project's editable install stays
_INSTALL = ("--no-deps", "--no-index", "--ignore-installed", "-q")


def _copy_tree(dst: Path) -> None:
    """The working tree without caches, venv, outputs and the fetch cache."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in _NOT_COPIED or n.endswith(".egg-info")}
        if Path(folder).resolve() == (REPO / "data").resolve():
            skip.add("cache")
        return skip

    shutil.copytree(REPO, dst, ignore=ignore, symlinks=True)


def _clean_env() -> dict[str, str]:
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "INFRA_OVERLAP")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _run(cmd: list[str], *, cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        cmd, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=timeout
    )
    assert r.returncode == 0, (
        f"{cmd} failed (exit {r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    )
    return r


def _venv_python(venv: Path) -> Path:
    win = venv / "Scripts" / "python.exe"
    return win if win.exists() else venv / "bin" / "python"


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    t0 = time.monotonic()
    src, dist, venv, work = (tmp_path / n for n in ("src", "dist", "venv", "elsewhere"))
    _copy_tree(src)
    _run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(dist), "-q"],
        cwd=tmp_path,
        timeout=300,
    )
    (wheel,) = dist.glob("infra_overlap-*.whl")

    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, timeout=120)
    vpy = _venv_python(venv)
    probe = "import sysconfig; p = sysconfig.get_paths(); print(p['purelib']); print(p['scripts'])"
    site, scripts = _run([str(vpy), "-c", probe], cwd=tmp_path, timeout=60).stdout.split("\n")[:2]
    ours = sysconfig.get_paths()
    deps = dict.fromkeys(os.path.realpath(ours[k]) for k in ("purelib", "platlib"))
    (Path(site) / "_project_dependencies.pth").write_text("\n".join(deps) + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(vpy), "install", *_INSTALL, str(wheel)],
        cwd=tmp_path,
        timeout=300,
    )

    work.mkdir()  # outside the repository: nothing may come from the source tree
    where = (
        "import cli, data, geo.paths as p; print(cli.__file__); print(data.__file__);"
        "print(p.is_checkout()); print(p.cache_dir())"
    )
    cli_file, data_file, checkout, cache = _run(
        [str(vpy), "-c", where], cwd=work, timeout=60
    ).stdout.split("\n")[:4]
    for f in (cli_file, data_file):
        assert Path(f).resolve().is_relative_to(Path(site).resolve()), (
            f"{f} is not the installed wheel's (the editable install shadows it)"
        )
    assert checkout == "False"
    assert not Path(cache).resolve().is_relative_to(Path(site).resolve()), (
        "the fetch cache must not be inside site-packages"
    )

    exe = Path(scripts) / ("infra-overlap.exe" if os.name == "nt" else "infra-overlap")
    helped = _run([str(exe), "--help"], cwd=work, timeout=120).stdout
    assert "Usage: infra-overlap" in helped and "run" in helped and "check" in helped

    _run([str(exe), "run", "--types", "airport", "--out", "OUT"], cwd=work, timeout=600)
    out = work / "OUT"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert f"<title>{T['title'][0]}" in report, "report.html lacks its title"
    for leak in ("{{", "{%", "jinja2", "Undefined"):
        assert leak not in report, f"report.html shows template text {leak!r}"
    assert (out / "METHOD.md").read_text(encoding="utf-8") == (REPO / "METHOD.md").read_text(
        encoding="utf-8"
    ), "the wheel's METHOD.md must be the repository's"
    assert "var FIND = " in (out / "map.html").read_text(encoding="utf-8"), "map UI script missing"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data_origin"] == "embedded"
    for item in manifest["inputs"]:
        assert Path(item["path"]).resolve().is_relative_to(Path(site).resolve()), (
            f"input {item['path']} does not come from the installed wheel"
        )
    for written in ("out", "OUT", "data/cache"):
        assert not (Path(site) / written).exists(), f"the run wrote {written} into site-packages"
    print(
        f"wheel {wheel.stat().st_size / 1e6:.1f} MB; build, install and run in "
        f"{time.monotonic() - t0:.0f} s"
    )
