"""The data-quality section of the report: findings, tables and a small inline-SVG map (offline).

The fragment is plain HTML (no script, no external resource) so it can be pasted into
``report.html`` or written alone. All text from data is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.results import RunResult
from analysis.text import (
    FIELD_TEXT,
    NETWORK_METRICS,
    QUALITY_FIELDS,
    QUALITY_TABLES,
    demand_source_text,
    fmt_dec,
    fmt_int,
    fmt_pct,
    note_text,
    pick,
    province_name,
    road_class_label,
)

# Doubt score -> colour (0 none, 1 one doubt, 2+ several).
DOUBT_COLOURS = ("#2e7d32", "#f9a825", "#c62828")
TABLES = (  # key, columns (headings: analysis.glossary.QUALITY_TABLES)
    (
        "official_coverage",
        ["type", "loaded", "official_count", "share", "missing", "official_source"],
    ),
    ("missing_units", ["type", "name", "province", "reason"]),
    ("coastal_ports", ["prov63_code", "prov63_name", "general_ports", "seaports", "has_port"]),
    ("suspected_duplicates", ["type", "name_a", "name_b", "distance_m", "name_ratio", "reason"]),
    ("road_length", ["road_class", "km", "expected_km", "ratio"]),
    ("road_network", ["metric", "value"]),
    ("population", ["prov63_code", "prov63_name", "source", "census", "ratio"]),
)
MAX_ROWS = 30


def _cell(value: object, lang: str = "en") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        yes, no = ("có", "không") if lang == "vi" else ("yes", "no")
        return yes if value else no
    if isinstance(value, float):
        if lang == "vi" and abs(value) < 10:
            return fmt_dec(value, lang, digits=2)
        if lang == "vi":
            return (
                fmt_dec(value, lang, digits=3).rstrip("0").rstrip(",")
                if abs(value) < 10
                else fmt_int(value, lang)
            )
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int | np.integer) and lang == "vi":
        return fmt_int(value, lang)
    return html.escape(str(value))


def _header(col: str, lang: str) -> str:
    if col in QUALITY_FIELDS:
        return pick(QUALITY_FIELDS[col], lang)
    if col in FIELD_TEXT:
        return pick(FIELD_TEXT[col][:2], lang)
    return col


def table_html(
    frame: pd.DataFrame, columns: Sequence[str], *, max_rows: int = MAX_ROWS, lang: str = "en"
) -> str:
    """An escaped HTML table of ``columns`` (those present), at most ``max_rows`` rows.

    Headers are the glossary's labels in ``lang``; numbers are formatted for ``lang``.
    """
    cols = [c for c in columns if c in frame.columns]
    names = [c for c in cols if re.fullmatch(r"prov\d*_name", c)]
    if names:  # province names as documents write them (TP. Hồ Chí Minh)
        frame = frame.assign(**{c: frame[c].map(lambda v: province_name(v, lang)) for c in names})
    head = "".join(f"<th>{html.escape(_header(c, lang))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, lang)}</td>" for v in row) + "</tr>"
        for row in frame[cols].head(max_rows).itertuples(index=False)
    )
    more_text = (
        f"Còn {len(frame) - max_rows} dòng nữa trong tệp CSV."
        if lang == "vi"
        else f"{len(frame) - max_rows} more rows in the CSV."
    )
    more = f"<p class='dq-more'>{more_text}</p>" if len(frame) > max_rows else ""
    return f"<table class='dq'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _for_reading(
    key: str, frame: pd.DataFrame, lang: str, type_labels: Mapping[str, str]
) -> pd.DataFrame:
    """Coded values of a quality table as words in ``lang`` (types, metrics, road classes)."""
    out = frame.copy()
    if "type" in out and type_labels:
        out["type"] = out["type"].map(lambda t: type_labels.get(str(t), t))
    if lang != "vi":
        return out
    if "official_source_vi" in out:
        vi = out["official_source_vi"].fillna("").astype(str)
        out["official_source"] = vi.where(vi != "", out["official_source"])
    if key == "road_network":
        out["metric"] = out["metric"].map(lambda m: pick(NETWORK_METRICS.get(m, (m, m)), "vi"))
    if key == "road_length":
        out["road_class"] = out["road_class"].map(
            lambda c: "đoạn nối (sửa mạng)" if "connector" in str(c) else road_class_label(str(c))
        )
    if "reason" in out:
        out["reason"] = out["reason"].map(_reason_vi)
    return out


def _reason_vi(reason: object) -> str:
    """Reasons of the quality tables in Vietnamese (unknown ones unchanged)."""
    text = str(reason or "")
    if text.startswith("no mapped site"):
        return "không có điểm (bến cảng) nào của cơ sở này trong dữ liệu"
    m = re.fullmatch(r"within ([\d.]+) m", text)
    if m:
        return f"cách nhau dưới {m.group(1)} m"
    if text == "near and same name":
        return "gần nhau và cùng tên"
    if text == "near-identical names":
        return "tên gần như trùng nhau"
    return note_text(text, "vi")


def svg_map(
    outline: gpd.GeoSeries,
    flags: pd.DataFrame,
    *,
    width_px: int = 360,
    lang: str = "en",
) -> str:
    """Inline SVG: province outlines and facilities coloured by ``doubt_score``.

    ``outline`` is in EPSG:4326; ``flags`` has ``lon``, ``lat``, ``doubt_score``, ``name``,
    ``data_note``. Longitude is scaled by cos(mean latitude) so that shapes are not stretched.
    """
    minx, miny, maxx, maxy = outline.total_bounds
    kx = float(np.cos(np.radians((miny + maxy) / 2)))
    scale = width_px / max((maxx - minx) * kx, 1e-9)
    height = int(np.ceil((maxy - miny) * scale)) + 4

    def xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (lon - minx) * kx * scale + 2, (maxy - lat) * scale + 2

    paths = []
    for geom in outline:
        for poly in getattr(geom, "geoms", [geom]):
            if poly.is_empty:
                continue
            c = shapely.get_coordinates(poly.exterior)
            x, y = xy(c[:, 0], c[:, 1])
            d = "M" + " L".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True)) + "Z"
            paths.append(d)
    shapes = f"<path d='{' '.join(paths)}' fill='#eceff1' stroke='#90a4ae' stroke-width='0.5'/>"
    order = flags.sort_values("doubt_score", kind="stable")
    x, y = xy(order["lon"].to_numpy(float), order["lat"].to_numpy(float))
    dots = []
    notes = (
        order["data_note_vi"] if lang == "vi" and "data_note_vi" in order else order["data_note"]
    )
    for xi, yi, s, name, note in zip(x, y, order["doubt_score"], order["name"], notes, strict=True):
        colour = DOUBT_COLOURS[min(int(s), 2)]
        title = html.escape(f"{name}: {note}" if note else str(name))
        dots.append(
            f"<circle cx='{xi:.1f}' cy='{yi:.1f}' r='{2 + min(int(s), 2)}' fill='{colour}' fill-opacity='0.85'><title>{title}</title></circle>"
        )
    legend = "".join(
        f"<span style='color:{c}'>●</span> {html.escape(t)} "
        for c, t in zip(
            DOUBT_COLOURS,
            ("không có nghi vấn", "một nghi vấn", "hai nghi vấn trở lên")
            if lang == "vi"
            else ("no doubt", "one doubt", "two or more"),
            strict=True,
        )
    )
    label = "cơ sở theo mức nghi vấn dữ liệu" if lang == "vi" else "facilities by data doubt"
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width_px + 4}' height='{height}' "
        f"viewBox='0 0 {width_px + 4} {height}' role='img' aria-label='{label}'>"
        f"{shapes}{''.join(dots)}</svg><p class='dq-legend'>{legend}</p>"
    )


def quality_section_html(
    tables: dict[str, pd.DataFrame],
    findings: Sequence[str],
    *,
    outline: gpd.GeoSeries | None = None,
    flags: pd.DataFrame | None = None,
    title: str | None = None,
    lang: str = "en",
    findings_vi: Sequence[str] | None = None,
    type_labels: Mapping[str, str] | None = None,
) -> str:
    """The report section: findings as a list, the main tables and (if given) the SVG map.

    Parameters
    ----------
    tables, findings, outline, flags
        The fields of :class:`geo.quality.QualityReport` (passed separately so that ``maps``
        needs no import of ``geo``).
    title
        Section heading (default: "Chất lượng dữ liệu" / "Data quality").
    lang
        ``"vi"`` or ``"en"``: headings, column labels and number format.
    findings_vi
        The findings in Vietnamese (:func:`findings_vi`), shown instead of ``findings`` when
        ``lang`` is ``"vi"``.
    type_labels
        Facility type code -> label in ``lang``, for the ``type`` columns.

    Returns
    -------
    str
        An HTML fragment (``<section class='data-quality'>``), self-contained.
    """
    vi = lang == "vi"
    heading = title or ("Chất lượng dữ liệu" if vi else "Data quality")
    lines = findings_vi if vi and findings_vi is not None else findings
    parts = [f"<section class='data-quality'><h2>{html.escape(heading)}</h2>"]
    parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in lines) + "</ul>")
    if outline is not None and flags is not None and len(outline):
        n = int(flags["doubtful"].sum()) if "doubtful" in flags else 0
        h3 = (
            f"Cơ sở theo mức nghi vấn dữ liệu ({fmt_int(n, lang)} trong {fmt_int(len(flags), lang)} cần kiểm tra)"
            if vi
            else f"Facilities by data doubt ({n} of {len(flags)} doubtful)"
        )
        parts.append(f"<h3>{h3}</h3>")
        parts.append(svg_map(outline, flags, lang=lang))
    for key, cols in TABLES:
        frame = tables.get(key)
        if frame is None or frame.empty:
            continue
        if key == "population":
            frame = frame.assign(_d=(frame["ratio"] - 1).abs()).sort_values("_d", ascending=False)
        frame = _for_reading(key, frame, lang, type_labels or {})
        heading = pick(QUALITY_TABLES[key], lang)
        parts.append(f"<h3>{html.escape(heading)}</h3>{table_html(frame, cols, lang=lang)}")
    parts.append("</section>")
    return "\n".join(parts)


def findings_vi(
    tables: dict[str, pd.DataFrame], *, type_labels: Mapping[str, str], population_text: str
) -> list[str]:
    """The data-quality findings of :func:`geo.quality.region_quality` in Vietnamese.

    Built from the same tables as the English findings (``geo.quality._findings``), with the
    numbers in Vietnamese format; ``type_labels`` maps type codes to their Vietnamese labels
    (plural use), ``population_text`` names the population source.
    """
    lang = "vi"
    out = []
    oc = tables.get("official_coverage", pd.DataFrame())
    for r in oc.to_dict("records"):
        if pd.isna(r.get("loaded")):  # the users' rejected rows, not a type
            continue
        label = str(type_labels.get(r["type"], r["type"])).lower()
        src = str(r.get("official_source_vi") or r.get("official_source") or "")
        n, o = int(r["loaded"]), r.get("official_count")
        if o is None or pd.isna(o):
            out.append(
                f"Lần chạy này có {fmt_int(n, lang)} {label} (cấu hình không có số chính thức)."
            )
        elif n <= o:
            out.append(
                f"Lần chạy này có {fmt_int(n, lang)} trong {fmt_int(o, lang)} {label} ({src})."
            )
        else:
            out.append(
                f"Lần chạy này có {fmt_int(n, lang)} {label}, so với {fmt_int(o, lang)} theo số chính "
                f"thức ({src}): nguồn đếm theo đơn vị khác (nhà ga, sân bay đang xây), nên số chính "
                "thức không phải giới hạn trên."
            )
        if not pd.isna(r.get("missing")) and int(r.get("missing") or 0):
            out[-1] = (
                out[-1][:-1]
                + f"; {fmt_int(r['missing'], lang)} {label} chính thức chưa có điểm trên bản đồ."
            )
    c = tables.get("coastal_ports", pd.DataFrame())
    if len(c):
        missing = [
            province_name(n, lang) for n in c.loc[~c["has_port"].astype(bool), "prov63_name"]
        ]
        what = "cảng tổng hợp" if "general_ports" in c else "cảng biển có bến cảng trên bản đồ"
        out.append(
            f"{fmt_int(len(missing), lang)} trong {fmt_int(len(c), lang)} tỉnh ven biển không có {what}"
            + (f": {', '.join(map(str, missing))}." if missing else ".")
        )
    d = tables.get("suspected_duplicates", pd.DataFrame())
    m = tables.get("merged_duplicates", pd.DataFrame())
    out.append(
        f"{fmt_int(len(m), lang)} bản trùng đã được gộp khi nạp; còn {fmt_int(len(d), lang)} cặp nghi trùng lặp."
    )
    far = tables.get("road_distance", pd.DataFrame())
    if len(far):
        off = int((far["nearest_component"].fillna(0) > 0).sum())
        out.append(
            f"{fmt_int(int(far['far'].sum()), lang)} cơ sở ở xa mọi con đường hơn khoảng cách tiếp "
            f"cận; {fmt_int(off, lang)} cơ sở có đường gần nhất không thuộc mạng chính."
        )
    s = tables.get("status", pd.DataFrame())
    if len(s):
        assumed = int(s.loc[s["status_source"] == "assumed", "count"].sum())
        planned = int(s.loc[s["status"] == "planned", "count"].sum())
        out.append(
            f"Tình trạng: {fmt_int(planned, lang)} quy hoạch, "
            f"{fmt_int(int(s['count'].sum()) - planned, lang)} đang hoạt động, trong đó "
            f"{fmt_int(assumed, lang)} là giả định (nguồn không ghi tình trạng)."
        )
    rl = tables.get("road_length", pd.DataFrame())
    for row in rl.dropna(subset=["expected_km"]).itertuples() if len(rl) else []:
        name = road_class_label(str(row.road_class))
        out.append(
            f"{name[:1].upper() + name[1:]}: {fmt_int(row.km, lang)} km trong mạng đường, so với "
            f"{fmt_int(row.expected_km, lang)} km kỳ vọng ({fmt_pct(row.ratio, lang, digits=0)})."
        )
    p = tables.get("population", pd.DataFrame())
    if len(p):
        worst = p.assign(dev=(p["ratio"] - 1).abs()).sort_values("dev", ascending=False).iloc[0]
        out.append(
            f"Dân số ({population_text}): {fmt_int(p['source'].sum(), lang)} người, so với "
            f"{fmt_int(p['census'].sum(), lang)} theo số liệu chính thức; chênh lệch lớn nhất "
            f"ở {province_name(worst['prov63_name'], lang)} ({fmt_pct(worst['ratio'], lang, digits=1)} số liệu chính thức)."
        )
    return out


def run_quality_html(result: RunResult, lang: str) -> str:
    """The data-quality section of a run's report (``result.quality``; empty when absent)."""
    q = result.quality
    if q is None:
        return ""
    types = result.meta.types
    labels = {t: str(m.get(f"label_{lang}", t)) for t, m in types.items()}
    labels_vi = {t: str(m.get("label_vi", t)) for t, m in types.items()}
    return quality_section_html(
        q.tables,
        q.findings,
        outline=q.outline,
        flags=q.flags,
        lang=lang,
        findings_vi=findings_vi(
            q.tables,
            type_labels=labels_vi,
            population_text=demand_source_text(result.meta, "vi"),
        ),
        type_labels=labels,
    )
