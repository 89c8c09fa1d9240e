"""map.html: the planner's map, one self-contained HTML file that opens offline in any browser.

Built with ``folium-offline`` (``offlinefolium``: Leaflet and its CSS inlined), without tiles:
the provinces of the run's edition are the basemap (light land on a pale sea). Layers: facilities
by type, catchments per type and break, provinces shaded by the share of their people served from
other provinces, overlap lines, redundancy flags; plus a title box, a legend, a language switch
and a province × province table of duplicated coverage (``maps.html_panels``).

Data strings are HTML-escaped in Python before they enter the page (popups and tooltips are
pre-built, escaped HTML held in each feature's properties); element ids are numbered, not random,
so two writes of the same result are byte-identical.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import offlinefolium as folium
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from offlinefolium.template import Template
from offlinefolium.utilities import JsCode

from analysis.results import RunResult
from geo.files import atomic_path
from maps import html_panels as hp

log = logging.getLogger(__name__)

COORD_DECIMALS = 5  # ~1 m: more digits only make the file bigger
SEA_COLOUR = "#cfe2ee"
LAND_STYLE = {"color": "#8f8f8f", "weight": 0.8, "fillColor": "#f5f2ea", "fillOpacity": 1.0}

_BIND_JS = JsCode(
    """function (feature, layer) {
    var p = feature.properties;
    if (p.tip) { layer.bindTooltip(p.tip, {sticky: true, className: 'io-tip'}); }
    if (p.pop) { layer.bindPopup(p.pop, {maxWidth: 380}); }
}"""
)
_PROVINCE_JS = JsCode(
    """function (feature, layer) {
    var k = feature.properties.code;
    window.ioProv = window.ioProv || {};
    (window.ioProv[k] = window.ioProv[k] || []).push(layer);
}"""
)

PAGE_CSS = """
html[data-lang=vi] .lang-en, html[data-lang=en] .lang-vi { display: none; }
.leaflet-container { background: %(sea)s; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.io-box { background: rgba(255,255,255,0.94); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); font-size: 12px; line-height: 1.35; color: #222;
  max-width: 320px; }
