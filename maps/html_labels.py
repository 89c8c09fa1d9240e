"""Place names on map.html: province names and the major cities, shown by default.

Province names sit at a point inside each province (``point_on_surface``); cities are the most
populous of ``cities_geonames.csv`` (GeoNames, CC BY 4.0, ``geo.cities``), leaving out a city
within ``min_km`` of a larger one already kept (GeoNames lists several districts of Hồ Chí Minh
City as cities). Labels are permanent Leaflet tooltips; their text is escaped here.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import offlinefolium as folium
import shapely
from offlinefolium.utilities import JsCode

from maps import html_layers as hl
from maps import html_panels as hp

LABEL_JS = JsCode(
    """function (feature, layer) {
    var p = feature.properties;
    layer.bindTooltip(p.lbl, {permanent: true, direction: p.dir, className: p.cls,
                              interactive: false, offset: p.dir === 'right' ? [3, 0] : [0, 0]});
}"""
)


def spaced_cities(cities: gpd.GeoDataFrame, *, keep: int, min_km: float) -> gpd.GeoDataFrame:
    """The first ``keep`` rows of ``cities`` (largest first) at least ``min_km`` from a kept one."""
    if cities.empty:
        return cities
    lon = np.radians(cities.geometry.x.to_numpy())
    lat = np.radians(cities.geometry.y.to_numpy())
    kept: list[int] = []
    for i in range(len(cities)):
        if len(kept) >= keep:
            break
        j = np.array(kept, dtype=int)
        # haversine distance to the kept cities, km
        a = (
            np.sin((lat[j] - lat[i]) / 2) ** 2
            + np.cos(lat[i]) * np.cos(lat[j]) * np.sin((lon[j] - lon[i]) / 2) ** 2
        )
        if j.size and float((2 * 6371.0 * np.arcsin(np.sqrt(a))).min()) < min_km:
            continue
        kept.append(i)
    return cities.iloc[kept]


def add_labels(
    m: folium.Map,
    provinces: gpd.GeoDataFrame,
    cities: gpd.GeoDataFrame,
    *,
    major: int = 6,
) -> list[folium.GeoJson]:
    """Two layers, both shown: province names and city names (the ``major`` largest always).

    Returns the layers added, tagged for the layer control's "base" group (keys ``names``,
    ``cities``).
    """
    out = []
    if len(provinces) and "prov_name" in provinces.columns:
        props = [
            {"lbl": hp.esc(r.get("prov_name")), "dir": "center", "cls": "io-plabel"}
            for r in hl.records(provinces)
        ]
        pts = provinces.set_geometry(shapely.point_on_surface(provinces.geometry.values))
        layer = folium.GeoJson(
            hl.features(pts, props, points=True),
            name=hp.bi("Tên tỉnh", "Province names"),
            marker=_dot(0),
            on_each_feature=LABEL_JS,
        )
        hl.tag(layer, group="base", key="names").add_to(m)
        out.append(layer)
    if len(cities):
        props = [
            {
                "lbl": hp.bi(hp.esc(r.get("name_vi") or r.get("name")), hp.esc(r.get("name"))),
                "dir": "right",
                "cls": "io-city" + ("" if i < major else " io-minor"),
            }
            for i, r in enumerate(hl.records(cities))
        ]
        layer = folium.GeoJson(
            hl.features(cities, props, points=True),
            name=hp.bi("Thành phố lớn (GeoNames)", "Major cities (GeoNames)"),
            marker=_dot(2.5),
            on_each_feature=LABEL_JS,
        )
        hl.tag(layer, group="base", key="cities").add_to(m)
        out.append(layer)
    return out


def _dot(radius: float) -> folium.CircleMarker:
    dot = hl.marker(radius, pane="io-facility")
    dot.options.update(
        {
            "color": "#222222",
            "weight": 1,
            "fillColor": "#222222",
            "fillOpacity": 1.0,
            "opacity": 1.0 if radius else 0.0,
            "interactive": False,
        }
    )
    return dot
