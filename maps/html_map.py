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
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import offlinefolium as folium
import pandas as pd
import shapely
from branca.element import Element
from offlinefolium.utilities import JsCode

from analysis.results import RunResult
from geo.files import atomic_path
from maps import html_panels as hp
from maps.html_assets import BIND_JS, PAGE_CSS, PROVINCE_JS, Panels

log = logging.getLogger(__name__)

TYPE_ORDER = ("seaport", "airport", "industrial_park")
COORD_DECIMALS = 5  # ~1 m: more digits only make the file bigger
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
LAND_STYLE = {"color": "#8f8f8f", "weight": 0.8, "fillColor": "#f5f2ea", "fillOpacity": 1.0}


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


def _marker(radius: float, *, pane: str) -> folium.CircleMarker:
    """The circle each point feature becomes (folium's path options drop ``pane``)."""
    marker = folium.CircleMarker(radius=radius)
    marker.options["pane"] = pane
    return marker


def _simplified(
    gdf: gpd.GeoDataFrame, *, tolerance_m: float, metric_crs: str | None, coverage: bool = False
) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` simplified for display, in the metric CRS (``coverage``: shared edges kept)."""
    if (
        gdf.empty
        or not tolerance_m
        or not metric_crs
        or gpd.GeoSeries(crs=metric_crs).crs.is_geographic
    ):
        return gdf
    geoms = gdf.geometry.to_crs(metric_crs).values
    simple = (
        shapely.coverage_simplify(geoms, tolerance_m)
        if coverage
        else shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    )
    out = gdf.set_geometry(gpd.GeoSeries(simple, index=gdf.index, crs=metric_crs).to_crs(gdf.crs))
    return out[~out.geometry.is_empty]


def _add_basemap(
    m: folium.Map, provinces: gpd.GeoDataFrame, present: list[str], meta: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """Province land (not in the layer control) and one empty choropleth group per type.

    The groups are filled in the page from the basemap's geometry (``Panels``), so the province
    polygons are embedded once whatever the number of types.
    """
    types = meta.get("types") or {}
    shaded = [t for t in present if f"covered_by_others_share_{t}" in provinces.columns]
    props = []
    for r in _records(provinces):
        ch = {
            t: {
                "c": hp.choro_colour(r.get(f"covered_by_others_share_{t}")),
                "tip": hp.province_tooltip(r, t, types),
            }
            for t in shaded
        }
        props.append({"code": str(r.get("prov_code", "")), "style": LAND_STYLE, "ch": ch})
    folium.GeoJson(
        _features(provinces, props),
        name="basemap",
        control=False,
        interactive=False,
        on_each_feature=PROVINCE_JS,
        attribution=hp.attribution_html(meta),
        pane="io-land",
    ).add_to(m)
    groups = []
    for t in reversed(shaded):  # listed in reverse of drawing: first type on top
        name = hp.bi(
            "Tỉnh: tỷ lệ do tỉnh khác phục vụ – ", "Provinces: share served from other provinces – "
        )
        fg = folium.FeatureGroup(name=name + hp.type_label(types, t), show=False)
        fg.add_to(m)
        groups.append((t, fg))
    return groups


def _add_catchments(
    m: folium.Map, catch: gpd.GeoDataFrame, present: list[str], types: Mapping[str, Any]
) -> None:
    """One layer per type and break; the primary break shown, the others toggleable."""
    if catch.empty or not {"type", "break_min"} <= set(catch.columns):
        return
    for t in reversed(present):
        spec = types.get(t) or {}
        sub = catch[catch["type"] == t]
        brks = sorted(
            {float(b) for b in spec.get("breaks_min", [])}
            | {float(b) for b in sub.get("break_min", [])}
        )
        primary = float(spec.get("primary_min", brks[len(brks) // 2] if brks else 0))
        colour = hp.type_colour(t, present)
        for rank in range(len(brks) - 1, -1, -1):  # longest first: listed last, drawn lowest
            b = brks[rank]
            part = sub[sub["break_min"].astype(float) == b]
            if "coverage" in part.columns:  # big polygons first, drawn under the small ones
                part = part.sort_values("coverage", ascending=False, kind="stable")
            if part.empty:
                continue
            style = {
                "color": colour,
                "weight": 1,
                "opacity": 0.6,
                "fillColor": colour,
                "fillOpacity": round(hp.catchment_opacity(rank, len(brks)), 3),
            }
            props = [
                {"tip": hp.catchment_tooltip(r, types), "style": style} for r in _records(part)
            ]
            name = f"{hp.type_label(types, t)}: {hp.bi('vùng phục vụ', 'catchment')} ≤ {b:g} {hp.bi('phút', 'min')}"
            folium.GeoJson(
                _features(part, props),
                name=name,
                show=(b == primary),
                on_each_feature=BIND_JS,
                pane=f"io-catch-{min(len(brks) - 1 - rank, 3)}",
            ).add_to(m)


def _add_overlaps(
    m: folium.Map,
    ovl: gpd.GeoDataFrame,
    present: list[str],
    types: Mapping[str, Any],
    *,
    min_share: float,
    max_lines: int,
) -> int:
    """Overlap lines at each type's primary break with a share of at least ``min_share`` (off by default)."""
    if ovl.empty or not {"type", "break_min", "overlap", "overlap_share"} <= set(ovl.columns):
        return 0
    prim = {t: float((types.get(t) or {}).get("primary_min", math.nan)) for t in present}
    ovl = ovl[
        (ovl["break_min"].astype(float) == ovl["type"].map(prim))
        & (ovl["overlap_share"] >= min_share)
    ]
    keys = [c for c in ("overlap", "facility_a", "facility_b") if c in ovl.columns]
    ovl = ovl.sort_values(keys, ascending=[k != "overlap" for k in keys], kind="stable")
    ovl = ovl.head(max_lines)
    if ovl.empty:
        return 0
    props = [
        {
            "tip": hp.overlap_tooltip(r, types),
            "style": {
                "color": hp.type_colour(str(r.get("type")), present),
                "opacity": 0.75,
                "weight": round(1 + 6 * float(r.get("overlap_share") or 0), 2),
            },
        }
        for r in _records(ovl)
    ]
    share = f"{min_share * 100:.0f}%"
    folium.GeoJson(
        _features(ovl, props),
        name=hp.bi(f"Chồng lấn ≥ {share} (ngưỡng chính)", f"Overlaps ≥ {share} (primary break)"),
        show=False,
        on_each_feature=BIND_JS,
        pane="io-overlap",
    ).add_to(m)
    return len(ovl)


def _add_points(
    m: folium.Map,
    fac: gpd.GeoDataFrame,
    flags: gpd.GeoDataFrame,
    present: list[str],
    types: Mapping[str, Any],
    *,
    edition: Any,
) -> None:
    """Flag rings (robust solid, fragile dashed) and facilities by type (planned hollow, dashed)."""
    fac_rows = {str(r.get("facility_id")): r for r in _records(fac)}
    if len(flags):
        props = []
        for r in _records(flags):
            full = {**r, **fac_rows.get(str(r.get("facility_id")), {}), "flag": True}
            fragile = str(r.get("flag_robustness")) == "fragile"
            props.append(
                {
                    "tip": hp.facility_tooltip(full, types),
                    "pop": hp.facility_popup(full, types, edition=edition),
                    "style": {
                        "color": hp.FLAG_COLOUR,
                        "weight": 2 if fragile else 3.5,
                        "fill": False,
                        "dashArray": "4 4" if fragile else None,
                        "radius": 10 if full.get("type") == "industrial_park" else 13,
                    },
                }
            )
        folium.GeoJson(
            _features(flags, props, points=True),
            name=hp.bi("Cơ sở bị gắn cờ trùng lặp", "Flagged as redundant"),
            marker=_marker(13, pane="io-flag"),
            on_each_feature=BIND_JS,
        ).add_to(m)
    for t in reversed(present):
        part = fac[fac["type"] == t]
        colour = hp.type_colour(t, present)
        props = []
        for r in _records(part):
            planned = str(r.get("status")) == "planned"
            props.append(
                {
                    "tip": hp.facility_tooltip(r, types),
                    "pop": hp.facility_popup(r, types, edition=edition),
                    "style": {
                        "fill": True,
                        "color": colour if planned else "#ffffff",
                        "weight": 2.5 if planned else 1.5,
                        "fillColor": colour,
                        "fillOpacity": 0.0 if planned else 0.95,
                        "dashArray": "3 3" if planned else None,
                        "radius": 5 if t == "industrial_park" else 7,
                    },
                }
            )
        n_planned = int((part["status"] == "planned").sum()) if "status" in part.columns else 0
        label = f" ({len(part) - n_planned} + {n_planned} {hp.bi('quy hoạch', 'planned')})"
        folium.GeoJson(
            _features(part, props, points=True),
            name=hp.type_label(types, t, plural=True) + label,
            marker=_marker(7, pane="io-facility"),
            on_each_feature=BIND_JS,
        ).add_to(m)


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
    max_overlap_lines: int = 1500,
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
    types = meta.get("types") or {}
    edition = meta.get("edition", 34)
    metric_crs = getattr(result.grid, "crs", None)
    fac = _drawable(layers.get("facilities"))
    found = set(fac.get("type", []))
    present = [t for t in TYPE_ORDER if t in found] + sorted(found - set(TYPE_ORDER))

    # SVG, not canvas: with panes (fixed draw order, whatever is toggled) canvases of upper panes
    # would swallow the pointer events of the layers below; ~2,000 paths are fine in SVG
    m = folium.Map(tiles=None, prefer_canvas=False, zoom_snap=0.25, control_scale=False)
    for pane, z in PANES.items():
        folium.map.CustomPane(pane, z_index=z).add_to(m)
    region = meta.get("region") or {}
    label = (
        region.get(f"label_{lang}", region.get("name", ""))
        if isinstance(region, Mapping)
        else region
    )
    m.get_root().title = hp.esc(
        f"{'Trùng lặp đầu tư hạ tầng' if lang == 'vi' else 'Infrastructure overlap'} – {label}"
    )
    m.get_root().header.add_child(
        Element(
            f"<script>document.documentElement.setAttribute('data-lang', {json.dumps(lang)});"
            f"document.documentElement.lang = {json.dumps(lang)};</script>"
            f"<style>{PAGE_CSS % {'sea': SEA_COLOUR}}</style>"
        ),
        name="io_page",
    )
    provinces = _simplified(
        _drawable(layers.get("provinces")),
        tolerance_m=boundary_simplify_m,
        metric_crs=metric_crs,
        coverage=True,
    )
    groups = _add_basemap(m, provinces, present, meta)
    catch_tol = (
        catchment_simplify_m
        if catchment_simplify_m is not None
        else getattr(result.grid, "cell_size_m", 0.0)
    )
    catch = _simplified(
        _drawable(layers.get("catchments")), tolerance_m=catch_tol, metric_crs=metric_crs
    )
    _add_catchments(m, catch, present, types)
    n_overlaps = _add_overlaps(
        m,
        _drawable(layers.get("overlaps")),
        present,
        types,
        min_share=min_overlap_share,
        max_lines=max_overlap_lines,
    )
    flags = _drawable(layers.get("flags"))
    _add_points(m, fac, flags, present, types, edition=edition)

    n_flags = int(fac["flag"].astype(bool).sum()) if "flag" in fac.columns else len(flags)
    Panels(
        title=hp.title_html(meta, present, n_flags=n_flags),
        legend=hp.legend_html(present, types),
        pairs=hp.pairs_html(layers.get("province_matrix"), types, present, edition=edition),
        lang=lang,
        choropleths=groups,
    ).add_to(m)
    # list the layers top of the drawing first, as a GIS layer panel does
    for rank, layer in enumerate(m._children.values()):
        if getattr(layer, "control", False) and hasattr(layer, "options"):
            layer.options["io_order"] = rank
    folium.LayerControl(
        collapsed=False,
        sort_layers=True,
        sort_function=JsCode("function (a, b) { return b.options.ioOrder - a.options.ioOrder; }"),
    ).add_to(m)
    bounds = provinces if len(provinces) else fac
    x0, y0, x1, y1 = bounds.total_bounds if len(bounds) else (102.0, 8.0, 110.0, 23.5)
    m.fit_bounds([[round(float(v), COORD_DECIMALS) for v in pair] for pair in ((y0, x0), (y1, x1))])
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
    max_overlap_lines: int = 1500,
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
    data = root.render().encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    log.info("map: %s (%.1f MB, %s)", path, len(data) / 1e6, counts)
    return {"bytes": len(data), "n_features": counts}
