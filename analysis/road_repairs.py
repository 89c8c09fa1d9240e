"""What each road repair reconnects: the facilities and people whose nearest road it made routable.

The repairs themselves are made in :mod:`geo.road_repairs`; every edge of the repaired network
carries ``repair_id``. Here a facility or a demand cell counts for a repair when the road edge it
snaps to carries that repair's id (an edge of a joined fragment, or a one-way edge made two-way).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.network import Snap

ROAD_REPAIR_COLUMNS = (
    "repair_id",
    "kind",
    "length_m",
    "facilities_reconnected",
    "n_facilities_reconnected",
    "people_reconnected",
    "component_km",
    "note",
)


def road_repairs_layer(
    repairs: gpd.GeoDataFrame | None,
    edge_repair_id: np.ndarray | None,
    *,
    cell_snap: Snap,
    population: np.ndarray,
    facility_snaps: Sequence[tuple[Sequence[str], Snap]],
) -> gpd.GeoDataFrame:
    """The ``road_repairs`` layer (EPSG:4326), one row per repair.

    Parameters
    ----------
    repairs
        ``RoadNetwork.repairs`` (metric CRS) or None when the network was not repaired.
    edge_repair_id
        ``repair_id`` of every graph edge (-1: none), in the graph's edge order.
    cell_snap, population
        Where the demand cells meet the network, and their people.
    facility_snaps
        Per facility type: the facility names and where they meet the network.

    Returns
    -------
    geopandas.GeoDataFrame
        ``ROAD_REPAIR_COLUMNS`` and the repair's geometry; ``facilities_reconnected`` holds the
        names, ``; ``-joined.
    """
    if repairs is None or edge_repair_id is None or len(repairs) == 0:
        empty = {c: pd.Series(dtype=object) for c in ROAD_REPAIR_COLUMNS}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    n = len(repairs)
    rid = np.asarray(edge_repair_id, dtype=np.int64)

    def of(snap: Snap) -> np.ndarray:
        return np.where(snap.edge >= 0, rid[np.maximum(snap.edge, 0)], -1)

    cells = of(cell_snap)
    ok = cells >= 0
    people = np.bincount(cells[ok], weights=np.asarray(population)[ok], minlength=n)[:n]
    names: list[list[str]] = [[] for _ in range(n)]
    for fac_names, snap in facility_snaps:
        for name, r in zip(fac_names, of(snap), strict=True):
            if r >= 0:
                names[int(r)].append(str(name))
    out = repairs.assign(
        facilities_reconnected=["; ".join(sorted(x)) for x in names],
        n_facilities_reconnected=[len(x) for x in names],
        people_reconnected=np.round(people, 0),
    )
    out = out[[*ROAD_REPAIR_COLUMNS, "geometry"]].to_crs("EPSG:4326")
    return out.sort_values("repair_id").reset_index(drop=True)
