"""The "served by 2, 3, 4+" layers of map.html: where several facilities of a type are in reach.

From each type's ``coverage_count_<type>`` raster at the primary break; one neutral hue
(``maps.html_panels.SEVERAL_COLOUR``, no type's colour), darker for more facilities, explained by
the legend section ``several`` while a layer is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import offlinefolium as folium
import shapely

from analysis.sparse_raster import SparseRaster
from maps import html_layers as hl
from maps import html_panels as hp
from maps.html_assets import BIND_JS


def served_by_several(
    result: Any, present: list[str], *, simplify_m: float
) -> dict[str, gpd.GeoDataFrame]:
    """Per type, the areas served by 2, 3 and 4+ facilities within the primary break.

    From the ``coverage_count_<type>`` raster of the demand grid: each class becomes the union of
    its cells (traced by ``analysis.polygons.cell_polygons``, the catchments' tracer, from the
    raster's cells), simplified in the grid's metric CRS, then
    reprojected to EPSG:4326. Empty classes are left out.
    """
    from analysis.polygons import cell_polygons

    grid = result.grid
    out: dict[str, gpd.GeoDataFrame] = {}
    for t in present:
        layer = result.rasters.get(f"coverage_count_{t}")
        if layer is None:
            continue
        row, col, count = _cells_counted(layer.array)
        klass = np.where(count >= 4, 4, count)
        n_cells = {k: int((klass == k).sum()) for k in (2, 3, 4)}  # the grid's cells
        drawn, row, col, klass = _on_map_cells(grid, row, col, klass)
        kinds = [k for k in (2, 3, 4) if (klass == k).any()]
        outlines = cell_polygons(drawn, [(row[klass == k], col[klass == k]) for k in kinds])
        rows = [
            {
                "n": k,
                "cells": n_cells[k],
                "geometry": shapely.simplify(geom, simplify_m, preserve_topology=True),
            }
            for k, geom in zip(kinds, outlines, strict=True)
            if geom is not None
        ]
        if rows:
            out[t] = gpd.GeoDataFrame(rows, geometry="geometry", crs=grid.crs).to_crs("EPSG:4326")
    return out


#: the areas are drawn on cells of at least this size (a whole multiple of the grid's): at
#: 100 m the populated cells served by several facilities are millions of squares, more than
#: the page can hold or show (as the catchments' ``[region] outline_cell_m``)
MAP_CELL_M = 1000.0


def _on_map_cells(
    grid: Any, row: np.ndarray, col: np.ndarray, klass: np.ndarray
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """The grid the areas are drawn on and the cells' rows, columns and classes on it: the
    grid itself at 1 km, else cells ``k`` times larger, each in the highest class of its cells."""
    from analysis.polygons import coarse_grid

    k = max(1, round(MAP_CELL_M / float(grid.cell_size_m)))
    if k == 1 or row.size == 0:
        return grid, row, col, klass
    coarse = coarse_grid(grid, k)
    n_cols = coarse.shape[1]
    big = (row.astype(np.int64) // k) * n_cols + col.astype(np.int64) // k
    order = np.lexsort((-klass, big))  # by large cell, its highest class first
    first = np.r_[True, big[order][1:] != big[order][:-1]]
    cells, top = big[order][first], klass[order][first]
    return coarse, cells // n_cols, cells % n_cols, top


def _cells_counted(src: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells (rows, cols, row-major order) a coverage-count raster puts at 2 or more, and
    their counts: from a sparse raster's cells, never a dense mask of the grid."""
    if isinstance(src, SparseRaster):
        several = src.values >= 2
        return src.row[several], src.col[several], src.values[several]
    count = np.asarray(src)
    row, col = np.nonzero(count >= 2)
    return row, col, count[row, col]


def add_served_by_several(
    m: folium.Map, areas: dict[str, gpd.GeoDataFrame], present: list[str], types: Mapping[str, Any]
) -> None:
    """One toggleable layer per type: served by 2, 3, 4+ facilities (darker for more), off by default.

    Drawn in ``hp.SEVERAL_COLOUR`` (no type's colour), explained by the legend section ``several``.
    """
    shades = hp.SEVERAL_SHADES
    for t in reversed(present):
        gdf = areas.get(t)
        if gdf is None or gdf.empty:
            continue
        props = [
            {
                "tip": f"{hp.type_label(types, t)}: {hp.bi('được phục vụ bởi', 'served by')} "
                f"{int(r['n'])}{'+' if int(r['n']) == 4 else ''} ({int(r['cells'])} km²)",
                "style": {
                    "color": hp.SEVERAL_COLOUR,
                    "weight": 0.5,
                    "opacity": 0.7,
                    "fillColor": hp.SEVERAL_COLOUR,
                    "fillOpacity": shades[int(r["n"])],
                },
            }
            for r in hl.records(gdf)
        ]
        name = f"{hp.type_label(types, t)}: {hp.bi('vùng được 2, 3, 4+ cơ sở phục vụ', 'served by 2, 3, 4+')}"
        layer = folium.GeoJson(
            hl.features(gdf, props, decimals=hl.AREA_DECIMALS),
            name=name,
            show=False,
            on_each_feature=BIND_JS,
            pane="io-catch-3",
        )
        hl.tag(layer, group=t, key=f"several-{t}", legend="several").add_to(m)
