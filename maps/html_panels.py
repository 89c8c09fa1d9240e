"""Text and HTML fragments of the planner's map: popups, tooltips, title, legend, province pairs.

Every fragment is bilingual: the Vietnamese and the English text are both rendered, in
``<l-vi>`` and ``<l-en>`` (inline custom elements: a third of the bytes of
``<span class="lang-vi">``, which the national page repeated 40,000 times); a CSS rule keyed on
the page's ``data-lang`` attribute shows one of them (see ``PAGE_CSS``). Every string that comes from data
(names, provinces, evidence, sources) goes through :func:`esc` before it enters a fragment, so a
facility called ``<img src=x onerror=alert(1)>`` is shown as text, never run as HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis.results import RunMeta
from analysis.text import (
    class_label,
    demand_source_text,
    fmt_date,
    fmt_dec,
    fmt_pct,
    fmt_people,
    note_text,
    term,
)

TYPE_COLOURS = {"seaport": "#1f5fbf", "airport": "#7b3fa0", "industrial_park": "#e07b00"}
EXTRA_COLOURS = ("#138d75", "#8c564b", "#c2185b", "#556b2f")
FLAG_COLOUR = "#d7191c"
OVERLAP_COLOUR = "#6b6b6b"
# "served by 2, 3, 4+": one neutral hue (no type's colour), darker for more facilities
SEVERAL_COLOUR = "#00695c"
SEVERAL_SHADES = {2: 0.25, 3: 0.42, 4: 0.6}
# covered_by_others_share classes (upper bounds, inclusive) and a YlOrRd-5 ramp
CHORO_BOUNDS = (0.1, 0.25, 0.5, 0.75, 1.0)
CHORO_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA_COLOUR = "#dddddd"


def esc(value: Any) -> str:
    """HTML-escape a value from data (quotes included); ``None``/NaN become an empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def bi(vi: str, en: str) -> str:
    """Both languages of an already HTML-safe text, one shown at a time by the page's CSS."""
    if vi == en:
        return vi
    return f"<l-vi>{vi}</l-vi><l-en>{en}</l-en>"


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def people(x: Any) -> str:
    """People, rounded for reading: 1,2 triệu / 1.2 million, 350.000 / 350,000."""
    v = _num(x)
    return bi(esc(fmt_people(v, "vi")), esc(fmt_people(v, "en")))


def pct(x: Any) -> str:
    """A share (0..1) as a whole percentage (vi: 98 %; en: 98%); missing values as a dash."""
    return bi(fmt_pct(x, "vi", digits=0), fmt_pct(x, "en", digits=0))


def minutes(x: Any) -> str:
    """Minutes with one decimal below 10 (decimal comma in Vietnamese)."""
    v = _num(x)
    if not math.isfinite(v):
        return "–"
    s = f"{v:.1f}" if abs(v) < 10 else f"{v:.0f}"
    return bi(f"{s.replace('.', ',')} phút", f"{s} min")


def type_colour(t: str, order: Sequence[str]) -> str:
    """The symbol colour of a facility type (a fixed palette for unknown types)."""
    if t in TYPE_COLOURS:
        return TYPE_COLOURS[t]
    extra = [x for x in order if x not in TYPE_COLOURS]
    return EXTRA_COLOURS[extra.index(t) % len(EXTRA_COLOURS)] if t in extra else "#555555"


def type_label(types: Mapping[str, Any], t: str, *, plural: bool = False) -> str:
    """The bilingual label of a type from ``meta.types`` (escaped)."""
    spec = types.get(t, {}) or {}
    fallback = t.replace("_", " ")
    en = str(spec.get("label_en", fallback.capitalize()))
    if plural and not en.endswith("s"):
        en += "s"
    return bi(esc(spec.get("label_vi", fallback)), esc(en))


def choro_colour(share: Any) -> str:
    """The fill of a covered_by_others_share value."""
    v = _num(share)
    if not math.isfinite(v):
        return NO_DATA_COLOUR
    for bound, colour in zip(CHORO_BOUNDS, CHORO_COLOURS, strict=True):
        if v <= bound:
            return colour
    return CHORO_COLOURS[-1]


def _term(key: Any, *, capital: bool = False) -> str:
    """A coded value (status, road access, robustness) in both languages, from the glossary."""
    vi, en = term(key, "vi"), term(key, "en")
    if capital:
        vi, en = vi[:1].upper() + vi[1:], en[:1].upper() + en[1:]
    return bi(esc(vi), esc(en))


