"""Major cities for map labels: ``cities_geonames.csv`` of a data folder (GeoNames, CC BY 4.0).

The file (columns ``geonameid, name, lon, lat, population, ...``) comes from the data mirror
through ``data.build_default``; see the mirror's PROVENANCE.md. It names places for the reader
of a map; it is not demand.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

log = logging.getLogger(__name__)

CITIES_FILE = "cities_geonames.csv"
CITY_COLUMNS = ("name", "lon", "lat", "population")
# GeoNames' main name of some Vietnamese cities is the English exonym. Their official Vietnamese
# names, as the General Statistics Office's list of administrative units writes them
# (danhmuchanhchinh.gso.gov.vn; the five centrally-run cities also as in the run's provinces
# layer), keyed by geonameid. "TP." (thành phố) marks Hồ Chí Minh City, whose name alone is
# the person's.
NAMES_VI = {
    "1566083": "TP. Hồ Chí Minh",
    "1581130": "Hà Nội",
    "1581298": "Hải Phòng",
    "1583992": "Đà Nẵng",
    "1568574": "Quy Nhơn",
    "1564064": "Long Biên",
    "8531735": "Phú Quốc",
    "1562798": "Vinh",
}


def read_major_cities(data_dir: str | Path, *, top: int = 12) -> gpd.GeoDataFrame:
    """The ``top`` most populous cities of ``data_dir/cities_geonames.csv`` as EPSG:4326 points.

    Parameters
    ----------
    data_dir : str or Path
        A data folder; a folder without the file gives an empty frame (labels are optional).
    top : int
        How many cities, largest population first (ties by name).

    Returns
    -------
    GeoDataFrame
        ``name`` (GeoNames), ``name_vi`` (:data:`NAMES_VI`, else ``name``), ``population``,
        ``geometry``. Rows with a missing name, a coordinate outside
        [-180, 180] x [-90, 90] or a non-numeric population are left out and logged by row
        number (a warning naming the file).

    Raises
    ------
    ValueError
        If the file lacks one of ``name, lon, lat, population`` (the message names the file).
    """
    path = Path(data_dir) / CITIES_FILE
    empty = gpd.GeoDataFrame(
        {"name": [], "name_vi": [], "population": []}, geometry=[], crs="EPSG:4326"
    )
    if not path.is_file():
        return empty
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in CITY_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    pop = pd.to_numeric(df["population"], errors="coerce")
    name = df["name"].str.strip()
    bad = (name == "") | ~lon.between(-180, 180) | ~lat.between(-90, 90) | pop.isna()
    if bad.any():
        rows = ", ".join(str(i + 2) for i in df.index[bad][:20])  # file line numbers
        log.warning(
            "%s: %d row(s) left out (no name, bad lon/lat or population): lines %s",
            path,
            int(bad.sum()),
            rows,
        )
    ids = (
        df["geonameid"].str.strip() if "geonameid" in df.columns else pd.Series("", index=df.index)
    )
    name_vi = ids.map(NAMES_VI).fillna(name)
    ok = pd.DataFrame(
        {"name": name, "name_vi": name_vi, "population": pop, "lon": lon, "lat": lat}
    )[~bad]
    ok = ok.sort_values(["population", "name"], ascending=[False, True], kind="stable").head(top)
    return gpd.GeoDataFrame(
        ok[["name", "name_vi", "population"]].reset_index(drop=True),
        geometry=gpd.points_from_xy(ok["lon"], ok["lat"]),
        crs="EPSG:4326",
    )
