"""Catchment polygons for display: the union of the reached demand cells.

The drawn area and ``coverage`` therefore agree exactly (every reached cell is inside the
polygon, no unreached cell is) before simplification; the polygons are then simplified in the
metric CRS with a stated tolerance (default a quarter of the cell size), which moves edges by at
most that distance. Raster-to-vector on a window around each catchment
(``rasterio.features.shapes``) costs far less than the catchment computation itself.
"""

from __future__ import annotations

import numpy as np
import shapely
from rasterio import features
from rasterio.transform import Affine

from analysis.catchments import TravelTimes
from analysis.demand import DemandGrid


def catchment_polygons(
    tt: TravelTimes,
    demand: DemandGrid,
    breaks_s: tuple[float, ...],
    *,
    simplify_m: float | None = None,
) -> list[tuple[int, float, shapely.Geometry]]:
    """One (facility index, break in seconds, MultiPolygon in the metric CRS) per reached pair.

    Facilities that reach no cell within a break get no row for it.
    """
    g = demand.grid
    tol = g.cell_size_m / 4 if simplify_m is None else simplify_m
    out: list[tuple[int, float, shapely.Geometry]] = []
    bounds = np.searchsorted(tt.fac, np.arange(tt.n_fac + 1))
    for i in range(tt.n_fac):
        lo, hi = bounds[i], bounds[i + 1]
        if lo == hi:
            continue
        cells, times = tt.cell[lo:hi], tt.time_s[lo:hi]
        r, c = demand.row[cells], demand.col[cells]
        r0, c0 = r.min(), c.min()
        shape = (int(r.max() - r0 + 1), int(c.max() - c0 + 1))
        aff = Affine(g.cell_size_m, 0, g.x0 + c0 * g.cell_size_m, 0, -g.cell_size_m, g.y0 - r0 * g.cell_size_m)
        for b in breaks_s:
            m = times <= b
            if not m.any():
                continue
            mask = np.zeros(shape, dtype=np.uint8)
            mask[r[m] - r0, c[m] - c0] = 1
            polys = [shapely.geometry.shape(geom) for geom, _ in features.shapes(mask, mask=mask.astype(bool), transform=aff)]
            # the parts of features.shapes are disjoint regions already: no union needed
            geom = shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]
            if tol > 0:
                geom = shapely.simplify(geom, tol, preserve_topology=True)
            if geom.geom_type == "Polygon":
                geom = shapely.MultiPolygon([geom])
            out.append((i, b, geom))
    return out
