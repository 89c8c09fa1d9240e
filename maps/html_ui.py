"""The interactive parts of map.html that need the whole page: findings, layer groups, URL state.

``Ui`` is added to the map after the layer control and the initial ``fit_bounds``, so that it can

* group the layer control's entries under collapsible headings (by type, plus the base map and
  the findings), and keep them grouped whenever Leaflet redraws the list;
* show one choropleth at a time, and each legend section only while a layer it explains is shown
  (layers carry a legend key, sections a ``data-lg`` attribute);
* build the findings panel (``maps.html_findings``) with ``textContent`` only: names from data are
  never parsed as HTML;
* read the view, the findings filter and the layers switched on or off from the URL fragment on
  load (``#z=9&lat=21.0&lon=105.8&type=industrial_park&prov=Hà Nội&q=...&on=choro-seaport``,
  DESIGN.md "Map state in the URL"; layer keys as ``maps.html_layers.tag`` gives them) and write it
  back when the user moves the map, changes a filter or toggles a layer; ``open=`` / ``closed=``
  unfold or fold panels (``findings``, ``pairs``, ``legend``, ``title``, ``layers``) and layer
  groups (``seaport``, ``base``, ...);
* collapse the panels on a narrow screen (below 700 px) so that the map keeps most of it.

Nothing here comes from data except through ``tojson`` (``maps.html_map.script_safe_json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from branca.element import Element, MacroElement
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from offlinefolium.template import Template

NARROW_PX = 700

UI_CSS = """
.io-find { max-width: 330px; }
.io-find summary { font-size: 13px; }
.io-fctl { display: flex; flex-wrap: wrap; gap: 3px; margin: 4px 0; }
.io-fctl select, .io-fctl input { font: inherit; font-size: 11px; max-width: 150px; min-width: 0; }
.io-fctl input { flex: 1 1 100%%; max-width: none; }
.io-fscroll { max-height: calc(100vh - 250px); overflow-y: auto; overflow-x: hidden; }
.io-flist { list-style: none; margin: 0; padding: 0; }
.io-flist li { display: flex; gap: 4px; align-items: baseline; padding: 2px 2px;
  border-bottom: 1px solid #eee; cursor: pointer; min-width: 0; }
.io-flist li:hover, .io-flist li:focus { background: #fff3cd; outline: none; }
.io-fr { flex: 0 0 auto; min-width: 1.8em; text-align: right; color: #b00000; font-weight: bold; }
.io-fd { flex: 0 0 auto; width: 9px; height: 9px; border-radius: 50%%; align-self: center; }
.io-fb { flex: 1 1 auto; min-width: 0; }
.io-fn { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  unicode-bidi: isolate; }
.io-fm { display: block; color: #555; font-size: 10.5px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; unicode-bidi: isolate; }
.io-fsep { margin: 6px 0 2px 0; padding-top: 4px; border-top: 2px solid #999; font-size: 11px;
  color: #444; font-weight: bold; }
.io-fo .io-fr { color: #666; }
.io-fcount { font-size: 11px; color: #444; }
.io-lgsec[hidden] { display: none; }
.io-grp > summary { font-weight: bold; cursor: pointer; margin: 3px 0 1px 0; }
.io-grp label { display: block; padding-left: 10px; }
.leaflet-tooltip.io-plabel { background: transparent; border: 0; box-shadow: none; color: #555; font-size: 10px;
  font-weight: bold; text-shadow: 0 0 2px #fff, 0 0 2px #fff; padding: 0; }
.leaflet-tooltip.io-plabel::before, .leaflet-tooltip.io-city::before { display: none; }
.leaflet-tooltip.io-city { background: transparent; border: 0; box-shadow: none; color: #111; font-size: 11px;
  font-style: italic; text-shadow: 0 0 2px #fff, 0 0 3px #fff; padding: 0 0 0 2px; }
.io-zlow .leaflet-tooltip.io-plabel { font-size: 8.5px; }
.io-zlow .leaflet-tooltip.io-city.io-minor { display: none; }
@media (max-width: %(narrow)dpx) {
  .io-box { max-width: 62vw; font-size: 11px; }
  .io-title h1 { font-size: 12px; }
  .io-legend, .io-pairs { max-height: 30vh; }
  .io-fscroll { max-height: 40vh; }
  .leaflet-control-attribution { max-width: 90vw; }
}
"""

# the page script (a Jinja macro for folium), kept as JavaScript in its own file
_UI_JS = (Path(__file__).parent / "templates" / "map_ui.js").read_text(encoding="utf-8")


def _text_json(value: Any) -> Markup:
    """JSON of plain text from data for the page script: ``<``, ``>``, ``&``, ``'`` escaped."""
    kwargs: dict[str, Any] = {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}
    return htmlsafe_json_dumps(value, **kwargs)


class Ui(MacroElement):
    """Findings panel, layer-control groups, legend switching and the URL state of the page.

    Parameters
    ----------
    control : Element
        The map's ``LayerControl``.
    findings : list of dict
        Rows from :func:`maps.html_findings.findings_records`.
    type_names : dict
        ``{type: [label_vi, label_en]}`` in plain text.
    colours : dict
        ``{type: colour}``.
    groups : sequence of (key, label_html)
        The layer-control headings in order; labels are fixed, escaped HTML.
    layers : sequence of (layer, group_key, legend_key, key)
        Every layer of the control with its heading, its legend section ("" for none) and its
        key in the fragment's ``on=`` / ``off=`` lists.
    texts : dict
        Fixed bilingual texts of the panel.
    bounds : list, optional
        ``[[south, west], [north, east]]`` of the region: on a wide screen the first view is
        fitted to it clear of the findings panel (the URL fragment's view still wins).
    """

    _template = Template(_UI_JS)

    def __init__(
        self,
        *,
        control: Element,
        findings: list[dict[str, Any]],
        type_names: Mapping[str, list[str]],
        colours: Mapping[str, str],
        groups: Sequence[tuple[str, str]],
        layers: Sequence[tuple[Element, str, str, str]],
        texts: Mapping[str, Any],
        bounds: list[list[float]] | None = None,
    ) -> None:
        super().__init__()
        self._name = "Ui"
        self.control = control
        self.findings = findings
        # plain text from data, set with textContent: every "<", ">", "&", "'" escaped (Jinja's
        # own), so that no name shows as markup anywhere in the page's source
        self.findings_json = _text_json(findings)
        self.type_names_json = _text_json(dict(type_names))
        self.colours = dict(colours)
        self.groups = [list(g) for g in groups]
        self.layers = list(layers)
        self.texts = dict(texts)
        self.narrow = NARROW_PX
        self.bounds = bounds
