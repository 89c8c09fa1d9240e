"""Data-quality measures on small hand-made data, and `check` on the real mirror."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.quality import population_vs_census
from geo.quality_facilities import (
    coastal_without_port,
    facility_data_flags,
    official_coverage,
    suspected_duplicates,
)
from geo.quality_roads import road_distance
from geo.roads import RoadNetwork
from maps.quality_report import quality_section_html
from tests.conftest import MIRROR, run_cli

METRIC = "EPSG:3405"


def _facilities(
    rows: list[tuple[str, str, float, float]], **extra: list[object]
) -> gpd.GeoDataFrame:
    """(facility_id, type, lon, lat) rows with names = ids unless given."""
    frame = pd.DataFrame(rows, columns=["facility_id", "type", "lon", "lat"])
    frame["name"] = extra.pop("name", frame["facility_id"])
    for k, v in extra.items():
        frame[k] = v
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    )


def _offset(lon: float, lat: float, east_m: float) -> tuple[float, float]:
    p = (
        gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326)
        .to_crs(METRIC)
        .translate(east_m, 0)
        .to_crs(4326)
    )
    return float(p.x.iloc[0]), float(p.y.iloc[0])


def test_suspected_duplicates_by_distance_and_name_but_not_phases() -> None:
    a = (106.27, 20.93)
    b = _offset(*a, 600)
    c = _offset(*a, 3000)
    d = _offset(*a, 6000)
    fac = _facilities(
        [
            ("p1", "industrial_park", *a),
            ("p2", "industrial_park", *b),
            ("p3", "industrial_park", *c),
            ("p4", "industrial_park", *d),
            ("s1", "seaport", *b),
        ],
        name=[
            "KCN Đại An",
            "Khu công nghiệp Đại An",
            "KCN Đồng Văn II",
            "Khu công nghiệp Đồng Văn III",
            "Cảng Đại An",
        ],
    )
    dup = suspected_duplicates(fac, metric_crs=METRIC, near_m=1000)
    pairs = set(zip(dup["facility_a"], dup["facility_b"], strict=True))
    assert pairs == {("p1", "p2")}, (
        f"only the two Đại An records are one park; got {dup.to_dict('records')}"
    )
    assert dup["reason"].iloc[0] == "near and same name"
    assert 550 < dup["distance_m"].iloc[0] < 650


def test_coastal_provinces_without_a_general_port() -> None:
    p63 = pd.DataFrame(
        {"prov_code": ["22", "31", "34"], "prov_name": ["Quảng Ninh", "Hải Phòng", "Thái Bình"]}
    )
    fac = _facilities(
        [("s1", "seaport", 107.0, 21.0), ("s2", "seaport", 106.7, 20.8)],
        **{"class": ["general", "fishing"], "prov63_code": ["22", "34"]},
    )
    out = coastal_without_port(fac, SimpleNamespace(p63=p63), coastal63=("22", "31", "34"))
    assert out.loc[~out["has_port"], "prov63_name"].tolist() == ["Hải Phòng", "Thái Bình"]
    assert out.set_index("prov63_code").loc["34", "other_ports"] == 1, (
        "a fishing port is not a general port"
    )


def test_official_coverage_sentence() -> None:
    counts = pd.DataFrame(
        {
            "type": ["industrial_park", "airport"],
            "loaded": [278, 25],
            "official_count": [478, 22],
            "official_source": ["FIA list", "CAAV"],
        }
    )
    out = official_coverage(counts)
    assert out["sentence"].iloc[0] == "this run covers 278 of 478 industrial parks (FIA list)"
    assert out["share"].iloc[0] == pytest.approx(0.582)
    assert "not a ceiling" in out["sentence"].iloc[1], (
        "more records than official must be explained, not shown as >100 %"
    )


def _line_network(y_m: float) -> RoadNetwork:
    line = shapely.LineString([(600_000, y_m), (610_000, y_m)])
    edges = gpd.GeoDataFrame(
        {
            "u": [0],
            "v": [1],
            "length_m": [10_000.0],
            "speed_kmh": [50.0],
            "oneway": [False],
            "road_class": ["trunk"],
            "edge_kind": ["road"],
            "status": ["open"],
            "name": [None],
            "component": [0],
        },
        geometry=[line],
        crs=METRIC,
    )
    return RoadNetwork(METRIC, np.array([[600_000, y_m], [610_000, y_m]]), edges, {}, "test")


def test_road_distance_and_doubt_flags() -> None:
    pts = gpd.GeoSeries(
        shapely.points([(605_000, 1_800_500), (605_000, 1_815_000)]), crs=METRIC
    ).to_crs(4326)
    fac = _facilities(
        [("a", "airport", pts.x[0], pts.y[0]), ("b", "airport", pts.x[1], pts.y[1])],
        prov_method=["point_in_polygon", "nearest_within_10000m"],
        status_source=["assumed", "source"],
        data_note=[None, None],
    )
    road = road_distance(fac, _line_network(1_800_000), max_km=10)
    assert road["road_km"].tolist() == pytest.approx([0.5, 15.0], abs=0.01)
    assert road["far"].tolist() == [False, True]
    flags = facility_data_flags(fac, road=road)
    assert flags["doubt_score"].tolist() == [0, 2], (
        "far from roads + tolerance rule = two doubts; assumed status none"
    )
    assert flags["doubtful"].tolist() == [False, True]
    assert (
        "status assumed" in flags["data_note"].iloc[0] and "15.0 km" in flags["data_note"].iloc[1]
    )


def test_population_vs_census() -> None:
    out = population_vs_census(
        pd.Series({"01": 110.0}),
        pd.Series({"01": 100.0, "02": 50.0}),
        names=pd.Series({"01": "Hà Nội", "02": "Hà Giang"}),
    )
    assert out.set_index("prov63_code")["ratio"].to_dict() == {"01": 1.1, "02": 0.0}


def test_section_escapes_data_text_and_draws_a_map() -> None:
    outline = gpd.GeoSeries([shapely.box(105, 20, 107, 22)], crs=4326)
    flags = pd.DataFrame(
        {
            "lon": [106.0],
            "lat": [21.0],
            "doubt_score": [2],
            "doubtful": [True],
            "name": ["<script>alert(1)</script>"],
            "data_note": ["x & y"],
        }
    )
    html = quality_section_html(
        {"official_coverage": pd.DataFrame({"type": ["<b>"], "loaded": [1]})},
        ["a <finding>"],
        outline=outline,
        flags=flags,
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert "<svg" in html and "#c62828" in html, "a facility with two doubts is drawn red"


@pytest.mark.integration
def test_check_on_the_real_mirror(tmp_path) -> None:
    if not MIRROR.is_dir():
        pytest.skip(f"no data mirror at {MIRROR}")
    r = run_cli("check", "--data", str(MIRROR), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "covers 278 of 478 industrial parks" in r.stdout, r.stdout[-3000:]
    # official seaports (Decision 1579): 6 of 36 have no mapped terminal and are named (the
    # project's sourced terminal table, data/seaport_terminals_sourced.csv, covers 10 more)
    assert "covers 30 of 36 seaports" in r.stdout and "6 official seaports have no" in r.stdout
    # 6 of the 28 coastal provinces have no seaport with a terminal in the data: Thái Bình,
    # Nam Định, Ninh Bình, Trà Vinh, Sóc Trăng, Bạc Liêu
    assert "6 of 28 coastal provinces have no seaport with a mapped terminal" in r.stdout
    coastal = pd.read_csv(
        tmp_path / "quality" / "coastal_ports.csv", dtype={"prov63_code": str}, encoding="utf-8-sig"
    )
    assert sorted(coastal.loc[~coastal["has_port"], "prov63_code"]) == [
        "34",
        "36",
        "37",
        "84",
        "94",
        "95",
    ]
    length = pd.read_csv(tmp_path / "quality" / "road_length.csv", encoding="utf-8-sig").set_index(
        "road_class"
    )
    assert length.loc["national_highway", "ratio"] == pytest.approx(1.0, abs=0.01)
    flags = pd.read_csv(tmp_path / "quality" / "facility_flags.csv", encoding="utf-8-sig")
    # 30 official seaports with a terminal + 23 official airports + 278 parks
    assert len(flags) == 331 and flags["doubtful"].any()
    assert "<svg" in (tmp_path / "quality" / "quality.html").read_text(encoding="utf-8")
