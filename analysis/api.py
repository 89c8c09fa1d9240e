"""A public API for notebooks: GeoDataFrames in, named frames out.

Thin adapters (in the manner of spopt's ``from_geodataframe``) over the functions the whole
chain uses: no measure is computed here. ``catchments`` keeps the kernel's facility blocks
(``analysis.block_store``), and each measure is a pass over them through ``analysis.blocks``,
``analysis.block_sets``, ``analysis.verdict_blocks``, ``analysis.redundancy`` and
``analysis.covering``, so memory is the grid plus a block, not every (facility, cell) pair
(METHOD.md, "Measures from facility blocks"). Every entry point checks the CRS: a frame
without one is refused; a geographic one is projected to the metric CRS given, or to the UTM
zone that ``GeoDataFrame.estimate_utm_crs`` picks, with a warning as geopandas warns. Inputs
are never modified; results are new frames keyed by ``facility_id`` (long format for pairs, as
r5py's travel-time matrices). ``docs/example_api.py`` runs a small region through it.

Example
-------
>>> from analysis import api
>>> graph = api.graph_from_roads(roads, crs="EPSG:31983")  # doctest: +SKIP
>>> demand = api.demand_from_points(areas, people, crs=graph.crs)  # doctest: +SKIP
>>> catch = api.catchments(facilities, graph, demand, breaks_min=(10, 20))  # doctest: +SKIP
>>> api.verdict(catch, threshold_min=20)  # doctest: +SKIP
"""

from __future__ import annotations

from analysis.api_catchments import Catchments, catchments, coverage, overlaps
from analysis.api_inputs import (
    OSM_SPEED_KMH,
    Demand,
    __version__,
    demand_from_points,
    demand_from_polygons,
    demand_from_raster,
    graph_from_roads,
    to_metric,
)
from analysis.api_judge import minimal_cover, province_matrices, verdict

__all__ = [
    "OSM_SPEED_KMH",
    "Catchments",
    "Demand",
    "__version__",
    "catchments",
    "coverage",
    "demand_from_points",
    "demand_from_polygons",
    "demand_from_raster",
    "graph_from_roads",
    "minimal_cover",
    "overlaps",
    "province_matrices",
    "to_metric",
    "verdict",
]
