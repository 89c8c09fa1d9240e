"""Write a run's layers to one GeoPackage that QGIS opens styled, described and attributed.

Layers are written with pyogrio in the order of ``analysis.results.LAYER_ORDER``; then, with
sqlite3, each spatial layer gets a default QGIS style in ``layer_styles`` (the schema and query
QGIS 3.22 uses, see ``../shared/tools/README.md``), each column a title and description in
``gpkg_data_columns`` (the GeoPackage schema extension), and the file its attribution and
sources in ``gpkg_metadata`` (the metadata extension, written by GDAL). Every timestamp in the
file is fixed, so two writes of the same result give the same bytes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from analysis.results import LAYER_ORDER, RunMeta, RunResult
from analysis.text import LAYER_TEXT
from geo.files import atomic_path
from maps.qgis_styles import field_text, layer_types, vector_qml, vector_sld, vector_style

log = logging.getLogger(__name__)
# Attribute tables written after the layers (issue 6): minimal cover, coverage curve, benefit-sharing
# keys, measures per group of provinces, and the facility counts against official totals.
GPKG_TABLES = (
    "covering",
    "coverage_curve",
    "sharing_keys",
    "group_measures",
    "group_pairs",
    "facility_counts",
)

GEOMETRY_TYPES = {
    "facilities": "Point",
    "flags": "Point",
    "catchments": "MultiPolygon",
    "overlaps": "LineString",
    "road_repairs": "LineString",
    "terminals": "Point",
    "provinces": "MultiPolygon",
}
DEFAULT_TIMESTAMP = "2000-01-01T00:00:00.000Z"
LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256),
  "f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT,
  "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""
DATA_COLUMNS_DDL = (
    """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT,
  mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name))""",
    """CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC,
  min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))""",
)
SCHEMA_EXTENSION = "http://www.geopackage.org/spec121/#extension_schema"


def fixed_timestamp(meta: RunMeta) -> str:
    """The timestamp written everywhere in the file: ``meta.data_date`` at midnight UTC if set."""
    date = str(meta.data_date)
    return (
        f"{date}T00:00:00.000Z" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) else DEFAULT_TIMESTAMP
    )


@contextlib.contextmanager
def _gdal_config(options: dict[str, str]) -> Iterator[None]:
    old = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(old)


def _flat_value(v: Any) -> Any:
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    if isinstance(v, list | tuple | set | np.ndarray):
        items = sorted(v) if isinstance(v, set) else list(v)
        return "|".join(str(x) for x in items)
    return v


def flatten_columns(df: pd.DataFrame, *, layer: str = "") -> pd.DataFrame:
    """A copy of ``df`` whose list/tuple/set values are ``|``-joined and dicts JSON text.

    GeoPackage has no list type; writing them would fail or store Python reprs.
    """
    out = df.copy()
    for col in out.columns:
        if col == "geometry" or out[col].dtype != object:
            continue
        nested = out[col].map(lambda v: isinstance(v, dict | list | tuple | set | np.ndarray))
        if nested.any():
            log.warning("layer %s: column %s holds lists/dicts; written as text", layer, col)
            out[col] = out[col].map(_flat_value)
    return out


def _metadata(result: RunResult, lang: str) -> dict[str, str]:
    meta = result.meta
    region = meta.region
    sources = [
        " – ".join(
            str(s.get(k, "")) for k in ("layer", "source", "licence", "attribution") if s.get(k)
        )
        for s in meta.data_sources
    ]
    attribution = meta.attribution
    if isinstance(attribution, str):
        attribution = [attribution]
    items = {
        "TITLE": f"infra-overlap: {region.get(f'label_{lang}', region.get('name', ''))}",
        "REGION": str(region.get("name", "")),
        "EDITION": str(meta.edition),
        "ATTRIBUTION": "\n".join(map(str, attribution)),
        "DATA_SOURCES": "\n".join(sources),
        "DEMAND_SOURCE": str(meta.demand_source),
        "DATA_DATE": str(meta.data_date),
    }
    return {k: v for k, v in items.items() if v}


def _write_layer(
    df: pd.DataFrame, path: Path, name: str, *, lang: str, dataset_md: dict | None
) -> int:
    title_vi, title_en, desc_vi, desc_en = LAYER_TEXT.get(name, (name, name, "", ""))
    title, desc = (title_vi, desc_vi) if lang == "vi" else (title_en, desc_en)
    kwargs: dict[str, Any] = {
        "layer": name,
        "driver": "GPKG",
        "layer_options": {"IDENTIFIER": title, "DESCRIPTION": desc},
        "layer_metadata": {"TITLE": title, "DESCRIPTION": desc},
    }
    if dataset_md:
        kwargs["dataset_metadata"] = dataset_md
    is_spatial = isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns
    if is_spatial:
        kwargs["geometry_type"] = GEOMETRY_TYPES.get(name)
        kwargs["promote_to_multi"] = GEOMETRY_TYPES.get(name, "").startswith("Multi") or None
        crs = cast(gpd.GeoDataFrame, df).crs
        if crs is None or not crs.equals("EPSG:4326"):
            raise ValueError(f"layer {name}: expected EPSG:4326, got {crs}")
    else:
        df = pd.DataFrame(df.drop(columns=["geometry"], errors="ignore"))
    pyogrio.write_dataframe(flatten_columns(df, layer=name), path, **kwargs)
    return len(df)


def _geometry_column(con: sqlite3.Connection, table: str) -> str | None:
    row = con.execute(
        "SELECT column_name FROM gpkg_geometry_columns WHERE table_name=?", (table,)
    ).fetchone()
    return row[0] if row else None


def _add_styles(con: sqlite3.Connection, result: RunResult, *, lang: str, stamp: str) -> list[str]:
    con.execute(LAYER_STYLES_DDL)
    con.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
        "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
        "'QGIS default styles (QML and SLD)', ?)",
        (stamp,),
    )
    types = layer_types(result.layers, result.meta)
    styled = []
    for name, df in result.layers.items():
        geom_col = _geometry_column(con, name)
        style = vector_style(name, df, meta=result.meta, types=types, lang=lang)
        if geom_col is None or style is None:
            continue
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
            "ui, update_time) VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '', NULL, ?)",
            (
                name,
                geom_col,
                f"{name}_default",
                vector_qml(style),
                vector_sld(style),
                f"default style for {name}",
                stamp,
            ),
        )
        styled.append(name)
    return styled


def _add_data_columns(con: sqlite3.Connection, result: RunResult, *, lang: str) -> int:
    for ddl in DATA_COLUMNS_DDL:
        con.execute(ddl)
    for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        con.execute(
            "INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, "
            "definition, scope) VALUES (?, NULL, 'gpkg_schema', ?, 'read-write')",
            (table, SCHEMA_EXTENSION),
        )
    n = 0
    for name in result.layers:
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
        geom_col = _geometry_column(con, name)
        for col in cols:
            if col in ("fid", geom_col):
                continue
            title, desc = field_text(name, col, meta=result.meta, lang=lang)
            con.execute(
                "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, "
                "description) VALUES (?, ?, ?, ?, ?)",
                (name, col, col, title, desc or None),
            )
            n += 1
    return n


def _ensure_extensions_table(con: sqlite3.Connection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
        "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
        "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
    )


def write_geopackage(result: RunResult, path: str | Path, *, lang: str = "vi") -> dict[str, Any]:
    """Write every layer of ``result`` to one GeoPackage with QGIS default styles.

    Parameters
    ----------
    result
        The run's result; layers in EPSG:4326 (spatial layers) or plain tables.
    path
        Target ``.gpkg``; replaced atomically (written to a temporary file, then renamed).
    lang
        ``"vi"`` or ``"en"``: layer titles, legend labels and field aliases.

    Returns
    -------
    dict
        ``path``, ``layers`` (name: row count, in file order), ``styled`` (layers with a
        default style), ``data_columns`` (columns described) and ``timestamp`` (the fixed
        ``last_change``/``update_time`` written).
    """
    path = Path(path)
    stamp = fixed_timestamp(result.meta)
    order = [n for n in LAYER_ORDER if n in result.layers]
    order += sorted(set(result.layers) - set(LAYER_ORDER))
    frames = dict(result.layers)
    for name in GPKG_TABLES:  # attribute tables beside the layers (covering, sharing keys, ...)
        if name in result.tables and name not in frames and len(result.tables[name].columns):
            frames[name] = result.tables[name]
            order.append(name)
    counts: dict[str, int] = {}
    with atomic_path(path) as tmp:
        with _gdal_config({"OGR_CURRENT_DATE": stamp}):
            for i, name in enumerate(order):
                dataset_md = _metadata(result, lang) if i == 0 else None
                counts[name] = _write_layer(
                    frames[name], tmp, name, lang=lang, dataset_md=dataset_md
                )
        con = sqlite3.connect(tmp)
        try:
            _ensure_extensions_table(con)
            styled = _add_styles(con, result, lang=lang, stamp=stamp)
            n_cols = _add_data_columns(con, result, lang=lang)
            con.execute("UPDATE gpkg_contents SET last_change = ?", (stamp,))
            con.execute("UPDATE gpkg_metadata_reference SET timestamp = ?", (stamp,))
            con.commit()
            con.execute("VACUUM")  # a canonical page layout: same result, same bytes
        finally:
            con.close()
    log.info("wrote %s: %d layers, %d styled", path, len(counts), len(styled))
    return {
        "path": str(path),
        "layers": counts,
        "styled": styled,
        "data_columns": n_cols,
        "timestamp": stamp,
    }
