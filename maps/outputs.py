"""Write every output of a run into its folder, atomically.

Everything is written into the exact temporary sibling ``.<name>.infra-overlap-tmp`` first, under
the folder's lock; only when all files are complete (manifest.json, then the run marker) is it
moved into place (the previous folder is kept until then). A run killed while writing therefore
leaves the previous outputs intact. An existing folder is replaced only with ``overwrite=True``
and only when it is a previous run's (geo.outdir).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.results import LAYER_ORDER, RunResult
from geo.files import sha256_file, write_text_atomic
from geo.outdir import folder_lock, prepare, swap_in, tmp_dir_of, write_marker
from maps.safe_table import write_csv

log = logging.getLogger(__name__)

# the layers written as CSV tables: every layer but the catchment polygons (GeoPackage only)
TABLE_LAYERS = tuple(name for name in LAYER_ORDER if name != "catchments")


def _csv(df: pd.DataFrame, path: Path) -> None:
    frame = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    if "geometry" in df.columns and len(df) and df.geometry.geom_type.eq("Point").all():
        frame["lon"] = df.geometry.x.round(6)
        frame["lat"] = df.geometry.y.round(6)
    write_csv(frame, path)


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


def prepare_out_dir(
    out: Path, *, overwrite: bool, inputs: tuple[str | Path | None, ...] = ()
) -> None:
    """Every check before a run that will write ``out`` (geo.outdir.prepare, under its lock)."""
    with folder_lock(out):
        prepare(out, overwrite=overwrite, inputs=inputs)


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
    step = say or (lambda s: None)
    out = Path(out)
    with folder_lock(out):
        prepare(out, overwrite=overwrite)
        tmp = tmp_dir_of(out)
        tmp.mkdir(parents=True)
        try:
            files = _write_all(result, tmp, lang=lang, manifest=manifest, step=step)
            swap_in(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return files


def _write_all(
    result: RunResult,
    tmp: Path,
    *,
    lang: str,
    manifest: dict[str, Any] | None,
    step: Callable[[str], None],
) -> dict[str, Any]:
    """Every file of a run into ``tmp``; manifest.json and then the run marker last."""
    from maps.display_names import for_display
    from maps.gpkg import write_geopackage
    from maps.html_map import write_map
    from maps.qgis_project import write_qgis_project
    from maps.rasters import write_rasters
    from maps.report import write_report

    result = for_display(result, lang)  # TP. Hồ Chí Minh in every file (display only)
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
    write_marker(tmp)
    return files