def _row(key_vi: str, key_en: str, value: str) -> str:
    return f'<tr><td class="k">{bi(key_vi, key_en)}</td><td>{value}</td></tr>'


def facility_tooltip(row: Mapping[str, Any], types: Mapping[str, Any]) -> str:
    """One line: name, type and people covered at the primary break."""
    flag = ' <b class="io-flag">⚑</b>' if bool(row.get("flag")) else ""
    return (
        f"<b>{esc(row.get('name'))}</b>{flag}<br>{type_label(types, str(row.get('type')))}"
        f" · {people(row.get('coverage'))}"
    )


def facility_popup(row: Mapping[str, Any], types: Mapping[str, Any], *, edition: Any) -> str:
    """The numbers of one facility at its type's primary break, and the flag's evidence."""
    t = str(row.get("type"))
    prov = row.get(f"prov{edition}_name", row.get("prov34_name", row.get("prov_name")))
    status = _term(row.get("status"), capital=True)
    if row.get("status_source") == "assumed":
        status += f" ({_term('assumed')})"
    brk = row.get("primary_break_min", (types.get(t) or {}).get("primary_min"))
    rows = [
        _row("Loại", "Type", f"{type_label(types, t)} {_class(row.get('class'))}".strip()),
        _row("Trạng thái", "Status", status),
        _row("Tỉnh", "Province", esc(prov)),
        _row("Ngưỡng", "Threshold", minutes(brk)),
        _row("Dân số phục vụ", "People served", people(row.get("coverage"))),
        _row(
            "Chỉ cơ sở này phục vụ",
            "Served by no other",
            f"{people(row.get('unique_coverage'))} ({pct(row.get('unique_share'))})",
        ),
        _row(
            "Cũng do tỉnh khác phục vụ",
            "Also served from other provinces",
            pct(row.get("other_province_share")),
        ),
        _row(
            "Nếu bỏ cơ sở này",
            "If this facility were absent",
            bi("thời gian tăng ", "travel time +")
            + minutes(row.get("removal_penalty_min"))
            + bi("; mất tiếp cận: ", "; lose access: ")
            + people(row.get("removal_lost")),
        ),
    ]
    alt = esc(row.get("best_alternative_name"))
    if alt:
        alt_prov = esc(row.get("best_alternative_province"))
        extra = minutes(row.get("best_alternative_extra_min"))
        rows.append(_row("Phương án thay thế", "Best alternative", f"{alt} ({alt_prov}), +{extra}"))
    if esc(row.get("sharing_key")):
        rows.append(
            _row("Tỷ lệ chia sẻ theo tỉnh", "Sharing key by province", esc(row.get("sharing_key")))
        )
    access = _term(row.get("road_access"), capital=True)
    dist = _num(row.get("access_dist_m"))
    if math.isfinite(dist) and dist >= 1000:
        access += f" ({bi(fmt_dec(dist / 1000, 'vi'), fmt_dec(dist / 1000, 'en'))} km)"
    rows.append(_row("Tiếp cận đường bộ", "Road access", access))
    if esc(row.get("members")):
        # the unit's member sites (terminals), names from data: escaped one by one
        items = "".join(f"<li>{esc(m)}</li>" for m in str(row.get("members")).split("; ") if m)
        rows.append(_row("Bến thành viên", "Member sites", f'<ul class="io-members">{items}</ul>'))
    if esc(row.get("data_note")):
        note_vi = row.get("data_note_vi") or note_text(row.get("data_note"), "vi")
        rows.append(
            _row("Ghi chú dữ liệu", "Data note", bi(esc(note_vi), esc(row.get("data_note"))))
        )
    head = f"<b>{esc(row.get('name'))}</b>"
    flag = ""
    if bool(row.get("flag")):
        r = row.get("flag_robustness")
        rob = _term(f"{r}_long") if r in ("robust", "fragile") else ""
        flag = (
            f'<p class="io-flag">⚑ {bi("Có thể trùng lặp", "Flagged as redundant")}'
            f"{' (' + rob + ')' if rob else ''}</p>"
        )
    evidence = bi(esc(row.get("evidence_vi")), esc(row.get("evidence_en")))
    evidence = f'<p class="io-ev">{evidence}</p>' if evidence else ""
    return f'<div class="io-pop">{head}{flag}<table>{"".join(rows)}</table>{evidence}</div>'


