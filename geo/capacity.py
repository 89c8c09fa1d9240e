"""Read and validate the capacity / throughput tables (seaport tonnes and TEU, airport passengers).

The shipped tables live in ``data/capacity/`` (see its README for sources); a user may give their
own in the same columns. Every row must name an official facility (a seaport by its ``name_vi``
in ``seaports_official_1579.csv``, an airport by its ``iata`` in ``airports_official_caav.csv``),
carry plain numbers in the unit its column names (tonnes, TEU, passengers a year) and a source
(``source_url``, ``source_date``). A row that fails is left out and listed in the
:class:`~geo.schema.Issues` (``source``, ``row``, ``field``, ``reason``); the analysis goes on with
the rest. Unambiguous repairs (thousands separators such as ``138.200.000``) are made and listed.

Checks, in order, per row: unknown facility, bad year, a value with a unit word in it
(``138,2 triệu tấn``), a value that cannot be read, a negative value, a value too small to be in
the column's unit (millions written as ``138.2`` in a tonnes column), no measure at all, a source
missing, and duplicates (the same facility and year twice: the first row is kept).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geo.errors import InputError
from geo.paths import DATA_DIR
from geo.schema import Issues
from geo.tabular import ROW, read_rows


@dataclass(frozen=True)
class Measure:
    """A numeric column of a capacity table: its unit and the smallest plausible non-zero value."""

    column: str
    unit: str
    min_nonzero: float


@dataclass(frozen=True)
class TableSpec:
    """What a capacity table must hold: its key column, its measures and its source columns."""

    kind: str
    key: str
    official_file: str
    measures: tuple[Measure, ...]
    sources: tuple[tuple[str, str, tuple[str, ...]], ...]  # (url column, date column, measures)
    text_columns: tuple[str, ...]
    dated: tuple[str, ...]  # the measures that are figures of a year (``year`` required)
    required_text: tuple[str, ...] = ()  # text columns that must not be blank
    checks_name: bool = False  # a ``name_vi`` given must be the official name of the key


# A seaport's annual throughput below 1,000 t or 50 TEU, an airport's below 1,000 passengers, is
# a value written in thousands or millions (the smallest seaport in the tables handles ~1 Mt).
SEAPORTS = TableSpec(
    kind="seaport",
    key="name_vi",
    official_file="seaports_official_1579.csv",
    measures=(Measure("tonnes", "tonnes", 1_000.0), Measure("teu", "TEU", 50.0)),
    sources=(
        ("source_url", "source_date", ("tonnes",)),
        ("teu_source_url", "teu_source_date", ("teu",)),
    ),
    text_columns=("unit_note", "area_reported", "note"),
    dated=("tonnes", "teu"),
)
AIRPORTS = TableSpec(
    kind="airport",
    key="iata",
    official_file="airports_official_caav.csv",
    measures=(
        Measure("passengers", "passengers a year", 1_000.0),
        Measure("design_capacity_pax", "passengers a year", 1_000.0),
    ),
    sources=(
        ("source_url", "source_date", ("passengers",)),
        ("capacity_source_url", "capacity_source_date", ("design_capacity_pax",)),
    ),
    text_columns=("name_vi", "note"),
    dated=("passengers",),
    checks_name=True,
)
TERMINALS = TableSpec(
    kind="seaport terminal",
    key="name_vi",
    official_file="seaports_official_1579.csv",
    measures=(Measure("tonnes", "tonnes", 1_000.0), Measure("teu", "TEU", 50.0)),
    sources=(("source_url", "source_date", ("tonnes", "teu")),),
    text_columns=("terminal", "note"),
    dated=("tonnes", "teu"),
    required_text=("terminal",),
)
YEARS = (2010, 2030)
_UNIT_WORDS = re.compile(
    r"(triệu|nghìn|ngàn|tỷ|million|mln|thousand|\bk\b|\bm\b|\bmt\b|tấn|tonnes?|tons?|teus?|"
    r"khách|lượt|pax|passengers?|%)",
    re.IGNORECASE,
)
_GROUPED = re.compile(r"^\d{1,3}(?:([.,\s])\d{3})(?:\1\d{3})*$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def official_keys(path: str | Path, spec: TableSpec) -> dict[str, str]:
    """The official facilities of a table's type: key -> Vietnamese name.

    Parameters
    ----------
    path
        ``seaports_official_1579.csv`` or ``airports_official_caav.csv`` (or a folder holding it).
    spec
        :data:`SEAPORTS`, :data:`AIRPORTS` or :data:`TERMINALS`.
    """
    p = Path(path)
    if p.is_dir():
        p = p / spec.official_file
    frame, _ = read_rows(p)
    for col in (spec.key, "name_vi"):
        if col not in frame.columns:
            raise InputError(f"the official list has no '{col}' column", source=str(p), field=col)
    return dict(zip(frame[spec.key].str.strip(), frame["name_vi"].str.strip(), strict=True))


def load_capacity_table(
    path: str | Path, spec: TableSpec, *, official: dict[str, str]
) -> tuple[pd.DataFrame, Issues]:
    """Read a capacity table, keep the valid rows and list the others with a reason.

    Parameters
    ----------
    path
        A CSV with the columns of ``spec`` (see ``data/capacity/README.md``).
    spec
        :data:`SEAPORTS`, :data:`AIRPORTS` or :data:`TERMINALS`.
    official
        The official facilities (key -> Vietnamese name), from :func:`official_keys`.

    Returns
    -------
    (DataFrame, Issues)
        The kept rows: the key, ``year`` (int), the measures as floats (NaN where not given), the
        source and text columns and ``source_row``; the rejected rows and the repairs made.

    Raises
    ------
    InputError
        Missing or unreadable file, or a required column missing.
    """
    src = str(path)
    frame, issues = read_rows(Path(path))
    required = [spec.key, "year", *spec.required_text] + [m.column for m in spec.measures]
    required += [c for url, date, _ in spec.sources for c in (url, date)]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; the columns are: {', '.join(frame.columns)}",
            source=src,
            field=missing[0],
        )
    rows: list[dict[str, object]] = []
    for i, rec in enumerate(frame.to_dict("records"), start=1):
        row = _check_row(rec, i, src, spec, official, issues)
        if row is not None:
            rows.append(row)
    columns = [spec.key, "year", *(m.column for m in spec.measures)]
    columns += [c for url, date, _ in spec.sources for c in (url, date)]
    columns += [c for c in spec.text_columns if c in frame.columns and c not in columns]
    out = pd.DataFrame(rows, columns=[*columns, ROW])
    out = _drop_duplicates(out, spec, src, issues)
    out["year"] = out["year"].astype("Int64")
    for m in spec.measures:
        out[m.column] = out[m.column].astype("float64")
    out[ROW] = out[ROW].astype("int64")
    return out.reset_index(drop=True), issues


def load_seaports_throughput(
    path: str | Path, *, official: str | Path | dict[str, str]
) -> tuple[pd.DataFrame, Issues]:
    """Seaport throughput (tonnes, TEU) per official seaport; see :func:`load_capacity_table`."""
    keys = official if isinstance(official, dict) else official_keys(official, SEAPORTS)
    return load_capacity_table(path, SEAPORTS, official=keys)


def load_airports_traffic(
    path: str | Path, *, official: str | Path | dict[str, str]
) -> tuple[pd.DataFrame, Issues]:
    """Airport passengers and design capacity per official airport (IATA code)."""
    keys = official if isinstance(official, dict) else official_keys(official, AIRPORTS)
    return load_capacity_table(path, AIRPORTS, official=keys)


def load_terminals_throughput(
    path: str | Path, *, official: str | Path | dict[str, str]
) -> tuple[pd.DataFrame, Issues]:
    """Throughput of named terminals, each tied to its official seaport (``name_vi``)."""
    keys = official if isinstance(official, dict) else official_keys(official, TERMINALS)
    return load_capacity_table(path, TERMINALS, official=keys)


@dataclass(frozen=True)
class CapacityTables:
    """The three capacity tables of a region, validated, with every reject and repair."""

    seaports: pd.DataFrame
    terminals: pd.DataFrame
    airports: pd.DataFrame
    issues: Issues


FILES = (
    ("seaports", "seaports_throughput.csv", SEAPORTS),
    ("terminals", "seaport_terminals_throughput.csv", TERMINALS),
    ("airports", "airports_traffic.csv", AIRPORTS),
)
DEFAULT_DIR = DATA_DIR / "capacity"


def load_capacity(folder: str | Path = DEFAULT_DIR, *, official: str | Path) -> CapacityTables:
    """Load every capacity table of ``folder`` against the official lists in ``official``.

    Parameters
    ----------
    folder
        Holds ``seaports_throughput.csv``, ``seaport_terminals_throughput.csv`` and
        ``airports_traffic.csv``; a file that is absent gives an empty table (capacity is
        optional data), a folder that is absent is an error.
    official
        Folder with ``seaports_official_1579.csv`` and ``airports_official_caav.csv``.

    Returns
    -------
    CapacityTables
        The kept rows of each table and one :class:`~geo.schema.Issues` for all three.

    Raises
    ------
    InputError
        ``folder`` missing, or a file there unreadable or missing a required column.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError("no capacity folder; check the path", source=str(root))
    issues = Issues()
    tables: dict[str, pd.DataFrame] = {}
    for name, filename, spec in FILES:
        path = root / filename
        if not path.is_file():
            tables[name] = _empty(spec)
            continue
        table, found = load_capacity_table(path, spec, official=official_keys(official, spec))
        tables[name] = table
        issues.extend(found)
    return CapacityTables(tables["seaports"], tables["terminals"], tables["airports"], issues)


