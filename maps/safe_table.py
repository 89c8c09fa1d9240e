"""Safe text and Excel-friendly numbers in every table the tool writes (CSV, XLSX).

The one CSV writer. Text from data is untrusted: a cell that a spreadsheet would read as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: the OWASP "CSV
injection" rule) gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show it as
text; control characters (NUL and the other C0/C1 codes, except tab and line feed) are removed.

Numbers are rounded as a planner reads them (:func:`rounded_frame`): people to whole numbers,
shares (0-1) to 4 decimals, minutes to 1 decimal. CSV files are UTF-8 with a byte-order mark, so
Excel opens Vietnamese names without garbling them; read them back with ``encoding="utf-8-sig"``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from geo.files import write_bytes_atomic

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BOM = "\ufeff"

# columns counting people (whole numbers); matched exactly, or by prefix / suffix
PEOPLE_COLUMNS = frozenset(
    {
        "coverage",
        "unique_coverage",
        "overlap",
        "served_by",
        "duplicated",
        "population",
        "removal_lost",
        "demand_huff",
        "demand_workers",
        "people",
        "lost",
        "moved",
    }
)
PEOPLE_PREFIXES = ("coverage_", "covered_by_others_", "people_", "population_", "unique_coverage_")
PEOPLE_SUFFIXES = ("_people", "_population", "_coverage", "_lost")
SHARE_DIGITS = 4
MINUTE_DIGITS = 1


def column_kind(name: str) -> str | None:
    """``"share"``, ``"minutes"``, ``"people"`` or None: how a column's numbers are rounded.

    Shares have ``share`` or ``ratio`` in their name (``unique_share``,
    ``covered_by_others_share_seaport``); minutes end in ``_min`` or ``_minutes``
    (``removal_penalty_min``); people are :data:`PEOPLE_COLUMNS` and names with their prefixes
    and suffixes. Everything else (ids, coordinates, capacities, GRDP) is left as it is.
    """
    n = str(name)
    if "share" in n or n.endswith("_ratio"):
        return "share"
    if n.endswith(("_min", "_minutes")):
        return "minutes"
    if n in PEOPLE_COLUMNS or n.startswith(PEOPLE_PREFIXES) or n.endswith(PEOPLE_SUFFIXES):
        return "people"
    return None


def rounded_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with people, shares and minutes rounded (see :func:`column_kind`).

    People become whole numbers (pandas ``Int64``, so a missing value stays empty rather than
    turning the column into floats); non-numeric columns are untouched.
    """
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col].dtype) or pd.api.types.is_bool_dtype(
            out[col].dtype
        ):
            continue
        kind = column_kind(col)
        if kind == "people":
            out[col] = out[col].round(0).astype("Int64")
        elif kind == "share":
            out[col] = out[col].round(SHARE_DIGITS)
        elif kind == "minutes":
            out[col] = out[col].round(MINUTE_DIGITS)
    return out


def safe_cell(value: Any) -> Any:
    """``value`` with control characters removed and a formula start neutralised (strings only)."""
    if not isinstance(value, str):
        return value
    text = CONTROL.sub("", value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) are safe; other columns untouched."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def table_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as every table file holds it: rounded numbers, safe text."""
    return safe_frame(rounded_frame(df))


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` as UTF-8 CSV with a BOM (LF, no index), atomically, rounded and safe."""
    text = table_frame(df).to_csv(index=False, lineterminator="\n")
    write_bytes_atomic(path, (BOM + text).encode("utf-8"))