def _class(value: Any) -> str:
    """A facility class in both languages (``international`` → quốc tế / international)."""
    vi, en = class_label(value, "vi"), class_label(value, "en")
    return bi(esc(vi), esc(en))


def catchment_tooltip(row: Mapping[str, Any], types: Mapping[str, Any]) -> str:
    """Name, break and people of one catchment polygon."""
    return (
        f"<b>{esc(row.get('name'))}</b><br>{type_label(types, str(row.get('type')))} ≤ "
        f"{minutes(row.get('break_min'))}: {people(row.get('coverage'))}"
        f"<br>{bi('chỉ nơi này', 'only here')}: {people(row.get('unique_coverage'))}"
    )


def overlap_tooltip(row: Mapping[str, Any], types: Mapping[str, Any]) -> str:
    """The two facilities of an overlap and the people both serve."""
    return (
        f"<b>{esc(row.get('name_a'))}</b> ↔ <b>{esc(row.get('name_b'))}</b><br>"
        f"{type_label(types, str(row.get('type')))} ≤ {minutes(row.get('break_min'))}: "
        f"{people(row.get('overlap'))} {bi('cùng được phục vụ', 'served by both')} "
        f"({pct(row.get('overlap_share'))})"
    )


def province_tooltip(row: Mapping[str, Any], t: str, types: Mapping[str, Any]) -> str:
    """A province's share of people within reach of another province's facility of type ``t``."""
    return (
        f"<b>{esc(row.get('prov_name'))}</b><br>{type_label(types, t)}: "
        f"{pct(row.get(f'covered_by_others_share_{t}'))} "
        f"{bi('dân số được tỉnh khác phục vụ', 'of the people served from other provinces')}"
        f" ({people(row.get(f'covered_by_others_{t}'))})"
    )


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def attribution_html(meta: RunMeta) -> str:
    """The attribution line for Leaflet's control (escaped; Leaflet inserts it as HTML)."""
    parts = _texts(meta.attribution)
    for src in meta.data_sources or []:
        a = str(src.get("attribution", "")) if isinstance(src, Mapping) else ""
        if a and not any(a in p for p in parts):
            parts.append(a)
    return " | ".join(esc(p) for p in parts)


def _edition_text(edition: Any) -> str:
    if str(edition) == "63":
        return bi("63 tỉnh, thành (trước 7/2025)", "63 provinces (before July 2025)")
    if str(edition) == "34":
        return bi("34 tỉnh, thành (từ 7/2025)", "34 provinces (since July 2025)")
    return bi(f"Phiên bản ranh giới {esc(edition)}", f"Boundary edition {esc(edition)}")


def title_html(
    meta: RunMeta, types_present: Sequence[str], *, n_flags: int, n_overlap: int = 0
) -> str:
    """The title box: region, edition, types and thresholds, data date and demand source."""
    region = meta.region or {}
    if isinstance(region, Mapping):
        name = str(region.get("name", ""))
        reg = bi(esc(region.get("label_vi", name)), esc(region.get("label_en", name)))
    else:
        reg = esc(region)
    types = meta.types or {}
    lines = []
    for t in types_present:
        spec = types.get(t) or {}
        brks = "/".join(f"{_num(b):g}" for b in spec.get("breaks_min", []))
        lines.append(
            f"<li>{type_label(types, t)}: {bi('ngưỡng chính', 'primary')} "
            f"{minutes(spec.get('primary_min'))}{f' ({brks})' if brks else ''}</li>"
        )
    info = [
        f"<b>{bi('Ngày dữ liệu', 'Data date')}:</b> {bi(esc(fmt_date(meta.data_date, 'vi')), esc(meta.data_date))}",
        f"<b>{bi('Nhu cầu (dân số)', 'Demand (people)')}:</b> "
        f"{bi(esc(demand_source_text(meta, 'vi')), esc(demand_source_text(meta, 'en')))}",
        f"<b>{bi('Dư thừa (kết luận chung)', 'Redundant (joint verdict)')}:</b> {n_flags}; "
        f"{bi('chỉ trùng lặp', 'overlap only')}: {n_overlap}",
    ]
    return (
        f"<h1>{bi('Trùng lặp đầu tư hạ tầng', 'Infrastructure overlap')} – {reg}</h1>"
        f"<details><summary>{_edition_text(meta.edition)}</summary>"
        f"<ul>{''.join(lines)}</ul>"
        f'<div class="io-small">{"<br>".join(info)}</div></details>'
    )


