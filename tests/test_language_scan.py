"""No English left in the Vietnamese outputs (issue 17 item 3; DESIGN "Language scans").

The national run on the embedded default (``--lang vi``, the session's ``default_run``) is
scanned by :mod:`tests.lang_scan`: the visible text of map.html and report.html, and the
GeoPackage's aliases, legend labels and free-text values. Proper names (facility, province and
site names of the run's own layers) and the schema (field names, table names, coded values,
ids, URLs) are not scanned; the short allow-list is :data:`tests.lang_scan.ALLOWED`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyogrio
import pytest

from tests.lang_scan import english_numbers, english_words, gpkg_texts, visible_html_text

NAME_COLUMNS = ("name", "prov_name", "prov34_name", "prov63_name", "members", "group_name")


def run_names(gpkg: Path) -> set[str]:
    """The proper names of a run: facilities, sites, provinces (and member-site lists split)."""
    names: set[str] = set()
    for layer in ("facilities", "terminals", "provinces", "group_measures"):
        try:
            df = pyogrio.read_dataframe(gpkg, layer=layer, read_geometry=False)
        except Exception:
            continue
        for col in NAME_COLUMNS:
            if col in df.columns:
                names |= {str(v) for v in df[col].dropna()}
    return names | {part.strip() for n in names for part in n.split(";")}


def scan_run(out: Path) -> Counter[tuple[str, str, str]]:
    """``(file or table.column, hit, text)`` -> count, for every English word or number."""
    gpkg = out / "infra_overlap.gpkg"
    names = run_names(gpkg)
    texts = [
        (f, t)
        for f in ("map.html", "report.html")
        for t in visible_html_text((out / f).read_text(encoding="utf-8"))
    ]
    texts += gpkg_texts(gpkg)
    hits: Counter[tuple[str, str, str]] = Counter()
    for where, text in texts:
        for hit in english_words(text, names=names) + english_numbers(text):
            hits[(where, hit, text.strip()[:120])] += 1
    return hits


@pytest.mark.integration
def test_vietnamese_outputs_have_no_english(default_run):
    hits = scan_run(default_run)
    lines = [f"{n} × {w}: {h!r} in {t!r}" for (w, h, t), n in hits.most_common(40)]
    assert not hits, (
        f"{sum(hits.values())} English words or English-format numbers in the Vietnamese "
        "outputs (first 40):\n" + "\n".join(lines)
    )
