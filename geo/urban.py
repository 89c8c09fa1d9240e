"""Urban congestion: a speed factor on the roads of the largest cities (issue 15, item 3).

The speed table gives free-flow speeds; in Hà Nội and TP. Hồ Chí Minh a drive across town takes
two to three times as long (Bến Thành – Tân Sơn Nhất, 9 km: 45 min stated, 16 min at table
speeds). One parameter stands for that: every road edge that is not an expressway, whose
midpoint lies within ``urban_radius_km`` of a city of ``cities_geonames.csv`` with at least
``urban_min_population`` people, has its speed multiplied by ``urban_speed_factor`` (1 = no
congestion). ``cli.py calibrate`` fits the factor (cross-validated, ``analysis.calibration``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.cities import CITIES_FILE

EXPRESSWAY_CLASSES = ("expressway", "motorway", "motorway_link")
# a ferry's time is its crossing and wait (geo.ferries), not a road speed
UNSLOWED_CLASSES = (*EXPRESSWAY_CLASSES, "ferry")


def urban_edges(
    edges: gpd.GeoDataFrame,
    data_dir: str | Path,
    *,
    min_population: int,
    radius_km: float,
) -> tuple[np.ndarray, list[str]]:
    """Per edge: whether it is a non-expressway road within the radius of a large city; and the
    names of those cities. No cities file or a zero radius: no edge."""
    path = Path(data_dir) / CITIES_FILE
    none = np.zeros(len(edges), bool)
    if radius_km <= 0 or not path.is_file() or len(edges) == 0:
        return none, []
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"name", "lon", "lat", "population"} <= set(df.columns):
        return none, []
    pop = pd.to_numeric(df["population"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    big = (pop >= min_population) & lon.notna() & lat.notna()
    if not big.any():
        return none, []
    centres = gpd.GeoSeries(
        shapely.points(lon[big].to_numpy(), lat[big].to_numpy()), crs="EPSG:4326"
    ).to_crs(edges.crs)
    mid = shapely.line_interpolate_point(
        np.asarray(edges.geometry.array, dtype=object), 0.5, normalized=True
    )
    near = shapely.STRtree(centres.to_numpy()).query(
        mid, predicate="dwithin", distance=radius_km * 1000.0
    )[0]
    out = none.copy()
    out[np.unique(near)] = True
    out &= ~np.isin(edges["road_class"].astype(str).to_numpy(), UNSLOWED_CLASSES)
    return out, sorted(df.loc[big, "name"].astype(str))


def with_urban_factor(network: Any, data_dir: str | Path, roads: Any) -> Any:
    """The network with an ``urban`` edge column and the factor applied to those edges."""
    urban, cities = urban_edges(
        network.edges,
        data_dir,
        min_population=int(getattr(roads, "urban_min_population", 1_000_000)),
        radius_km=float(getattr(roads, "urban_radius_km", 0.0)),
    )
    f = float(getattr(roads, "urban_speed_factor", 1.0))
    speed = network.edges["speed_kmh"].to_numpy(np.float64)
    edges = network.edges.assign(urban=urban, speed_kmh=np.where(urban, speed * f, speed))
    report = {
        **network.report,
        "urban": {
            "speed_factor": f,
            "cities": cities,
            "edges": int(urban.sum()),
            "km": round(float(network.edges["length_m"].to_numpy()[urban].sum()) / 1000, 1),
        },
    }
    return replace(network, edges=edges, report=report)
