"""Find English left in Vietnamese outputs (issue 17 item 3; DESIGN "Language scans").

The visible text of the map (the ``<l-vi>`` side of every bilingual fragment: page text, layer
names, popups and tooltips held as strings in the page's scripts), of the report, and the
GeoPackage's aliases, legend labels and free-text values are cut into words. A word is English
when it is written in plain ASCII letters and cannot be a Vietnamese syllable written without
its tone marks (:data:`VI_SYLLABLE`: initial consonant, vowel nucleus, final consonant), or is
one of :data:`ENGLISH_SHORT` (English words that happen to look like such syllables). A number
is in English format when it has a comma before three digits (``3,321``), a point before one,
two or four and more digits (``2.5``, ``98.0``), a percent sign without a space (``98%``) or is
an ISO date (``2026-08-11``).

Not scanned (the schema, DESIGN "Language scans"): field names, table names, coded values
(:data:`CODED_COLUMNS`), URLs, and the proper names of the run: facility, province and city names
read from the run's own layers and passed in as ``names``. :data:`ALLOWED` is the short list of
other proper names and symbols that stay as they are in Vietnamese text.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

# initial consonant, nucleus, final (tone marks and the hook letters ă â ê ô ơ ư đ already
# removed: the scan looks only at ASCII words)
VI_SYLLABLE = re.compile(
    r"^(ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdghklmnprstvx])?"
    r"(uye|uya|uyu|oai|oay|oeo|uay|uoi|uou|ieu|yeu|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue"
    r"|ui|uo|uy|ye|a|e|i|o|u|y)"
    r"(ch|nh|ng|c|m|n|p|t)?$"
)
# English words that also parse as a toneless Vietnamese syllable
ENGLISH_SHORT = frozenset(
    ["the", "by", "not", "top", "each", "then", "than", "per", "via", "min", "max"]
)
# proper names and symbols kept in Vietnamese text, each for a reason:
ALLOWED = frozenset(
    {
        # data sources and licences, cited by name
        "geonames",
        "openstreetmap",
        "worldpop",
        "odbl",
        "naturalearth",
        "wikidata",
        "overture",
        # the GitHub project several layers come through (ura8107/vnmap)
        "vnmap",
        # methods named after their authors or by their acronym
        "huff",
        "spearman",
        "dijkstra",
        "e2sfca",
        # software and file formats the user opens
        "qgis",
        "geopackage",
        "method",  # METHOD.md, a file name
        "md",
        "leaflet",
        "dask",  # the cluster software a batch runs on (cli.py batch)
        # Vietnamese abbreviations and loanwords: QĐ-TTg (Thủ tướng) in the number of a
        # Prime Minister's decision; container, the trade's own word ("hàng container")
        "ttg",
        "container",
        # units and symbols used as such in Vietnamese writing
        "km",
        "m",
        "ha",
    }
)
# columns whose values are codes or identifiers (the schema), not text for people
CODED_COLUMNS = frozenset(
    {
        "facility_id",
        "type",
        "status",
        "status_source",
        "class",
        "road_access",
        "prov_method",
        "kind",
        "use",
        "member",
        "site_id",
        "unit_id",
        "source",
        "field",
        "flag_robustness",
        "overlap_robustness",
        "verdict_reason",
        "grouping",
        "demand_area_assumed",  # a yes/no stored as text (True/False)
        "capacity_unit",
        "edition",
        "facility_a",
        "facility_b",
        "best_alternative_id",
        "demand_kind",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "owner",
        "ui",
        "styleSLD",
    }
)
# columns of proper names (facility, province, site names), excluded as proper names are
PROPER_NAME_COLUMNS = frozenset({"name", "name_a", "name_b", "members"})
SCHEMA_SUFFIXES = ("_en", "_id", "_ids", "_code", "_codes", "_name", "_unit", "geom")
# «…»: a source's own words quoted verbatim (analysis.glossary.note_text marks them so);
# “…”: a value quoted from the data (a status the input gave)
QUOTED = re.compile(r"«[^»]*»|“[^”]*”")
WORD = re.compile(r"[^\W\d_]+(?:_[^\W\d_]+)*", re.UNICODE)
ENGLISH_NUMBER = re.compile(
    r"\d,\d{3}(?!\d)|(?<![\d.])\d+\.(?:\d{1,2}|\d{4,})(?![\d.])|\d%|\b\d{4}-\d{2}-\d{2}\b"
)
URL = re.compile(
    r"\{\w+\}|(?:https?://|www\.)\S+|\S+@\S+\.\w+|\b[a-z_]+:[\w.-]+|\b[\w./-]+\.(?:gpkg|csv|tif|html|md|qgz)\b(?::\w+)?"
)


def english_words(text: str, *, names: Iterable[str] = ()) -> list[str]:
    """The words of ``text`` that are English (see the module docstring), in order."""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(name, " ")
    text = QUOTED.sub(" ", URL.sub(" ", text))
    hits = []
    for w in WORD.findall(text):
        if w.replace("_", "").isupper():  # acronyms and codes: KCN, GSO, TDMNPB, BTB_DHMT
            continue
        if "_" in w:  # a raw column or code name shown as text
            hits.append(w)
            continue
        low = w.lower()
        if not low.isascii() or low in ALLOWED:
            continue
        if low in ENGLISH_SHORT or not VI_SYLLABLE.match(low):
            hits.append(w)
    return hits


def english_numbers(text: str) -> list[str]:
    """Numbers, percentages and dates of ``text`` in English format."""
    return ENGLISH_NUMBER.findall(URL.sub(" ", text))


class _Text(HTMLParser):
    """Visible text of an HTML page or fragment: no script/style, no ``<l-en>`` side, no
    element marked ``lang="en"`` (the report's list of sources, quoted as their owners wrote
    them; the page says so in Vietnamese), no ``<code>`` (a field, file or parameter name: the
    schema)."""

    SKIP = frozenset({"script", "style", "l-en", "title", "code"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.scripts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # an element marked lang="en" is a quotation in English (the cited sources' own words)
        if tag in self.SKIP or ("lang", "en") in attrs:
            self._skip.append(tag)
        for key, value in attrs:
            if key in ("title", "placeholder", "aria-label", "alt") and value and not self._skip:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)
        elif self._skip == ["script"]:
            self.scripts.append(data)


def visible_html_text(page: str) -> list[str]:
    """Text runs a reader of the Vietnamese page sees, including HTML held in script strings.

    Strings of the page's scripts that hold markup or Vietnamese letters (popups, tooltips,
    layer names, the findings panel's data) are parsed as HTML fragments in turn; library code
    holds neither and is left out.
    """
    p = _Text()
    p.feed(page)
    out = [t for t in p.parts if t.strip()]
    for script in p.scripts:
        if "l-vi" not in script and "u003cl-vi" not in script:
            continue  # a library (Leaflet, its plugins): code, not text for people
        for literal in re.findall(r'"((?:[^"\\\n]|\\.)*)"', script):
            if "\\u003c" not in literal and "<" not in literal and not _has_vi(literal):
                continue
            try:
                text = json.loads(f'"{literal}"')
            except json.JSONDecodeError:
                continue
            q = _Text()
            q.feed(text)
            out.extend(t for t in q.parts if t.strip())
    return out


def _has_vi(text: str) -> bool:
    return bool(
        re.search(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", text)
    )


def gpkg_texts(path: Path) -> list[tuple[str, str]]:
    """``(where, text)`` of a GeoPackage's aliases, legend labels and free-text values.

    Aliases and legend labels are read from the QML of ``layer_styles`` (``alias name=``,
    ``label=``) and from ``gpkg_data_columns``; text values from every non-coded text column of
    every layer except the English twins (``*_en``).
    """
    out: list[tuple[str, str]] = []
    con = sqlite3.connect(path)
    try:
        tables = [
            r[0] for r in con.execute("SELECT table_name FROM gpkg_contents ORDER BY table_name")
        ]
        has_styles = con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name='layer_styles'"
        ).fetchone()[0]
        if has_styles:
            for table, qml in con.execute("SELECT f_table_name, styleQML FROM layer_styles"):
                out.extend((f"layer_styles/{table}", t) for t in qml_texts(qml or ""))
        for table, ident, descr in con.execute(
            "SELECT table_name, identifier, description FROM gpkg_contents"
        ):
            if table != "layer_styles":  # the QGIS styles table, named by QGIS
                out.extend((f"gpkg_contents/{table}", t) for t in (ident, descr) if t)
        if con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name='gpkg_data_columns'"
        ).fetchone()[0]:
            # name is the column's own name (the schema); title is its alias, description
            # what it holds (both in the run's language)
            for table, col, title, descr in con.execute(
                "SELECT table_name, column_name, title, description FROM gpkg_data_columns"
            ):
                out.append((f"gpkg_data_columns/{table}.{col}", title or col))
                if descr:
                    out.append((f"gpkg_data_columns/{table}.{col}:description", descr))
        for table in tables:
            if table == "layer_styles":  # read above, as QML
                continue
            df = pd.read_sql(f'SELECT * FROM "{table}"', con)
            for col in df.columns:
                if (
                    col in CODED_COLUMNS
                    or col in PROPER_NAME_COLUMNS
                    or col.endswith(SCHEMA_SUFFIXES)
                ):
                    continue
                if f"{col}_vi" in df.columns:  # the English original of a Vietnamese twin
                    continue
                if not (df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype)):
                    continue
                for v in df[col].dropna().unique():
                    if isinstance(v, str) and v.strip():
                        out.append((f"{table}.{col}", v))
    finally:
        con.close()
    return out


def qml_texts(qml: str) -> list[str]:
    """Field aliases and legend labels of a QGIS style (QML or a project's layer element)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(qml) if qml.strip() else None
    if root is None:
        return []
    out = [a.get("name", "") for a in root.iter("alias")]
    for tag in ("category", "range", "rule", "item"):
        out.extend(e.get("label", "") for e in root.iter(tag))
    return [t for t in out if t]
