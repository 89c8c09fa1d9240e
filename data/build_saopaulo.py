"""Build the São Paulo test region's data folder (``data/saopaulo.toml``) from the bench PBF.

The roads are real (``../shared/data/bench/sao_paulo.osm.pbf``, OpenStreetMap, ODbL): they are
read with :func:`geo.roads.network_from_pbf` and written as a line layer with the speeds the
region's table gives (``maxspeed``). Everything else is SYNTHETIC and deterministic (no random
state but a fixed seed): four areas (the quadrants of the cut), a population surface
half even over the cells with a street and half by street length (1,000,000 people), and eight industrial parks
placed on streets. Nothing is downloaded and the PBF is never copied.

Usage: ``python -m data.build_saopaulo --pbf ../shared/data/bench/sao_paulo.osm.pbf --out DIR``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from geo.config import load_region_config
from geo.roads import network_from_pbf

CONFIG = Path(__file__).resolve().parent / "saopaulo.toml"
TOTAL_PEOPLE = 1_000_000.0
GRID_M = 250.0
SEED = 2026
N_PARKS = 8
AREAS = (("01", "Zona Noroeste (synthetic)"), ("02", "Zona Nordeste (synthetic)"),
         ("03", "Zona Sudoeste (synthetic)"), ("04", "Zona Sudeste (synthetic)"))  # fmt: skip


def _roads(pbf: Path, crs: str, speed_kmh: dict[str, float]) -> gpd.GeoDataFrame:
    net = network_from_pbf(pbf, metric_crs=crs, speed_kmh=speed_kmh)
    e = net.edges
    return gpd.GeoDataFrame(
        {
            "highway": e["road_class"].astype(str).to_numpy(),
            "maxspeed": e["speed_kmh"].round(1).astype(str).to_numpy(),
            "oneway": np.where(e["oneway"].to_numpy(bool), "yes", "no"),
            "name": e["name"].fillna("").astype(str).to_numpy(),
        },
        geometry=e.geometry.to_numpy(),
        crs=crs,
    )


def _areas(bounds: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [box(x0, ym, xm, y1), box(xm, ym, x1, y1), box(x0, y0, xm, ym), box(xm, y0, x1, ym)]
    return gpd.GeoDataFrame(
        {
            "gso_code": [c for c, _ in AREAS],
            "name_vi": [n for _, n in AREAS],
            "region6_code": "SP",
        },
        geometry=boxes,
        crs=crs,
    ).to_crs("EPSG:4326")


def _population(roads: gpd.GeoDataFrame, bounds: np.ndarray, out: Path) -> float:
    """People per 250 m cell: half evenly over the cells with a street, half in proportion to the
    street length whose midpoint is in the cell."""
    x0 = np.floor(bounds[0] / GRID_M) * GRID_M
    y1 = np.ceil(bounds[3] / GRID_M) * GRID_M
    cols = int(np.ceil((bounds[2] - x0) / GRID_M))
    rows = int(np.ceil((y1 - bounds[1]) / GRID_M))
    mid = roads.geometry.interpolate(0.5, normalized=True)
    c = np.clip(((mid.x.to_numpy() - x0) // GRID_M).astype(int), 0, cols - 1)
    r = np.clip(((y1 - mid.y.to_numpy()) // GRID_M).astype(int), 0, rows - 1)
    length = np.bincount(r * cols + c, weights=roads.length.to_numpy(), minlength=rows * cols)
    # half spread evenly over the cells with a street, half by street length (no cell too dense)
    share = 0.5 * (length > 0) / np.count_nonzero(length) + 0.5 * length / length.sum()
    people = (share * TOTAL_PEOPLE).reshape(rows, cols).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": "float32",
        "crs": roads.crs.to_wkt(),
        "transform": from_origin(x0, y1, GRID_M, GRID_M),
        "nodata": -1.0,
    }
    with rasterio.open(out, "w", **profile) as ds:
        ds.write(people, 1)
    return float(people.sum())


def _area_totals(areas: gpd.GeoDataFrame, out: Path) -> None:
    """The areas' "census" (the quality report compares the surface with it): the raster's own
    people per area, since the population is synthetic (the column name is the Viet Nam
    table's, ``pop2024``)."""
    from geo.population import raster_to_grid

    metric = areas.to_crs(load_region_config(CONFIG).metric_crs)
    x0, y0, x1, y1 = metric.total_bounds
    shape = (int(np.ceil((y1 - y0) / GRID_M)), int(np.ceil((x1 - x0) / GRID_M)))
    arr = raster_to_grid(
        out / "population_grid.tif",
        crs=str(metric.crs),
        x0=float(x0),
        y0=float(y1),
        cell_size_m=GRID_M,
        shape=shape,
    )
    xs = x0 + (np.arange(shape[1]) + 0.5) * GRID_M
    ys = y1 - (np.arange(shape[0]) + 0.5) * GRID_M
    gx, gy = np.meshgrid(xs, ys)
    cells = gpd.GeoDataFrame(
        {"people": arr.ravel()}, geometry=gpd.points_from_xy(gx.ravel(), gy.ravel()), crs=metric.crs
    )
    joined = gpd.sjoin(cells, metric[["gso_code", "geometry"]], predicate="within")
    per_area = joined.groupby("gso_code")["people"].sum().reindex(metric["gso_code"], fill_value=0)
    pd.DataFrame({"gso_code": per_area.index, "pop2024": per_area.round().to_numpy()}).to_csv(
        out / "population_areas.csv", index=False
    )


def _parks(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Eight parks on street midpoints (seed 2026); two of them 2 km apart across areas."""
    rng = np.random.default_rng(SEED)
    main = roads[roads["highway"].isin(["primary", "secondary", "trunk"])].reset_index(drop=True)
    pick = np.sort(rng.choice(len(main), N_PARKS, replace=False))
    pts = main.geometry.iloc[pick].interpolate(0.5, normalized=True).to_numpy()
    status = ["operating"] * (N_PARKS - 1) + ["planned"]
    return gpd.GeoDataFrame(
        {
            "park_id": [f"SP{i + 1:02d}" for i in range(N_PARKS)],
            "name": [f"Parque sintético {i + 1}" for i in range(N_PARKS)],
            "status": status,
        },
        geometry=list(pts),
        crs=roads.crs,
    ).to_crs("EPSG:4326")


def build(pbf: Path, out: Path) -> dict[str, float]:
    """Write roads.gpkg, areas.gpkg, crosswalk_areas.csv, population_grid.tif and parks.gpkg."""
    config = load_region_config(CONFIG)
    out.mkdir(parents=True, exist_ok=True)
    roads = _roads(pbf, config.metric_crs, dict(config.roads.speed_kmh))
    roads.to_file(out / "roads.gpkg", layer="roads", engine="pyogrio")
    areas = _areas(roads.total_bounds, config.metric_crs)
    areas.to_file(out / "areas.gpkg", layer="areas", engine="pyogrio")
    # one area layer is both editions: each area is its own 34-edition area
    pd.DataFrame(
        {
            "old63_gso_code": areas["gso_code"],
            "old63_name_vi": areas["name_vi"],
            "new34_code": areas["gso_code"],
            "new34_name_vi": areas["name_vi"],
            "region6_code": areas["region6_code"],
        }
    ).to_csv(out / "crosswalk_areas.csv", index=False)
    people = _population(roads, roads.total_bounds, out / "population_grid.tif")
    _area_totals(areas, out)
    parks = _parks(roads)
    parks.to_file(out / "parks.gpkg", layer="parks", engine="pyogrio")
    return {"road_edges": len(roads), "people": people, "parks": len(parks)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pbf", type=Path, required=True, help="the bench sao_paulo.osm.pbf")
    ap.add_argument("--out", type=Path, required=True, help="data folder to write")
    args = ap.parse_args()
    print(build(args.pbf, args.out))


if __name__ == "__main__":
    main()
