"""map.html: the planner's map, one self-contained HTML file that opens offline in any browser.

Built with ``folium-offline`` (``offlinefolium``), only Leaflet inlined (not its default jQuery,
Bootstrap or Font Awesome), without tiles: the provinces of the run's edition are the basemap.
Findings first (docs/MAP.md): the findings panel (``maps.html_findings``, ``maps.html_ui``),
province and city names (``maps.html_labels``), facilities and the verdict's rings shown;
catchments, overlap lines, "served by 2, 3, 4+" (``maps.html_several``) and the choropleths off
until asked for; a title box, a legend whose sections follow the layers shown, a language switch
and the ranked province pairs (``maps.html_pairs``). The view, the findings filter and the
layers live in the URL fragment.

Data strings are HTML-escaped in Python before they enter the page (popups and tooltips are
pre-built, escaped HTML held in each feature's properties; the findings are set as text by the
page); element ids are numbered, not random, so two writes of the same result are byte-identical.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import offlinefolium as folium
from branca.element import Element, Figure
from jinja2 import pass_eval_context
from markupsafe import Markup
from offlinefolium.template import Template
from offlinefolium.utilities import JsCode

from analysis.results import RunResult
from analysis.text import term
from geo.cities import read_major_cities
from geo.files import atomic_path
from maps import html_findings as hf
from maps import html_labels as hlab
from maps import html_layers as hl
from maps import html_pairs as hpairs
from maps import html_panels as hp
from maps import html_several as hsev
from maps.html_assets import PAGE_CSS, Panels
from maps.html_ui import NARROW_PX, UI_CSS, Ui

log = logging.getLogger(__name__)

TYPE_ORDER = ("seaport", "airport", "industrial_park")
SEA_COLOUR = "#cfe2ee"
# draw order, bottom to top (Leaflet: tiles 200, overlays 400, markers 600, tooltips 650)
PANES = {
    "io-land": 250,
    "io-choro": 300,
    "io-catch-0": 401,
    "io-catch-1": 402,
    "io-catch-2": 403,
    "io-catch-3": 404,
    "io-overlap": 430,
    "io-flag": 440,
    "io-facility": 450,
    "io-highlight": 460,
}
# of offlinefolium's inlined defaults only Leaflet is used (no jQuery, Bootstrap, Font Awesome,
# awesome-markers: about 1.2 MB of the national page)
LEAFLET_JS = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css")]
MAJOR_CITIES = 12  # city names shown (the 6 largest at every zoom, the others from zoom 7)
CITY_SPACING_KM = 20.0
GROUPS = (
    ("flags", hp.bi("Phát hiện", "Findings")),
    ("base", hp.bi("Nền bản đồ", "Base map")),
)
FINDINGS_TEXT = {
    "title": hp.bi(
        "Phát hiện: cơ sở dư thừa, theo mức độ", "Findings: redundant facilities, ranked"
    ),
    "overlap_only": hp.bi(
        "Chỉ trùng lặp (mô tả, không phải kết luận)", "Overlap only (descriptive, not the verdict)"
    ),
    "all_types": ["Mọi loại", "All types"],
    "all_provs": ["Mọi tỉnh", "All provinces"],
    "search": ["Tìm tên…", "Search a name…"],
    "severity": ["mức độ", "severity"],
    "robust": [term("robust", "vi"), term("robust", "en")],
    "fragile": [term("fragile", "vi"), term("fragile", "en")],
    "count": ["{v} dư thừa · {o} chỉ trùng lặp", "{v} redundant · {o} overlap only"],
}


# what ends or confuses a <script> element in HTML: "</" (as "</script"), "<!--", "<script"
_SCRIPT_BREAKERS = re.compile(r"</|<!--|<(?=script)", re.IGNORECASE)


def script_safe_json(value: Any, **kwargs: Any) -> Markup:
    """JSON for inside a ``<script>`` element (or an attribute) that HTML cannot break out of.

    Jinja's ``htmlsafe_json_dumps`` writes every ``<`` and ``>`` as ``\\u003c`` / ``\\u003e``:
    6 bytes for 1, 200,000 times in the national page (the popups' markup). Here only what an
    HTML parser reacts to inside a script is escaped: ``</`` as ``<\\/`` (a JSON and JS escape of
    ``/``), ``<!--`` and ``<script`` with ``\\u003c``; ``&`` and ``'`` as before (attributes).
    The value read by the page is the same string.
    """
    text = json.dumps(value, **kwargs)
    text = _SCRIPT_BREAKERS.sub(lambda m: "<\\/" if m[0] == "</" else "\\u003c" + m[0][1:], text)
    return Markup(text.replace("&", "\\u0026").replace("'", "\\u0027"))


@contextmanager
def _compact_json() -> Iterator[None]:
    """Jinja's ``tojson`` without spaces or ``\\uXXXX`` for Vietnamese letters, while rendering.

    The page is UTF-8; markup is escaped only where HTML could break out of the script
    (``script_safe_json``). About a quarter of the national page was separators and escaped
    letters, and a sixth escaped ``<`` and ``>``.
    """
    env = Template("").environment
    saved = env.policies.get("json.dumps_kwargs")
    saved_filter = env.filters["tojson"]
    kwargs = {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}
    env.policies["json.dumps_kwargs"] = kwargs

    @pass_eval_context  # as Jinja's own: templates compiled earlier pass the context
    def tojson(_ctx: Any, value: Any, indent: Any = None) -> Markup:
        return script_safe_json(value, **kwargs)

    env.filters["tojson"] = tojson
    try:
        yield
    finally:
        env.policies["json.dumps_kwargs"] = saved
        env.filters["tojson"] = saved_filter


def _fix_ids(root: Element) -> None:
    """Replace folium's random element ids by a counter, in tree order (deterministic output)."""
    counter = 0
    stack = [root]
    while stack:
        el = stack.pop(0)
        el._id = f"{counter:04d}"
        counter += 1
        stack[0:0] = list(getattr(el, "_children", {}).values())


def build_map(
    result: RunResult,
    *,
    lang: str = "vi",
    catchment_simplify_m: float | None = None,
    boundary_simplify_m: float = 250.0,
    min_overlap_share: float = 0.25,
    max_overlap_lines: int = 400,
) -> tuple[folium.Map, dict[str, int]]:
    """Assemble the folium map of a run; returns the map and the feature count of each layer.

    Parameters
    ----------
    result : RunResult
        Layers in EPSG:4326 (``analysis.results``); missing layers or fields are skipped.
    lang : {"vi", "en"}
        The language shown when the page opens (both are embedded; the page can switch).
    catchment_simplify_m : float, optional
        Display simplification of catchments in metres, in the grid's metric CRS; default the
        demand cell size (catchments are unions of cells: finer detail is not information).
    boundary_simplify_m : float
        Display simplification of province boundaries (shared edges kept), metres.
    min_overlap_share, max_overlap_lines : float, int
        Overlap lines drawn: share of at least this, the largest ones first, at most this many.
    """
    layers, meta = result.layers, result.meta
    types = meta.types or {}
    edition = meta.edition
    metric_crs = getattr(result.grid, "crs", None)
    fac = hl.drawable(layers.get("facilities"))
    found = set(fac.get("type", []))
    present = [t for t in TYPE_ORDER if t in found] + sorted(found - set(TYPE_ORDER))

    # SVG, not canvas: with panes (fixed draw order, whatever is toggled) canvases of upper panes
    # would swallow the pointer events of the layers below; ~2,000 paths are fine in SVG
    m = folium.Map(tiles=None, prefer_canvas=False, zoom_snap=0.25, control_scale=False)
    m.default_js, m.default_css = list(LEAFLET_JS), list(LEAFLET_CSS)
    for pane, z in PANES.items():
        folium.map.CustomPane(pane, z_index=z).add_to(m)
    region = meta.region or {}
    label = (
        region.get(f"label_{lang}", region.get("name", ""))
        if isinstance(region, Mapping)
        else region
    )
    cast(Figure, m.get_root()).title = hp.esc(
        f"{'Trùng lặp đầu tư hạ tầng' if lang == 'vi' else 'Infrastructure overlap'} – {label}"
    )
    cast(Figure, m.get_root()).header.add_child(
        Element(
            f"<script>document.documentElement.setAttribute('data-lang', {json.dumps(lang)});"
            f"document.documentElement.lang = {json.dumps(lang)};</script>"
            f"<style>{PAGE_CSS % {'sea': SEA_COLOUR}}{UI_CSS % {'narrow': NARROW_PX - 1}}</style>"
        ),
        name="io_page",
    )
    provinces = hl.simplified(
        hl.drawable(layers.get("provinces")),
        tolerance_m=boundary_simplify_m,
        metric_crs=metric_crs,
        coverage=True,
    )
    groups = hl.add_basemap(m, provinces, present, meta)
    data_dir = meta.data_dir
    cities = read_major_cities(data_dir, top=60) if data_dir else hl.drawable(None)
    cities = hlab.spaced_cities(cities, keep=MAJOR_CITIES, min_km=CITY_SPACING_KM)
    hlab.add_labels(m, provinces, cities)
    catch_tol = (
        catchment_simplify_m
        if catchment_simplify_m is not None
        else getattr(result.grid, "cell_size_m", 0.0)
    )
    catch = hl.simplified(
        hl.drawable(layers.get("catchments")), tolerance_m=catch_tol, metric_crs=metric_crs
    )
    hl.add_catchments(m, catch, present, types)
    hsev.add_served_by_several(
        m,
        hsev.served_by_several(
            result, present, simplify_m=getattr(result.grid, "cell_size_m", 1000.0)
        ),
        present,
        types,
    )
    n_overlaps = hl.add_overlaps(
        m,
        hl.drawable(layers.get("overlaps")),
        present,
        types,
        min_share=min_overlap_share,
        max_lines=max_overlap_lines,
    )
    flags = hl.drawable(layers.get("flags"))
    hl.add_points(m, fac, flags, present, types, edition=edition)

    findings = hf.findings_records(fac, edition=edition)
    n_verdict = sum(r["v"] for r in findings)
    n_planned = (
        {t: int(((fac["type"] == t) & (fac["status"] == "planned")).sum()) for t in present}
        if "status" in fac.columns
        else {}
    )
    Panels(
        title=hp.title_html(meta, present, n_flags=n_verdict, n_overlap=len(findings) - n_verdict),
        legend=hp.legend_html(present, types),
        pairs=hpairs.pairs_html(
            layers.get("province_matrix"), types, present, edition=edition, n_planned=n_planned
        ),
        lang=lang,
        choropleths=groups,
    ).add_to(m)
    # list the layers top of the drawing first, as a GIS layer panel does
    tagged = []
    for rank, layer in enumerate(m._children.values()):
        if getattr(layer, "control", False) and hasattr(layer, "options"):
            layer.options["io_order"] = rank
            tagged.append(
                (
                    layer,
                    getattr(layer, "io_group", "base"),
                    getattr(layer, "io_legend", ""),
                    getattr(layer, "io_key", f"layer{rank}"),
                )
            )
    control = folium.LayerControl(
        collapsed=True,
        sort_layers=True,
        # folium passes a JsCode through as JavaScript, but its annotation lists JSON values only
        sort_function=JsCode("function (a, b) { return b.options.ioOrder - a.options.ioOrder; }"),  # type: ignore[arg-type]
    )
    control.add_to(m)
    bounds = provinces if len(provinces) else fac
    x0, y0, x1, y1 = bounds.total_bounds if len(bounds) else (102.0, 8.0, 110.0, 23.5)
    start = [[round(float(v), hl.COORD_DECIMALS) for v in pair] for pair in ((y0, x0), (y1, x1))]
    m.fit_bounds(start)
    styles = hl.share_styles(list(m._children.values()))
    cast(Figure, m.get_root()).header.add_child(
        Element(f"<script>window.ioStyles = {json.dumps(styles, separators=(',', ':'))};</script>"),
        name="io_styles",
    )
    Ui(
        control=control,
        findings=findings,
        type_names=hf.type_names(types, present),
        colours={t: hp.type_colour(t, present) for t in present},
        groups=[
            GROUPS[0],
            *((t, hp.type_label(types, t, plural=True)) for t in present),
            GROUPS[1],
        ],
        layers=tagged,
        texts=FINDINGS_TEXT,
        bounds=start,
    ).add_to(m)  # after the layer control and fit_bounds: the URL fragment's view wins
    counts = {
        "provinces": len(provinces),
        "catchments": len(catch),
        "overlaps": n_overlaps,
        "flags": len(flags),
        "facilities": len(fac),
    }
    return m, counts


def write_map(
    result: RunResult,
    path: str | Path,
    *,
    lang: str = "vi",
    catchment_simplify_m: float | None = None,
    boundary_simplify_m: float = 250.0,
    min_overlap_share: float = 0.25,
    max_overlap_lines: int = 400,
) -> dict[str, Any]:
    """Write the planner's map of a run as one self-contained, offline HTML file, atomically.

    Parameters
    ----------
    result : RunResult
        The run (layers in EPSG:4326; ``grid.crs`` is the metric CRS used to simplify).
    path : str or Path
        The HTML file to write (replaced only once completely written).
    lang : {"vi", "en"}
        The language the page opens in; a switch on the page shows the other.
    catchment_simplify_m, boundary_simplify_m, min_overlap_share, max_overlap_lines
        See :func:`build_map`.

    Returns
    -------
    dict
        ``bytes`` (file size) and ``n_features`` (features drawn per layer).
    """
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    m, counts = build_map(
        result,
        lang=lang,
        catchment_simplify_m=catchment_simplify_m,
        boundary_simplify_m=boundary_simplify_m,
        min_overlap_share=min_overlap_share,
        max_overlap_lines=max_overlap_lines,
    )
    root = m.get_root()
    _fix_ids(root)
    with _compact_json():
        data = root.render().encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    log.info("map: %s (%.1f MB, %s)", path, len(data) / 1e6, counts)
    return {"bytes": len(data), "n_features": counts}
