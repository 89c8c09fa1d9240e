"""The data-quality section of the report: findings, tables and a small inline-SVG map (offline).

The fragment is plain HTML (no script, no external resource) so it can be pasted into
``report.html`` or written alone. All text from data is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# Doubt score -> colour (0 none, 1 one doubt, 2+ several).
DOUBT_COLOURS = ("#2e7d32", "#f9a825", "#c62828")
TABLES = (
    (
        "official_coverage",
        "Counts against official totals",
        ["type", "loaded", "official_count", "share", "missing", "official_source"],
    ),
    (
        "missing_units",
        "Official units without a mapped site (missing)",
        ["type", "unit_id", "name", "province", "reason"],
    ),
    (
        "coastal_ports",
        "Coastal provinces and their ports",
        ["prov63_code", "prov63_name", "general_ports", "seaports", "has_port"],
    ),
    (
        "suspected_duplicates",
        "Suspected duplicates",
        ["type", "name_a", "name_b", "distance_m", "name_ratio", "reason"],
    ),
    ("road_length", "Road length by class", ["road_class", "km", "expected_km", "ratio"]),
    ("road_network", "Road network", ["metric", "value"]),
    (
        "population",
        "Population against the official totals (largest deviations)",
        ["prov63_code", "prov63_name", "source", "census", "ratio"],
    ),
)
MAX_ROWS = 30


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.0f}"
    return html.escape(str(value))


def table_html(frame: pd.DataFrame, columns: Sequence[str], *, max_rows: int = MAX_ROWS) -> str:
    """An escaped HTML table of ``columns`` (those present), at most ``max_rows`` rows."""
    cols = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in frame[cols].head(max_rows).itertuples(index=False)
    )
    more = (
        f"<p class='dq-more'>{len(frame) - max_rows} more rows in the CSV.</p>"
        if len(frame) > max_rows
        else ""
    )
    return f"<table class='dq'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def svg_map(
    outline: gpd.GeoSeries,
    flags: pd.DataFrame,
    *,
    width_px: int = 360,
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
    for xi, yi, s, name, note in zip(
        x, y, order["doubt_score"], order["name"], order["data_note"], strict=True
    ):
        colour = DOUBT_COLOURS[min(int(s), 2)]
        title = html.escape(f"{name}: {note}" if note else str(name))
        dots.append(
            f"<circle cx='{xi:.1f}' cy='{yi:.1f}' r='{2 + min(int(s), 2)}' fill='{colour}' fill-opacity='0.85'><title>{title}</title></circle>"
        )
    legend = "".join(
        f"<span style='color:{c}'>●</span> {html.escape(t)} "
        for c, t in zip(DOUBT_COLOURS, ("no doubt", "one doubt", "two or more"), strict=True)
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width_px + 4}' height='{height}' "
        f"viewBox='0 0 {width_px + 4} {height}' role='img' aria-label='facilities by data doubt'>"
        f"{shapes}{''.join(dots)}</svg><p class='dq-legend'>{legend}</p>"
    )


def quality_section_html(
    tables: dict[str, pd.DataFrame],
    findings: Sequence[str],
    *,
    outline: gpd.GeoSeries | None = None,
    flags: pd.DataFrame | None = None,
    title: str = "Data quality",
) -> str:
    """The report section: findings as a list, the main tables and (if given) the SVG map.

    Parameters
    ----------
    tables, findings, outline, flags
        The fields of :class:`geo.quality.QualityReport` (passed separately so that ``maps``
        needs no import of ``geo``).
    title
        Section heading.

    Returns
    -------
    str
        An HTML fragment (``<section class='data-quality'>``), self-contained.
    """
    parts = [f"<section class='data-quality'><h2>{html.escape(title)}</h2>"]
    parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in findings) + "</ul>")
    if outline is not None and flags is not None and len(outline):
        n = int(flags["doubtful"].sum()) if "doubtful" in flags else 0
        parts.append(f"<h3>Facilities by data doubt ({n} of {len(flags)} doubtful)</h3>")
        parts.append(svg_map(outline, flags))
    for key, heading, cols in TABLES:
        frame = tables.get(key)
        if frame is None or frame.empty:
            continue
        if key == "population":
            frame = frame.assign(_d=(frame["ratio"] - 1).abs()).sort_values("_d", ascending=False)
        parts.append(f"<h3>{html.escape(heading)}</h3>{table_html(frame, cols)}")
    parts.append("</section>")
    return "\n".join(parts)
