"""City streets at full OSM detail (``roads_extra``) merged into the national road layer.

The national layer (OSM expressways and national highways, generalised) lacks the urban
arterials. Where a city has a full OSM extract (TP. Hồ Chí Minh 2018, Huế 2026, Đà Nẵng's
centre 2026), its drivable ways are merged: a way whose OSM id is already in the national layer
is dropped (the national layer, newer or equal, keeps its tags); the rest are added and joined to
the national roads by the topology repair of :mod:`geo.topology`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import InputError

logger = logging.getLogger(__name__)

# Classes kept by default: motorway to tertiary and their links (what the embedded data holds).
CITY_HIGHWAYS = (
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
)
STREET_COLUMNS = ("osm_way_id", "road_class", "highway", "name", "maxspeed", "oneway", "status")


def read_city_streets(
    paths: Sequence[str | Path], *, highways: Sequence[str] = CITY_HIGHWAYS
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Drivable ways of the ``roads_extra`` layers that exist among ``paths``, one frame.

    Ways with ``access``/``motor_vehicle`` = no/private or whose ``highway`` is not in
    ``highways`` are left out; ``junction=roundabout`` counts as ``oneway=yes``. A way found in
    two files is kept once (the first file listed wins). Returns the ways (EPSG:4326, columns
    ``STREET_COLUMNS`` and ``source``) and one report entry per file read.
    """
    frames, report = [], []
    for p in map(Path, paths):
        if not p.is_file():
            continue
        try:
            g = gpd.read_file(p, layer="roads", engine="pyogrio")
        except Exception as exc:  # pyogrio raises several GDAL error types
            raise InputError(f"cannot read the city streets ({exc})", source=str(p)) from None
        for col in ("osm_id", "highway", "geometry"):
            if col not in g.columns:
                raise InputError(f"no column '{col}' in layer 'roads'", source=str(p), field=col)
        hw = g["highway"].fillna("").astype(str)
        closed = np.zeros(len(g), bool)
        for col in ("access", "motor_vehicle"):
            if col in g.columns:
                closed |= g[col].isin(["no", "private"]).to_numpy()
        keep = hw.isin(list(highways)).to_numpy() & ~closed
        sub = g.loc[keep]
        oneway = sub["oneway"] if "oneway" in sub.columns else pd.Series(None, index=sub.index)
        if "junction" in sub.columns:
            oneway = oneway.where(~sub["junction"].isin(["roundabout", "circular"]), "yes")
        frames.append(
            gpd.GeoDataFrame(
                {
                    "osm_way_id": sub["osm_id"].astype("int64").to_numpy(),
                    "road_class": sub["highway"].to_numpy(dtype=object),
                    "highway": sub["highway"].to_numpy(dtype=object),
                    "name": sub.get("name", pd.Series(None, index=sub.index)).to_numpy(object),
                    "maxspeed": sub.get("maxspeed", pd.Series(None, index=sub.index)).to_numpy(
                        object
                    ),
                    "oneway": oneway.to_numpy(dtype=object),
                    "status": np.full(len(sub), "unknown", dtype=object),
                    "source": np.full(len(sub), p.name, dtype=object),
                },
                geometry=sub.geometry.to_numpy(),
                crs=g.crs,
            ).to_crs("EPSG:4326")
        )
        report.append(
            {
                "file": str(p),
                "ways": len(g),
                "drivable_ways_kept": int(keep.sum()),
                "left_out": {str(k): int(c) for k, c in hw[~keep].value_counts().head(8).items()},
            }
        )
    if not frames:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in (*STREET_COLUMNS, "source")},
            geometry=gpd.GeoSeries([], crs="EPSG:4326"),
        ), report
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    out = out.drop_duplicates("osm_way_id", keep="first").reset_index(drop=True)
    return out, report


def merge_by_way_id(
    national: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, id_field: str = "osm_way_id"
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The city streets that are not in the national layer, by OSM way id.

    A way present in both keeps the national layer's row (its tags and its geometry win); the
    others are returned, to be added as a further layer.

    Returns
    -------
    (streets, report)
        The streets to add, and ``joined_by_way_id`` (ways already in the national layer),
        ``added`` (ways) and ``added_km``.
    """
    if id_field not in national.columns:
        raise InputError(
            f"the national road layer has no '{id_field}' column to join city streets on",
            field=id_field,
        )
    ids = pd.to_numeric(national[id_field], errors="coerce").dropna().astype("int64")
    dup = streets["osm_way_id"].isin(set(ids.to_numpy()))
    added = streets.loc[~dup].reset_index(drop=True)
    km = float(added.to_crs(added.estimate_utm_crs()).length.sum()) / 1000 if len(added) else 0.0
    return added, {
        "joined_by_way_id": int(dup.sum()),
        "added": len(added),
        "added_km": round(km, 3),
    }
