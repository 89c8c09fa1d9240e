"""Inputs of the notebook API (``analysis.api``): CRS checks, the graph from a road layer and
the demand grid from areas and people (polygons, points or a raster)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis import demand as demand_mod
from analysis.network import Graph, graph_from_edges
from geo.errors import InputError


def _version() -> str:
    """The installed distribution's version, else the one in pyproject.toml (a source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("infra-overlap")
    except PackageNotFoundError:
        from pathlib import Path

        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text("utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


__version__ = _version()

#: Speeds (km/h) by OSM ``highway`` tag used when a line has no valid ``maxspeed``.
OSM_SPEED_KMH: Mapping[str, float] = {
    "motorway": 80.0,
    "motorway_link": 40.0,
    "trunk": 60.0,
    "trunk_link": 35.0,
    "primary": 45.0,
    "primary_link": 30.0,
    "secondary": 40.0,
    "secondary_link": 30.0,
    "tertiary": 35.0,
    "tertiary_link": 25.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 15.0,
    "service": 15.0,
    "connector": 20.0,
    "default": 30.0,
}


# ----------------------------------------------------------------------------- CRS at the edges


def to_metric(gdf: gpd.GeoDataFrame, *, crs: str | None, what: str) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` in a metric CRS: ``crs`` if given, else its own if projected, else the
    estimated UTM zone (with a warning). Raises :class:`InputError` when ``gdf`` has no CRS."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise InputError(
            f"{what} has no CRS; set the one its coordinates are in, e.g. "
            "gdf.set_crs('EPSG:4326'), before passing it"
        )
    if crs is not None:
        target = gpd.GeoSeries([], crs=crs).crs
        if target is None or not target.is_projected:
            raise InputError(f"{what}: crs={crs!r} is not a projected (metric) CRS")
        return gdf.to_crs(target)
    if gdf.crs.is_projected:
        return gdf.copy()
    utm = gdf.estimate_utm_crs()
    warnings.warn(
        f"{what} is in a geographic CRS ({gdf.crs.to_string()}); distances in degrees are "
        f"meaningless, so it is projected to the estimated UTM zone {utm.to_string()}. "
        "Pass crs= to choose the metric CRS yourself.",
        UserWarning,
        stacklevel=3,
    )
    return gdf.to_crs(utm)


def _crs_text(gdf: gpd.GeoDataFrame) -> str:
    epsg = gdf.crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else gdf.crs.to_wkt()


def require_columns(gdf: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise InputError(
            f"{what} lacks the column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, gdf.columns))})"
        )


# ----------------------------------------------------------------------------- network


def graph_from_roads(
    roads: gpd.GeoDataFrame,
    *,
    crs: str | None = None,
    speed_kmh: Mapping[str, float] | None = None,
    class_field: str | None = "highway",
    maxspeed_field: str | None = "maxspeed",
    oneway_field: str | None = "oneway",
    snap_tolerance_m: float = 50.0,
) -> Graph:
    """A travel-time graph from a road line layer (``geo.roads.network_from_lines``).

    Parameters
    ----------
    roads
        LineStrings with a CRS. Lines are split at crossings and near-touching ends are joined
        within ``snap_tolerance_m`` (``geo.topology``).
    crs
        The metric CRS of the graph; default: the layer's own if projected, else its UTM zone.
    speed_kmh
        Speeds by class (``class_field`` value) with a ``default``; default :data:`OSM_SPEED_KMH`.
        A valid ``maxspeed`` on a line wins.
    class_field, maxspeed_field, oneway_field
        Columns of ``roads`` (ignored when absent; with no class column every line is
        ``default``).

    Returns
    -------
    analysis.network.Graph
        Times in seconds; ``graph.crs`` is the metric CRS every later step uses.
    """
    from geo.roads import network_from_lines

    metric = to_metric(roads, crs=crs, what="roads")
    layer = metric
    if class_field is None or class_field not in metric.columns:
        layer = metric.assign(road_class="default")
        class_field = "road_class"
    net = network_from_lines(
        layer,
        metric_crs=_crs_text(metric),
        speed_kmh=dict(speed_kmh or OSM_SPEED_KMH),
        class_field=class_field,
        highway_field=class_field if class_field in ("highway",) else None,
        maxspeed_field=maxspeed_field if maxspeed_field in metric.columns else None,
        oneway_field=oneway_field if oneway_field in metric.columns else None,
        snap_tolerance_m=snap_tolerance_m,
        source="roads GeoDataFrame",
    )
    return graph_from_edges(net.edges, net.node_xy, crs=net.crs)


# ----------------------------------------------------------------------------- demand


@dataclass(frozen=True)
class Demand:
    """People on a square grid in the metric CRS, each cell in one area.

    Attributes
    ----------
    grid
        ``analysis.demand.DemandGrid`` (its ``area`` is the index into ``areas``).
    areas
        ``area_id`` and geometry (metric CRS), sorted by ``area_id``.
    """

    grid: demand_mod.DemandGrid
    areas: gpd.GeoDataFrame

    @property
    def crs(self) -> str:
        return self.grid.grid.crs

    def cells(self) -> gpd.GeoDataFrame:
        """One row per cell: ``cell``, ``area_id``, ``population`` and the cell centre."""
        g = self.grid
        ids = self.areas["area_id"].to_numpy()
        return gpd.GeoDataFrame(
            {
                "cell": np.arange(g.n_cells),
                "area_id": np.where(g.area >= 0, ids[np.maximum(g.area, 0)], None),
                "population": g.population,
            },
            geometry=gpd.points_from_xy(g.xy[:, 0], g.xy[:, 1]),
            crs=self.crs,
        )


def _areas(areas: gpd.GeoDataFrame, area_id: str, crs: str | None) -> gpd.GeoDataFrame:
    metric = to_metric(areas, crs=crs, what="areas")
    require_columns(metric, [area_id], "areas")
    if metric[area_id].duplicated().any():
        dup = metric.loc[metric[area_id].duplicated(), area_id].astype(str).tolist()
        raise InputError(f"areas: {area_id} is not unique ({', '.join(dup[:5])})")
    out = gpd.GeoDataFrame(
        {"area_id": metric[area_id].astype(str).to_numpy()},
        geometry=metric.geometry.to_numpy(),
        crs=metric.crs,
    )
    return out.sort_values("area_id", ignore_index=True)


def demand_from_polygons(
    areas: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame,
    *,
    population_column: str = "population",
    area_id: str = "area_id",
    cell_size_m: float = 1000.0,
    crs: str | None = None,
    populated_only: bool = False,
) -> Demand:
    """Demand from population polygons, spread evenly over the cells whose centres they hold.

    Parameters
    ----------
    areas
        The areas compared (provinces, municipalities); column ``area_id``.
    population
        Polygons with people in ``population_column`` (any CRS).
    cell_size_m
        Grid cell in metres (origin aligned to multiples of it).
    crs
        Metric CRS; default: that of ``areas`` if projected, else its UTM zone.
    populated_only
        Only the cells holding people are demand (else every cell an area touches, too), as
        ``[region] populated_cells_only`` makes the run's.
    """
    a = _areas(areas, area_id, crs)
    require_columns(population, [population_column], "population")
    pop = to_metric(population, crs=_crs_text(a), what="population")
    pop = pop[[population_column, pop.geometry.name]].rename(
        columns={population_column: "population"}
    )
    grid = demand_mod.demand_from_polygons(
        a, pop, crs=_crs_text(a), cell_size_m=cell_size_m, populated_only=populated_only
    )
    return Demand(grid=grid, areas=a)


def demand_from_points(
    areas: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    population_column: str = "population",
    area_id: str = "area_id",
    cell_size_m: float = 1000.0,
    crs: str | None = None,
    populated_only: bool = False,
) -> Demand:
    """Demand from population points (e.g. address or building counts): each point's people go
    to the cell that holds it; points outside the areas' grid are dropped with a warning. The
    cells are kept sparse (no array over the whole bounding box: at 100 m a country's is GBs);
    ``populated_only``: only the cells holding people are demand, as ``[region]
    populated_cells_only`` makes the run's."""
    a = _areas(areas, area_id, crs)
    require_columns(points, [population_column], "population points")
    metric = _crs_text(a)
    pts = to_metric(points, crs=metric, what="population points")
    grid = demand_mod.grid_for_bounds(tuple(a.total_bounds), crs=metric, cell_size_m=cell_size_m)
    col = np.floor((pts.geometry.x.to_numpy() - grid.x0) / grid.cell_size_m).astype(np.int64)
    row = np.floor((grid.y0 - pts.geometry.y.to_numpy()) / grid.cell_size_m).astype(np.int64)
    inside = (row >= 0) & (row < grid.shape[0]) & (col >= 0) & (col < grid.shape[1])
    if not inside.all():
        warnings.warn(
            f"{int((~inside).sum())} population point(s) lie outside the areas' extent and "
            "are not counted",
            UserWarning,
            stacklevel=2,
        )
    people = pts[population_column].to_numpy(np.float64)
    cells = demand_mod.SparseCells.summed(
        row[inside] * grid.shape[1] + col[inside], np.nan_to_num(people[inside])
    )
    dg = demand_mod.demand_from_cells(a, cells, grid, populated_only=populated_only)
    return Demand(grid=dg, areas=a)


def demand_from_raster(
    areas: gpd.GeoDataFrame,
    raster: str | os.PathLike[str],
    *,
    area_id: str = "area_id",
    cell_size_m: float = 1000.0,
    crs: str | None = None,
    populated_only: bool = False,
) -> Demand:
    """Demand from a GeoTIFF of people per cell (any CRS), summed onto the metric grid in row
    windows and kept sparse, as the run reads it (``analysis.demand.people_from_raster``; no
    array over the whole bounding box); ``populated_only``: only the cells holding people are
    demand (a 100 m raster: ``[region] populated_cells_only``)."""
    a = _areas(areas, area_id, crs)
    metric = _crs_text(a)
    grid = demand_mod.grid_for_bounds(tuple(a.total_bounds), crs=metric, cell_size_m=cell_size_m)
    cells = demand_mod.people_from_raster(str(raster), grid)
    dg = demand_mod.demand_from_cells(a, cells, grid, populated_only=populated_only)
    return Demand(grid=dg, areas=a)