def _swatch(style: str) -> str:
    return f'<span class="sw" style="{style}"></span>'


def _section(key: str, body: str) -> str:
    """A legend section shown only while a layer with legend key ``key`` is on (``maps.html_ui``)."""
    return f'<div class="io-lgsec" data-lg="{esc(key)}" hidden>{body}</div>'


def legend_html(types_present: Sequence[str], types: Mapping[str, Any]) -> str:
    """Symbols of types, statuses and rings; catchments, overlaps, "served by 2, 3, 4+" and the
    choropleth classes each in a section shown only while its layer is (``data-lg``)."""
    rows = []
    for t in types_present:
        c = type_colour(t, types_present)
        rows.append(
            f"<div>{_swatch(f'background:{c};border-color:#fff')}{type_label(types, t, plural=True)}</div>"
        )
    rows.append(
        f"<div>{_swatch('background:#777;border-color:#fff')}{bi('đang hoạt động', 'operating')}"
        f" {_swatch('background:transparent;border:2px dashed #555')}{bi('quy hoạch', 'planned')}</div>"
    )
    rows.append(
        f"<div>{_swatch('background:#777;border:2px solid #222')}{bi('dữ liệu cần kiểm tra', 'doubtful data')}</div>"
    )
    rows.append(
        f"<div>{_swatch(f'width:14px;height:14px;background:transparent;border:3px solid {FLAG_COLOUR}')}"
        f"{bi('dư thừa, ' + term('robust', 'vi'), 'redundant, robust')} "
        f"{_swatch(f'width:14px;height:14px;background:transparent;border:2px dashed {FLAG_COLOUR}')}"
        f"{bi('dư thừa, ' + term('fragile', 'vi'), 'redundant, ' + term('fragile', 'en'))}</div>"
    )
    rows.append(
        _section(
            "ovl",
            f"<div>{_swatch(f'width:14px;height:14px;background:transparent;border:1.5px solid {OVERLAP_COLOUR}')}"
            f"{bi('chỉ trùng lặp', 'overlap only')}</div>"
            f"<div>{_swatch('border-radius:0;height:3px;background:#444')}"
            f"{bi('chồng lấn (dày = tỷ lệ cao)', 'overlap (thicker = larger share)')}</div>",
        )
    )
    for t in types_present:
        c = type_colour(t, types_present)
        brks = [_num(b) for b in (types.get(t) or {}).get("breaks_min", [])]
        cells = " ".join(
            f"{_swatch(f'border-radius:2px;background:{c};opacity:{min(1.0, catchment_opacity(i, len(brks)) * 4):.2f}')}{b:g}"
            for i, b in enumerate(brks)
        )
        rows.append(
            _section(
                f"catch-{t}",
                f"<h2>{bi('Vùng phục vụ theo thời gian', 'Catchments by drive time')}</h2>"
                f"<div>{type_label(types, t)}: {cells} {bi('phút', 'min')}</div>",
            )
        )
    several = " ".join(
        f"{_swatch(f'border-radius:2px;background:{SEVERAL_COLOUR};opacity:{a:.2f}')}{n}{'+' if n == 4 else ''}"
        for n, a in SEVERAL_SHADES.items()
    )
    rows.append(
        _section(
            "several",
            f"<h2>{bi('Số cơ sở cùng phục vụ (ngưỡng chính)', 'Facilities serving a place (primary break)')}</h2>"
            f"<div>{several}</div>",
        )
    )
    lo = 0.0
    cls = []
    for bound, colour in zip(CHORO_BOUNDS, CHORO_COLOURS, strict=True):
        cls.append(
            f"<div>{_swatch(f'border-radius:2px;background:{colour}')}{bi(f'{lo * 100:.0f}–{bound * 100:.0f} %', f'{lo * 100:.0f}–{bound * 100:.0f}%')}</div>"
        )
        lo = bound
    rows.append(
        _section(
            "choro",
            f"<h2>{bi('Tỷ lệ dân số tỉnh được cơ sở tỉnh khác phục vụ', 'Share of a province’s people served from other provinces')}</h2>"
            f'<div class="io-cols">{"".join(cls)}</div>',
        )
    )
    return f"<details open><summary>{bi('Chú giải', 'Legend')}</summary>{''.join(rows)}</details>"


def catchment_opacity(rank: int, n: int) -> float:
    """Fill opacity of a catchment: the shortest break darkest, longer ones lighter."""
    return max(0.04, 0.16 - 0.09 * rank / max(n - 1, 1))
