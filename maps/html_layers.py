"""The layers of map.html as folium GeoJson layers, one per group, with pre-escaped popups.

Each feature carries ``tip`` / ``pop`` (HTML built by ``maps.html_panels`` from escaped data)
and ``style``; the page binds them (``maps.html_assets.BIND_JS``). Geometries are simplified
for display in the metric CRS and their coordinates rounded to ``COORD_DECIMALS``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import offlinefolium as folium
import pandas as pd
import shapely

from analysis.results import RunMeta
from analysis.text import fmt_pct
from maps import html_panels as hp
from maps.html_assets import BIND_JS, PROVINCE_JS

COORD_DECIMALS = 5  # ~1 m: more digits only make the file bigger
# lines and provinces (simplified by 250 m): ~10 m is plenty; catchments and the "served by"
# areas (maps.html_several) are unions of 1 km cells simplified by 1 km: ~100 m
SHAPE_DECIMALS = 4
AREA_DECIMALS = 3
LAND_STYLE = {"color": "#8f8f8f", "weight": 0.8, "fillColor": "#f5f2ea", "fillOpacity": 1.0}


def features(
    gdf: gpd.GeoDataFrame,
    props: Sequence[dict[str, Any]],
    *,
    points: bool = False,
    decimals: int | None = None,
) -> dict[str, Any]:
    """A FeatureCollection of ``gdf``'s geometries with ``props``, coordinates rounded.

    Points to ``COORD_DECIMALS``, lines and polygons (simplified for display) to
    ``SHAPE_DECIMALS``, unless ``decimals`` is given.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if points:
        not_point = shapely.get_type_id(geoms) != 0
        geoms = np.where(not_point, shapely.point_on_surface(geoms), geoms)
    if decimals is None:
        decimals = COORD_DECIMALS if points else SHAPE_DECIMALS
    geoms = shapely.transform(geoms, lambda c: np.round(c, decimals))
    feats = [
        {"type": "Feature", "geometry": g.__geo_interface__, "properties": p}
        for g, p in zip(geoms, props, strict=True)
    ]
    return {"type": "FeatureCollection", "features": feats}


def share_styles(layers: Sequence[Any]) -> list[dict[str, Any]]:
    """Replace each feature's ``style`` by ``s``, an index into the returned table of styles.

    Only layers bound with ``BIND_JS`` (which puts the style back from ``window.ioStyles``
    before Leaflet applies it); a style repeated by hundreds of features is written once.
    """
    table: dict[str, int] = {}
    styles: list[dict[str, Any]] = []
    for layer in layers:
        if getattr(layer, "on_each_feature", None) is not BIND_JS:
            continue
        for f in getattr(layer, "data", {}).get("features", []):
            style = f["properties"].pop("style", None)
            if style is None:
                continue
            key = json.dumps(style, sort_keys=True)
            if key not in table:
                table[key] = len(styles)
                styles.append(style)
            f["properties"]["s"] = table[key]
    return styles


def drawable(df: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """The rows of a layer with a usable geometry (an empty frame when the layer is missing)."""
    if df is None or not isinstance(df, gpd.GeoDataFrame) or df.empty:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    gdf: gpd.GeoDataFrame = df
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    return gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]


