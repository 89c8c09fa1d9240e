"""How a layer style is written: the style description (:class:`VectorStyle`), its QML for
QGIS 3.22 (``layer_styles`` rows, ``.qml`` sidecars, the project's embedded styles) and an SLD 1.1
twin for other clients. What each layer looks like is decided in :mod:`maps.qgis_styles`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

QGIS_VERSION = "3.22.16-Białowieża"
FONT_FAMILY = "DejaVu Sans"  # has the Vietnamese diacritics; installed with fonts-dejavu-core
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
GEOMETRY_CODES = {"point": 0, "line": 1, "polygon": 2}


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
    # QGIS label priority 0-10 (higher: placed first when labels collide); None: by geometry
    label_priority: int | None = None
    # categorizedSymbol: the category values when the attribute is an expression that does not
    # join the ``equals`` values with "|" (None: "|".join of each class's ``equals`` values)
    category_values: tuple[str, ...] | None = None


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
                value = (
                    style.category_values[i]
                    if style.category_values is not None
                    else "|".join(v for _, v in c.equals)
                )
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


def _labeling_xml(
    field_name: str,
    geometry: str,
    *,
    max_scale: float | None = None,
    priority: int | None = None,
) -> ET.Element:
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
        priority=str(priority if priority is not None else 5 if geometry == "point" else 3),
    )
    # displayAll=0: QGIS drops a label that would collide with another (collision handling);
    # the scale range keeps hundreds of park names from crowding the national view
    # (QGIS writes the zoomed-out limit as scaleMax, the zoomed-in one as scaleMin)
    # points (facility markers) are obstacles: labels keep off them. Polygons (provinces) are
    # not: as obstacles, a province layer's polygons pushed every other province layer's names
    # (the choropleths of the same provinces) off the map, and QGIS placed 5 names of 34
    ET.SubElement(
        st,
        "rendering",
        obstacle="1" if geometry == "point" else "0",
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
            _labeling_xml(
                style.label_field,
                style.geometry,
                max_scale=style.label_max_scale,
                priority=style.label_priority,
            )
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
