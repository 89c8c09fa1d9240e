"""report.html: a memo a consultant can paste from.

Summary and what the numbers stand on first, then the ranked findings and charts; the
per-province sections and the appendices (pairs, regions, covering, data, method) follow on
their own pages. Rendered with Jinja2 with autoescaping on: every string from data is shown as
text. Self-contained (inline CSS and SVG, no script, no external resource), printable on A4.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import markupsafe
import pandas as pd

from analysis.results import RunResult
from analysis.text import (
    FIELD_TEXT,
    REPAIR_NOTES_VI,
    REPAIR_TEXT,
    demand_source_text,
    fmt_date,
    fmt_dec,
    fmt_int,
    fmt_min,
    fmt_pct,
    fmt_people,
    note_text,
    pick,
    term,
)
from geo.files import write_text_atomic
from geo.paths import method_md
from maps.quality_report import run_quality_html
from maps.report_charts import coverage_curve_svg, severity_bars_svg
from maps.report_sections import (
    capacity_check,
    findings,
    province_sections,
    standing,
    summary,
    type_label,
)
from maps.templating import ENV

_ENV = ENV

T = {
    "title": ("Báo cáo trùng lặp đầu tư hạ tầng", "Infrastructure overlap report"),
    "summary": ("Tóm tắt", "Summary"),
    "standing": ("Các con số dựa trên gì", "What the numbers stand on"),
    "findings": ("Các phát hiện, xếp theo mức độ trùng lặp", "Findings, ranked by severity"),
    "charts": ("Biểu đồ", "Charts"),
    "headline": ("Kết quả theo loại", "Results by type"),
    "type": ("Loại", "Type"),
    "loaded": ("Đã nạp", "Loaded"),
    "official": ("Số chính thức", "Official count"),
    "covered": ("Dân số được phục vụ", "People covered"),
    "flagged": ("Dư thừa", "Redundant"),
    "overlap": ("Trùng lặp", "Overlap"),
    "evidence": ("Diễn giải", "Evidence"),
    "rank": ("Hạng", "Rank"),
    "name": ("Cơ sở", "Facility"),
    "province": ("Tỉnh/thành", "Province"),
    "severity": ("Mức độ", "Severity"),
    "unique": ("Chỉ riêng cơ sở phục vụ", "Served by it alone"),
    "other": ("Cũng do tỉnh khác phục vụ", "Also served from another province"),
    "lost": ("Số người mất tiếp cận", "People who lose access"),
    "extra": ("Thời gian tăng thêm (phút)", "Extra minutes"),
    "robust": ("Độ vững", "Robustness"),
    "by_province": ("Theo tỉnh: trùng lặp với ai", "By province: what it duplicates, with whom"),
    "overlaps": ("10 cặp cơ sở trùng lặp lớn nhất giữa hai tỉnh", "The 10 largest overlaps between provinces"),
    "pairs": ("Cặp tỉnh có nhiều người được phục vụ chung nhất", "Province pairs with the most people served by both"),
    "appendix": ("Phụ lục", "Appendices"),
    "data": ("Dữ liệu", "Data"),
    "network": ("Mạng đường bộ", "Road network"),
    "rejects": ("Dòng bị loại", "Rejected input rows"),
    "method": ("Phương pháp", "Method"),
    "sources": ("Nguồn và ghi công", "Sources and attribution"),
}  # fmt: skip


def _head(result: RunResult, lang: str) -> list[dict[str, Any]]:
    meta, fac, prov = result.meta, result.layers["facilities"], result.layers["provinces"]
    people = max(float(prov["population"].sum()), 1.0)
    rows = []
    for t, tm in meta.types.items():
        f = fac[(fac["type"] == t)]
        v = meta.verdict.get(t, {})
        cov = float(prov[f"coverage_{t}"].sum()) if f"coverage_{t}" in prov else float("nan")
        rows.append(
            {
                "label": type_label(meta, t, lang),
                "breaks": ", ".join(f"{b:g}" for b in tm["breaks_min"]),
                "primary": f"{tm['primary_min']:g}",
                "loaded": len(f),
                "operating": int((f["status"] == "operating").sum()),
                "planned": int((f["status"] == "planned").sum()),
                "no_road": int((f["road_access"] == "none").sum()),
                "covered": fmt_people(cov, lang),
                "covered_share": fmt_pct(cov / people, lang),
                "overlap": int(f["overlap_flag"].sum()),
                "flagged": int(f["verdict"].sum()),
                "robust": int(((f["flag_robustness"] == "robust") & f["verdict"]).sum()),
                "loss": fmt_pct(v.get("loss_share"), lang),
                "lost": fmt_people(v.get("lost_people"), lang),
                "extra": fmt_min(v.get("extra_min"), lang),
            }
        )
    return rows


def _pairs(result: RunResult, lang: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The 10 largest facility overlaps across provinces, and the 15 province pairs."""
    meta = result.meta
    prim = {t: tm["primary_min"] for t, tm in meta.types.items()}
    ov = result.layers["overlaps"]
    # the question is duplication between provinces: pairs in one province are in tables/overlaps.csv
    ov = ov[
        (ov["break_min"] == ov["type"].map(prim))
        & (ov["prov_a"].astype(str) != ov["prov_b"].astype(str))
    ]
    prov = result.layers["provinces"]
    pname = dict(zip(prov["prov_code"].astype(str), prov["prov_name"].astype(str), strict=False))
    top_ov = [
        {
            "type": type_label(meta, str(r.type), lang),
            "a": r.name_a,
            "b": r.name_b,
            "pa": pname.get(str(r.prov_a), str(r.prov_a)),
            "pb": pname.get(str(r.prov_b), str(r.prov_b)),
            "overlap": fmt_people(r.overlap, lang),
            "share": fmt_pct(r.overlap_share, lang),
        }
        for r in ov.sort_values(["overlap", "facility_a"], ascending=[False, True])
        .head(10)
        .itertuples()
    ]
    pm = result.layers["province_matrix"]
    pm = pm[
        (pm["edition"] == meta.edition)
        & (pm["break_min"] == pm["type"].map(prim))
        & (pm["province_a"] < pm["province_b"])
        & (pm["duplicated"] > 0)
    ]
    pairs = [
        {
            "type": type_label(meta, str(r.type), lang),
            "a": r.name_a,
            "b": r.name_b,
            "dup": fmt_people(r.duplicated, lang),
        }
        for r in pm.sort_values(["duplicated", "province_a"], ascending=[False, True])
        .head(15)
        .itertuples()
    ]
    return top_ov, pairs


