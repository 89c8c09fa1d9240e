"""Catchments and their measures in the notebook API (``analysis.api``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis import overlap as overlap_mod
from analysis.api_inputs import Demand, require_columns, to_metric
from analysis.catchments import Access, TravelTimes, travel_times
from analysis.network import Graph, snap_points
from analysis.polygons import catchment_polygons
from geo.errors import InputError

# ----------------------------------------------------------------------------- catchments


@dataclass(frozen=True)
class Catchments:
    """Travel times of one set of facilities to the demand cells, and what they rest on.

    Attributes
    ----------
    facilities
        A new frame sorted by ``facility_id`` (metric CRS) with ``area_id``, ``road_access``
        (bool) and ``exists`` (operating with road access: the base of every measure).
    times
        Long format: ``facility_id``, ``cell``, ``travel_time_min`` within the largest break.
    polygons
        ``facility_id``, ``break_min``, MultiPolygon of the reached cells (metric CRS).
    breaks_min
        The breaks, ascending.
    """

    facilities: gpd.GeoDataFrame
    times: pd.DataFrame
    polygons: gpd.GeoDataFrame
    breaks_min: tuple[float, ...]
    demand: Demand
    travel: TravelTimes

    def within(self, break_min: float) -> sp.csr_matrix:
        """Boolean (facility, cell) matrix of the pairs within ``break_min`` minutes."""
        return self.travel.within(break_min * 60.0)

    @property
    def ids(self) -> np.ndarray:
        ids: np.ndarray = self.facilities["facility_id"].astype(str).to_numpy()
        return ids

    @property
    def area_index(self) -> np.ndarray:
        pos = {c: i for i, c in enumerate(self.demand.areas["area_id"])}
        return np.array([pos.get(a, -1) for a in self.facilities["area_id"]], dtype=np.int64)

    @property
    def exists(self) -> np.ndarray:
        exists: np.ndarray = self.facilities["exists"].to_numpy(bool)
        return exists


def _facilities(
    facilities: gpd.GeoDataFrame, demand: Demand, id_column: str, status_column: str | None
) -> gpd.GeoDataFrame:
    fac = to_metric(facilities, crs=demand.crs, what="facilities")
    require_columns(fac, [id_column], "facilities")
    if not fac.geometry.geom_type.isin(["Point"]).all():
        bad = np.flatnonzero(~fac.geometry.geom_type.isin(["Point"]).to_numpy())
        raise InputError(f"facilities: rows {list(bad[:5] + 1)} are not points")
    ids = fac[id_column].astype(str)
    if ids.duplicated().any():
        raise InputError(f"facilities: {id_column} is not unique ({ids[ids.duplicated()].iloc[0]})")
    fac = fac.assign(facility_id=ids.to_numpy())
    if id_column != "facility_id":
        fac = fac.drop(columns=id_column)
    fac = fac.sort_values("facility_id", ignore_index=True)
    joined = gpd.sjoin_nearest(fac[[fac.geometry.name]], demand.areas, how="left")
    fac["area_id"] = joined.groupby(level=0)["area_id"].first().reindex(fac.index).to_numpy()
    status = fac[status_column] if status_column and status_column in fac else None
    fac["operating"] = True if status is None else (status.astype(str) == "operating").to_numpy()
    return fac


def catchments(  # noqa: PLR0913 (public API entry point: keyword options, as osmnx's graph_from_* take)
    facilities: gpd.GeoDataFrame,
    graph: Graph,
    demand: Demand,
    *,
    breaks_min: Sequence[float],
    id_column: str = "facility_id",
    status_column: str | None = "status",
    access_speed_kmh: float = 20.0,
    max_access_km: float = 10.0,
    min_component_km: float = 0.0,
    polygons: bool = True,
) -> Catchments:
    """Drive-time catchments of facilities over the graph, to every demand cell.

    Parameters
    ----------
    facilities
        Points with a unique ``id_column``; where ``status_column`` exists, only ``operating``
        facilities are the base of the measures (the others are measured as a what-if).
    graph, demand
        From :func:`graph_from_roads` and a ``demand_from_*`` function (same metric CRS).
    breaks_min
        Travel-time breaks in minutes.
    access_speed_kmh
        Speed off the network, at both ends (facility to road, road to cell centre).
    max_access_km
        A facility farther than this from an eligible road has no road access (no catchment).
    min_component_km
        Road components shorter than this are not snapped to.
    polygons
        Also outline the catchments (one MultiPolygon per facility and break).

    Returns
    -------
    Catchments
    """
    if demand.crs != graph.crs:
        raise InputError(f"the graph is in {graph.crs} but the demand in {demand.crs}: use one")
    breaks = tuple(sorted({float(b) for b in breaks_min}))
    if not breaks or breaks[0] <= 0:
        raise InputError(f"breaks_min must be positive minutes, got {list(breaks_min)}")
    fac = _facilities(facilities, demand, id_column, status_column)
    xy = np.column_stack([fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()])
    snap = snap_points(
        graph, xy, min_component_km=min_component_km, max_dist_m=max_access_km * 1000.0
    )
    fac_access = Access.from_snap(snap, access_speed_kmh=access_speed_kmh)
    cell_snap = snap_points(graph, demand.grid.xy, min_component_km=min_component_km)
    cell_access = Access.from_snap(cell_snap, access_speed_kmh=access_speed_kmh)
    tt = travel_times(graph, fac_access, cell_access, limit_s=breaks[-1] * 60.0)
    fac["road_access"] = snap.edge >= 0
    fac["exists"] = fac.pop("operating").to_numpy(bool) & fac["road_access"].to_numpy(bool)
    ids = fac["facility_id"].to_numpy()
    times = pd.DataFrame(
        {"facility_id": ids[tt.fac], "cell": tt.cell, "travel_time_min": tt.time_s / 60.0}
    )
    rows = catchment_polygons(tt, demand.grid, tuple(b * 60.0 for b in breaks)) if polygons else []
    poly = gpd.GeoDataFrame(
        {
            "facility_id": [ids[i] for i, _, _ in rows],
            "break_min": [b / 60.0 for _, b, _ in rows],
        },
        geometry=[g for _, _, g in rows],
        crs=graph.crs,
    )
    return Catchments(fac, times, poly, breaks, demand, tt)


# ----------------------------------------------------------------------------- measures


def check_breaks(catch: Catchments, breaks_min: Sequence[float] | None) -> tuple[float, ...]:
    out = catch.breaks_min if breaks_min is None else tuple(float(b) for b in breaks_min)
    if max(out) > catch.breaks_min[-1]:
        raise InputError(
            f"break {max(out)} min is beyond the catchments' largest ({catch.breaks_min[-1]} min)"
        )
    return out


def coverage(catch: Catchments, *, breaks_min: Sequence[float] | None = None) -> pd.DataFrame:
    """People reached per facility and break (``analysis.overlap.coverage_measures``).

    Returns
    -------
    pandas.DataFrame
        ``facility_id``, ``break_min``, ``coverage``, ``unique_coverage`` (reached by no other
        existing facility), ``other_area_coverage`` (also reached from another area).
    """
    people = catch.demand.grid.population
    n_areas = len(catch.demand.areas)
    frames = []
    for b in check_breaks(catch, breaks_min):
        cov = overlap_mod.coverage_measures(
            catch.within(b), people, catch.area_index, n_areas, base=catch.exists
        )
        frames.append(
            pd.DataFrame(
                {
                    "facility_id": catch.ids,
                    "break_min": b,
                    "coverage": cov.coverage,
                    "unique_coverage": cov.unique,
                    "other_area_coverage": cov.other_province,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def overlaps(catch: Catchments, *, breaks_min: Sequence[float] | None = None) -> pd.DataFrame:
    """Every pair of facilities whose catchments share people, long format.

    Returns
    -------
    pandas.DataFrame
        ``facility_a`` < ``facility_b``, ``break_min``, ``overlap`` (people in both),
        ``overlap_share`` (overlap / the smaller coverage); ``analysis.overlap.pairwise_overlaps``.
    """
    people = catch.demand.grid.population
    ids = catch.ids
    frames = []
    for b in check_breaks(catch, breaks_min):
        within = catch.within(b)
        cov = np.asarray(within.astype(np.float64) @ people).ravel()
        ov = overlap_mod.pairwise_overlaps(within, people, cov)
        frames.append(
            pd.DataFrame(
                {
                    "facility_a": ids[ov["i"].to_numpy()],
                    "facility_b": ids[ov["j"].to_numpy()],
                    "break_min": b,
                    "overlap": ov["overlap"].to_numpy(),
                    "overlap_share": ov["overlap_share"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
