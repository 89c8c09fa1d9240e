"""What each layer of a run looks like in QGIS: renderer, classes, symbols, labels, aliases.

One description of each layer's look (:class:`~maps.qgis_qml.VectorStyle`) is turned by
:mod:`maps.qgis_qml` into the QML that QGIS 3.22 reads from ``layer_styles`` or a ``.qml``
sidecar, and into an SLD 1.1 for other clients. The QGIS project embeds the same QML elements,
so a layer looks the same whether it is opened from the GeoPackage or from the project. Words
(legend labels, aliases, descriptions) come from :mod:`analysis.text`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.text import FIELD_TEXT, PER_TYPE_TEXT, field_description_vi, term
from analysis.text.field_descriptions import PER_TYPE_DESC_VI
from maps.qgis_qml import (
    DOCTYPE,
    QGIS_VERSION,
    StyleClass,
    Symbol,
    VectorStyle,
    qml_element,
    to_qml,
    vector_qml,
    vector_sld,
)

__all__ = [
    "DOCTYPE",
    "QGIS_VERSION",
    "StyleClass",
    "Symbol",
    "VectorStyle",
    "field_alias",
    "field_text",
    "layer_types",
    "qml_element",
    "to_qml",
    "type_label",
    "vector_qml",
    "vector_sld",
    "vector_style",
]

TYPE_COLORS = {"seaport": "31,120,180", "airport": "106,61,154", "industrial_park": "230,97,1"}
OTHER_COLORS = ("27,158,119", "102,166,30", "166,118,29", "231,41,138")
TYPE_SHAPES = {"seaport": "circle", "airport": "triangle", "industrial_park": "square"}
SHARE_BINS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
# label scale limits (denominators): seaport and airport names from the national view, the
# hundreds of industrial parks and terminals only from a province's view inwards
LABEL_MAX_SCALE = {
    "facilities": 6_000_000.0,
    "industrial_park": 1_500_000.0,
    "terminals": 500_000.0,
}
SHARE_COLORS = ("255,255,204", "254,217,118", "253,141,60", "227,26,28", "128,0,38")


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


# the flags layer: one category per finding (expression on the verdict and its robustness)
FLAGS_ATTR = (
    "CASE WHEN \"verdict\" THEN 'redundant|' || coalesce(\"flag_robustness\", '') "
    "ELSE 'overlap_only|' END"
)


def _flags_style(df: pd.DataFrame, *, lang: str, aliases: dict[str, str]) -> VectorStyle:
    """Flags by finding: redundant (robust: solid red ring; fragile: dashed-looking lighter
    ring) and overlap only (a thin orange ring), each labelled from the glossary."""
    red, orange = "227,26,28", "253,141,60"
    classes = (
        StyleClass(
            f"{term('redundant', lang).capitalize()} ({term('robust', lang)})",
            Symbol("marker", f"{red},90", f"{red},255", width_mm=1.0, size_mm=7.5),
            equals=(("verdict", "1"), ("flag_robustness", "robust")),
        ),
        StyleClass(
            f"{term('redundant', lang).capitalize()} ({term('fragile', lang)})",
            Symbol("marker", f"{red},30", f"{red},200", width_mm=0.6, size_mm=7.0),
            equals=(("verdict", "1"), ("flag_robustness", "fragile")),
        ),
        StyleClass(
            term("overlap_only", lang).capitalize(),
            Symbol("marker", f"{orange},0", f"{orange},255", width_mm=0.5, size_mm=6.0),
            equals=(("verdict", "0"),),
        ),
    )
    return VectorStyle(
        "flags",
        "point",
        "categorizedSymbol",
        classes,
        attr=FLAGS_ATTR,
        aliases=aliases,
        category_values=("redundant|robust", "redundant|fragile", "overlap_only|"),
    )


@dataclass(frozen=True)
class _Ctx:
    """What a layer's style is made from (see :func:`vector_style`)."""

    df: pd.DataFrame
    meta: Mapping[str, Any]
    types: list[str]
    lang: str
    only_type: str | None
    measure: str | None
    aliases: dict[str, str]


def _facilities_style(ctx: _Ctx) -> VectorStyle:
    meta = ctx.meta
    types = ctx.types
    lang = ctx.lang
    only_type = ctx.only_type
    aliases = ctx.aliases
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
        "facilities",
        "point",
        "categorizedSymbol",
        tuple(classes),
        attr='"type" || \'|\' || "status"',
        label_field="name",
        aliases=aliases,
        label_max_scale=LABEL_MAX_SCALE.get(
            "industrial_park" if only_type in (None, "industrial_park") else "facilities"
        ),
        # a seaport's or an airport's name wins over the hundreds of park names around it
        label_priority=4 if only_type in (None, "industrial_park") else 8,
    )


