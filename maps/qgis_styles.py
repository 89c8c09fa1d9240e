"""QGIS styles (QML, with an SLD twin) for the layers and rasters of a run.

One description of each layer's look (:class:`VectorStyle`: renderer, classes, symbols, labels,
field aliases) is turned into the QML that QGIS 3.22 reads from ``layer_styles`` or a ``.qml``
sidecar, and into an SLD 1.1 for other clients. The QGIS project embeds the same QML elements,
so a layer looks the same whether it is opened from the GeoPackage or from the project.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.glossary import FIELD_TEXT, PER_TYPE_TEXT, term

QGIS_VERSION = "3.22.16-Białowieża"
FONT_FAMILY = "DejaVu Sans"  # has the Vietnamese diacritics; installed with fonts-dejavu-core
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
TYPE_COLORS = {"seaport": "31,120,180", "airport": "106,61,154", "industrial_park": "230,97,1"}
OTHER_COLORS = ("27,158,119", "102,166,30", "166,118,29", "231,41,138")
TYPE_SHAPES = {"seaport": "circle", "airport": "triangle", "industrial_park": "square"}
GEOMETRY_CODES = {"point": 0, "line": 1, "polygon": 2}
SHARE_BINS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
# label scale limits (denominators): seaport and airport names from the national view, the
# hundreds of industrial parks and terminals only from a province's view inwards
LABEL_MAX_SCALE = {
    "facilities": 6_000_000.0,
    "industrial_park": 1_500_000.0,
    "terminals": 500_000.0,
}
SHARE_COLORS = ("255,255,204", "254,217,118", "253,141,60", "227,26,28", "128,0,38")


@dataclass(frozen=True)
class Symbol:
    """One simple symbol: ``kind`` is marker, line or fill; colours are ``"r,g,b,a"``."""

    kind: str
    color: str
    outline: str = "50,50,50,255"
    width_mm: float = 0.26
    size_mm: float = 2.6
    shape: str = "circle"


@dataclass(frozen=True)
class StyleClass:
    """A legend entry: ``equals`` for a category, ``lower``/``upper`` for a range, neither: else."""

    label: str
    symbol: Symbol
    equals: tuple[tuple[str, str], ...] = ()
    lower: float | None = None
    upper: float | None = None
    render: bool = True  # drawn when the layer is on (off: listed, ticked by the user)


@dataclass(frozen=True)
class VectorStyle:
    """Everything needed to write one layer's QML and SLD."""

    layer: str
    geometry: str  # point | line | polygon
    renderer: str  # singleSymbol | categorizedSymbol | graduatedSymbol
    classes: tuple[StyleClass, ...]
    attr: str = ""
    label_field: str | None = None
    order_desc: str | None = None  # draw the largest values first (underneath)
    aliases: dict[str, str] = field(default_factory=dict)
    # labels only from this scale (denominator) inwards; None: at every scale
    label_max_scale: float | None = None


def type_color(ftype: str, types: Sequence[str]) -> str:
    """``"r,g,b"`` of a facility type (fixed for the known types, cycled for others)."""
    if ftype in TYPE_COLORS:
        return TYPE_COLORS[ftype]
    others = [t for t in types if t not in TYPE_COLORS]
    return OTHER_COLORS[others.index(ftype) % len(OTHER_COLORS)] if ftype in others else "90,90,90"


def type_label(ftype: str, meta: Mapping[str, Any], lang: str) -> str:
    """The type's label in ``lang`` from ``meta['types']``, else the code itself."""
    return str(meta.get("types", {}).get(ftype, {}).get(f"label_{lang}", ftype))


def layer_types(result_layers: dict[str, pd.DataFrame], meta: Mapping[str, Any]) -> list[str]:
    """Facility types of the run: ``meta['types']`` order first, then any others found."""
    types = list(meta.get("types", {}))
    fac = result_layers.get("facilities")
    if fac is not None and "type" in fac:
        types += sorted(set(fac["type"].dropna().astype(str)) - set(types))
    return types


