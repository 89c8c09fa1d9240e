"""Duplicate facilities: the same place, or the same named facility in the same province.

Groups are closed transitively and keep their smallest ``facility_id``; what is merged away is
listed (``MERGED_COLUMNS``) so that the repairs name it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.facility_source import normalise_name

MERGED_COLUMNS = ("type", "kept_id", "merged_id", "merged_name", "reason", "distance_m")


def merge_duplicates(
    facilities: gpd.GeoDataFrame, *, distance_m: float, metric_crs: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Merge facilities of the same type that are the same place or the same named facility.

    Two facilities are duplicates when they have the same type and lie within ``distance_m``
    (measured in ``metric_crs``), or have the same normalised name (casefold, no diacritics,
    đ -> d) in the same ``prov63_code``. Groups are closed transitively; in each, the smallest
    ``facility_id`` is kept.

    Returns
    -------
    (GeoDataFrame, DataFrame)
        The facilities without the merged ones (same columns, sorted by type and facility_id);
        the merged table (``type``, ``kept_id``, ``merged_id``, ``merged_name``, ``reason``,
        ``distance_m``).
    """
    fac = facilities.sort_values(["type", "facility_id"], kind="stable", ignore_index=True)
    n = len(fac)
    if n == 0:
        return fac, pd.DataFrame(columns=list(MERGED_COLUMNS))
    metric = fac.geometry.to_crs(metric_crs)
    left, right = metric.sindex.query(metric.to_numpy(), predicate="dwithin", distance=distance_m)
    names = (
        fac["name"].map(normalise_name)
        + "|"
        + fac.get("prov63_code", pd.Series("", index=fac.index)).astype(str)
    )
    key = fac["type"].astype(str) + "|" + names
    codes = pd.factorize(key)[0]
    order = np.argsort(codes, kind="stable")
    same_name = (
        (codes[order][1:] == codes[order][:-1]) & fac["prov63_code"].notna().to_numpy()[order][1:]
        if "prov63_code" in fac
        else np.zeros(n - 1, bool)
    )
    nl, nr = order[:-1][same_name], order[1:][same_name]
    types = fac["type"].to_numpy()
    pairs_l = np.concatenate([left, nl])
    pairs_r = np.concatenate([right, nr])
    same_type = (types[pairs_l] == types[pairs_r]) & (pairs_l != pairs_r)
    # a planned what-if (--add) is never merged away, nor is anything merged into it
    if "source" in fac:
        added = (fac["source"] == "--add").to_numpy()
        same_type &= ~(added[pairs_l] | added[pairs_r])
    graph = coo_matrix(
        (np.ones(same_type.sum()), (pairs_l[same_type], pairs_r[same_type])), shape=(n, n)
    )
    _, label = connected_components(graph, directed=False)
    kept = pd.Series(np.arange(n)).groupby(label).transform("min").to_numpy()  # rows sorted by id
    gone = np.flatnonzero(kept != np.arange(n))
    dist = shapely.distance(metric.to_numpy()[gone], metric.to_numpy()[kept[gone]])
    rows = []
    for i, k, d in zip(gone, kept[gone], dist, strict=True):
        why = "same place" if d <= distance_m else "same name in the same province"
        rows.append(
            {
                "type": types[i],
                "kept_id": fac["facility_id"].iat[k],
                "merged_id": fac["facility_id"].iat[i],
                "merged_name": fac["name"].iat[i],
                "reason": f"duplicate of {fac['facility_id'].iat[k]} ({fac['name'].iat[k]}): {why}, {d:.0f} m apart",
                "distance_m": round(float(d), 1),
            }
        )
    merged = pd.DataFrame(rows, columns=list(MERGED_COLUMNS))
    return fac.drop(index=gone).reset_index(drop=True), merged