.io-box h1 { font-size: 14px; margin: 0 0 3px 0; }
.io-box h2 { font-size: 12px; margin: 6px 0 2px 0; }
.io-box ul { margin: 3px 0; padding-left: 16px; }
.io-box summary { cursor: pointer; font-weight: bold; }
.io-small { font-size: 11px; color: #444; margin: 3px 0; }
.io-legend { max-height: 46vh; overflow-y: auto; }
.io-legend div { margin: 1px 0; white-space: nowrap; }
.io-cols { display: grid; grid-template-columns: repeat(3, auto); column-gap: 8px; }
.sw { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 0; vertical-align: middle;
  border: 1px solid transparent; border-radius: 50%%; box-sizing: border-box; }
.io-pairs { max-width: 460px; max-height: 55vh; overflow: auto; }
.io-pairs table { border-collapse: collapse; font-size: 11px; }
.io-pairs th, .io-pairs td { border: 1px solid #ddd; padding: 1px 3px; text-align: right; }
.io-pairs th.io-rowh { text-align: left; font-weight: normal; white-space: nowrap; }
.io-cell { cursor: pointer; }
.io-lang button { font: inherit; border: 1px solid #999; background: #fff; padding: 2px 7px;
  cursor: pointer; }
.io-lang button.on { background: #333; color: #fff; }
.io-pop table { border-collapse: collapse; margin-top: 4px; }
.io-pop td { padding: 1px 4px; vertical-align: top; }
.io-pop td.k { color: #555; }
.io-flag { color: #b00000; font-weight: bold; margin: 3px 0; }
.io-ev { border-left: 3px solid #b00000; padding-left: 6px; margin: 5px 0 0 0; }
.leaflet-control-layers-list { font-size: 12px; }
"""

_PANELS_JS = """
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this._parent.get_name() }};
    map.attributionControl.setPrefix('Leaflet');
    L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo(map);
    function box(pos, cls, content) {
        var c = L.control({position: pos});
        c.onAdd = function () {
            var d = L.DomUtil.create('div', 'io-box ' + cls);
            d.innerHTML = content;
            L.DomEvent.disableClickPropagation(d);
            L.DomEvent.disableScrollPropagation(d);
            return d;
        };
        c.addTo(map);
        return c.getContainer();
    }
    box('topleft', 'io-title', {{ this.title|tojson }});
    var sw = box('topright', 'io-lang', {{ this.switch|tojson }});
    box('bottomleft', 'io-legend', {{ this.legend|tojson }});
    var pairs = box('bottomright', 'io-pairs', {{ this.pairs|tojson }});
    function setLang(l) {
        document.documentElement.setAttribute('data-lang', l);
        document.documentElement.lang = l;
        sw.querySelectorAll('button').forEach(function (b) {
            b.classList.toggle('on', b.getAttribute('data-lang') === l);
        });
    }
    sw.addEventListener('click', function (e) {
        var b = e.target.closest('button[data-lang]');
        if (b) { setLang(b.getAttribute('data-lang')); }
    });
    setLang(document.documentElement.getAttribute('data-lang') || {{ this.lang|tojson }});
    var hl = null;
    pairs.addEventListener('click', function (e) {
        var td = e.target.closest('[data-a]');
        if (!td) { return; }
        if (hl) { map.removeLayer(hl); }
        hl = L.featureGroup();
        [td.getAttribute('data-a'), td.getAttribute('data-b')].forEach(function (k) {
            ((window.ioProv || {})[k] || []).forEach(function (l) {
                L.polygon(l.getLatLngs(), {color: '#111', weight: 3, dashArray: '6 4',
                    fillColor: '#ffe14d', fillOpacity: 0.25, interactive: false}).addTo(hl);
            });
        });
        if (hl.getLayers().length) { hl.addTo(map); map.fitBounds(hl.getBounds(), {padding: [30, 30]}); }
    });
})();
{% endmacro %}
"""


class _Panels(MacroElement):
    """Title, language switch, legend and province pairs as Leaflet controls, plus a scale bar."""

    _template = Template(_PANELS_JS)

    def __init__(self, *, title: str, legend: str, pairs: str, lang: str) -> None:
        super().__init__()
        self._name = "Panels"
        self.title, self.legend, self.pairs, self.lang = title, legend, pairs, lang
        self.switch = '<button type="button" data-lang="vi">VI</button><button type="button" data-lang="en">EN</button>'


def _features(
    gdf: gpd.GeoDataFrame, props: Sequence[dict[str, Any]], *, points: bool = False
) -> dict[str, Any]:
    """A FeatureCollection of ``gdf``'s geometries rounded to ``COORD_DECIMALS``, with ``props``."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if points:
        not_point = shapely.get_type_id(geoms) != 0
        geoms = np.where(not_point, shapely.point_on_surface(geoms), geoms)
    geoms = shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))
    feats = [
        {"type": "Feature", "geometry": g.__geo_interface__, "properties": p}
        for g, p in zip(geoms, props, strict=True)
    ]
    return {"type": "FeatureCollection", "features": feats}


