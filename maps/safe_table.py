"""Safe text in every table the tool writes (CSV, XLSX): the one CSV writer.

Text from data is untrusted. A cell that a spreadsheet would read as a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return: the OWASP "CSV injection" rule) gets a
leading apostrophe, so Excel, LibreOffice and Google Sheets show it as text; control characters
(NUL and the other C0/C1 codes, except tab and line feed) are removed. Numbers stay numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from geo.files import write_text_atomic

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


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


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` as UTF-8 CSV (LF, no index), atomically, with safe text cells."""
    write_text_atomic(path, safe_frame(df).to_csv(index=False, lineterminator="\n"))