def _empty(spec: TableSpec) -> pd.DataFrame:
    columns = [spec.key, "year", *(m.column for m in spec.measures)]
    columns += [c for url, date, _ in spec.sources for c in (url, date)]
    columns += [c for c in spec.text_columns if c not in columns]
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in [*columns, ROW]})
    out["year"] = out["year"].astype("Int64")
    for m in spec.measures:
        out[m.column] = out[m.column].astype("float64")
    out[ROW] = out[ROW].astype("int64")
    return out


def coverage(table: pd.DataFrame, spec: TableSpec, keys: Iterable[str]) -> list[str]:
    """The official facilities (of ``keys``) that have at least one measure in ``table``."""
    measured = table[[m.column for m in spec.measures]].notna().any(axis=1)
    have = set(table.loc[measured, spec.key])
    return [k for k in keys if k in have]


# --------------------------------------------------------------------------- row checks


def _check_row(  # noqa: C901 (one check per column, each a listed reject reason)
    rec: dict[Hashable, Any],
    i: int,
    src: str,
    spec: TableSpec,
    official: dict[str, str],
    issues: Issues,
) -> dict[str, object] | None:
    key = str(rec[spec.key]).strip()
    if key not in official:
        issues.reject(src, i, spec.key, _unknown(key, spec, official))
        return None
    if spec.checks_name and str(rec.get("name_vi", "")).strip() not in ("", official[key]):
        issues.reject(
            src,
            i,
            "name_vi",
            f"name '{rec['name_vi']}' is not the official name of {key} ('{official[key]}')",
        )
        return None
    for col in spec.required_text:
        if not str(rec[col]).strip():
            issues.reject(src, i, col, f"no {col}: every row must name its {col}")
            return None
    out: dict[str, object] = {spec.key: key, ROW: i}
    repairs: list[tuple[str, str]] = []  # recorded only if the row is kept
    for m in spec.measures:
        value, reason, repair = _number(str(rec[m.column]), m)
        if reason:
            issues.reject(src, i, m.column, reason)
            return None
        out[m.column] = value
        if repair:
            repairs.append((m.column, repair))
    if all(_blank(out[m.column]) for m in spec.measures):
        issues.reject(src, i, spec.measures[0].column, _no_measure(spec))
        return None
    year_text = str(rec["year"]).strip()
    if year_text == "" and all(_blank(out[c]) for c in spec.dated):
        out["year"] = pd.NA  # a design capacity alone is not a figure of a year
    elif not re.fullmatch(r"\d{4}", year_text) or not YEARS[0] <= int(year_text) <= YEARS[1]:
        what = (
            "no year"
            if year_text == ""
            else f"year {year_text!r} is not a year in {YEARS[0]}–{YEARS[1]}"
        )
        issues.reject(src, i, "year", f"{what}: the {'/'.join(spec.dated)} figure needs its year")
        return None
    else:
        out["year"] = int(year_text)
    for url_col, date_col, covers in spec.sources:
        if all(_blank(out[c]) for c in covers):
            out[url_col], out[date_col] = str(rec[url_col]).strip(), str(rec[date_col]).strip()
            continue
        reason, field = _source_problem(rec, url_col, date_col, covers)
        if reason:
            issues.reject(src, i, field, reason)
            return None
        out[url_col], out[date_col] = str(rec[url_col]).strip(), str(rec[date_col]).strip()
    for col in spec.text_columns:
        if col in rec:
            out[col] = str(rec[col]).strip()
    for col, what in repairs:
        issues.repair(src, i, col, what)
    return out


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _unknown(key: str, spec: TableSpec, official: dict[str, str]) -> str:
    if not key:
        return f"no {spec.key}: every row must name an official {spec.kind}"
    close = difflib.get_close_matches(key, list(official), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {spec.kind} '{key}': {spec.key} must match {spec.official_file} exactly{hint}"


def _no_measure(spec: TableSpec) -> str:
    names = " and no ".join(m.column for m in spec.measures)
    return f"no {names} value: a row must give at least one figure"


def _number(text: str, m: Measure) -> tuple[float, str, str]:
    """Parse one measure: (value, "", repair made or "") or (nan, reason, "")."""
    t = text.strip()
    repair = ""
    if t == "":
        return float("nan"), "", ""
    if _UNIT_WORDS.search(t):
        return (
            float("nan"),
            f"value {t!r} carries a unit or scale word; write the plain number of {m.unit} "
            "(e.g. 138200000, not '138,2 triệu')",
            "",
        )
    if _GROUPED.fullmatch(t):
        plain = re.sub(r"[.,\s]", "", t)
        repair = f"thousands separators removed: {t!r} read as {plain}"
        t = plain
    try:
        value = float(t)
    except ValueError:
        return float("nan"), f"cannot read {m.column} value {t[:40]!r} as a number", ""
    if value != value or value in (float("inf"), float("-inf")):
        return float("nan"), f"cannot read {m.column} value {t[:40]!r} as a number", ""
    if value < 0:
        return float("nan"), f"negative {m.column} ({value:g}); give a count of {m.unit} ≥ 0", ""
    if 0 < value < m.min_nonzero:
        return (
            float("nan"),
            f"{m.column} {value:g} is too small to be in {m.unit} (under {m.min_nonzero:g}): "
            "it looks written in thousands or millions; write the plain number",
            "",
        )
    return value, "", repair


def _source_problem(
    rec: dict[Hashable, Any], url_col: str, date_col: str, covers: tuple[str, ...]
) -> tuple[str, str]:
    url = str(rec[url_col]).strip()
    what = "/".join(covers)
    if not url:
        return f"no {url_col} for the {what} figure: every number needs a source", url_col
    if not re.match(r"^https?://\S+$", url):
        return f"{url_col} {url[:60]!r} is not an http(s) address", url_col
    date = str(rec[date_col]).strip()
    if not date:
        return f"no {date_col} for the {what} figure (YYYY, YYYY-MM or YYYY-MM-DD)", date_col
    if not _DATE.fullmatch(date):
        return f"{date_col} {date!r} is not YYYY, YYYY-MM or YYYY-MM-DD", date_col
    return "", ""


def _drop_duplicates(out: pd.DataFrame, spec: TableSpec, src: str, issues: Issues) -> pd.DataFrame:
    ident = [spec.key, "year"] + (["terminal"] if "terminal" in out.columns else [])
    measures = [m.column for m in spec.measures]
    first: dict[tuple[object, ...], pd.Series] = {}
    keep = []
    for _, r in out.iterrows():
        k = tuple(r[c] for c in ident)
        if k not in first:
            first[k] = r
            keep.append(True)
            continue
        f = first[k]
        same = all((pd.isna(r[c]) and pd.isna(f[c])) or r[c] == f[c] for c in measures)
        what = "a repeat" if same else "in conflict (different figures)"
        issues.reject(
            src,
            int(r[ROW]),
            spec.key,
            f"duplicate of row {int(f[ROW])} ({' '.join(str(r[c]) for c in ident)}), {what}: "
            "one row per facility and year; the first is kept",
        )
        keep.append(False)
    return out.loc[keep]