def _share_ranges(colors: Sequence[str], base: Symbol) -> tuple[StyleClass, ...]:
    pairs = itertools.pairwise(SHARE_BINS)
    return tuple(
        StyleClass(
            _pct(lo, hi), Symbol(**{**base.__dict__, "color": colors[i]}), lower=lo, upper=hi
        )
        for i, (lo, hi) in enumerate(pairs)
    )


def _pct(lo: float, hi: float) -> str:
    return f"{lo * 100:.0f}–{hi * 100:.0f} %"


def vector_style(
    layer: str,
    df: pd.DataFrame,
    *,
    meta: Mapping[str, Any],
    types: Sequence[str],
    lang: str = "vi",
    only_type: str | None = None,
    measure: str | None = None,
) -> VectorStyle | None:
    """The style of one spatial layer of a run, or None for a table or an unknown layer.

    Parameters
    ----------
    layer
        Layer name (``facilities``, ``flags``, ``catchments``, ``overlaps``, ``provinces``).
    df
        The layer's data (used for the columns to alias and the break values present).
    meta
        ``RunResult.meta`` (type labels).
    types
        Facility types of the run, in display order.
    lang
        ``"vi"`` or ``"en"`` for legend labels and field aliases.
    only_type
        Style for a subset of one type (the project's per-type layers): catchments in that
        type's colour and only its break values.
    measure
        For ``provinces``: the column shown as a choropleth (e.g.
        ``covered_by_others_share_seaport``); None: the first type's share. An empty string:
        outlines and names only.

    Catchments draw only the type's primary break (``meta['types'][t]['primary_min']``); the
    other breaks are listed in the legend, unticked. Labels use :data:`LABEL_MAX_SCALE`.
    """
    vi = lang == "vi"
    aliases = {
        c: field_alias(layer, c, meta=meta, lang=lang) for c in df.columns if c != "geometry"
    }
    if layer == "facilities":
        classes = []
        for t in types if only_type is None else [only_type]:
            c = type_color(t, types)
            for status in ("operating", "planned"):
                planned = status == "planned"
                sym = Symbol(
                    "marker",
                    f"{c},0" if planned else f"{c},255",
                    f"{c},255" if planned else "255,255,255,255",
                    width_mm=0.7 if planned else 0.4,
                    size_mm=3.4,
                    shape=TYPE_SHAPES.get(t, "diamond"),
                )
                text = f"{type_label(t, meta, lang)} ({term(status, lang)})"
                classes.append(StyleClass(text, sym, equals=(("type", t), ("status", status))))
        classes.append(StyleClass(term("other", lang), Symbol("marker", "150,150,150,255")))
        return VectorStyle(
            layer,
            "point",
            "categorizedSymbol",
            tuple(classes),
            attr='"type" || \'|\' || "status"',
            label_field="name",
            aliases=aliases,
            label_max_scale=LABEL_MAX_SCALE.get(
                "industrial_park" if only_type in (None, "industrial_park") else "facilities"
            ),
        )
    if layer == "flags":
        # a red ring: visible whether drawn above or below the facility's own marker
        sym = Symbol("marker", "227,26,28,70", "227,26,28,255", width_mm=0.9, size_mm=7.5)
        text = (
            "Trùng lặp hoặc dư thừa (xem kết luận)" if vi else "Overlap or redundant (see verdict)"
        )
        return VectorStyle(
            layer, "point", "singleSymbol", (StyleClass(text, sym),), aliases=aliases
        )
    if layer == "terminals":
        member = Symbol("marker", "40,40,40,255", "255,255,255,255", width_mm=0.3, size_mm=2.0)
        left = Symbol("marker", "170,170,170,160", "120,120,120,255", width_mm=0.2, size_mm=1.6)
        site_classes = (
            StyleClass(term("member", lang), member, equals=(("member", "yes"),)),
            StyleClass(term("left_out", lang), left),
        )
        return VectorStyle(
            layer,
            "point",
            "categorizedSymbol",
            site_classes,
            attr="member",
            label_field="name",
            aliases=aliases,
            label_max_scale=LABEL_MAX_SCALE["terminals"],
        )
    if layer == "catchments":
        sub = df if only_type is None or "type" not in df else df[df["type"] == only_type]
        breaks = sorted({float(b) for b in sub.get("break_min", pd.Series(dtype=float)).dropna()})
        rgb = type_color(only_type, types) if only_type else "49,130,189"
        alphas = [100 - 70 * i / max(len(breaks) - 1, 1) for i in range(len(breaks))] or [80]
        primary = {
            float(m.get("primary_min", 0))
            for k, m in meta.get("types", {}).items()
            if only_type is None or k == only_type
        }
        classes = []
        for i, b in enumerate(breaks or [0.0]):
            lo = breaks[i - 1] if i else 0.0
            fill = f"{rgb},{alphas[i]:.0f}"
            sym = Symbol("fill", fill, f"{rgb},220", width_mm=0.3)
            text = f"≤ {b:g} {term('minutes', lang)}"
            on = not primary or b in primary
            classes.append(StyleClass(text, sym, lower=lo, upper=b, render=on))
        return VectorStyle(
            layer,
            "polygon",
            "graduatedSymbol",
            tuple(classes),
            attr="break_min",
            order_desc="break_min",
            aliases=aliases,
        )
    if layer == "overlaps":
        line_classes = tuple(
            StyleClass(
                _pct(lo, hi),
                Symbol("line", f"{SHARE_COLORS[i + 1]},255", width_mm=0.5 + 0.6 * i),
                lower=lo,
                upper=hi,
            )
            for i, (lo, hi) in enumerate(
                zip((0.0, 0.25, 0.5, 0.75), (0.25, 0.5, 0.75, 1.0), strict=True)
            )
        )
        return VectorStyle(
            layer, "line", "graduatedSymbol", line_classes, attr="overlap_share", aliases=aliases
        )
    if layer == "road_repairs":
        repair_classes = (
            StyleClass(
                "nối đoạn đường rời" if vi else "fragment connector",
                Symbol("line", "230,85,13,255", width_mm=1.2),
                equals=(("kind", "fragment_connector"),),
            ),
            StyleClass(
                "đường một chiều cụt, mở hai chiều" if vi else "one-way dead end made two-way",
                Symbol("line", "117,107,177,255", width_mm=0.9),
                equals=(("kind", "oneway_dead_end"),),
            ),
        )
        return VectorStyle(
            layer, "line", "categorizedSymbol", repair_classes, attr="kind", aliases=aliases
        )
    if layer == "provinces":
        col = (
            measure
            if measure is not None
            else next(
                (
                    f"covered_by_others_share_{t}"
                    for t in types
                    if f"covered_by_others_share_{t}" in df.columns
                ),
                None,
            )
        )
        col = col or None
        if col is None:
            cls = (
                StyleClass(
                    term("province", lang), Symbol("fill", "240,240,240,160", "90,90,90,255")
                ),
            )
            return VectorStyle(
                layer, "polygon", "singleSymbol", cls, label_field="prov_name", aliases=aliases
            )
        base = Symbol("fill", "", "90,90,90,255", width_mm=0.4)
        share_classes = _share_ranges([f"{c},170" for c in SHARE_COLORS], base)
        return VectorStyle(
            layer,
            "polygon",
            "graduatedSymbol",
            share_classes,
            attr=col,
            label_field="prov_name",
            aliases=aliases,
        )
    return None


