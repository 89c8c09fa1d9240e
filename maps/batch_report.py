"""The comparative report of a batch: report.html, report.xlsx and tables/*.csv.

Every number is read back from a scenario's own folder (``tables/*.csv`` and ``manifest.json``),
never from memory, so a skipped (finished earlier) scenario reports exactly like a new one, and
every row carries the ``scenario``, ``hash`` and ``folder`` it came from. The HTML is
self-contained: inline CSS, charts as inline SVG drawn here, no script, no external resource.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.scenarios import BatchRun, Status
from analysis.text import fmt_dec, fmt_int, fmt_pct, pick
from analysis.text.batch import BATCH_CHANGES, BATCH_STATUS, BATCH_TEXT
from geo.files import atomic_path, write_text_atomic
from maps.batch_charts import heatmap_svg, summary_charts
from maps.safe_table import rounded_frame, safe_cell, write_csv
from maps.templating import ENV

log = logging.getLogger(__name__)

_ENV = ENV
KEY = ["scenario", "hash", "folder"]
CODES = {c: str for c in ("prov_code", "province_a", "province_b", "prov34_code", "prov63_code")}
# Excel number formats by column-name ending (units shown in the cell, values stay numbers)
FORMATS = (
    ("_people", '#,##0" people"'),
    ("_share", "0.0%"),
    ("_min", '0" min"'),
    ("_s", '0.0" s"'),
    ("_count", "0"),
)


def _tr(key: str, lang: str) -> str:
    return pick(BATCH_TEXT[key], lang)


def _read(folder: Path) -> dict[str, Any]:
    t = folder / "tables"
    return {
        "manifest": json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
        **{
            n: pd.read_csv(t / f"{n}.csv", dtype=CODES, encoding="utf-8-sig")
            for n in ("facilities", "provinces", "province_matrix")
        },
    }


def _summary(key: dict[str, str], d: dict[str, Any]) -> list[dict[str, Any]]:
    man, fac, prov, mat = d["manifest"], d["facilities"], d["provinces"], d["province_matrix"]
    rows = []
    for t, info in man["types"].items():
        f = fac[fac["type"] == t]
        prim = float(info["primary_min"])
        m = mat[
            (mat["type"] == t) & (mat["break_min"] == prim) & (mat["edition"] == man["edition"])
        ]
        m = m[m["province_a"] < m["province_b"]]
        covered = float(prov.get(f"coverage_{t}", pd.Series(dtype=float)).sum())
        pop = float(prov["population"].sum())
        cov_sum = float(f["coverage"].sum())
        rows.append({
            **key, "type": t, "edition": int(man["edition"]), "primary_min": prim,
            "facilities_count": len(f), "planned_count": int((f["status"] == "planned").sum()),
            "population_people": pop, "covered_people": covered,
            "covered_share": covered / pop if pop else np.nan,
            "unique_people": float(f["unique_coverage"].sum()),
            "unique_share": float(f["unique_coverage"].sum()) / cov_sum if cov_sum else np.nan,
            "duplicated_pairs_people": float(m["duplicated"].sum()),
            "flags_count": int(f["flag"].astype(bool).sum()),
        })  # fmt: skip
    return rows


def _changes(key: dict[str, str], base: pd.DataFrame, fac: pd.DataFrame) -> list[dict[str, Any]]:
    types = set(base["type"]) & set(fac["type"])
    b, s = (
        base[base["type"].isin(types)].set_index("facility_id"),
        fac[fac["type"].isin(types)].set_index("facility_id"),
    )
    bf, sf = set(b.index[b["flag"].astype(bool)]), set(s.index[s["flag"].astype(bool)])
    kinds = (
        ("facility added", set(s.index) - set(b.index), s),
        ("facility removed", set(b.index) - set(s.index), b),
        ("flag appears", sf - bf, s),
        ("flag disappears", bf - sf, b),
    )
    return [
        {**key, "change": kind, "type": src.at[i, "type"], "facility_id": i, "name": src.at[i, "name"],
         "province": src.at[i, "prov34_name"], "unique_share": src.at[i, "unique_share"]}
        for kind, ids, src in kinds for i in sorted(ids)
    ]  # fmt: skip


def _matrix_diff(
    a: tuple[dict[str, str], dict[str, Any]],
    b: tuple[dict[str, str], dict[str, Any]],
    lang: str = "en",
) -> tuple[pd.DataFrame, str]:
    (ka, da), (kb, db) = a, b
    ed = int(
        da["manifest"]["edition"]
    )  # each matrix holds both editions: compare in the baseline's
    if not (db["province_matrix"]["edition"] == ed).any():
        return pd.DataFrame(), _tr("not_comparable", lang).format(s=kb["scenario"], ed=ed)
    frames = []
    for t in sorted(set(da["manifest"]["types"]) & set(db["manifest"]["types"])):
        sides = []
        for k, d in ((ka, da), (kb, db)):
            prim = float(d["manifest"]["types"][t]["primary_min"])
            m = d["province_matrix"]
            m = m[
                (m["type"] == t)
                & (m["break_min"] == prim)
                & (m["edition"] == ed)
                & (m["province_a"] < m["province_b"])
            ]
            sides.append(
                m.set_index(["province_a", "province_b"])[
                    ["name_a", "name_b", "duplicated"]
                ].rename(columns={"duplicated": k["scenario"]})
            )
        j = (
            sides[0]
            .join(sides[1][[kb["scenario"]]], how="outer")
            .fillna({ka["scenario"]: 0.0, kb["scenario"]: 0.0})
        )
        j[["name_a", "name_b"]] = j[["name_a", "name_b"]].fillna(sides[1][["name_a", "name_b"]])
        j = j.reset_index().rename(
            columns={ka["scenario"]: "baseline_people", kb["scenario"]: "compare_people"}
        )
        j = j[(j["baseline_people"] > 0) | (j["compare_people"] > 0)]
        frames.append(
            j.assign(type=t, difference_people=j["compare_people"] - j["baseline_people"])
        )
    cols = [
        "type",
        "province_a",
        "name_a",
        "province_b",
        "name_b",
        "baseline_people",
        "compare_people",
        "difference_people",
    ]
    out = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
    out = out.assign(
        edition=ed,
        baseline=ka["scenario"],
        baseline_hash=ka["hash"],
        compare=kb["scenario"],
        compare_hash=kb["hash"],
    )
    order = out["difference_people"].abs().sort_values(ascending=False, kind="stable").index
    note = _tr("in_edition", lang).format(ed=ed) if ed != int(db["manifest"]["edition"]) else ""
    return out.loc[order].reset_index(drop=True), note


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return (
        Path(value).name
        if isinstance(value, str) and value.startswith("/")
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def batch_tables(run: BatchRun, lang: str = "en") -> tuple[dict[str, pd.DataFrame], str]:
    """The report's tables (scenarios, summary, changes, flags, matrix_diff) and a note on the
    diff (in ``lang``); the tables keep codes (status, kind of change) in every language."""
    rows, summary, changes, flags, done = [], [], [], [], {}
    for sc, o in zip(run.spec.scenarios, run.outcomes, strict=True):
        folder = Path(o.folder).relative_to(run.out_dir).as_posix() if o.folder else ""
        key = {"scenario": sc.name, "hash": o.hash, "folder": folder}
        settings = "; ".join(f"{k}={_show(v)}" for k, v in sorted(sc.params.items()) if k != "data")
        row = {**key, "status": o.status.value, "description": sc.description, "settings": settings,
               "this_run_s": o.seconds, "run_s": np.nan, "error": o.error}  # fmt: skip
        if o.status is not Status.FAILED:
            try:
                d = _read(Path(o.folder))
            except (OSError, ValueError, KeyError) as exc:
                row.update(status="failed", error=f"outputs unreadable: {exc}")
            else:
                done[sc.name] = (key, d)
                row["run_s"] = d["manifest"].get("timings_s", {}).get("total_s", np.nan)
                summary += _summary(key, d)
                f = d["facilities"]
                for r in f[f["flag"].astype(bool)].itertuples(index=False):
                    flags.append({**key, "type": r.type, "facility_id": r.facility_id, "name": r.name, "province": r.prov34_name,
                                  "unique_share": r.unique_share, "other_province_share": r.other_province_share,
                                  "removal_penalty_min": r.removal_penalty_min, "removal_lost_people": r.removal_lost,
                                  "evidence_en": r.evidence_en})  # fmt: skip
        rows.append(row)
    base = done.get(run.spec.baseline)
    for name, (key, d) in done.items():
        if base is not None and name != run.spec.baseline:
            changes += _changes(key, base[1]["facilities"], d["facilities"])
    note = ""
    if base is not None and run.spec.compare in done and run.spec.compare != run.spec.baseline:
        diff, note = _matrix_diff(base, done[run.spec.compare], lang)
    else:
        needs = _tr("needs_both", lang).format(b=run.spec.baseline, c=run.spec.compare)
        diff, note = pd.DataFrame(), needs
    ch_cols = [*KEY, "change", "type", "facility_id", "name", "province", "unique_share"]
    tables = {
        "scenarios": pd.DataFrame(rows),
        "summary": pd.DataFrame(summary),
        "changes": pd.DataFrame(changes, columns=ch_cols),
        "flags": pd.DataFrame(flags),
        "matrix_diff": diff,
    }
    return tables, note


# --------------------------------------------------------------------------- files


def _cell(v: Any) -> Any:
    v = v.item() if isinstance(v, np.generic) else v
    if v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return safe_cell(v)


def write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table: units in the number formats, frozen header, autofilter, widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, raw in tables.items():
        df = rounded_frame(raw)  # the same rounding as the CSV files
        ws = wb.create_sheet(name[:31])
        cols = [safe_cell(str(c)) for c in df.columns] or ["(empty)"]
        ws.append(cols)
        for row in df.itertuples(index=False):
            ws.append([_cell(v) for v in row])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text from data is never a formula
        for j, col in enumerate(cols, start=1):
            ws.cell(1, j).font = Font(bold=True)
            fmt = next((f for end, f in FORMATS if col.endswith(end)), None)
            width = len(col)
            for cell in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if fmt and isinstance(cell[0].value, (int, float)):
                    cell[0].number_format = fmt
                width = max(width, min(60, len(str(cell[0].value or "")) + (8 if fmt else 0)))
            ws.column_dimensions[get_column_letter(j)].width = width + 2
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(1, len(df) + 1)}"
    with atomic_path(path) as tmp:
        wb.save(tmp)


def report_lang(run: BatchRun) -> str:
    """The batch report's language: the baseline scenario's ``lang`` (else the first
    scenario's, else Vietnamese, the tool's default)."""
    scs = {sc.name: sc for sc in run.spec.scenarios}
    first = scs.get(run.spec.baseline) or (run.spec.scenarios[0] if run.spec.scenarios else None)
    lang = str((first.params.get("lang") if first else None) or "vi")
    return lang if lang in ("vi", "en") else "vi"


def _type_labels(run: BatchRun, lang: str) -> dict[str, str]:
    """Type code -> label in ``lang``, from the finished scenarios' manifests."""
    labels: dict[str, str] = {}
    for o in run.outcomes:
        man = Path(o.folder) / "manifest.json" if o.folder else None
        if man is None or not man.is_file():
            continue
        for t, info in json.loads(man.read_text(encoding="utf-8")).get("types", {}).items():
            labels.setdefault(t, str(info.get(f"label_{lang}") or t))
    return labels


