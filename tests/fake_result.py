"""A tiny hand-made RunResult (two provinces, three seaports, two airports) for writer tests.

Numbers are made up but consistent with the definitions in DESIGN.md, so writers can be tested
without running the chain. Includes a hostile facility name to test escaping.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, MultiPolygon, Point, box

from analysis.results import GridSpec, RasterLayer, RunMeta, RunResult

HOSTILE_NAME = '<img src=x onerror=alert(1)>Cảng "Độc" & Co'


def make_fake_result() -> RunResult:
    crs = "EPSG:4326"
    p1 = box(105.0, 20.0, 106.0, 21.0)
    p2 = box(106.0, 20.0, 107.0, 21.0)
    provinces = gpd.GeoDataFrame(
        {
            "prov_code": ["01", "31"],
            "prov_name": ["Hà Nội", "Hải Phòng"],
            "edition": [34, 34],
            "prov34_code": ["01", "31"],
            "prov34_name": ["Hà Nội", "Hải Phòng"],
            "prov63_codes": ["01", "30|31"],
            "region6_code": ["DBSH", "DBSH"],
            "population": [8_000_000.0, 4_000_000.0],
            "coverage_seaport": [3_000_000.0, 3_500_000.0],
            "covered_by_others_seaport": [2_500_000.0, 1_000_000.0],
            "covered_by_others_share_seaport": [0.3125, 0.25],
            "coverage_airport": [7_000_000.0, 3_000_000.0],
            "covered_by_others_airport": [0.0, 2_000_000.0],
            "covered_by_others_share_airport": [0.0, 0.5],
        },
        geometry=[MultiPolygon([p1]), MultiPolygon([p2])],
        crs=crs,
    )
    fac = gpd.GeoDataFrame(
        {
            "facility_id": ["seaport:a", "seaport:b", "seaport:c", "airport:HAN", "airport:HPH"],
            "name": ["Cảng Hà Nội", HOSTILE_NAME, "Cảng Đình Vũ", "Nội Bài", "Cát Bi"],
            "type": ["seaport", "seaport", "seaport", "airport", "airport"],
            "status": ["operating", "operating", "planned", "operating", "operating"],
            "status_source": ["source", "assumed", "source", "source", "source"],
            "class": ["general", "general", "general", "international", "international"],
            "prov34_code": ["01", "31", "31", "01", "31"],
            "prov34_name": ["Hà Nội", "Hải Phòng", "Hải Phòng", "Hà Nội", "Hải Phòng"],
            "prov63_code": ["01", "31", "31", "01", "31"],
            "prov63_name": ["Hà Nội", "Hải Phòng", "Hải Phòng", "Hà Nội", "Hải Phòng"],
            "region6_code": ["DBSH"] * 5,
            "prov_method": ["point_in_polygon"] * 5,
            "primary_break_min": [120.0, 120.0, 120.0, 90.0, 90.0],
            "road_access": ["network", "network", "none", "network", "network"],
            "access_dist_m": [120.0, 80.0, 15000.0, 500.0, 300.0],
            "coverage": [3_000_000.0, 3_500_000.0, 0.0, 7_000_000.0, 3_000_000.0],
            "unique_coverage": [500_000.0, 1_000_000.0, 0.0, 5_000_000.0, 1_000_000.0],
            "unique_share": [0.1667, 0.2857, 0.0, 0.714, 0.333],
            "other_province_share": [0.8333, 0.714, 0.0, 0.29, 0.667],
            "flag": [True, False, False, False, False],
            "flag_robustness": ["robust", "", "", "", ""],
            "verdict": [True, False, False, False, False],
            "verdict_reason": [
                "redundant",
                "overlap_gone",
                "not_candidate",
                "not_candidate",
                "not_candidate",
            ],
            "severity": [0.6667, 0.4286, np.nan, -0.424, 0.333],
            "verdict_rank": [1, 2, 0, 4, 3],
            "overlap_flag": [True, True, False, False, False],
            "overlap_robustness": ["robust", "fragile", "", "", ""],
            "evidence_vi": [
                "83% dân số trong vùng phục vụ của Cảng Hà Nội cũng được phục vụ bởi "
                + HOSTILE_NAME,
                "",
                "",
                "",
                "",
            ],
            "evidence_en": [
                "83% of the people Cảng Hà Nội serves are also served by " + HOSTILE_NAME,
                "",
                "",
                "",
                "",
            ],
            "removal_penalty_min": [12.5, 30.0, np.nan, 45.0, 20.0],
            "removal_lost": [500_000.0, 1_000_000.0, 0.0, 5_000_000.0, 1_000_000.0],
            "best_alternative_id": ["seaport:b", "seaport:a", "", "airport:HPH", "airport:HAN"],
            "best_alternative_name": [HOSTILE_NAME, "Cảng Hà Nội", "", "Cát Bi", "Nội Bài"],
            "best_alternative_province": ["Hải Phòng", "Hà Nội", "", "Hải Phòng", "Hà Nội"],
            "best_alternative_extra_min": [12.5, 30.0, np.nan, 45.0, 20.0],
            "sharing_key": [
                "Hà Nội 60%; Hải Phòng 40%",
                "Hải Phòng 70%; Hà Nội 30%",
                "",
                "Hà Nội 90%; Hải Phòng 10%",
                "Hải Phòng 100%",
            ],
            "data_note": ["", "", "no road within 10 km", "", ""],
            "source": ["test"] * 5,
        },
        geometry=[
            Point(105.5, 20.5),
            Point(106.3, 20.8),
            Point(106.8, 20.2),
            Point(105.8, 21.0),
            Point(106.7, 20.8),
        ],
        crs=crs,
    )
    catch_rows = []
    for fid, name, typ, x, y in [
        ("seaport:a", "Cảng Hà Nội", "seaport", 105.5, 20.5),
        ("seaport:b", HOSTILE_NAME, "seaport", 106.3, 20.8),
        ("airport:HAN", "Nội Bài", "airport", 105.8, 21.0),
        ("airport:HPH", "Cát Bi", "airport", 106.7, 20.8),
    ]:
        breaks = (60.0, 120.0, 180.0) if typ == "seaport" else (60.0, 90.0, 120.0)
        for k, b in enumerate(breaks):
            r = 0.15 * (k + 1)
            catch_rows.append(
                {
                    "facility_id": fid,
                    "name": name,
                    "type": typ,
                    "break_min": b,
                    "coverage": 1_000_000.0 * (k + 1),
                    "unique_coverage": 300_000.0 * (k + 1),
                    "geometry": MultiPolygon([box(x - r, y - r, x + r, y + r)]),
                }
            )
    catchments = gpd.GeoDataFrame(catch_rows, crs=crs)
    overlaps = gpd.GeoDataFrame(
        {
            "facility_a": ["seaport:a"],
            "facility_b": ["seaport:b"],
            "name_a": ["Cảng Hà Nội"],
            "name_b": [HOSTILE_NAME],
            "type": ["seaport"],
            "break_min": [120.0],
            "overlap": [2_500_000.0],
            "overlap_share": [0.8333],
            "prov_a": ["01"],
            "prov_b": ["31"],
        },
        geometry=[LineString([(105.5, 20.5), (106.3, 20.8)])],
        crs=crs,
    )
    pm = pd.DataFrame(
        {
            "type": ["seaport"] * 4,
            "break_min": [120.0] * 4,
            "edition": [34] * 4,
            "province_a": ["01", "01", "31", "31"],
            "province_b": ["01", "31", "01", "31"],
            "name_a": ["Hà Nội", "Hà Nội", "Hải Phòng", "Hải Phòng"],
            "name_b": ["Hà Nội", "Hải Phòng", "Hà Nội", "Hải Phòng"],
            "served_by": [2_000_000.0, 2_500_000.0, 1_000_000.0, 3_000_000.0],
            "duplicated": [0.0, 2_500_000.0, 2_500_000.0, 0.0],
        }
    )
    flags = fac[fac["flag"]][
        [
            "facility_id",
            "name",
            "type",
            "prov34_code",
            "prov34_name",
            "unique_share",
            "other_province_share",
            "removal_penalty_min",
            "removal_lost",
            "flag_robustness",
            "verdict",
            "overlap_flag",
            "evidence_vi",
            "evidence_en",
            "geometry",
        ]
    ].rename(columns={"prov34_code": "prov_code", "prov34_name": "prov_name"})
    rejects = pd.DataFrame(
        {
            "source": ["ports.csv"],
            "row": pd.array([3], dtype="Int64"),
            "field": ["lat"],
            "reason": ["latitude and longitude look swapped"],
        }
    )
    repairs = pd.DataFrame(
        {
            "source": ["ports.csv"],
            "row": pd.array([1], dtype="Int64"),
            "field": ["lon"],
            "repair": ["decimal comma read as point"],
        }
    )
    road_repairs = gpd.GeoDataFrame(
        {
            "repair_id": [0, 1],
            "kind": ["fragment_connector", "oneway_dead_end"],
            "length_m": [1515.5, 122.0],
            "facilities_reconnected": ["Sân bay A", ""],
            "n_facilities_reconnected": [1, 0],
            "people_reconnected": [75646.0, 0.0],
            "component_km": [30.4, 0.122],
            "note": ["fragment of 30.4 km joined to the main network", "one-way edge made two-way"],
        },
        geometry=[
            LineString([(105.80, 21.00), (105.81, 21.01)]),
            LineString([(105.82, 21.02), (105.83, 21.02)]),
        ],
        crs="EPSG:4326",
    )
    grid = GridSpec(
        crs="EPSG:3405", x0=500_000.0, y0=2_330_000.0, cell_size_m=1000.0, shape=(40, 60)
    )
    cc = np.zeros(grid.shape, dtype=np.int16)
    cc[5:30, 10:40] = 1
    cc[10:20, 20:30] = 2
    cc[0, :] = -1
    tt = np.where(
        cc >= 0,
        np.linspace(0, 150, grid.shape[1], dtype=np.float32)[None, :].repeat(grid.shape[0], 0),
        -9999.0,
    ).astype(np.float32)
    rasters = {
        "coverage_count_seaport": RasterLayer(
            cc, -1, "facilities", "count of seaports within 120 min"
        ),
        "travel_time_seaport": RasterLayer(
            tt, -9999.0, "min", "travel time to the nearest seaport, minutes"
        ),
    }
    meta = {
        "region": {"name": "testland", "label_vi": "Xứ thử", "label_en": "Testland"},
        "edition": 34,
        "lang": "vi",
        "types": {
            "seaport": {
                "label_vi": "Cảng biển",
                "label_en": "Seaport",
                "breaks_min": [60.0, 120.0, 180.0],
                "primary_min": 120.0,
            },
            "airport": {
                "label_vi": "Cảng hàng không",
                "label_en": "Airport",
                "breaks_min": [60.0, 90.0, 120.0],
                "primary_min": 90.0,
            },
        },
        "attribution": [
            "© OpenStreetMap contributors (ODbL 1.0)",
            "Province boundaries: ODV / DOSM, CC BY-SA 4.0",
        ],
        "data_sources": [
            {
                "layer": "facilities",
                "source": "OpenStreetMap",
                "licence": "ODbL 1.0",
                "attribution": "© OpenStreetMap contributors",
            }
        ],
        "demand_source": "communes_dasymetric_nso2024: NSO 2024 province population spread over 3,321 communes",
        "data_date": "2026-08-11",
    }
    terminals = gpd.GeoDataFrame(  # member sites of official units (geo.units)
        {
            "site_id": ["seaport:t1", "seaport:t2"],
            "name": ["Cảng A", "Cảng cá B"],
            "type": ["seaport", "seaport"],
            "unit_id": ["seaport:a", ""],
            "kind": ["ports", "ports"],
            "class": ["general", "fishing"],
            "status": ["operating", "operating"],
            "use": ["", ""],
            "prov63_code": ["31", "31"],
            "prov63_name": ["Hải Phòng", "Hải Phòng"],
            "member": ["yes", "no"],
            "excluded_reason": ["", "fishing port: not a seaport terminal"],
        },
        geometry=[Point(106.5, 20.5), Point(106.6, 20.5)],
        crs=crs,
    )
    return RunResult(
        layers={
            "facilities": fac,
            "flags": flags,
            "catchments": catchments,
            "overlaps": overlaps,
            "terminals": terminals,
            "province_matrix": pm,
            "provinces": provinces,
            "rejects": rejects,
            "repairs": repairs,
            "road_repairs": road_repairs,
        },
        grid=grid,
        rasters=rasters,
        meta=RunMeta.from_dict(meta),
    )
