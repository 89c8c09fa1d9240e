"""The batch report's charts as inline SVG: bars per scenario and the province × province
difference, titled and labelled in the report's language (numbers by :mod:`analysis.text`)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import pandas as pd

from analysis.text import fmt_dec, fmt_int, pick
from analysis.text.batch import BATCH_TEXT


def bars_svg(
    labels: list[str],
    values: list[float],
    *,
    fmt: Callable[[float], str],
    title: str,
    vmax: float | None = None,
    na: str = "n/a",
) -> str:
    """A horizontal bar chart as an inline SVG string (labels escaped; NaN drawn as ``na``)."""
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
            out.append(f'<text x="{lw + bw + 4:.1f}" y="{y + 14}">{escape(fmt(v))}</text>')
        else:
            out.append(f'<text x="{lw + 4}" y="{y + 14}" fill="#888">{escape(na)}</text>')
    return "".join([*out, "</svg>"])


def heatmap_svg(diff: pd.DataFrame, *, title: str, lang: str = "en") -> str:
    """The province x province difference (symmetric) as an SVG grid: red more, blue less."""
    codes = sorted(set(diff["province_a"]) | set(diff["province_b"]))
    names = dict(zip(diff["province_a"], diff["name_a"], strict=False)) | dict(
        zip(diff["province_b"], diff["name_b"], strict=False)
    )
    n, c, lab = len(codes), 14, 34
    vmax = float(diff["difference_people"].abs().max()) or 1.0
    pos = {k: i for i, k in enumerate(codes)}
    people = pick(BATCH_TEXT["people"], lang)
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
        signed = ("+" if v > 0 else "") + fmt_int(v, lang)
        tip = escape(
            f"{names.get(r.province_a, '')} × {names.get(r.province_b, '')}: {signed} {people}"
        )
        for x, y in (
            (pos[r.province_a], pos[r.province_b]),
            (pos[r.province_b], pos[r.province_a]),
        ):
            out.append(
                f'<rect x="{lab + x * c}" y="{lab + y * c}" width="{c - 1}" height="{c - 1}" fill="{fill}"><title>{tip}</title></rect>'
            )
    return "".join([*out, "</svg>"])


def summary_charts(
    summary: pd.DataFrame, *, lang: str, type_labels: dict[str, str]
) -> list[dict[str, Any]]:
    """Per type: covered share, unique share and redundant count per scenario (bar charts)."""

    def tr(key: str, t: str) -> str:
        return pick(BATCH_TEXT[key], lang).format(t=t)

    def pct(v: float) -> str:
        return f"{fmt_dec(v, lang)} %"

    minutes, na = pick(BATCH_TEXT["minutes"], lang), pick(BATCH_TEXT["not_available"], lang)
    charts = []
    for t, g in summary.groupby("type", sort=True):
        lab = type_labels.get(str(t), str(t))
        labels = [
            f"{s} ({fmt_int(p, lang)} {minutes})"
            for s, p in zip(g["scenario"], g["primary_min"], strict=True)
        ]
        charts.append({"type": lab, "svgs": [
            bars_svg(labels, list(g["covered_share"] * 100), fmt=pct, title=tr("chart_covered", lab), vmax=100.0, na=na),
            bars_svg(labels, list(g["unique_share"] * 100), fmt=pct, title=tr("chart_unique", lab), vmax=100.0, na=na),
            bars_svg(labels, list(g["flags_count"].astype(float)), fmt=lambda v: fmt_int(v, lang), title=tr("chart_flags", lab), na=na),
        ]})  # fmt: skip
    return charts