def _terminals_style(ctx: _Ctx) -> VectorStyle:
    lang = ctx.lang
    aliases = ctx.aliases
    member = Symbol("marker", "40,40,40,255", "255,255,255,255", width_mm=0.3, size_mm=2.0)
    left = Symbol("marker", "170,170,170,160", "120,120,120,255", width_mm=0.2, size_mm=1.6)
    site_classes = (
        StyleClass(term("member", lang), member, equals=(("member", "yes"),)),
        StyleClass(term("left_out", lang), left),
    )
    return VectorStyle(
        "terminals",
        "point",
        "categorizedSymbol",
        site_classes,
        attr="member",
        label_field="name",
        aliases=aliases,
        label_max_scale=LABEL_MAX_SCALE["terminals"],
    )


def _catchments_style(ctx: _Ctx) -> VectorStyle:
    df = ctx.df
    meta = ctx.meta
    types = ctx.types
    lang = ctx.lang
    only_type = ctx.only_type
    aliases = ctx.aliases
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
        "catchments",
        "polygon",
        "graduatedSymbol",
        tuple(classes),
        attr="break_min",
        order_desc="break_min",
        aliases=aliases,
    )


def _overlaps_style(ctx: _Ctx) -> VectorStyle:
    aliases = ctx.aliases
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
        "overlaps", "line", "graduatedSymbol", line_classes, attr="overlap_share", aliases=aliases
    )


def _road_repairs_style(ctx: _Ctx) -> VectorStyle:
    aliases = ctx.aliases
    vi = ctx.lang == "vi"
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
        StyleClass(
            "đường một chiều thiếu chiều về, mở hai chiều"
            if vi
            else "one-way with a long way back made two-way",
            Symbol("line", "158,154,200,255", width_mm=0.9),
            equals=(("kind", "oneway_detour"),),
        ),
    )
    return VectorStyle(
        "road_repairs", "line", "categorizedSymbol", repair_classes, attr="kind", aliases=aliases
    )


def _provinces_style(ctx: _Ctx) -> VectorStyle:
    df = ctx.df
    types = ctx.types
    lang = ctx.lang
    measure = ctx.measure
    aliases = ctx.aliases
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
            StyleClass(term("province", lang), Symbol("fill", "240,240,240,160", "90,90,90,255")),
        )
        return VectorStyle(
            "provinces", "polygon", "singleSymbol", cls, label_field="prov_name", aliases=aliases
        )
    base = Symbol("fill", "", "90,90,90,255", width_mm=0.4)
    share_classes = _share_ranges([f"{c},170" for c in SHARE_COLORS], base)
    return VectorStyle(
        "provinces",
        "polygon",
        "graduatedSymbol",
        share_classes,
        attr=col,
        label_field="prov_name",
        aliases=aliases,
    )


_LAYER_STYLES = {
    "facilities": _facilities_style,
    "terminals": _terminals_style,
    "catchments": _catchments_style,
    "overlaps": _overlaps_style,
    "road_repairs": _road_repairs_style,
    "provinces": _provinces_style,
}


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
    aliases = {
        c: field_alias(layer, c, meta=meta, lang=lang) for c in df.columns if c != "geometry"
    }
    if layer == "flags":
        return _flags_style(df, lang=lang, aliases=aliases)
    make = _LAYER_STYLES.get(layer)
    if make is None:
        return None
    return make(_Ctx(df, meta, list(types), lang, only_type, measure, aliases))


# --- field aliases and descriptions (the glossary's) ---------------------------------------


def field_text(
    layer: str, column: str, *, meta: Mapping[str, Any], lang: str = "vi"
) -> tuple[str, str]:
    """``(alias, description)`` of a column in ``lang``; unknown columns keep their name."""
    vi = lang == "vi"
    if column in FIELD_TEXT:
        alias_vi, alias_en, desc_en = FIELD_TEXT[column]
        desc = field_description_vi(column) if vi else desc_en
        if layer == "province_matrix" and column in ("name_a", "name_b"):
            side = column[-1].upper()
            return (
                (f"Tỉnh {side}", f"tên tỉnh {side}")
                if vi
                else (f"Province {side}", "province name")
            )
        return (alias_vi if vi else alias_en), desc
    for prefix, (alias_vi, alias_en, desc_en) in PER_TYPE_TEXT.items():
        if column.startswith(prefix):
            t = column[len(prefix) :]
            label = type_label(t, meta, lang)
            desc = PER_TYPE_DESC_VI[prefix] if vi else desc_en
            return (alias_vi if vi else alias_en).format(t=label), desc.format(t=label.lower())
    return column, ""


def field_alias(layer: str, column: str, *, meta: Mapping[str, Any], lang: str = "vi") -> str:
    """The column's alias in ``lang`` (see :func:`field_text`)."""
    return field_text(layer, column, meta=meta, lang=lang)[0]
