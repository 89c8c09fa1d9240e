"""A small region end to end through the notebook API (``analysis.api``).

Run from the repository root: ``python docs/example_api.py``. Everything is built here, with a
fixed seed: a 24 x 16 km street lattice (UTM zone 23S, EPSG:31983), two municipalities split
at x = 12 km, 3,000 population points, and five hospitals, two of them 3 km apart across the
border. Each step is one call on GeoDataFrames; each result is a frame keyed by
``facility_id`` (long format for pairs).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, box

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's own code
from analysis import api

CRS = "EPSG:31983"  # SIRGAS 2000 / UTM zone 23S (metres)
X0, Y0 = 320_000.0, 7_390_000.0  # south-west corner of the region


def streets() -> gpd.GeoDataFrame:
    """A lattice of streets every 1 km; every 4th line an arterial (primary)."""
    lines, kinds = [], []
    for i in range(25):  # north-south
        x = X0 + i * 1000.0
        lines.append(LineString([(x, Y0), (x, Y0 + 16_000.0)]))
        kinds.append("primary" if i % 4 == 0 else "residential")
    for j in range(17):  # east-west
        y = Y0 + j * 1000.0
        lines.append(LineString([(X0, y), (X0 + 24_000.0, y)]))
        kinds.append("primary" if j % 4 == 0 else "residential")
    return gpd.GeoDataFrame({"highway": kinds}, geometry=lines, crs=CRS)


def areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["west", "east"]},
        geometry=[
            box(X0, Y0, X0 + 12_000.0, Y0 + 16_000.0),
            box(X0 + 12_000.0, Y0, X0 + 24_000.0, Y0 + 16_000.0),
        ],
        crs=CRS,
    )


def people() -> gpd.GeoDataFrame:
    """3,000 points of 10 to 200 people, denser towards the middle (seed 7)."""
    rng = np.random.default_rng(7)
    x = np.clip(rng.normal(X0 + 12_000.0, 6_000.0, 3000), X0 + 1.0, X0 + 23_999.0)
    y = np.clip(rng.normal(Y0 + 8_000.0, 4_000.0, 3000), Y0 + 1.0, Y0 + 15_999.0)
    pop = rng.integers(10, 200, 3000)
    return gpd.GeoDataFrame({"population": pop}, geometry=gpd.points_from_xy(x, y), crs=CRS)


def hospitals() -> gpd.GeoDataFrame:
    """Five hospitals given in lon/lat, as a user's table would be (projected by the API)."""
    xy = [(3_000, 4_000), (10_500, 8_200), (13_500, 8_000), (20_000, 12_000), (21_000, 3_000)]
    pts = gpd.GeoSeries(
        gpd.points_from_xy([X0 + x for x, _ in xy], [Y0 + y for _, y in xy]), crs=CRS
    )
    return gpd.GeoDataFrame(
        {
            "facility_id": ["H1", "H2", "H3", "H4", "H5"],
            "status": ["operating"] * 4 + ["planned"],
        },
        geometry=pts.to_crs("EPSG:4326"),
    )


def main() -> None:
    pd.set_option("display.width", 120)
    pd.set_option("display.max_columns", 20)
    print(f"infra-overlap {api.__version__}")
    graph = api.graph_from_roads(streets(), crs=CRS)
    print(f"graph: {graph.n_nodes} nodes, {graph.edge_u.size} edges, CRS {graph.crs}")
    demand = api.demand_from_points(areas(), people(), crs=CRS, cell_size_m=500.0)
    print(f"demand: {demand.grid.n_cells} cells, {demand.grid.population.sum():.0f} people")

    fac = hospitals()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.to_metric(fac, crs=None, what="hospitals")  # what happens without crs=
    print(f"CRS warning: {caught[0].message}" if caught else "CRS warning: none")
    catch = api.catchments(fac, graph, demand, breaks_min=(10, 15))
    # the pairs stay in facility blocks; every measure below reads them block by block
    n_pairs = catch.store.n_pairs
    print(f"catchments: {n_pairs} facility-cell pairs, {len(catch.polygons)} polygons")
    times = catch.times  # the long frame holds every pair: fine here, large at 100 m
    print(times.groupby("facility_id")["travel_time_min"].agg(["count", "max"]).round(1))

    print("\ncoverage:")
    print(api.coverage(catch).round(3).to_string(index=False))
    print("\noverlaps:")
    print(api.overlaps(catch).round(3).to_string(index=False))
    print("\nprovince matrices:")
    print(api.province_matrices(catch).round(1).to_string(index=False))
    v = api.verdict(catch, threshold_min=15, max_loss_share=0.05, keep_one_min=0)
    cols = ["facility_id", "coverage", "unique_share", "other_province_share", "overlap_flag"]
    cols += ["verdict", "verdict_reason", "removal_lost", "removal_penalty_min"]
    print("\nverdict:")
    print(v[cols].round(3).to_string(index=False))
    print(f"verdict set loss share: {v.attrs['loss_share']:.4f}")
    cover = api.minimal_cover(catch, threshold_min=15)
    print("\nminimal cover:")
    print(cover.to_string(index=False))
    print(f"minimal cover: {cover.attrs['n_chosen']} of {cover.attrs['n_candidates']} facilities")


if __name__ == "__main__":
    main()