def _covering(result: RunResult, lang: str) -> tuple[list[dict[str, Any]], markupsafe.Markup]:
    """The minimal-cover rows and the coverage-versus-count chart."""
    meta = result.meta
    prim = {t: tm["primary_min"] for t, tm in meta.types.items()}
    cov = result.tables.get("covering", pd.DataFrame())
    sent = "vi" if lang == "vi" else "en"
    rows = [
        {
            "type": type_label(meta, r["type"], lang),
            "n": int(r["n_facilities"]),
            "min": int(r["min_cover_size"]),
            # a p not proved smallest is achievable, perhaps by fewer: shown as "≤ p"
            **{
                f"p{s}": (str(r[f"p_{s}"]) if r.get(f"p_{s}_proved", True) else f"≤ {r[f'p_{s}']}")
                for s in (90, 95, 99)
            },
            "sentences": [r[f"cover_sentence_{sent}"], r[f"curve_sentence_{sent}"]],
        }
        for r in cov.to_dict("records")
    ]
    curve = result.tables.get("coverage_curve", pd.DataFrame())
    curves = []
    if len(curve):
        prim_curve = curve[curve["break_min"] == curve["type"].map(prim)]
        curves = [
            (type_label(meta, str(t), lang), g["p"].tolist(), g["share"].tolist())
            for t, g in prim_curve.groupby("type", sort=True)
        ]
    return rows, coverage_curve_svg(curves, lang=lang)


def _regions(result: RunResult, lang: str) -> list[dict[str, Any]]:
    gm = result.tables.get("group_measures", pd.DataFrame())
    if not len(gm):
        return []
    sel = gm[gm["grouping"].isin(["region6", "key_econ_region"])].sort_values(
        ["grouping", "group_code", "type"]
    )
    return [
        {
            "grouping": r["grouping"],
            "group": r["group_name"],
            "type": type_label(result.meta, r["type"], lang),
            "n": int(r["n_operating"]),
            "flagged": int(r["n_flagged"]),
            "people": fmt_people(r["people"], lang),
            "covered": fmt_pct(r["people_covered"] / r["people"], lang) if r["people"] else "",
            "outside": fmt_pct(r["covered_by_outside"] / r["people"], lang) if r["people"] else "",
            "min_cover": int(r["min_cover_own"]) if pd.notna(r["min_cover_own"]) else "",
        }
        for r in sel.to_dict("records")
    ]


