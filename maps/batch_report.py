"""The comparative report of a batch: report.html, report.xlsx and tables/*.csv.

Every number is read back from a scenario's own folder (``tables/*.csv`` and ``manifest.json``),
never from memory, so a skipped (finished earlier) scenario reports exactly like a new one, and
every row carries the ``scenario``, ``hash`` and ``folder`` it came from. The HTML is
self-contained: inline CSS, charts as inline SVG drawn here, no script, no external resource.
"""

from __future__ import annotations

import json
import logging
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from analysis.scenarios import BatchRun, Status
from geo.files import atomic_path, write_text_atomic
from maps.safe_table import rounded_frame, safe_cell, write_csv

log = logging.getLogger(__name__)

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
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
    a: tuple[dict[str, str], dict[str, Any]], b: tuple[dict[str, str], dict[str, Any]]
) -> tuple[pd.DataFrame, str]:
    (ka, da), (kb, db) = a, b
    ed = int(
        da["manifest"]["edition"]
    )  # each matrix holds both editions: compare in the baseline's
    if not (db["province_matrix"]["edition"] == ed).any():
        return pd.DataFrame(), f"not comparable: {kb['scenario']} has no {ed}-province matrix"
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
    note = f"in the {ed}-province edition" if ed != int(db["manifest"]["edition"]) else ""
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


def batch_tables(run: BatchRun) -> tuple[dict[str, pd.DataFrame], str]:
    """The report's tables (scenarios, summary, changes, flags, matrix_diff) and a note on the diff."""
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
        diff, note = _matrix_diff(base, done[run.spec.compare])
    else:
        diff, note = (
            pd.DataFrame(),
            f"needs both {run.spec.baseline} and {run.spec.compare} finished",
        )
    ch_cols = [*KEY, "change", "type", "facility_id", "name", "province", "unique_share"]
    tables = {
        "scenarios": pd.DataFrame(rows),
        "summary": pd.DataFrame(summary),
        "changes": pd.DataFrame(changes, columns=ch_cols),
        "flags": pd.DataFrame(flags),
        "matrix_diff": diff,
    }
    return tables, note


# --------------------------------------------------------------------------- SVG charts


def bars_svg(
    labels: list[str], values: list[float], *, fmt: str, title: str, vmax: float | None = None
) -> str:
    """A horizontal bar chart as an inline SVG string (labels escaped; NaN drawn as 'n/a')."""
    w, lw, rh = 560, 190, 20
    finite = [v for v in values if v == v]
    top = vmax or max(finite, default=0.0) or 1.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{w}" height="{rh * len(labels) + 24}" class="chart">',
           f'<title>{escape(title)}</title><text x="0" y="14" class="t">{escape(title)}</text>']  # fmt: skip
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = 22 + i * rh
        out.append(f'<text x="{lw - 6}" y="{y + 14}" text-anchor="end">{escape(lab)}</text>')
        if v == v:
            bw = max(0.0, (w - lw - 90) * v / top)
            out.append(
                f'<rect x="{lw}" y="{y + 3}" width="{bw:.1f}" height="{rh - 6}" fill="#2b6cb0"/>'
            )
            out.append(f'<text x="{lw + bw + 4:.1f}" y="{y + 14}">{escape(fmt.format(v))}</text>')
        else:
            out.append(f'<text x="{lw + 4}" y="{y + 14}" fill="#888">n/a</text>')
    return "".join([*out, "</svg>"])


def heatmap_svg(diff: pd.DataFrame, *, title: str) -> str:
    """The province x province difference (symmetric) as an SVG grid: red more, blue less."""
    codes = sorted(set(diff["province_a"]) | set(diff["province_b"]))
    names = dict(zip(diff["province_a"], diff["name_a"], strict=False)) | dict(
        zip(diff["province_b"], diff["name_b"], strict=False)
    )
    n, c, lab = len(codes), 14, 34
    vmax = float(diff["difference_people"].abs().max()) or 1.0
    pos = {k: i for i, k in enumerate(codes)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{lab + n * c + 4}" height="{lab + n * c + 4}" class="chart">',
           f"<title>{escape(title)}</title>"]  # fmt: skip
    for k, i in pos.items():
        out.append(
            f'<text x="{lab + i * c + c / 2}" y="{lab - 4}" font-size="8" text-anchor="middle">{escape(k)}</text>'
        )
        out.append(
            f'<text x="{lab - 4}" y="{lab + i * c + 10}" font-size="8" text-anchor="end">{escape(k)}</text>'
        )
    for r in diff.itertuples(index=False):
        v = float(r.difference_people)  # type: ignore[arg-type]
        a = min(1.0, abs(v) / vmax)
        fill = f"rgba(200,30,30,{a:.3f})" if v > 0 else f"rgba(30,80,200,{a:.3f})"
        tip = escape(
            f"{names.get(r.province_a, '')} × {names.get(r.province_b, '')}: {v:+,.0f} people"
        )
        for x, y in (
            (pos[r.province_a], pos[r.province_b]),
            (pos[r.province_b], pos[r.province_a]),
        ):
            out.append(
                f'<rect x="{lab + x * c}" y="{lab + y * c}" width="{c - 1}" height="{c - 1}" fill="{fill}"><title>{tip}</title></rect>'
            )
    return "".join([*out, "</svg>"])


def _charts(summary: pd.DataFrame) -> list[dict[str, Any]]:
    charts = []
    for t, g in summary.groupby("type", sort=True):
        labels = [f"{s} ({p:g} min)" for s, p in zip(g["scenario"], g["primary_min"], strict=True)]
        charts.append({"type": t, "svgs": [
            bars_svg(labels, list(g["covered_share"] * 100), fmt="{:.1f} %", title=f"{t}: population covered within the primary threshold (%)", vmax=100.0),
            bars_svg(labels, list(g["unique_share"] * 100), fmt="{:.1f} %", title=f"{t}: unique share of catchment people (%)", vmax=100.0),
            bars_svg(labels, list(g["flags_count"].astype(float)), fmt="{:.0f}", title=f"{t}: facilities flagged redundant"),
        ]})  # fmt: skip
    return charts


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


def write_batch_report(run: BatchRun, out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.xlsx`` and ``tables/*.csv`` of a batch into ``out_dir``."""
    out = Path(out_dir)
    tables, note = batch_tables(run)
    written = {}
    for name, df in tables.items():
        p = out / "tables" / f"{name}.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        write_csv(df, p)
        written[name] = p
    write_xlsx(tables, out / "report.xlsx")
    diff = tables["matrix_diff"]
    heat = [{"type": t, "svg": heatmap_svg(g[g["difference_people"] != 0], title=f"{t}: duplicated people, {run.spec.compare} minus {run.spec.baseline}"),
             "top": g[g["difference_people"] != 0].head(15).to_dict("records")}
            for t, g in diff.groupby("type", sort=True) if (g["difference_people"] != 0).any()] if len(diff) else []  # fmt: skip
    ch = tables["changes"]
    kinds = ("facility added", "facility removed", "flag appears", "flag disappears")
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
    html = _ENV.get_template("batch_report.html.j2").render(
        run=run, spec=run.spec, t=tables, note=note, charts=_charts(tables["summary"]) if len(tables["summary"]) else [],
        heat=heat, kinds=kinds, change_counts=counts, saved_s=saved, changes=ch.head(300).to_dict("records"), n_changes=len(ch),
    )  # fmt: skip
    write_text_atomic(out / "report.html", html)
    written.update(html=out / "report.html", xlsx=out / "report.xlsx")
    return written
