"""Province names as the outputs show them (*TP. Hồ Chí Minh*), applied once before writing.

The boundary data names the city "Hồ Chí Minh", which is also how every join, key and filter
finds it; documents write *TP. Hồ Chí Minh*. :func:`for_display` returns a copy of a run's result
whose province-name columns and sentences carry the display name of
:data:`analysis.glossary.PROVINCE_DISPLAY`, so that the map, report, tables, GeoPackage and QGIS
labels agree. Codes, keys and facility names are left as they are.
"""

from __future__ import annotations

import dataclasses
import re

import pandas as pd

from analysis.results import RunResult
from analysis.text import PROVINCE_DISPLAY, province_name, province_names_in_text

# columns holding a province's name as a whole value
_NAME_COLUMN = re.compile(r"^(prov\d*_name|best_alternative_province|group_name|province_name)$")
# tables whose name_a / name_b are provinces (elsewhere they are facilities)
_PROVINCE_PAIR_TABLES = {"province_matrix", "group_pairs"}
# sentence columns: the language is the suffix; those without one are in the run's language
_TEXT_COLUMN = re.compile(r"(_vi|_en)$")
_RUN_LANGUAGE_TEXT = frozenset({"sharing_key"})


def _frame(name: str, df: pd.DataFrame, lang: str, keep: frozenset[str]) -> pd.DataFrame:
    cols = [c for c in df.columns if isinstance(c, str)]
    names = [c for c in cols if _NAME_COLUMN.match(c)]
    if name in _PROVINCE_PAIR_TABLES:
        names += [c for c in ("name_a", "name_b") if c in cols]
    texts = [
        c
        for c in cols
        if (_TEXT_COLUMN.search(c) or c in _RUN_LANGUAGE_TEXT)
        and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype))
    ]
    if not names and not texts:
        return df
    out = df.copy()
    for c in names:
        out[c] = [province_name(v, lang) if isinstance(v, str) else v for v in out[c]]
    for c in texts:
        lang_c = c[-2:] if _TEXT_COLUMN.search(c) else lang
        out[c] = [province_names_in_text(v, lang_c, keep=keep) for v in out[c]]
    return out


def for_display(result: RunResult, lang: str = "vi") -> RunResult:
    """A copy of ``result`` with display province names (see the module docstring)."""
    if not PROVINCE_DISPLAY:
        return result
    keep = _own_names(result)
    return dataclasses.replace(
        result,
        layers={k: _frame(k, v, lang, keep) for k, v in result.layers.items()},
        tables={k: _frame(k, v, lang, keep) for k, v in result.tables.items()},
    )


def _own_names(result: RunResult) -> frozenset[str]:
    """Facility and site names that hold a province's bare name (kept as the source wrote
    them, also inside sentences)."""
    names: set[str] = set()
    for k, df in result.layers.items():
        if k in _PROVINCE_PAIR_TABLES:
            continue
        for c in ("name", "name_a", "name_b", "best_alternative_name"):
            if c in df.columns:
                names |= {v for v in df[c] if isinstance(v, str)}
    return frozenset(n for n in names if any(p in n for p in PROVINCE_DISPLAY))
