"""report.html: the numbers, the flags with their evidence, the data behind them, the method.

Rendered with Jinja2 with autoescaping on: every string from data is shown as text.
Self-contained (inline CSS, no script, no external resource).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from analysis.results import RunResult
from analysis.text import fmt_people
from geo.files import write_text_atomic

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

T = {
    "title": ("Báo cáo trùng lặp đầu tư hạ tầng", "Infrastructure overlap report"),
    "headline": ("Kết quả chính", "Headline results"),
    "type": ("Loại", "Type"),
    "loaded": ("Đã nạp", "Loaded"),
    "official": ("Số chính thức", "Official count"),
    "covered": ("Dân số được phục vụ", "People covered"),
    "flagged": ("Bị gắn cờ", "Flagged"),
    "flags": ("Cơ sở có thể trùng lặp", "Facilities flagged as redundant"),
    "evidence": ("Bằng chứng", "Evidence"),
    "overlaps": (
        "10 cặp chồng lấn lớn nhất giữa hai tỉnh",
        "The 10 largest overlaps between provinces",
    ),
    "pairs": (
        "Cặp tỉnh bị trùng lặp nhiều nhất",
        "Province pairs with the most duplicated coverage",
    ),
    "provinces": (
        "Tỉnh: dân số được cơ sở của tỉnh khác phục vụ",
        "Provinces: people covered by other provinces' facilities",
    ),
    "data": ("Dữ liệu", "Data"),
    "network": ("Mạng đường bộ", "Road network"),
    "rejects": ("Dòng bị loại", "Rejected input rows"),
    "method": ("Phương pháp", "Method"),
    "sources": ("Nguồn và ghi công", "Sources and attribution"),
}


def _people(x: Any, lang: str) -> str:
    try:
        return fmt_people(float(x), lang)
    except (TypeError, ValueError):
        return ""


def _pct(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return f"{100 * v:.0f}%" if np.isfinite(v) else ""


def _minutes(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return f"{v:.0f}" if np.isfinite(v) else "–"


def report_context(result: RunResult, *, lang: str) -> dict[str, Any]:
    """Everything the template shows, as plain Python values."""
    li = 0 if lang == "vi" else 1
    L = {k: v[li] for k, v in T.items()}
    fac = result.layers["facilities"]
    meta = result.meta
    counts = result.tables.get("facility_counts", pd.DataFrame())
    head = []
    for t, tm in meta["types"].items():
        f = fac[(fac["type"] == t)]
        op = f[f["status"] == "operating"]
        c = counts[counts["type"] == t] if "type" in counts else pd.DataFrame()
        prov = result.layers["provinces"]
        head.append(
            {
                "label": tm["label_vi"] if lang == "vi" else tm["label_en"],
                "breaks": ", ".join(f"{b:g}" for b in tm["breaks_min"]),
                "primary": f"{tm['primary_min']:g}",
                "loaded": len(f),
                "operating": len(op),
                "planned": int((f["status"] == "planned").sum()),
                "no_road": int((f["road_access"] == "none").sum()),
                "official": ""
                if c.empty or pd.isna(c["official_count"].iloc[0])
                else int(c["official_count"].iloc[0]),
                "official_source": "" if c.empty else str(c["official_source"].iloc[0]),
                "covered": _people(prov[f"coverage_{t}"].sum(), lang)
                if f"coverage_{t}" in prov
                else "",
                "covered_share": _pct(
                    prov[f"coverage_{t}"].sum() / max(prov["population"].sum(), 1)
                )
                if f"coverage_{t}" in prov
                else "",
                "flagged": int(f["flag"].sum()),
                "robust": int((f["flag_robustness"] == "robust").sum()),
            }
        )
    label = {
        t: (tm["label_vi"] if lang == "vi" else tm["label_en"]) for t, tm in meta["types"].items()
    }
    flags = [
        {
            "name": r.name,
            "type": label.get(r.type, r.type),
            "prov": r.prov_name,
            "unique": _pct(r.unique_share),
            "other": _pct(r.other_province_share),
            "penalty": _minutes(r.removal_penalty_min),
            "lost": _people(r.removal_lost, lang),
            "robust": r.flag_robustness,
            "evidence": r.evidence_vi if lang == "vi" else r.evidence_en,
        }
        for r in result.layers["flags"]
        .sort_values(["type", "unique_share", "facility_id"])
        .itertuples()
    ]
    ov = result.layers["overlaps"]
    prim = {t: tm["primary_min"] for t, tm in meta["types"].items()}
    # the question is duplication between provinces: pairs in one province are in tables/overlaps.csv
    ov = ov[
        (ov["break_min"] == ov["type"].map(prim))
        & (ov["prov_a"].astype(str) != ov["prov_b"].astype(str))
    ]
    top_ov = [
        {
            "type": label.get(r.type, r.type),
            "a": r.name_a,
            "b": r.name_b,
            "pa": r.prov_a,
            "pb": r.prov_b,
            "overlap": _people(r.overlap, lang),
            "share": _pct(r.overlap_share),
        }
        for r in ov.sort_values(["overlap", "facility_a"], ascending=[False, True])
        .head(10)
        .itertuples()
    ]
    pm = result.layers["province_matrix"]
    pm = pm[
        (pm["edition"] == meta["edition"])
        & (pm["break_min"] == pm["type"].map(prim))
        & (pm["province_a"] < pm["province_b"])
    ]
    pairs = [
        {
            "type": label.get(r.type, r.type),
            "a": r.name_a,
            "b": r.name_b,
            "dup": _people(r.duplicated, lang),
        }
        for r in pm.sort_values(["duplicated", "province_a"], ascending=[False, True])
        .head(15)
        .itertuples()
        if r.duplicated > 0
    ]
    prov = result.layers["provinces"]
    prov_rows = []
    for r in prov.sort_values("prov_code").itertuples():
        d = r._asdict()  # type: ignore[operator, misc]  # the stubs hide the namedtuple's methods
        prov_rows.append(
            {
                "name": r.prov_name,
                "population": _people(r.population, lang),
                "cells": [_pct(d.get(f"covered_by_others_share_{t}")) for t in meta["types"]],
            }
        )
    cov = result.tables.get("covering", pd.DataFrame())
    sent = "vi" if lang == "vi" else "en"
    covering = [
        {
            "type": label.get(r["type"], r["type"]),
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
    gm = result.tables.get("group_measures", pd.DataFrame())
    regions = []
    if len(gm):
        sel = gm[gm["grouping"].isin(["region6", "key_econ_region"])].sort_values(
            ["grouping", "group_code", "type"]
        )
        regions = [
            {
                "grouping": r["grouping"],
                "group": r["group_name"],
                "type": label.get(r["type"], r["type"]),
                "n": int(r["n_operating"]),
                "flagged": int(r["n_flagged"]),
                "people": _people(r["people"], lang),
                "covered": _pct(r["people_covered"] / r["people"]) if r["people"] else "",
                "outside": _pct(r["covered_by_outside"] / r["people"]) if r["people"] else "",
                "min_cover": int(r["min_cover_own"]) if pd.notna(r["min_cover_own"]) else "",
            }
            for r in sel.to_dict("records")
        ]
    net = meta.get("network", {})
    rej = result.layers["rejects"]
    return {
        "L": L,
        "lang": lang,
        "meta": meta,
        "head": head,
        "flags": flags,
        "top_ov": top_ov,
        "pairs": pairs,
        "prov_rows": prov_rows,
        "type_labels": [
            (tm["label_vi"] if lang == "vi" else tm["label_en"]) for tm in meta["types"].values()
        ],
        "quality_html": markupsafe.Markup(
            meta.get("quality_html", "")
        ),  # escaped by maps.quality_report
        "covering": covering,
        "regions": regions,
        "net": net,
        "repair": net.get("repair", {}),
        "counts": counts.to_dict("records") if len(counts) else [],
        "rejects": rej.head(300).to_dict("records"),
        "n_rejects": len(rej),
        "attribution": meta.get("attribution", []),
        "sources": meta.get("data_sources", []),
        "demand_total": _people(meta.get("demand_total", 0), lang),
    }


def write_report(result: RunResult, path: str | Path, *, lang: str = "vi") -> None:
    """Render report.html atomically."""
    html = _ENV.get_template("report.html.j2").render(**report_context(result, lang=lang))
    write_text_atomic(path, html)