def _display(lang: str, type_labels: dict[str, str]) -> dict[str, Any]:
    """What the template needs to speak ``lang``: words, value labels and number formats."""
    return {
        "lang": lang,
        "tr": {k: pick(v, lang) for k, v in BATCH_TEXT.items()},
        "status_label": {k: pick(v, lang) for k, v in BATCH_STATUS.items()},
        "change_label": {k: pick(v, lang) for k, v in BATCH_CHANGES.items()},
        "type_label": type_labels,
        "fi": lambda x: fmt_int(x, lang),
        "fd": lambda x, d=1: fmt_dec(x, lang, digits=d),
        "fp": lambda x: fmt_pct(x, lang, digits=1),
        "fs": lambda x: ("+" if x == x and x > 0 else "") + fmt_int(x, lang),
    }


def write_batch_report(run: BatchRun, out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.xlsx`` and ``tables/*.csv`` of a batch into ``out_dir``.

    The HTML speaks the batch's language (:func:`report_lang`); the tables keep codes."""
    out = Path(out_dir)
    lang = report_lang(run)
    tables, note = batch_tables(run, lang)
    written = {}
    for name, df in tables.items():
        p = out / "tables" / f"{name}.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        write_csv(df, p)
        written[name] = p
    write_xlsx(tables, out / "report.xlsx")
    labels = _type_labels(run, lang)
    diff = tables["matrix_diff"]
    heat = []
    for t, g in diff.groupby("type", sort=True) if len(diff) else []:
        g = g[g["difference_people"] != 0]
        if not len(g):
            continue
        lab = labels.get(str(t), str(t))
        title = _tr("chart_heat", lang).format(t=lab, c=run.spec.compare, b=run.spec.baseline)
        heat.append(
            {
                "type": lab,
                "svg": heatmap_svg(g, lang=lang, title=title),
                "top": g.head(15).to_dict("records"),
            }
        )
    ch = tables["changes"]
    kinds = tuple(BATCH_CHANGES)
    counts = [
        {
            "scenario": s,
            "hash": h,
            **{k: int(((ch["scenario"] == s) & (ch["change"] == k)).sum()) for k in kinds},
        }
        for s, h, st in zip(
            tables["scenarios"]["scenario"],
            tables["scenarios"]["hash"],
            tables["scenarios"]["status"],
            strict=True,
        )
        if s != run.spec.baseline and st != "failed"
    ]
    saved = sum(
        max(0, len(s["scenarios"]) - 1) * s["load_s"] for s in run.shared.values() if s["shared"]
    )
    charts = (
        summary_charts(tables["summary"], lang=lang, type_labels=labels)
        if len(tables["summary"])
        else []
    )
    html = _ENV.get_template("batch_report.html.j2").render(
        run=run, spec=run.spec, t=tables, note=note, charts=charts, **_display(lang, labels),
        heat=heat, kinds=kinds, change_counts=counts, saved_s=saved, changes=ch.head(300).to_dict("records"), n_changes=len(ch),
    )  # fmt: skip
    write_text_atomic(out / "report.html", html)
    written.update(html=out / "report.html", xlsx=out / "report.xlsx")
    return written
