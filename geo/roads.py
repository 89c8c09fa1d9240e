"""Road networks from GIS line layers, OSM XML, OSM PBF or osmnx, as one ``RoadNetwork``.

Every reader ends in the same contract: node coordinates and an edge table in the region's
metric CRS, ready for the CSR graph of ``analysis.network``. Line layers go through the topology
repair of :mod:`geo.topology`; OSM sources are already noded and only get their components
labelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from geo.errors import InputError
from geo.osm_roads import network_from_nx_graph, network_from_osm_xml, network_from_osmnx_online
from geo.pbf import network_from_pbf
from geo.road_layers import clean_layer, drop_covered, read_road_layer
from geo.road_network import RoadLayer, RoadNetwork
from geo.road_oneway import DETOUR_M as ONEWAY_DETOUR_M
from geo.road_speeds import DRIVE_HIGHWAYS, MAIN_ROADS_FILTER, parse_maxspeed
from geo.topology import repair_topology

__all__ = [
    "DRIVE_HIGHWAYS",
    "MAIN_ROADS_FILTER",
    "RoadLayer",
    "RoadNetwork",
    "network_from_layers",
    "network_from_lines",
    "network_from_nx_graph",
    "network_from_osm_xml",
    "network_from_osmnx_online",
    "network_from_pbf",
    "parse_maxspeed",
    "read_road_layer",
    "road_network_for_region",
]

CITY_STREETS_DEDUPE_M = 30.0


def network_from_layers(
    layers: Sequence[RoadLayer],
    *,
    metric_crs: str,
    speed_kmh: Mapping[str, float],
    snap_tolerance_m: float = 50.0,
    dedupe_m: float | None = 100.0,
    split_crossings: bool = True,
    source: str = "",
) -> RoadNetwork:
    """Merge line layers (e.g. the OSM trunk layer and the ODV national layer) into one network.

    Parameters
    ----------
    layers
        The first layer is kept whole; each later layer keeps only what lies farther than
        ``dedupe_m`` from the layers before it (the same road in two sources would otherwise run
        twice, side by side), then all are repaired together.
    metric_crs
        CRS in which lengths and gaps are measured (EPSG:3405 for Vietnam).
    speed_kmh
        Speed table by highway tag / class, with ``default`` (and ``connector``).
    snap_tolerance_m, split_crossings
        Passed to :func:`geo.topology.repair_topology`.
    dedupe_m
        Distance within which a later layer's road counts as already present; None keeps all.
    source
        Description stored in the result.

    Returns
    -------
    RoadNetwork
        The report holds a ``layers`` list (per layer: rows, ``skipped_rows``, status drops,
        km dropped as duplicates) beside the topology counts.
    """
    if not CRS.from_user_input(metric_crs).is_projected:
        raise InputError(
            f"metric_crs must be a projected CRS in metres, got {metric_crs}", field="metric_crs"
        )
    frames: list[gpd.GeoDataFrame] = []
    layer_reports: list[dict[str, Any]] = []
    for i, layer in enumerate(layers):
        clean, rep = clean_layer(layer, metric_crs, speed_kmh)
        layer_dedupe = layer.options.get("dedupe_m", dedupe_m)
        if i > 0 and layer_dedupe is not None and layer_dedupe > 0:
            clean, dropped_km = drop_covered(clean, pd.concat(frames), dedupe_m=layer_dedupe)
            rep["duplicate_km_dropped"] = round(dropped_km, 3)
            rep["lines_used"] = len(clean)
        frames.append(clean)
        layer_reports.append(rep)
    lines = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=metric_crs)
    repaired = repair_topology(
        lines,
        snap_tolerance_m=snap_tolerance_m,
        connector_speed_kmh=float(speed_kmh.get("connector", speed_kmh["default"])),
        split_crossings=split_crossings,
    )
    report = {
        "layers": layer_reports,
        "skipped_rows": [r for lr in layer_reports for r in lr["skipped_rows"]],
    }
    report.update(repaired.report)
    src = source or " + ".join(layer.source for layer in layers)
    return RoadNetwork(str(metric_crs), repaired.node_xy, repaired.edges, report, src)


def network_from_lines(  # noqa: PLR0913 (keyword options of a network build (field names, speeds, CRS))
    gdf: gpd.GeoDataFrame,
    *,
    metric_crs: str,
    speed_kmh: Mapping[str, float],
    class_field: str,
    highway_field: str | None = None,
    maxspeed_field: str | None = None,
    oneway_field: str | None = None,
    status_field: str | None = None,
    open_statuses: Sequence[str] | None = None,
    name_field: str | None = "name",
    snap_tolerance_m: float = 50.0,
    split_crossings: bool = True,
    source: str = "",
) -> RoadNetwork:
    """A repaired road network from one GIS line layer.

    Parameters
    ----------
    gdf
        LineStrings / MultiLineStrings in any CRS (it must have one).
    metric_crs
        Projected CRS for lengths, snapping and the output.
    speed_kmh
        Speeds by OSM highway tag or class, with ``default`` (``connector`` for repair edges).
        Per line: valid ``maxspeed`` first, else the highway tag, else the class, else default.
    class_field, highway_field, maxspeed_field, oneway_field, status_field, name_field
        Column names (None: absent). ``oneway`` takes OSM values (yes/true/1, -1/reverse).
    open_statuses
        Statuses kept when ``status_field`` is given (None keeps all); others are dropped and
        counted in ``report['layers'][0]['dropped_by_status']``.
    snap_tolerance_m, split_crossings
        Passed to :func:`geo.topology.repair_topology`.
    source
        File name for messages and the result.

    Returns
    -------
    RoadNetwork
        ``report['skipped_rows']`` lists rows (1-based feature position) with no, empty, non-line
        or degenerate geometry and the reason.

    Raises
    ------
    InputError
        No CRS, or a named field missing.
    NetworkError
        Nothing left to build a network from.
    """
    layer = RoadLayer(
        gdf,
        class_field,
        highway_field,
        maxspeed_field,
        oneway_field,
        status_field,
        tuple(open_statuses) if open_statuses is not None else None,
        name_field,
        source,
    )
    return network_from_layers(
        [layer],
        metric_crs=metric_crs,
        speed_kmh=speed_kmh,
        snap_tolerance_m=snap_tolerance_m,
        split_crossings=split_crossings,
        source=source,
    )


def road_network_for_region(
    data_dir: str | Path,
    config: Any,
    *,
    roads_file: str | Path | None = None,
    points: Sequence[Any] = (),
) -> RoadNetwork:
    """The region's road network: its configured line layer(s), or a user's ``--roads`` file.

    ``.osm``/``.xml`` files are read with :func:`network_from_osm_xml`, ``.pbf`` with
    :func:`network_from_pbf`; any other file as a line layer with the region's field names
    (``[roads]`` of the config). With ``merge_second`` the configured second layer is merged.
    Repairs (:mod:`geo.road_repairs`, ferries, and the connectors of
    :mod:`geo.point_connectors` for the configured cities and the given ``points``) follow.
    """
    from geo.urban import with_urban_factor

    net = _region_network(data_dir, config, roads_file=roads_file)
    r = config.roads
    if not _is_osm_file(roads_file):
        net = _with_termini(net, config)
    if r.max_connector_m <= 0:
        return cast(RoadNetwork, with_urban_factor(net, data_dir, r))
    from geo.ferries import Ferry
    from geo.point_connectors import add_point_connectors, cities_to_connect
    from geo.road_repairs import Island, apply_repairs

    speed = float(r.speed_kmh.get("connector", 20.0))
    net = apply_repairs(
        net,
        islands=[Island(i["name"], i["bbox"], i["source"]) for i in r.islands],
        max_connector_m=r.max_connector_m,
        connector_speed_kmh=speed,
        # Missing links are artefacts of generalised line layers; a full OSM extract has
        # its junctions, and its dead ends near another road are real (walls, canals).
        link_radius_m=0.0 if _is_osm_file(roads_file) else 300.0,
        # so are lost opposite carriageways (geo.road_oneway): a full extract has them
        oneway_detour_m=0.0 if _is_osm_file(roads_file) else ONEWAY_DETOUR_M,
        ferries=[Ferry.from_config(f) for f in r.ferries],
        no_junctions=list(r.no_junctions),
    )
    cities = []
    if r.city_connectors_file and (Path(data_dir) / r.city_connectors_file).exists():
        cities = cities_to_connect(
            Path(data_dir) / r.city_connectors_file,
            min_population=r.city_connectors_min_population,
            min_gap_m=r.city_connector_min_m,
        )
    return cast(
        RoadNetwork,
        with_urban_factor(
            add_point_connectors(
                net,
                [*cities, *points],
                # a point's connector stands for a missing local road: driven at the speed of
                # the configured class (tertiary), never slower than the access speed
                connector_speed_kmh=point_connector_speed(config),
                island_bboxes=[i["bbox"] for i in r.islands],
            ),
            data_dir,
            r,
        ),
    )


def point_connector_speed(config: Any) -> float:
    """Speed (km/h) of a facility's connector: the configured class's speed (``[roads]
    point_connector_class``, tertiary by default: the connector stands for a missing local road),
    never below the access speed."""
    speeds = config.roads.speed_kmh
    cls = config.roads.point_connector_class
    return max(float(speeds.get(cls, speeds["default"])), float(config.access_speed_kmh))


def _with_same_road_gaps(gdf: gpd.GeoDataFrame, config: Any) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """The second layer plus the gaps between the parts of one named road (ODV)."""
    from geo.road_additions import SAME_ROAD_MAX_GAP_M, clip_gap_links

    if "name_vi" not in gdf.columns:
        return gdf, []
    parts = gdf.explode(index_parts=False).reset_index(drop=True)
    links, records = clip_gap_links(
        parts,
        metric_crs=config.metric_crs,
        status_field=None,
        ref_field="name_vi",
        max_gap_m=SAME_ROAD_MAX_GAP_M,
        require_clipped=False,
        kind="same-road gap",
    )
    if not records:
        return gdf, []
    merged = pd.concat([parts, links.drop(columns="addition")], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry=gdf.geometry.name, crs=gdf.crs), records


def _with_termini(net: RoadNetwork, config: Any) -> RoadNetwork:
    """Expressway dead ends joined to the road they meet (:mod:`geo.road_additions`)."""
    from geo.road_additions import expressway_termini

    speed = float(config.roads.speed_kmh.get("connector", 20.0))
    out, records = expressway_termini(net, connector_speed_kmh=speed)
    if records:
        additions = [*out.report.get("road_additions", []), *records]
        out = replace(out, report={**out.report, "road_additions": additions})
    return cast(RoadNetwork, out)


def _is_osm_file(path: str | Path | None) -> bool:
    return path is not None and Path(path).name.lower().endswith((".osm", ".xml", ".pbf"))


def _region_network(
    data_dir: str | Path, config: Any, *, roads_file: str | Path | None = None
) -> RoadNetwork:
    r = config.roads
    if roads_file is not None:
        path = Path(roads_file)
        name = path.name.lower()
        if name.endswith((".osm", ".xml", ".osm.xml")):
            return network_from_osm_xml(path, metric_crs=config.metric_crs, speed_kmh=r.speed_kmh)
        if name.endswith(".pbf"):
            return network_from_pbf(path, metric_crs=config.metric_crs, speed_kmh=r.speed_kmh)
        gdf = read_road_layer(path)
    else:
        path = Path(data_dir) / r.file
        gdf = read_road_layer(path, layer=r.layer)
    gdf, additions = _with_additions(gdf, config)
    first = RoadLayer(
        gdf,
        class_field=r.class_field
        if r.class_field in gdf.columns
        else _guess_class_field(gdf, path),
        highway_field=r.highway_field if r.highway_field in gdf.columns else None,
        maxspeed_field=r.maxspeed_field if r.maxspeed_field in gdf.columns else None,
        oneway_field=r.oneway_field if r.oneway_field in gdf.columns else None,
        status_field=r.status_field if r.status_field in gdf.columns else None,
        open_statuses=r.open_statuses if r.status_field in gdf.columns else None,
        source=str(path),
    )
    layers = [first]
    report_extra: dict[str, Any] = {}
    if r.extra_files and roads_file is None:
        from geo.city_streets import merge_by_way_id, read_city_streets

        streets, files = read_city_streets([Path(data_dir) / f for f in r.extra_files])
        if len(streets):
            added, merge = merge_by_way_id(gdf, streets)
            report_extra = {"city_streets": {"files": files, **merge}}
            layers.append(
                RoadLayer(
                    added,
                    class_field="road_class",
                    highway_field="highway",
                    maxspeed_field="maxspeed",
                    oneway_field="oneway",
                    source="city streets: " + ", ".join(Path(f["file"]).name for f in files),
                    # A street within this of a national road is the same road under another
                    # way id (split or renumbered since): the national road stays.
                    options={"dedupe_m": CITY_STREETS_DEDUPE_M},
                )
            )
    if r.merge_second and r.second_file and roads_file is None:
        p2 = Path(data_dir) / r.second_file
        g2, more = _with_same_road_gaps(read_road_layer(p2, layer=r.second_layer), config)
        additions = [*additions, *more]
        layers.append(RoadLayer(g2, class_field=r.second_class_field or "level_en", source=str(p2)))
    net = network_from_layers(
        layers,
        metric_crs=config.metric_crs,
        speed_kmh=r.speed_kmh,
        snap_tolerance_m=r.snap_tolerance_m,
    )
    net.report.update(report_extra)
    if additions:
        net.report["road_additions"] = additions
    return net


def _with_additions(gdf: gpd.GeoDataFrame, config: Any) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """The layer plus the crossings its clipping cut away (:mod:`geo.road_additions`)."""
    from geo.road_additions import clip_gap_links

    r = config.roads
    links, records = clip_gap_links(
        gdf,
        metric_crs=config.metric_crs,
        status_field=r.status_field,
        open_statuses=r.open_statuses,
    )
    if not records:
        return gdf, []
    merged = pd.concat([gdf, links.drop(columns="addition")], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry=gdf.geometry.name, crs=gdf.crs), records


def _guess_class_field(gdf: gpd.GeoDataFrame, path: Path) -> str:
    for name in ("highway", "road_class", "class", "fclass", "type", "level_en", "class_en"):
        if name in gdf.columns:
            return name
    raise InputError(
        f"no road class column (looked for highway, road_class, class, fclass, type); columns are {list(gdf.columns)}",
        source=str(path),
    )
