"""Write every output of a run into its folder, atomically.

Everything is written into a temporary sibling folder first; only when all files are complete
is it moved into place (the previous folder is kept until then). A run killed while writing
therefore leaves the previous outputs intact. An existing finished folder is replaced only with
``overwrite=True``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.results import RunResult
from geo.errors import InputError
from geo.files import sha256_file, write_text_atomic

log = logging.getLogger(__name__)

TABLE_LAYERS = (
    "facilities",
    "flags",
    "overlaps",
    "terminals",
    "province_matrix",
    "provinces",
    "rejects",
    "repairs",
    "road_repairs",
)


def _csv(df: pd.DataFrame, path: Path) -> None:
    frame = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    if "geometry" in df.columns and len(df) and df.geometry.geom_type.eq("Point").all():
        frame["lon"] = df.geometry.x.round(6)
        frame["lat"] = df.geometry.y.round(6)
    write_text_atomic(path, frame.to_csv(index=False, lineterminator="\n"))


def write_tables(result: RunResult, folder: Path) -> list[Path]:
    """``tables/*.csv``: every layer without geometry (points keep lon/lat) and the extra tables."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLE_LAYERS:
        if name in result.layers:
            _csv(result.layers[name], folder / f"{name}.csv")
            written.append(folder / f"{name}.csv")
    for name, df in result.tables.items():
        if isinstance(df, pd.DataFrame):
            _csv(df, folder / f"{name}.csv")
            written.append(folder / f"{name}.csv")
    return written


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _writer_pid(folder: Path, prefix: str) -> int | None:
    """The pid in ``<prefix><pid>`` or ``<prefix><pid>-<random>``; None if there is none."""
    head = folder.name[len(prefix) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def recover_out_dir(out: Path) -> None:
    """Clean up after a run that was killed while it replaced ``out``.

    A killed writer leaves its temporary sibling ``.tmp-<name>-<pid>-*`` (removed here), and if it
    died in the instant between moving the previous folder aside and moving the new one in, the
    previous outputs sit in ``.old-<name>-<pid>`` (moved back here). Folders of writers that
    are still running are left alone.
    """
    if not out.parent.is_dir():
        return
    for kind in (".old-", ".tmp-"):
        prefix = f"{kind}{out.name}-"
        for folder in sorted(out.parent.glob(f"{prefix}*")):
            pid = _writer_pid(folder, prefix)
            if pid is None or _pid_alive(pid) or not folder.is_dir():
                continue
            if kind == ".old-" and not out.exists():
                os.replace(folder, out)
                log.warning("%s: restored the previous outputs left by an interrupted run", out)
            else:
                shutil.rmtree(folder, ignore_errors=True)
                log.info("removed %s, left by an interrupted run", folder)


def prepare_out_dir(out: Path, *, overwrite: bool) -> None:
    """Refuse to replace a finished output folder unless ``overwrite``."""
    recover_out_dir(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(
            "the output folder already holds a run; pass --overwrite to replace it or choose another --out",
            source=str(out),
        )


def write_outputs(
    result: RunResult,
    out: str | Path,
    *,
    overwrite: bool = False,
    lang: str = "vi",
    manifest: dict[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write map.html, infra_overlap.gpkg/.qgz, rasters/, report.html, tables/ and manifest.json.

    Returns
    -------
    dict
        File name -> {bytes, sha256} of what was written.
    """
    from maps.gpkg import write_geopackage
    from maps.html_map import write_map
    from maps.qgis_project import write_qgis_project
    from maps.rasters import write_rasters
    from maps.report import write_report

    step = say or (lambda s: None)
    out = Path(out)
    prepare_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-{os.getpid()}-", dir=out.parent))
    try:
        step("map")
        write_map(result, tmp / "map.html", lang=lang)
        step("geopackage")
        write_geopackage(result, tmp / "infra_overlap.gpkg", lang=lang)
        step("rasters")
        write_rasters(result, tmp, lang=lang)
        write_qgis_project(result, tmp, lang=lang)
        step("report")
        write_tables(result, tmp / "tables")
        write_report(result, tmp / "report.html", lang=lang)
        files = {
            str(p.relative_to(tmp)): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        man = dict(manifest or {})
        man["outputs"] = files
        write_text_atomic(
            tmp / "manifest.json",
            json.dumps(man, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n",
        )
        old = None
        if out.exists():
            old = out.with_name(f".old-{out.name}-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return files
