"""Catchments and their measures in the notebook API (``analysis.api``).

:func:`catchments` solves the kernel in facility blocks into an
:class:`analysis.block_store.BlockStore`, as the run's catchment step does: blocks stay in
memory up to ``INFRA_OVERLAP_SPILL_MB`` and are then spilled to disk. Every measure is a pass
over those blocks through the functions the run uses (``analysis.blocks``,
``analysis.block_sets``, ``analysis.verdict_blocks``), so no (facility, cell) matrix is built.
Only :attr:`Catchments.times` and :meth:`Catchments.within` hold every pair, by definition, and
they are built from the blocks when asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.api_inputs import Demand, require_columns, to_metric
from analysis.block_measures import catchment_polygons_blocks
from analysis.block_sets import pairwise_overlaps_from_sets
from analysis.block_store import BlockStore, kernel_store
from analysis.blocks import CellReduction, facility_measures, reduce_blocks
from analysis.catchments import Access, TravelTimes
from analysis.cell_sets import facility_sets
from analysis.network import Graph, snap_points
from analysis.overlap import Coverage
from geo.errors import InputError

# ----------------------------------------------------------------------------- catchments


@dataclass(frozen=True)
class Catchments:
    """Travel times of one set of facilities to the demand cells, as facility blocks.

    Attributes
    ----------
    facilities
        A new frame sorted by ``facility_id`` (metric CRS) with ``area_id``, ``road_access``
        (bool) and ``exists`` (operating with road access: the base of every measure).
    polygons
        ``facility_id``, ``break_min``, MultiPolygon of the reached cells (metric CRS).
    breaks_min
        The breaks, ascending.
    demand
        The demand the times reach (:class:`analysis.api_inputs.Demand`).
    store
        The (facility, cell, time) pairs within the largest break, in blocks of facilities
        (:class:`analysis.block_store.BlockStore`; spilled to disk beyond
        ``INFRA_OVERLAP_SPILL_MB``). The measures read it one block at a time.
    """

    facilities: gpd.GeoDataFrame
    polygons: gpd.GeoDataFrame
    breaks_min: tuple[float, ...]
    demand: Demand
    store: BlockStore

    def blocks(self) -> Iterator[TravelTimes]:
        """One pass over the pairs, block by block in facility order: each a ``TravelTimes``
        whose facilities and cells are int32 where they fit and whose cells and times are
        read-only (the store's own arrays); :attr:`times` is the long frame."""
        return self.store.blocks()

    @property
    def times(self) -> pd.DataFrame:
        """Every pair, long format: ``facility_id``, ``cell``, ``travel_time_min`` within the
        largest break. This frame holds every (facility, cell) pair: it is built from the blocks
        on each access, and is as large as the catchments (hundreds of millions of rows at
        100 m); the measures never use it."""
        ids = self.ids
        parts = [
            pd.DataFrame(
                {
                    "facility_id": ids[b.fac],
                    "cell": b.cell.astype(np.int64),  # the public frame's type, whatever stored
                    "travel_time_min": b.time_s / 60.0,
                }
            )
            for b in self.blocks()
        ]
        if not parts:
            return pd.DataFrame(
                {
                    "facility_id": ids[:0],
                    "cell": np.zeros(0, np.int64),
                    "travel_time_min": np.zeros(0),
                }
            )
        return pd.concat(parts, ignore_index=True)

    def within(self, break_min: float) -> sp.csr_matrix:
        """Boolean (facility, cell) matrix of the pairs within ``break_min`` minutes. It holds
        every such pair (built from the blocks on each call); the measures never use it."""
        t = break_min * 60.0
        fac, cell = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for b in self.blocks():  # only the pairs within the break are gathered
            m = b.time_s <= t
            fac.append(b.fac[m])
            cell.append(b.cell[m])
        f, c = np.concatenate(fac), np.concatenate(cell)
        return sp.csr_matrix(
            (np.ones(f.size, dtype=bool), (f, c)), shape=(self.store.n_fac, self.store.n_cells)
        )

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
        The pairs are kept as the kernel's facility blocks (``analysis.block_store``), in
        memory up to ``INFRA_OVERLAP_SPILL_MB`` (MiB, default 1024), then in a temporary folder
        removed with the catchments; every measure reads them one block at a time.
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
    store = kernel_store(graph, fac_access, cell_access, limit_s=breaks[-1] * 60.0)
    fac["road_access"] = snap.edge >= 0
    fac["exists"] = fac.pop("operating").to_numpy(bool) & fac["road_access"].to_numpy(bool)
    ids = fac["facility_id"].to_numpy()
    rows = (
        catchment_polygons_blocks(store.blocks(), demand.grid, tuple(b * 60.0 for b in breaks))
        if polygons
        else []
    )
    poly = gpd.GeoDataFrame(
        {
            "facility_id": [ids[i] for i, _, _ in rows],
            "break_min": [b / 60.0 for _, b, _ in rows],
        },
        geometry=[g for _, _, g in rows],
        crs=graph.crs,
    )
    return Catchments(fac, poly, breaks, demand, store)


# ----------------------------------------------------------------------------- measures


def check_breaks(catch: Catchments, breaks_min: Sequence[float] | None) -> tuple[float, ...]:
    out = catch.breaks_min if breaks_min is None else tuple(float(b) for b in breaks_min)
    if max(out) > catch.breaks_min[-1]:
        raise InputError(
            f"break {max(out)} min is beyond the catchments' largest ({catch.breaks_min[-1]} min)"
        )
    return out


def _params(catch: Catchments) -> dict[str, np.ndarray]:
    """The block reductions' inputs: existing facilities, people, each facility's area."""
    return {
        "base": catch.exists,
        "demand": catch.demand.grid.population,
        "fac_prov": catch.area_index,
    }


def cell_reduction(catch: Catchments, breaks_min: Sequence[float]) -> CellReduction:
    """The run's first pass over the blocks (``analysis.blocks.reduce_blocks``) at
    ``breaks_min``, people as demand, areas as provinces: per cell, the existing facilities
    within each break and the nearest two; per facility and break, its coverage."""
    return reduce_blocks(
        catch.blocks(),
        n_fac=catch.store.n_fac,
        n_cells=catch.store.n_cells,
        breaks_s=tuple(b * 60.0 for b in breaks_min),
        n_prov=len(catch.demand.areas),
        **_params(catch),
    )


def reductions(
    catch: Catchments, breaks_min: Sequence[float]
) -> tuple[CellReduction, list[Coverage]]:
    """:func:`cell_reduction` and the second pass (``analysis.blocks.facility_measures``):
    per break, the :class:`analysis.overlap.Coverage` of every facility (equal to
    ``overlap.coverage_measures`` on the pairs)."""
    red = cell_reduction(catch, breaks_min)
    return red, facility_measures(catch.blocks(), red, **_params(catch))


def coverage(catch: Catchments, *, breaks_min: Sequence[float] | None = None) -> pd.DataFrame:
    """People reached per facility and break (``analysis.blocks.facility_measures``).

    Returns
    -------
    pandas.DataFrame
        ``facility_id``, ``break_min``, ``coverage``, ``unique_coverage`` (reached by no other
        existing facility), ``other_area_coverage`` (also reached from another area).
    """
    breaks = check_breaks(catch, breaks_min)
    _, per_break = reductions(catch, breaks)
    frames = [
        pd.DataFrame(
            {
                "facility_id": catch.ids,
                "break_min": b,
                "coverage": cov.coverage,
                "unique_coverage": cov.unique,
                "other_area_coverage": cov.other_province,
            }
        )
        for b, cov in zip(breaks, per_break, strict=True)
    ]
    return pd.concat(frames, ignore_index=True)


def overlaps(catch: Catchments, *, breaks_min: Sequence[float] | None = None) -> pd.DataFrame:
    """Every pair of facilities whose catchments share people, long format.

    Computed from the cells' merged facility sets (``analysis.block_sets.facility_sets`` and
    ``pairwise_overlaps_from_sets``), never the pairs.

    Returns
    -------
    pandas.DataFrame
        ``facility_a`` < ``facility_b``, ``break_min``, ``overlap`` (people in both),
        ``overlap_share`` (overlap / the smaller coverage).
    """
    people = catch.demand.grid.population
    ids = catch.ids
    breaks = check_breaks(catch, breaks_min)
    red = cell_reduction(catch, breaks)
    frames = []
    for k, b in enumerate(breaks):
        sets = facility_sets(
            catch.blocks,
            threshold_s=b * 60.0,
            n_fac=catch.store.n_fac,
            n_cells=catch.store.n_cells,
        )
        ov = pairwise_overlaps_from_sets(sets, people, red.coverage[k])
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