def records(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    cols = [c for c in df.columns if c != "geometry"]
    for values in df[cols].itertuples(index=False, name=None):
        yield dict(zip(cols, values, strict=True))


def tag(layer: Any, *, group: str, key: str, legend: str = "") -> Any:
    """Mark a layer with its layer-control heading, its key in the URL fragment (``on=`` /
    ``off=``) and its legend section (read by ``maps.html_ui``)."""
    layer.io_group, layer.io_key, layer.io_legend = group, key, legend
    return layer


def marker(radius: float, *, pane: str) -> folium.CircleMarker:
    """The circle each point feature becomes (folium's path options drop ``pane``)."""
    marker = folium.CircleMarker(radius=radius)
    marker.options["pane"] = pane
    return marker


def simplified(
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


def add_basemap(
    m: folium.Map, provinces: gpd.GeoDataFrame, present: list[str], meta: RunMeta
) -> list[tuple[str, Any]]:
    """Province land (not in the layer control) and one empty choropleth group per type.

    The groups are filled in the page from the basemap's geometry (``Panels``), so the province
    polygons are embedded once whatever the number of types.
    """
    types = meta.types or {}
    shaded = [t for t in present if f"covered_by_others_share_{t}" in provinces.columns]
    props = []
    for r in records(provinces):
        ch = {
            t: {
                "c": hp.choro_colour(r.get(f"covered_by_others_share_{t}")),
                "tip": hp.province_tooltip(r, t, types),
            }
            for t in shaded
        }
        props.append({"code": str(r.get("prov_code", "")), "style": LAND_STYLE, "ch": ch})
    folium.GeoJson(
        features(provinces, props),
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
        tag(fg, group=t, key=f"choro-{t}", legend="choro").add_to(m)
        groups.append((t, fg))
    return groups


def add_catchments(
    m: folium.Map, catch: gpd.GeoDataFrame, present: list[str], types: Mapping[str, Any]
) -> None:
    """One layer per type and break, all off until asked for (legend key ``catch-<type>``)."""
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
            props = [{"tip": hp.catchment_tooltip(r, types), "style": style} for r in records(part)]
            name = f"{hp.type_label(types, t)}: {hp.bi('vùng phục vụ', 'catchment')} ≤ {b:g} {hp.bi('phút', 'min')}"
            layer = folium.GeoJson(
                features(part, props, decimals=AREA_DECIMALS),
                name=name + (f" ({hp.bi('ngưỡng chính', 'primary')})" if b == primary else ""),
                show=False,
                on_each_feature=BIND_JS,
                pane=f"io-catch-{min(len(brks) - 1 - rank, 3)}",
            )
            tag(layer, group=t, key=f"catch-{t}-{b:g}", legend=f"catch-{t}").add_to(m)


def add_overlaps(
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
        for r in records(ovl)
    ]
    share_vi, share_en = fmt_pct(min_share, "vi", digits=0), fmt_pct(min_share, "en", digits=0)
    layer = folium.GeoJson(
        features(ovl, props),
        name=hp.bi(
            f"Trùng lặp ≥ {share_vi} (ngưỡng chính)", f"Overlaps ≥ {share_en} (primary break)"
        ),
        show=False,
        on_each_feature=BIND_JS,
        pane="io-overlap",
    )
    tag(layer, group="flags", key="overlaps", legend="ovl").add_to(m)
    return len(ovl)


def add_points(
    m: folium.Map,
    fac: gpd.GeoDataFrame,
    flags: gpd.GeoDataFrame,
    present: list[str],
    types: Mapping[str, Any],
    *,
    edition: Any,
) -> None:
    """Rings and facilities by type (planned hollow, dashed).

    Rings: the redundancy verdict in red (robust solid, fragile dashed), shown; the descriptive
    overlap flag alone in grey, off until asked for.
    """
    fac_rows = {str(r.get("facility_id")): r for r in records(fac)}
    if len(flags):
        is_v = (
            flags["verdict"].fillna(False).astype(bool)
            if "verdict" in flags.columns
            else pd.Series(True, index=flags.index)
        )
        for verdict, part in ((True, flags[is_v]), (False, flags[~is_v])):
            if part.empty:
                continue
            _add_rings(m, part, fac_rows, types, verdict=verdict, edition=edition)
    for t in reversed(present):
        part = fac[fac["type"] == t]
        colour = hp.type_colour(t, present)
        props = []
        for r in records(part):
            planned = str(r.get("status")) == "planned"
            doubtful = bool(r.get("doubtful", False))
            props.append(
                {
                    "tip": hp.facility_tooltip(r, types),
                    "pop": hp.facility_popup(r, types, edition=edition),
                    "fid": str(r.get("facility_id")),
                    "style": {
                        "fill": True,
                        "color": colour if planned else ("#222222" if doubtful else "#ffffff"),
                        "weight": 2.5 if planned or doubtful else 1.5,
                        "fillColor": colour,
                        "fillOpacity": 0.0 if planned else 0.95,
                        "dashArray": "3 3" if planned else None,
                        "radius": 5 if t == "industrial_park" else 7,
                    },
                }
            )
        n_planned = int((part["status"] == "planned").sum()) if "status" in part.columns else 0
        label = f" ({len(part) - n_planned} + {n_planned} {hp.bi('quy hoạch', 'planned')})"
        layer = folium.GeoJson(
            features(part, props, points=True),
            name=hp.type_label(types, t, plural=True) + label,
            marker=marker(7, pane="io-facility"),
            on_each_feature=BIND_JS,
        )
        tag(layer, group=t, key=f"fac-{t}").add_to(m)


def _add_rings(
    m: folium.Map,
    flags: gpd.GeoDataFrame,
    fac_rows: Mapping[str, Mapping[str, Any]],
    types: Mapping[str, Any],
    *,
    verdict: bool,
    edition: Any,
) -> None:
    """One ring layer: the verdict (red, shown) or the overlap flag alone (grey, off)."""
    props = []
    for r in records(flags):
        fid = str(r.get("facility_id"))
        full = {**r, **fac_rows.get(fid, {})}
        rob = full.get("flag_robustness") if verdict else full.get("overlap_robustness")
        fragile = str(rob) == "fragile"
        props.append(
            {
                "tip": hp.facility_tooltip(full, types),
                **(
                    {"ref": fid}
                    if fid in fac_rows
                    else {"pop": hp.facility_popup(full, types, edition=edition)}
                ),
                "style": {
                    "color": hp.FLAG_COLOUR if verdict else hp.OVERLAP_COLOUR,
                    "weight": (2 if fragile else 3.5) if verdict else 1.5,
                    "fill": False,
                    "dashArray": "4 4" if fragile else None,
                    "radius": 10 if full.get("type") == "industrial_park" else 13,
                },
            }
        )
    name = (
        hp.bi("Dư thừa (kết luận chung)", "Redundant (joint verdict)")
        if verdict
        else hp.bi("Chỉ trùng lặp (mô tả)", "Overlap only (descriptive)")
    )
    layer = folium.GeoJson(
        features(flags, props, points=True),
        name=name,
        show=verdict,
        marker=marker(13, pane="io-flag"),
        on_each_feature=BIND_JS,
    )
    tag(layer, group="flags", key="verdict" if verdict else "overlap").add_to(m)