def _drawable(df: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """The rows of a layer with a usable geometry (an empty frame when the layer is missing)."""
    if df is None or not isinstance(df, gpd.GeoDataFrame) or df.empty:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    if df.crs is not None and not df.crs.equals("EPSG:4326"):
        df = df.to_crs("EPSG:4326")
    return df[df.geometry.notna() & ~df.geometry.is_empty]


def _records(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    cols = [c for c in df.columns if c != "geometry"]
    for values in df[cols].itertuples(index=False, name=None):
        yield dict(zip(cols, values, strict=True))


def _layer_name(vi: str, en: str, *, swatch: str = "") -> str:
    return f'{swatch}{hp.bi(vi, en)}'


def _fix_ids(root: Element) -> None:
    """Replace folium's random element ids by a counter, in tree order (deterministic output)."""
    counter = 0
    stack = [root]
    while stack:
        el = stack.pop(0)
        el._id = f"{counter:04d}"
        counter += 1
        stack[0:0] = list(getattr(el, "_children", {}).values())


def build_map(result: RunResult, *, lang: str = "vi") -> tuple[folium.Map, dict[str, int]]:
    """Assemble the folium map of a run; returns the map and the feature count of each layer.

    Parameters
    ----------
    result : RunResult
        Layers in EPSG:4326 (``analysis.results``); missing layers or fields are skipped.
    lang : {"vi", "en"}
        The language shown when the page opens (both are embedded; the page can switch).
    """
    layers, meta = result.layers, result.meta
    types = meta.get("types") or {}
    edition = meta.get("edition", 34)
    fac = _drawable(layers.get("facilities"))
    present = [t for t in types if t in set(fac.get("type", []))]
    present += sorted(set(fac.get("type", [])) - set(present))
    provinces = _drawable(layers.get("provinces"))
    counts: dict[str, int] = {}

    m = folium.Map(tiles=None, prefer_canvas=True, zoom_snap=0.25, control_scale=False)
    region = meta.get("region") or {}
    label = region.get(f"label_{lang}", region.get("name", "")) if isinstance(region, Mapping) else region
    m.get_root().title = hp.esc(f"{'Trùng lặp đầu tư hạ tầng' if lang == 'vi' else 'Infrastructure overlap'} – {label}")
    m.get_root().header.add_child(
        Element(
            f"<script>document.documentElement.setAttribute('data-lang', {json.dumps(lang)});"
            f"document.documentElement.lang = {json.dumps(lang)};</script>"
            f"<style>{PAGE_CSS % {'sea': SEA_COLOUR}}</style>"
        ),
        name="io_page",
    )

    # basemap: province land with boundaries, not in the layer control
    props = [{"code": str(r.get("prov_code", "")), "style": LAND_STYLE} for r in _records(provinces)]
    folium.GeoJson(
        _features(provinces, props), name="basemap", control=False, interactive=False,
        on_each_feature=_PROVINCE_JS, attribution=hp.attribution_html(meta),
    ).add_to(m)
    counts["provinces"] = len(provinces)

    for t in present:  # choropleths, off by default
        if f"covered_by_others_share_{t}" not in provinces.columns:
            continue
        props = [
            {
                "tip": hp.province_tooltip(r, t, types),
                "style": {"color": "#666", "weight": 0.6, "fillOpacity": 0.7,
                          "fillColor": hp.choro_colour(r.get(f"covered_by_others_share_{t}"))},
            }
            for r in _records(provinces)
        ]
        name = _layer_name("Tỉnh: tỷ lệ do tỉnh khác phục vụ – ", "Provinces: share served from other provinces – ")
        folium.GeoJson(
            _features(provinces, props), name=name + hp.type_label(types, t), show=False,
            on_each_feature=_BIND_JS,
        ).add_to(m)

    catch = _drawable(layers.get("catchments"))
    counts["catchments"] = len(catch)
    for t in present:
        spec = types.get(t) or {}
        sub = catch[catch["type"] == t] if len(catch) else catch
        brks = sorted({float(b) for b in spec.get("breaks_min", [])} | {float(b) for b in sub.get("break_min", [])})
        primary = float(spec.get("primary_min", brks[len(brks) // 2] if brks else 0))
        colour = hp.type_colour(t, present)
        for rank in range(len(brks) - 1, -1, -1):  # longest first, drawn below
            b = brks[rank]
            part = sub[sub["break_min"].astype(float) == b].sort_values("coverage", ascending=False, kind="stable")
            if part.empty:
                continue
            style = {"color": colour, "weight": 1, "opacity": 0.6, "fillColor": colour,
                     "fillOpacity": round(hp.catchment_opacity(rank, len(brks)), 3)}
            props = [{"tip": hp.catchment_tooltip(r, types), "style": style} for r in _records(part)]
            name = f"{hp.type_label(types, t)}: {hp.bi('vùng phục vụ', 'catchment')} ≤ {b:g} {hp.bi('phút', 'min')}"
            folium.GeoJson(
                _features(part, props), name=name, show=(b == primary), on_each_feature=_BIND_JS
            ).add_to(m)

    ovl = _drawable(layers.get("overlaps"))
    if len(ovl):
        prim = {t: float((types.get(t) or {}).get("primary_min", np.nan)) for t in present}
        ovl = ovl[ovl["break_min"].astype(float) == ovl["type"].map(prim)]
    counts["overlaps"] = len(ovl)
    if len(ovl):
        props = [
            {"tip": hp.overlap_tooltip(r, types),
             "style": {"color": hp.type_colour(str(r.get("type")), present), "opacity": 0.75,
                       "weight": round(1 + 6 * float(r.get("overlap_share") or 0), 2)}}
            for r in _records(ovl)
        ]
        folium.GeoJson(
            _features(ovl, props), name=_layer_name("Chồng lấn (ngưỡng chính)", "Overlaps (primary break)"),
            show=False, on_each_feature=_BIND_JS,
        ).add_to(m)

    fac_rows = {str(r.get("facility_id")): r for r in _records(fac)}
    flags = _drawable(layers.get("flags"))
    counts["flags"] = len(flags)
    if len(flags):
        props = []
        for r in _records(flags):
            full = {**r, **fac_rows.get(str(r.get("facility_id")), {}), "flag": True}
            fragile = str(r.get("flag_robustness")) == "fragile"
            props.append({
                "tip": hp.facility_tooltip(full, types), "pop": hp.facility_popup(full, types, edition=edition),
                "style": {"color": hp.FLAG_COLOUR, "weight": 2 if fragile else 3.5, "fill": False,
                          "dashArray": "4 4" if fragile else None, "radius": 13},
            })
        folium.GeoJson(
            _features(flags, props, points=True),
            name=_layer_name("Cơ sở bị gắn cờ trùng lặp", "Flagged as redundant"),
            marker=folium.CircleMarker(radius=13), on_each_feature=_BIND_JS,
        ).add_to(m)

    counts["facilities"] = len(fac)
    for t in present:
        part = fac[fac["type"] == t]
        colour = hp.type_colour(t, present)
        props = []
        for r in _records(part):
            planned = str(r.get("status")) == "planned"
            props.append({
                "tip": hp.facility_tooltip(r, types), "pop": hp.facility_popup(r, types, edition=edition),
                "style": {"color": colour if planned else "#ffffff", "weight": 2 if planned else 1.5,
                          "fillColor": colour, "fillOpacity": 0.0 if planned else 0.95,
                          "dashArray": "3 3" if planned else None,
                          "radius": 5 if t == "industrial_park" else 7},
            })
        n_op = int((part["status"] != "planned").sum()) if "status" in part.columns else len(part)
        counts_txt = f" ({n_op} + {len(part) - n_op} {hp.bi('quy hoạch', 'planned')})"
        folium.GeoJson(
            _features(part, props, points=True), name=hp.type_label(types, t, plural=True) + counts_txt,
            marker=folium.CircleMarker(radius=7), on_each_feature=_BIND_JS,
        ).add_to(m)

    n_flags = int(fac["flag"].astype(bool).sum()) if "flag" in fac.columns else len(flags)
    _Panels(
        title=hp.title_html(meta, present, n_flags=n_flags),
        legend=hp.legend_html(present, types),
        pairs=hp.pairs_html(layers.get("province_matrix"), types, present, edition=edition),
        lang=lang,
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if len(provinces):
        x0, y0, x1, y1 = provinces.total_bounds
    elif len(fac):
        x0, y0, x1, y1 = fac.total_bounds
    else:
        x0, y0, x1, y1 = 102.0, 8.0, 110.0, 23.5
    m.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]])
    return m, counts


def write_map(result: RunResult, path: str | Path, *, lang: str = "vi") -> dict[str, Any]:
    """Write the planner's map of a run as one self-contained, offline HTML file, atomically.

    Parameters
    ----------
    result : RunResult
        The run (layers in EPSG:4326).
    path : str or Path
        The HTML file to write (replaced only once completely written).
    lang : {"vi", "en"}
        The language the page opens in; a switch on the page shows the other.

    Returns
    -------
    dict
        ``bytes`` (file size) and ``n_features`` (features drawn per layer).
    """
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    m, counts = build_map(result, lang=lang)
    root = m.get_root()
    _fix_ids(root)
    text = root.render()
    data = text.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    log.info("map: %s (%.1f MB, %s)", path, len(data) / 1e6, counts)
    return {"bytes": len(data), "n_features": counts}
