"""Proposed change to ``analysis.polygons.catchment_polygons`` (measured by run_bench.py).

Profile of the current function on the national setup (cProfile): ``shapely.union_all`` 46 %,
``shapely.geometry.shape`` (GeoJSON dict -> Polygon, pure Python) 30 %, ``rasterio.features.shapes``
14 %. The polygons that ``features.shapes`` returns for one value are already disjoint (they
can only touch at a corner), so their union is just their MultiPolygon: the same region, with
no overlay. This function is the current one with that single change.
"""

from __future__ import annotations

import numpy as np
import shapely
from rasterio import features
from rasterio.transform import Affine


def catchment_polygons_fast(tt, demand, breaks_s, *, simplify_m=None):
    g = demand.grid
    tol = g.cell_size_m / 4 if simplify_m is None else simplify_m
    out = []
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
            geom = shapely.MultiPolygon(polys)  # disjoint parts: no union needed
            if tol > 0:
                geom = shapely.simplify(geom, tol, preserve_topology=True)
            if geom.geom_type == "Polygon":
                geom = shapely.MultiPolygon([geom])
            out.append((i, b, geom))
    return out