def _cell(col: str, value: Any, result: RunResult, lang: str) -> str:
    """One value of a data table as a reader sees it: type labels, yes/no, formatted numbers."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if col == "type":
        return type_label(result.meta, str(value), lang)
    if isinstance(value, bool):
        return ("có" if value else "không") if lang == "vi" else ("yes" if value else "no")
    if isinstance(value, int | float):
        if "share" in col:
            return fmt_pct(value, lang, digits=1)
        return (
            fmt_int(value, lang)
            if float(value).is_integer() or abs(value) >= 100
            else fmt_dec(value, lang)
        )
    return str(value)


def counts_table(result: RunResult, lang: str) -> tuple[list[str], list[list[str]]]:
    """The facility counts: headers from the glossary, values for reading; in Vietnamese the
    official source's Vietnamese form (``official_source_vi`` of the region config)."""
    counts = result.tables.get("facility_counts", pd.DataFrame())
    if not len(counts):
        return [], []
    df = counts.copy()
    if "official_source_vi" in df:
        vi = df.pop("official_source_vi").fillna("").astype(str)
        if lang == "vi":
            df["official_source"] = vi.where(vi != "", df["official_source"])
    cols = [str(c) for c in df.columns]
    head = [pick(FIELD_TEXT[c][:2], lang) if c in FIELD_TEXT else c for c in cols]
    rows = [
        [_cell(c, v, result, lang) for c, v in zip(cols, r, strict=True)]
        for r in df.itertuples(index=False)
    ]
    return head, rows


def repair_rows(repair: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """The road-network repair counts as (label, value), labels from the glossary."""
    out = []
    for k, v in repair.items():
        if isinstance(v, dict | list) or k not in REPAIR_TEXT:
            continue
        if isinstance(v, str):
            text = REPAIR_NOTES_VI.get(k, v) if lang == "vi" else v
        elif "share" in k:
            text = fmt_pct(v, lang, digits=1)
        else:
            text = (
                fmt_int(v, lang)
                if float(v).is_integer() or abs(v) >= 100
                else fmt_dec(v, lang, digits=2)
            )
        out.append((pick(REPAIR_TEXT[k], lang), text))
    return out


def _rejects(rej: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    """The first 300 rejected rows; in Vietnamese the field's alias and the reason translated."""
    rows = [{str(k): v for k, v in r.items()} for r in rej.head(300).to_dict("records")]
    if lang == "vi":
        for r in rows:
            f = str(r.get("field") or "")
            r["field"] = FIELD_TEXT[f][0] if f in FIELD_TEXT else f
            r["reason"] = note_text(r.get("reason"), "vi")
    return rows


def report_context(result: RunResult, *, lang: str) -> dict[str, Any]:
    """Everything the template shows, as plain Python values."""
    li = 0 if lang == "vi" else 1
    meta, fac = result.meta, result.layers["facilities"]
    ed = meta.edition
    hot = fac[fac["verdict"].astype(bool) | fac["overlap_flag"].astype(bool)]
    bars = [
        (f"{r['name']} ({r[f'prov{ed}_name']})", float(r["severity"]), bool(r["verdict"]))
        for _, r in hot.sort_values(["severity", "facility_id"], ascending=[False, True]).iterrows()
    ]
    top_ov, pairs = _pairs(result, lang)
    covering, curve_svg = _covering(result, lang)
    net = meta.network
    rej = result.layers["rejects"]
    return {
        "L": {k: v[li] for k, v in T.items()},
        "lang": lang,
        "meta": meta,
        "date": fmt_date(str(meta.data_date), lang),
        "summary": summary(result, lang),
        "standing": standing(result, lang),
        "validation": meta.validation,
        "capacity_check": capacity_check(result, lang),
        "head": _head(result, lang),
        "findings": findings(result, lang),
        "curve_svg": curve_svg,
        "severity_svg": severity_bars_svg(bars, lang=lang),
        "by_province": province_sections(result, lang),
        "top_ov": top_ov,
        "pairs": pairs,
        # escaped by maps.quality_report
        "quality_html": markupsafe.Markup(run_quality_html(result, lang)),
        "covering": covering,
        "regions": _regions(result, lang),
        "net": net,
        "repair": repair_rows(net.get("repair", {}), lang),
        "counts": counts_table(result, lang),
        "demand_text": demand_source_text(meta, lang),
        "term": lambda key: term(key, lang),
        "rejects": _rejects(rej, lang),
        "n_rejects": len(rej),
        "attribution": meta.attribution,
        "sources": meta.data_sources,
        "demand_total": fmt_people(meta.demand_total, lang),
        "fmt_pct": fmt_pct,
        "fmt_dec": fmt_dec,
        "fmt_int": fmt_int,
    }


def write_report(result: RunResult, path: str | Path, *, lang: str = "vi") -> None:
    """Render report.html atomically, with METHOD.md beside it (the report links to it)."""
    html = _ENV.get_template("report.html.j2").render(**report_context(result, lang=lang))
    write_text_atomic(path, html)
    method = method_md()  # the checkout's METHOD.md, or the wheel's copy in data/
    if method is not None:
        write_text_atomic(Path(path).with_name("METHOD.md"), method.read_text(encoding="utf-8"))
