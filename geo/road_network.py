"""The road network contract every reader returns (:class:`RoadNetwork`) and its last step."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np

from geo.topology import label_components

logger = logging.getLogger("geo.roads")


@dataclass(frozen=True)
class RoadNetwork:
    """A road network in a metric CRS (the contract of every reader).

    Attributes
    ----------
    crs
        The metric CRS, e.g. ``"EPSG:3405"``.
    node_xy
        (n_nodes, 2) float64 metric coordinates; node ids are 0..n-1.
    edges
        GeoDataFrame: ``u``, ``v`` (int64), ``length_m``, ``speed_kmh`` (float64, > 0),
        ``oneway`` (only u->v may be travelled), ``road_class``, ``edge_kind`` (``road`` or
        ``connector``), ``status``, ``name`` (str or None), ``component`` (0 = longest) and a
        LineString u->v. Sorted by u, v, kind, class, length.
    report
        JSON-serialisable topology / repair report.
    source
        File path or description.
    """

    crs: str
    node_xy: np.ndarray
    edges: gpd.GeoDataFrame
    report: dict[str, Any]
    source: str
    repairs: gpd.GeoDataFrame | None = None


@dataclass(frozen=True)
class RoadLayer:
    """One line layer and how its fields map onto the network (for :func:`network_from_layers`)."""

    gdf: gpd.GeoDataFrame
    class_field: str
    highway_field: str | None = None
    maxspeed_field: str | None = None
    oneway_field: str | None = None
    status_field: str | None = None
    open_statuses: tuple[str, ...] | None = None
    name_field: str | None = "name"
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def finish_network(
    node_xy: np.ndarray,
    edges: gpd.GeoDataFrame,
    metric_crs: str,
    report: dict[str, Any],
    source: str,
) -> RoadNetwork:
    # Nodes that no edge uses (osmnx keeps non-way nodes of an XML file) are dropped.
    used, compact = np.unique(np.concatenate([edges["u"], edges["v"]]), return_inverse=True)
    node_xy = node_xy[used]
    edges = edges.assign(
        u=compact[: len(edges)].astype(np.int64), v=compact[len(edges) :].astype(np.int64)
    )
    edges, comp_report = label_components(edges, len(node_xy))
    report.update(comp_report)
    logger.info(
        "%s: %d nodes, %d edges, %d components, largest %.1f%% of length",
        source,
        len(node_xy),
        len(edges),
        comp_report["after"]["components"],
        100 * comp_report["largest_share"],
    )
    return RoadNetwork(str(metric_crs), node_xy, edges, report, source)