# --- QML ---------------------------------------------------------------------------------------


def _props(parent: ET.Element, props: dict[str, str]) -> None:
    for k, v in props.items():
        ET.SubElement(parent, "prop", k=k, v=v)


def _symbol_xml(sym: Symbol, name: str) -> ET.Element:
    el = ET.Element(
        "symbol", type=sym.kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    if sym.kind == "marker":
        lay = ET.SubElement(
            el, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0", "pass": "0"}
        )
        _props(
            lay,
            {
                "name": sym.shape,
                "color": sym.color,
                "outline_color": sym.outline,
                "outline_width": f"{sym.width_mm:g}",
                "outline_width_unit": "MM",
                "size": f"{sym.size_mm:g}",
                "size_unit": "MM",
            },
        )
    elif sym.kind == "line":
        lay = ET.SubElement(
            el, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"}
        )
        _props(
            lay,
            {
                "line_color": sym.color,
                "line_width": f"{sym.width_mm:g}",
                "line_width_unit": "MM",
                "capstyle": "round",
                "joinstyle": "round",
                "line_style": "solid",
            },
        )
    else:
        lay = ET.SubElement(
            el, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"}
        )
        _props(
            lay,
            {
                "color": sym.color,
                "outline_color": sym.outline,
                "outline_width": f"{sym.width_mm:g}",
                "outline_width_unit": "MM",
                "style": "solid",
                "outline_style": "solid",
            },
        )
    return el


def _renderer_xml(style: VectorStyle) -> ET.Element:
    r = ET.Element(
        "renderer-v2",
        type=style.renderer,
        forceraster="0",
        symbollevels="0",
        enableorderby="1" if style.order_desc else "0",
    )
    symbols = ET.Element("symbols")
    if style.renderer == "singleSymbol":
        symbols.append(_symbol_xml(style.classes[0].symbol, "0"))
    else:
        r.set("attr", style.attr)
        if style.renderer == "categorizedSymbol":
            holder = ET.SubElement(r, "categories")
            for i, c in enumerate(style.classes):
                value = "|".join(v for _, v in c.equals)
                ET.SubElement(
                    holder,
                    "category",
                    render="true" if c.render else "false",
                    symbol=str(i),
                    value=value,
                    label=c.label,
                )
        else:
            r.set("graduatedMethod", "GraduatedColor")
            holder = ET.SubElement(r, "ranges")
            for i, c in enumerate(style.classes):
                ET.SubElement(
                    holder,
                    "range",
                    render="true" if c.render else "false",
                    symbol=str(i),
                    lower=f"{c.lower:.15g}",
                    upper=f"{c.upper:.15g}",
                    label=c.label,
                )
        for i, c in enumerate(style.classes):
            symbols.append(_symbol_xml(c.symbol, str(i)))
    r.append(symbols)
    if style.order_desc:
        ob = ET.SubElement(r, "orderby")
        ET.SubElement(ob, "orderByClause", asc="0", nullsFirst="0").text = f'"{style.order_desc}"'
    return r


def _labeling_xml(field_name: str, geometry: str, *, max_scale: float | None = None) -> ET.Element:
    lab = ET.Element("labeling", type="simple")
    st = ET.SubElement(lab, "settings", calloutType="simple")
    ts = ET.SubElement(
        st,
        "text-style",
        fieldName=field_name,
        isExpression="0",
        fontFamily=FONT_FAMILY,
        fontSize="8" if geometry == "point" else "9",
        fontSizeUnit="Point",
        textColor="20,20,20,255",
        fontWeight="50" if geometry == "point" else "75",
    )
    ET.SubElement(
        ts,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.8",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,220",
        bufferNoFill="1",
        bufferJoinStyle="128",
    )
    ET.SubElement(
        st,
        "placement",
        placement="0" if geometry == "point" else "4",  # polygons: horizontal, anywhere inside
        dist="1.2",
        distUnits="MM",
        priority="5" if geometry == "point" else "3",
    )
    # displayAll=0: QGIS drops a label that would collide with another (collision handling);
    # the scale range keeps hundreds of park names from crowding the national view
    # (QGIS writes the zoomed-out limit as scaleMax, the zoomed-in one as scaleMin)
    ET.SubElement(
        st,
        "rendering",
        obstacle="1",
        drawLabels="1",
        displayAll="0",
        maxNumLabels="2000",
        scaleVisibility="1" if max_scale else "0",
        scaleMax=f"{max_scale:.0f}" if max_scale else "0",
        scaleMin="1" if max_scale else "0",
    )
    return lab


def qml_element(style: VectorStyle) -> ET.Element:
    """The ``<qgis>`` root of a vector QML: renderer, labels, aliases, geometry type."""
    root = ET.Element(
        "qgis",
        version=QGIS_VERSION,
        styleCategories="Symbology|Labeling|Fields",
        labelsEnabled="1" if style.label_field else "0",
    )
    root.append(_renderer_xml(style))
    if style.label_field:
        root.append(
            _labeling_xml(style.label_field, style.geometry, max_scale=style.label_max_scale)
        )
    aliases = ET.SubElement(root, "aliases")
    for i, (col, alias) in enumerate(style.aliases.items()):
        ET.SubElement(aliases, "alias", field=col, index=str(i), name=alias)
    ET.SubElement(root, "layerGeometryType").text = str(GEOMETRY_CODES[style.geometry])
    return root


def to_qml(root: ET.Element) -> str:
    """Serialise a ``<qgis>`` element as a QML document (UTF-8 text, stable attribute order)."""
    ET.indent(root, space="  ")
    return DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def vector_qml(style: VectorStyle) -> str:
    """QML text for a vector style (what ``layer_styles.styleQML`` holds)."""
    return to_qml(qml_element(style))


# --- SLD ---------------------------------------------------------------------------------------

SE, OGC, SLD = (
    "http://www.opengis.net/se",
    "http://www.opengis.net/ogc",
    "http://www.opengis.net/sld",
)


def _hex(rgba: str) -> tuple[str, float]:
    parts = [int(float(p)) for p in rgba.split(",")] + [255]
    return "#{:02x}{:02x}{:02x}".format(*parts[:3]), round(parts[3] / 255, 3)


def _sld_symbolizer(rule: ET.Element, sym: Symbol) -> None:
    def param(parent: ET.Element, name: str, value: str) -> None:
        ET.SubElement(parent, f"{{{SE}}}SvgParameter", name=name).text = value

    color, opacity = _hex(sym.color)
    stroke_c, stroke_o = _hex(sym.outline if sym.kind != "line" else sym.color)
    mm = 3.78  # pixels per millimetre at 96 dpi
    if sym.kind == "marker":
        g = ET.SubElement(ET.SubElement(rule, f"{{{SE}}}PointSymbolizer"), f"{{{SE}}}Graphic")
        mark = ET.SubElement(g, f"{{{SE}}}Mark")
        ET.SubElement(mark, f"{{{SE}}}WellKnownName").text = sym.shape
        fill = ET.SubElement(mark, f"{{{SE}}}Fill")
        param(fill, "fill", color)
        param(fill, "fill-opacity", f"{opacity:g}")
        stroke = ET.SubElement(mark, f"{{{SE}}}Stroke")
        ET.SubElement(g, f"{{{SE}}}Size").text = f"{sym.size_mm * mm:.0f}"
    elif sym.kind == "line":
        stroke = ET.SubElement(ET.SubElement(rule, f"{{{SE}}}LineSymbolizer"), f"{{{SE}}}Stroke")
    else:
        ps = ET.SubElement(rule, f"{{{SE}}}PolygonSymbolizer")
        fill = ET.SubElement(ps, f"{{{SE}}}Fill")
        param(fill, "fill", color)
        param(fill, "fill-opacity", f"{opacity:g}")
        stroke = ET.SubElement(ps, f"{{{SE}}}Stroke")
    param(stroke, "stroke", stroke_c)
    param(stroke, "stroke-opacity", f"{stroke_o:g}")
    param(stroke, "stroke-width", f"{max(sym.width_mm * mm, 0.5):.1f}")


def _sld_filter(rule: ET.Element, c: StyleClass, attr: str) -> None:
    if c.equals:
        f = ET.SubElement(rule, f"{{{OGC}}}Filter")
        parent = ET.SubElement(f, f"{{{OGC}}}And") if len(c.equals) > 1 else f
        for name, value in c.equals:
            eq = ET.SubElement(parent, f"{{{OGC}}}PropertyIsEqualTo")
            ET.SubElement(eq, f"{{{OGC}}}PropertyName").text = name
            ET.SubElement(eq, f"{{{OGC}}}Literal").text = value
    elif c.lower is not None and c.upper is not None:
        f = ET.SubElement(rule, f"{{{OGC}}}Filter")
        between = ET.SubElement(f, f"{{{OGC}}}PropertyIsBetween")
        ET.SubElement(between, f"{{{OGC}}}PropertyName").text = attr
        ET.SubElement(
            ET.SubElement(between, f"{{{OGC}}}LowerBoundary"), f"{{{OGC}}}Literal"
        ).text = f"{c.lower:g}"
        ET.SubElement(
            ET.SubElement(between, f"{{{OGC}}}UpperBoundary"), f"{{{OGC}}}Literal"
        ).text = f"{c.upper:g}"
    elif len(c.equals) == 0 and attr:
        ET.SubElement(rule, f"{{{SE}}}ElseFilter")


def vector_sld(style: VectorStyle) -> str:
    """An SLD 1.1 twin of the style (rules per class; labels are not carried over)."""
    ET.register_namespace("se", SE)
    ET.register_namespace("ogc", OGC)
    ET.register_namespace("sld", SLD)
    root = ET.Element(f"{{{SLD}}}StyledLayerDescriptor", version="1.1.0")
    nl = ET.SubElement(root, f"{{{SLD}}}NamedLayer")
    ET.SubElement(nl, f"{{{SE}}}Name").text = style.layer
    us = ET.SubElement(nl, f"{{{SLD}}}UserStyle")
    ET.SubElement(us, f"{{{SE}}}Name").text = f"{style.layer}_default"
    fts = ET.SubElement(us, f"{{{SE}}}FeatureTypeStyle")
    for c in style.classes:
        rule = ET.SubElement(fts, f"{{{SE}}}Rule")
        ET.SubElement(rule, f"{{{SE}}}Name").text = c.label
        _sld_filter(rule, c, style.attr if style.renderer != "singleSymbol" else "")
        _sld_symbolizer(rule, c.symbol)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- field aliases and descriptions (the glossary's) ---------------------------------------


def field_text(
    layer: str, column: str, *, meta: Mapping[str, Any], lang: str = "vi"
) -> tuple[str, str]:
    """``(alias, description)`` of a column, the alias in ``lang``; unknown columns keep their name."""
    if column in FIELD_TEXT:
        vi, en, desc = FIELD_TEXT[column]
        if layer == "province_matrix" and column in ("name_a", "name_b"):
            vi, en, desc = (
                vi.replace("Tên", "Tỉnh"),
                en.replace("Name", "Province"),
                "province name",
            )
        return (vi if lang == "vi" else en), desc
    for prefix, (vi, en, desc) in PER_TYPE_TEXT.items():
        if column.startswith(prefix):
            t = column[len(prefix) :]
            label = type_label(t, meta, lang)
            return (vi if lang == "vi" else en).format(t=label), desc.format(
                t=type_label(t, meta, "en")
            )
    return column, ""


def field_alias(layer: str, column: str, *, meta: Mapping[str, Any], lang: str = "vi") -> str:
    """The column's alias in ``lang`` (see :func:`field_text`)."""
    return field_text(layer, column, meta=meta, lang=lang)[0]
