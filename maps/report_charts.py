"""Charts of the report as inline SVG: titled, with axes, ticks and units, printable, no script.

Every text from data goes through ``markupsafe.escape``; the SVG is returned as ``Markup``.
"""

from __future__ import annotations

from collections.abc import Sequence

import markupsafe
import numpy as np

from analysis.text import fmt_dec, fmt_pct

_W, _H = 640, 300
_L, _R, _T, _B = 60, 20, 34, 46  # margins: left, right, top, bottom
_COLOURS = ("#1f77b4", "#9467bd", "#8c564b", "#2ca02c", "#d62728")


def _e(text: object) -> str:
    return str(markupsafe.escape(str(text)))


def _ticks(vmax: float, n: int = 5) -> list[float]:
    """About ``n`` round ticks from 0 to at least ``vmax``."""
    if vmax <= 0:
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [float(x) for x in np.arange(0, vmax + step * 0.999, step)]


def _frame(title: str, xlabel: str, ylabel: str, xt: list[str], yt: list[str]) -> list[str]:
    pw, ph = _W - _L - _R, _H - _T - _B
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'class="chart" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        f'<text x="{_W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{_e(title)}</text>',
        f'<line x1="{_L}" y1="{_T + ph}" x2="{_L + pw}" y2="{_T + ph}" stroke="#333"/>',
        f'<line x1="{_L}" y1="{_T}" x2="{_L}" y2="{_T + ph}" stroke="#333"/>',
        f'<text x="{_L + pw / 2}" y="{_H - 8}" text-anchor="middle" font-size="12">{_e(xlabel)}</text>',
        f'<text transform="translate(14,{_T + ph / 2}) rotate(-90)" text-anchor="middle" '
        f'font-size="12">{_e(ylabel)}</text>',
    ]
    for i, lab in enumerate(yt):
        y = _T + ph - ph * i / max(len(yt) - 1, 1)
        out.append(f'<line x1="{_L - 4}" y1="{y:.1f}" x2="{_L + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_e(lab)}</text>'
        )
    for i, lab in enumerate(xt):
        x = _L + pw * i / max(len(xt) - 1, 1)
        out.append(
            f'<line x1="{x:.1f}" y1="{_T + ph}" x2="{x:.1f}" y2="{_T + ph + 4}" stroke="#333"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{_T + ph + 17}" text-anchor="middle" font-size="11">{_e(lab)}</text>'
        )
    return out


def coverage_curve_svg(
    curves: Sequence[tuple[str, Sequence[int], Sequence[float]]], *, lang: str
) -> markupsafe.Markup:
    """Share of the people covered by all facilities reached with the best p facilities.

    ``curves``: (type label, p values, shares in [0, 1]) per type; p on the x axis as a share of
    the type's count, so that types of different sizes share one chart.
    """
    vi = lang == "vi"
    title = (
        "Tỷ lệ dân số được phục vụ theo số cơ sở giữ lại (tốt nhất)"
        if vi
        else "People still served with the best p facilities kept"
    )
    xt = [fmt_pct(x, lang) for x in (0, 0.25, 0.5, 0.75, 1.0)]
    yt = [fmt_pct(y, lang) for y in (0, 0.25, 0.5, 0.75, 1.0)]
    out = _frame(
        title,
        "Số cơ sở giữ lại (% tổng số của loại)"
        if vi
        else "Facilities kept (% of the type's count)",
        "% dân số đang được phục vụ" if vi else "% of the people served today",
        xt,
        yt,
    )
    pw, ph = _W - _L - _R, _H - _T - _B
    for k, (label, p, share) in enumerate(curves):
        p_arr, s_arr = np.asarray(p, float), np.asarray(share, float)
        if p_arr.size == 0:
            continue
        n = max(float(p_arr.max()), 1.0)
        xs = np.concatenate([[0.0], p_arr / n])
        ys = np.concatenate([[0.0], s_arr / max(float(s_arr.max()), 1e-12)])
        pts = " ".join(
            f"{_L + pw * x:.1f},{_T + ph - ph * y:.1f}" for x, y in zip(xs, ys, strict=True)
        )
        c = _COLOURS[k % len(_COLOURS)]
        count = f"{int(n)} cơ sở" if vi else f"n = {int(n)}"
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{pts}"/>')
        out.append(
            f'<text x="{_L + pw - 4}" y="{_T + ph - 10 - 16 * k}" text-anchor="end" '
            f'font-size="12" fill="{c}">{_e(label)} ({count})</text>'
        )
    out.append("</svg>")
    return markupsafe.Markup("".join(out))


def short_label(name: str, limit: int = 44) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis; a trailing ``(province)`` is kept
    whole and the facility's name before it is cut instead (never "TP. Hồ Chí Min…")."""
    if len(name) <= limit:
        return name
    head, sep, tail = name.rpartition(" (")
    if sep and tail.endswith(")") and len(tail) + 2 < limit - 8:
        return head[: limit - len(tail) - 3].rstrip() + "…" + sep + tail
    return name[: limit - 1] + "…"


def severity_bars_svg(
    rows: Sequence[tuple[str, float, bool]], *, lang: str, top: int = 20
) -> markupsafe.Markup:
    """The ``top`` facilities by severity as horizontal bars; filled = judged redundant."""
    vi = lang == "vi"
    rows = list(rows)[:top]
    h = _T + 18 * max(len(rows), 1) + _B
    title = (
        f"{len(rows)} cơ sở có mức độ trùng lặp cao nhất"
        if vi
        else f"The {len(rows)} facilities with the highest severity"
    )
    left, pw = 300, _W - 300 - _R
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {h}" role="img" '
        f'class="chart" aria-label="{_e(title)}"><title>{_e(title)}</title>',
        f'<text x="{_W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{_e(title)}</text>',
    ]
    ticks = (-1.0, -0.5, 0.0, 0.5, 1.0)
    y0, y1 = _T, _T + 18 * max(len(rows), 1)
    for t in ticks:
        x = left + pw * (t + 1) / 2
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y1}" stroke="#ddd"/>')
        out.append(
            f'<text x="{x:.1f}" y="{y1 + 14}" text-anchor="middle" font-size="11">{_e(fmt_dec(t, lang))}</text>'
        )
    out.append(
        f'<text x="{left + pw / 2}" y="{h - 8}" text-anchor="middle" font-size="12">'
        + _e(
            "Mức độ trùng lặp (tỷ lệ do tỉnh khác phục vụ − tỷ lệ chỉ riêng cơ sở phục vụ)"
            if vi
            else "Severity (share served from another province − share served by it alone)"
        )
        + "</text>"
    )
    zero = left + pw / 2
    for k, (name, sev, verdict) in enumerate(rows):
        y = _T + 18 * k
        x = left + pw * (max(min(sev, 1.0), -1.0) + 1) / 2
        fill = "#c53030" if verdict else "#fff"
        out.append(
            f'<rect x="{min(zero, x):.1f}" y="{y + 3}" width="{abs(x - zero):.1f}" height="12" '
            f'fill="{fill}" stroke="#c53030"/>'
        )
        label = short_label(name)
        out.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="11">{_e(label)}</text>'
        )
    out.append("</svg>")
    return markupsafe.Markup("".join(out))
