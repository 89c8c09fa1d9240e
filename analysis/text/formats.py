"""Numbers, shares, minutes and dates as planners write them, in Vietnamese and English.

One formatter per kind and language, used by the evidence sentences, the report and the map
(Vietnamese: 15,7 triệu; 9.300 người; 2,5 km; 98,0 %; 11/08/2026 — English: 15.7 million;
9,300; 2.5 km; 98.0%; 2026-08-11). Values that are not finite numbers print as "–".
"""

from __future__ import annotations

import math
from typing import Any

DASH = "–"


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt_int(x: Any, lang: str = "en") -> str:
    """A whole number with thousands separators (vi: 9.300; en: 9,300)."""
    v = _num(x)
    if v is None:
        return DASH
    s = f"{round(v):,d}"
    return s.replace(",", ".") if lang == "vi" else s


def fmt_dec(x: Any, lang: str = "en", *, digits: int = 1) -> str:
    """A decimal number (vi: 2,5; en: 2.5), thousands separated."""
    v = _num(x)
    if v is None:
        return DASH
    s = f"{v:,.{digits}f}"
    if lang == "vi":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return s


def fmt_people(x: Any, lang: str = "en") -> str:
    """People as planners quote them: 1.2 million / 350,000 (vi: 1,2 triệu / 350.000).

    Below a million, rounded to hundreds from 1,000 up.
    """
    v = _num(x)
    if v is None:
        return DASH
    if abs(v) >= 1e6:
        return f"{fmt_dec(v / 1e6, lang)} {'triệu' if lang == 'vi' else 'million'}"
    return fmt_int(round(v, -2) if abs(v) >= 1000 else v, lang)


def fmt_pct(x: Any, lang: str = "en", *, digits: int | None = None) -> str:
    """A share as a percentage (vi: 98,0 %; en: 98.0%).

    ``digits=None``: one decimal below 10 % (a trailing ,0 dropped), none from 10 % up.
    """
    v = _num(x)
    if v is None:
        return DASH
    p = 100 * v
    if digits is None:
        s = f"{p:.0f}" if abs(p) >= 10 else f"{p:.1f}".removesuffix(".0")
    else:
        s = f"{p:.{digits}f}"
    return f"{s.replace('.', ',')} %" if lang == "vi" else f"{s}%"


def fmt_min(x: Any, lang: str = "en") -> str:
    """Minutes: one decimal below 10, none above (vi: 2,5; en: 2.5)."""
    v = _num(x)
    if v is None:
        return DASH
    return fmt_dec(v, lang, digits=1 if abs(v) < 10 else 0)


def fmt_date(iso: str, lang: str = "en") -> str:
    """An ISO date (YYYY-MM-DD) as dd/mm/yyyy in Vietnamese; unchanged in English."""
    parts = str(iso)[:10].split("-")
    if lang == "vi" and len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[2]}/{parts[1]}/{parts[0]}"
    return str(iso)
