"""The fixed parts of map.html: page CSS, feature-binding scripts and the panel controls.

Nothing here comes from data: the panels' HTML is built (escaped) by ``maps.html_panels`` and
reaches the page through ``tojson`` (``maps.html_map.script_safe_json``: nothing in it can end
the script).
"""

from __future__ import annotations

from collections.abc import Sequence

from branca.element import Element, MacroElement
from offlinefolium.template import Template
from offlinefolium.utilities import JsCode

BIND_JS = JsCode(
    """function (feature, layer) {
    var p = feature.properties;
    if (p.s !== undefined) { p.style = window.ioStyles[p.s]; }  // shared styles (html_layers)
    if (p.tip) { layer.bindTooltip(p.tip, {sticky: true, className: 'io-tip'}); }
    // on a wide screen, pan popups clear of the side panels (title and legend left, layers right)
    var wide = window.innerWidth >= 1100;
    if (p.fid && p.pop) { (window.ioPop = window.ioPop || {})[p.fid] = p.pop; }
    if (p.fid) { (window.ioFac = window.ioFac || {})[p.fid] = layer; }
    if (p.ref) {  // a flag ring shows the popup of its facility (embedded once)
        p.pop = function () { return (window.ioPop || {})[p.ref] || ''; };
    }
    if (p.pop) {
        layer.bindPopup(p.pop, {maxWidth: 380, autoPanPaddingTopLeft: wide ? [345, 10] : [5, 5],
                                autoPanPaddingBottomRight: wide ? [400, 10] : [5, 5]});
    }
}"""
)
PROVINCE_JS = JsCode(
    """function (feature, layer) {
    var k = feature.properties.code;
    window.ioProv = window.ioProv || {};
    (window.ioProv[k] = window.ioProv[k] || []).push(layer);
}"""
)

PAGE_CSS = """
html[data-lang=vi] l-en, html[data-lang=en] l-vi { display: none; }
html .leaflet-container { background: %(sea)s; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.io-box { background: rgba(255,255,255,0.94); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); font-size: 12px; line-height: 1.35; color: #222;
  max-width: 320px; }
.io-box h1 { font-size: 14px; margin: 0 0 3px 0; }
.io-box h2 { font-size: 12px; margin: 6px 0 2px 0; }
.io-box ul { margin: 3px 0; padding-left: 16px; }
.io-box summary { cursor: pointer; font-weight: bold; }
.io-small { font-size: 11px; color: #444; margin: 3px 0; }
.io-legend { max-height: 40vh; overflow-y: auto; }
.io-legend div { margin: 1px 0; white-space: nowrap; }
.io-cols { display: grid; grid-template-columns: repeat(3, auto); column-gap: 8px; }
.sw { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 0; vertical-align: middle;
  border: 1px solid transparent; border-radius: 50%%; box-sizing: border-box; }
.io-pairs { max-width: 360px; max-height: 40vh; overflow: auto; }
.io-pairs ol { margin: 2px 0; padding-left: 26px; font-size: 11px; }
.io-pairs li { position: relative; padding: 1px 2px; }
.io-pairs .io-pn, .io-pairs .io-pv { position: relative; z-index: 1; }
.io-pn { display: inline-block; max-width: 220px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: bottom; unicode-bidi: isolate; }
.io-pv { float: right; margin-left: 6px; }
.io-bar { position: absolute; left: 0; top: 1px; bottom: 1px; background: rgba(189,0,38,0.16);
  z-index: 0; }
.io-cell { cursor: pointer; }
.io-cell:hover, .io-cell:focus { outline: 1px solid #b00000; }
.io-lang button { font: inherit; border: 1px solid #999; background: #fff; padding: 2px 7px;
  cursor: pointer; }
.io-lang button.on { background: #333; color: #fff; }
.io-pop { font-size: 12px; line-height: 1.35; }
.io-pop > b { font-size: 14px; }
.io-pop table { border-collapse: collapse; margin-top: 4px; }
.io-pop td { padding: 1px 4px; vertical-align: top; }
.io-pop td.k { color: #555; }
.io-flag { color: #b00000; font-weight: bold; margin: 3px 0; }
.io-ev { border-left: 3px solid #b00000; padding-left: 6px; margin: 5px 0 0 0; }
.leaflet-control-layers-list { font-size: 12px; }
.leaflet-control-attribution { max-width: 55vw; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.leaflet-control-attribution:hover { white-space: normal; max-height: 40vh; overflow-y: auto; }
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
    box('bottomright', 'io-legend', {{ this.legend|tojson }});
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
    // choropleths share the basemap's province geometry (each type would otherwise repeat it)
    {%- for t, group in this.choropleths %}
    // L.featureGroup(options) takes layers first: folium's options never reach the group
    {{ group.get_name() }}.options.ioOrder = {{ group.options.get("io_order", 0)|tojson }};
    Object.keys(window.ioProv || {}).forEach(function (k) {
        window.ioProv[k].forEach(function (l) {
            var c = (l.feature.properties.ch || {})[{{ t|tojson }}];
            if (!c) { return; }
            L.geoJSON(l.feature, {
                pane: 'io-choro',
                style: {color: '#666666', weight: 0.6, opacity: 1, fillOpacity: 0.7, fillColor: c.c},
                onEachFeature: function (f, layer) {
                    layer.bindTooltip(c.tip, {sticky: true, className: 'io-tip'});
                }
            }).addTo({{ group.get_name() }});
        });
    });
    {%- endfor %}
    var hl = null;
    pairs.addEventListener('keydown', function (e) {
        if ((e.key === 'Enter' || e.key === ' ') && e.target.closest('[data-a]')) {
            e.preventDefault();
            e.target.click();
        }
    });
    pairs.addEventListener('click', function (e) {
        var td = e.target.closest('[data-a]');
        if (!td) { return; }
        if (hl) { map.removeLayer(hl); }
        hl = L.featureGroup();
        [td.getAttribute('data-a'), td.getAttribute('data-b')].forEach(function (k) {
            ((window.ioProv || {})[k] || []).forEach(function (l) {
                L.polygon(l.getLatLngs(), {color: '#111', weight: 3, dashArray: '6 4',
                    fillColor: '#ffe14d', fillOpacity: 0.25, interactive: false,
                    pane: 'io-highlight'}).addTo(hl);
            });
        });
        if (hl.getLayers().length) { hl.addTo(map); map.fitBounds(hl.getBounds(), {padding: [30, 30], animate: false}); }
    });
})();
{% endmacro %}
"""


class Panels(MacroElement):
    """Title, language switch, legend and province pairs as Leaflet controls, plus a scale bar.

    Also fills the choropleth groups from the basemap's provinces (see ``choropleths``).
    """

    _template = Template(_PANELS_JS)

    def __init__(
        self,
        *,
        title: str,
        legend: str,
        pairs: str,
        lang: str,
        choropleths: Sequence[tuple[str, Element]] = (),
    ) -> None:
        super().__init__()
        self._name = "Panels"
        self.title, self.legend, self.pairs, self.lang = title, legend, pairs, lang
        self.choropleths = list(choropleths)  # (type, empty FeatureGroup to fill from the basemap)
        self.switch = '<button type="button" data-lang="vi">VI</button><button type="button" data-lang="en">EN</button>'
