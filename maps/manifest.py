"""manifest.json: inputs with hashes, parameters, versions, timings (the only place with a time)."""

from __future__ import annotations

import datetime as dt
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.results import RunResult
from geo.files import sha256_file

PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "geopandas",
    "shapely",
    "pyogrio",
    "pyproj",
    "rasterio",
    "folium-offline",
    "osmnx",
)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def input_files(data_dir: Path, config: Any, opts: Any) -> list[dict[str, Any]]:
    """Every file a run read, with its SHA-256 (data folder layers named in the config + user files)."""
    names: set[str] = {
        config.roads.file,
        config.provinces.get("file63", ""),
        config.provinces.get("file34", ""),
        config.provinces.get("crosswalk", ""),
    }
    project: set[Path] = set()
    for t in config.types.values():
        names.update(s.file for s in t.sources if not s.in_project)
        project.update(s.path(data_dir) for s in t.sources if s.in_project)
    for key in ("districts_file", "communes_file", "province_totals_file", "census2019_file"):
        if config.population.get(key):
            names.add(str(config.population[key]))
    paths = [data_dir / n for n in sorted(n for n in names if n)] + sorted(project)
    paths += [Path(p) for p in (*opts.facilities, *(x for x in (opts.roads, opts.population) if x))]
    return [
        {"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in paths
        if p.is_file()
    ]


def build_manifest(
    result: RunResult, *, config: Any, opts: Any, data_dir: Path, data_origin: str
) -> dict[str, Any]:
    """The run's manifest (outputs are added by the writer)."""
    fac = result.layers["facilities"]
    return {
        "tool": "infra-overlap",
        "version": _version("infra-overlap") or "0.1.0",
        "run_at_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "region": result.meta.region,
        "edition": result.meta.edition,
        "config": config.path,
        "data_dir": str(data_dir),
        "data_origin": data_origin,
        "demand_source": result.meta.demand_source,
        "attribution": result.meta.attribution,
        "inputs": input_files(data_dir, config, opts),
        "options": result.meta.options,
        "types": result.meta.types,
        "counts": {
            "facilities": {t: int((fac["type"] == t).sum()) for t in result.meta.types},
            "flags": int(fac["flag"].sum()),
            "rejects": len(result.layers["rejects"]),
            "cells": result.meta.cells,
        },
        "network": result.meta.network,
        "timings_s": result.meta.timings,
    }
