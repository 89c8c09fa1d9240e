"""Travel times against real trips (issue 15, item 3): ``validate`` on a hand-made network with
times computed by hand, the tolerance rule, unreachable trips, the calibration recovering known
speeds (and saying when it hits a bound), and bad trips files through the real command line."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import tomllib
from shapely.geometry import LineString

from analysis.calibration import (
    SpeedGroup,
    fit_speeds,
    route_terms,
    speed_model,
    stratified_folds,
)
from analysis.network import graph_from_edges
from analysis.validation import (
    snap_trip_ends,
    summarise_validation,
    tolerance_range,
    trip_errors,
    trip_times_s,
    unreachable_reasons,
    validation_table,
)
from tests.conftest import REPO, run_cli

CRS = "EPSG:3405"
X0, Y0 = 600_000.0, 2_300_000.0  # metres, somewhere in northern Viet Nam


def network(
    segments: list[tuple[tuple[float, float], tuple[float, float], float, str]],
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Edges from (start, end, speed km/h, class) in km relative to (X0, Y0); nodes shared by
    coordinates."""
    pts: dict[tuple[float, float], int] = {}
    rows = []
    for a, b, speed, cls in segments:
        ia = pts.setdefault(a, len(pts))
        ib = pts.setdefault(b, len(pts))
        pa = (X0 + a[0] * 1000, Y0 + a[1] * 1000)
        pb = (X0 + b[0] * 1000, Y0 + b[1] * 1000)
        rows.append(
            {
                "u": ia,
                "v": ib,
                "length_m": math.dist(pa, pb),
                "speed_kmh": float(speed),
                "oneway": False,
                "road_class": cls,
                "geometry": LineString([pa, pb]),
            }
        )
    xy = np.array([(X0 + x * 1000, Y0 + y * 1000) for x, y in pts], dtype=float)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS), xy


def km(x: float, y: float) -> tuple[float, float]:
    return (X0 + x * 1000, Y0 + y * 1000)


# A - B: 10 km at 60 km/h, B - C: 10 km at 30 km/h; D - E: an island road of 8 km.
LINE = [
    ((0, 0), (10, 0), 60, "national_highway"),
    ((10, 0), (20, 0), 30, "provincial"),
    ((0, 50), (8, 50), 40, "provincial"),
]


def test_validate_hand_computed_times_and_tolerance() -> None:
    edges, xy = network(LINE)
    graph = graph_from_edges(edges, xy, crs=CRS)
    origin = [km(2, 0.5), km(2, 0.5), km(2, 0.5), km(2, 0.5)]
    dest = [km(20, 0.2), km(10, -0.4), km(4, 50), km(20, 30)]
    ends = snap_trip_ends(
        graph,
        np.array(origin),
        np.array(dest),
        np.array([True, False, True, True]),
        min_component_km=0.0,
        max_facility_access_km=10.0,
    )
    assert ends.origins.edge.size == 1, "identical origins must be snapped (and routed) once"
    t = trip_times_s(graph, ends, access_speed_kmh=20.0)
    # 500 m + 200 m of access at 20 km/h, 8 km at 60 km/h, 10 km at 30 km/h
    expected_1 = 500 / (20 / 3.6) + 200 / (20 / 3.6) + 8000 / (60 / 3.6) + 10000 / (30 / 3.6)
    # 500 m + 400 m of access, 8 km at 60 km/h
    expected_2 = 900 / (20 / 3.6) + 8000 / (60 / 3.6)
    assert t[0] == pytest.approx(expected_1, abs=1e-6), "trip along both roads"
    assert t[1] == pytest.approx(expected_2, abs=1e-6), "trip to a place on the first road"
    assert np.isinf(t[2]), "a destination on the island road has no path"
    assert np.isinf(t[3]), "a facility 30 km from any road is unreachable"
    scipy_t = trip_times_s(graph, ends, access_speed_kmh=20.0, method="scipy")
    assert np.array_equal(np.isinf(scipy_t), np.isinf(t))
    assert np.allclose(scipy_t[:2], t[:2]), "the compiled kernel and scipy's Dijkstra disagree"
    reasons = unreachable_reasons(ends, t, limit_s=86400)
    assert reasons[0] == reasons[1] == ""
    assert "separate road networks" in reasons[2]
    assert "no road within 10 km" in reasons[3]

    m1 = expected_1 / 60  # 30.1 min
    trips = pd.DataFrame(
        {
            "trip_row": [1, 2, 3, 4],
            "origin_name": ["a"] * 4,
            "dest_name": ["C", "B", "island", "far"],
            "minutes_low": [40.0, 15.0, 20.0, 20.0],
            "minutes_high": [50.0, 20.0, 30.0, 30.0],
        }
    )
    table = validation_table(trips, t, reasons)
    assert table["model_min"].iloc[0] == pytest.approx(round(m1, 1))
    # stated 40-50: accepted from 40 - max(10, 12) = 28 to 50 + 15 = 65 -> within
    assert bool(table["within_tolerance"].iloc[0])
    assert table["error"].iloc[0] == pytest.approx(abs(m1 - 45) / 45, abs=1e-4)
    # trip 2: model 17.1 min, stated 15-20 -> error |17.1 - 17.5| / 17.5
    assert table["error"].iloc[1] == pytest.approx(abs(expected_2 / 60 - 17.5) / 17.5, abs=1e-4)
    s = summarise_validation(table)
    assert s["trips"] == 4 and s["reachable"] == 2 and s["unreachable"] == 2
    assert s["within_tolerance"] == 2 and s["within_tolerance_share"] == 0.5
    assert s["median_abs_error"] == pytest.approx(
        float(np.median(table["error"].iloc[:2])), abs=1e-4
    )


def test_origin_facility_snapped_as_facilities_are() -> None:
    edges, xy = network(LINE)
    graph = graph_from_edges(edges, xy, crs=CRS)
    origin = np.array([km(20, -30), km(20, -30), km(2, 0.5)])
    dest = np.array([km(2, 0.5), km(2, 0.5), km(2, 0.5)])
    rules = {"min_component_km": 0.0, "max_facility_access_km": 10.0}
    ends = snap_trip_ends(
        graph,
        origin,
        dest,
        np.zeros(3, bool),
        origin_is_facility=np.array([True, False, False]),
        **rules,
    )
    assert ends.origins.edge.size == 3, "the same point as a facility and as a place is two origins"
    t = trip_times_s(graph, ends, access_speed_kmh=20.0)
    assert np.isinf(t[0]), "a facility 30 km from the roads has no road access"
    # as a place it walks 30 km to the road end C at 20 km/h, then 10 km at 30 and 8 km at 60
    expected = 30000 / (20 / 3.6) + 10000 / (30 / 3.6) + 8000 / (60 / 3.6) + 500 / (20 / 3.6)
    assert t[1] == pytest.approx(expected, abs=1e-6)
    assert t[2] == pytest.approx(2 * 500 / (20 / 3.6), abs=1e-6), "same point on the same edge"
    reasons = unreachable_reasons(ends, t, limit_s=86400)
    assert "of the origin facility" in reasons[0] and reasons[1] == ""


def test_speed_keys_name_the_table_entry_of_every_edge(roads_file: Path) -> None:
    from geo.config import load_region_config
    from geo.roads import road_network_for_region
    from geo.speed_keys import road_network_with_speed_keys

    config = load_region_config()
    data = REPO / "data" / "vietnam"
    net, keys = road_network_with_speed_keys(data, config, roads_file=roads_file)
    plain = road_network_for_region(data, config, roads_file=roads_file)
    assert np.array_equal(net.edges["speed_kmh"].to_numpy(), plain.edges["speed_kmh"].to_numpy()), (
        "the network must keep the region's speeds"
    )
    table = config.roads.speed_kmh
    assert set(keys) <= {*table, ""}
    assert {"trunk", "primary"} <= set(keys), f"keys found: {sorted(set(keys))}"
    # roads near the largest cities run at the urban factor times their table speed (geo.urban)
    f = config.roads.urban_speed_factor
    urban = net.edges["urban"].to_numpy(bool)
    for k, v, u in zip(keys, net.edges["speed_kmh"], urban, strict=True):
        if k:
            assert v == pytest.approx(table[k] * (f if u else 1.0))


def test_tolerance_rule() -> None:
    lo, hi = tolerance_range(np.array([20.0, 100.0]), np.array([25.0, 120.0]))
    assert lo.tolist() == [10.0, 70.0], "low minus max(10 min, 30 % of low)"
    assert hi.tolist() == [35.0, 156.0], "high plus max(10 min, 30 % of high)"
    err, within = trip_errors(
        np.array([35.0, 35.1, 69.9, np.nan]),
        np.array([20.0, 20.0, 100.0, 20.0]),
        np.array([25.0, 25.0, 120.0, 25.0]),
    )
    assert within.tolist() == [True, False, False, False]
    assert err[0] == pytest.approx(12.5 / 22.5)
    assert np.isnan(err[3]), "an unreachable trip has no error"


# A tree: expressway spine with national and provincial branches (routes do not depend on the
# speeds), plus a national shortcut that becomes worth taking when national roads are fast.
TREE = [
    ((0, 0), (30, 0), 80, "expressway"),
    ((30, 0), (60, 0), 80, "expressway"),
    ((30, 0), (30, 20), 50, "national_highway"),
    ((30, 20), (30, 35), 50, "national_highway"),
    ((60, 0), (60, 15), 40, "provincial"),
    ((0, 0), (0, 15), 40, "provincial"),
    ((0, 15), (30, 20), 50, "national_highway"),
]
TABLE = {"expressway": 80.0, "national_highway": 50.0, "provincial": 40.0, "default": 30.0}
GROUPS = (
    SpeedGroup("expressway", ("expressway",), 50.0, 110.0),
    SpeedGroup("trunk_national", ("national_highway",), 30.0, 90.0),
    SpeedGroup("primary_provincial", ("provincial",), 20.0, 80.0),
)


def _tree_trips(truth: dict[str, float], access_kmh: float):  # type: ignore[no-untyped-def]
    edges, xy = network(TREE)
    keys = edges["road_class"].to_numpy(dtype=object)
    origins = [km(1, 0.3), km(1, 0.3), km(59, 0.2), km(0.2, 14), km(30.3, 34), km(59.5, 14)]
    dests = [km(59, -0.3), km(30.2, 34.5), km(0.5, 14), km(60.3, 14.5), km(2, 0.4), km(5, 0.2)]
    origins += [km(30.4, 2), km(15, 17.7)]  # two more trips on national roads
    dests += [km(30.2, 33), km(29.8, 30)]
    true_speeds = edges["road_class"].map(truth).to_numpy(float)
    true_graph = graph_from_edges(edges.assign(speed_kmh=true_speeds), xy, crs=CRS)
    ends = snap_trip_ends(
        true_graph,
        np.array(origins),
        np.array(dests),
        np.zeros(len(dests), bool),
        min_component_km=0.0,
        max_facility_access_km=10.0,
    )
    minutes = trip_times_s(true_graph, ends, access_speed_kmh=access_kmh) / 60
    return edges, xy, keys, ends, minutes


def test_calibration_recovers_known_speeds() -> None:
    truth = {"expressway": 95.0, "national_highway": 62.0, "provincial": 33.0}
    edges, xy, keys, ends, minutes = _tree_trips(truth, access_kmh=12.0)
    assert np.isfinite(minutes).all()
    model = speed_model(keys, edges["speed_kmh"].to_numpy(), TABLE, groups=GROUPS)
    fit = fit_speeds(
        edges, xy, ends, model, minutes, crs=CRS, access_speed_kmh=20.0, prior_weight=0.0
    )
    assert fit.identified.all(), "every group carries at least 3 trips"
    assert fit.lead_kmh == pytest.approx([95.0, 62.0, 33.0], rel=2e-3), (
        f"fitted {fit.lead_kmh}, expected the speeds the trips were made with"
    )
    assert fit.access_speed_kmh == pytest.approx(12.0, rel=2e-3)
    assert fit.at_bound == ()
    # the default pull toward the configured speeds leaves most of the way to the truth
    pulled = fit_speeds(edges, xy, ends, model, minutes, crs=CRS, access_speed_kmh=20.0)
    moved = (pulled.lead_kmh - model.lead_kmh) / (fit.lead_kmh - model.lead_kmh)
    assert (moved > 0.6).all() and (moved <= 1.0 + 1e-9).all(), moved


def test_route_terms_add_up_to_the_model_time() -> None:
    edges, xy, keys, ends, _ = _tree_trips(TABLE, access_kmh=20.0)
    graph = graph_from_edges(edges, xy, crs=CRS)
    model = speed_model(keys, edges["speed_kmh"].to_numpy(), TABLE, groups=GROUPS)
    terms = route_terms(graph, ends, model, model.lead_kmh, limit_s=86400)
    model_s = trip_times_s(graph, ends, access_speed_kmh=20.0)
    assert terms.times_s(model.lead_kmh, 20.0) == pytest.approx(model_s, rel=1e-9)


def test_calibration_says_when_a_bound_is_hit() -> None:
    truth = {"expressway": 140.0, "national_highway": 50.0, "provincial": 40.0}
    edges, xy, keys, ends, minutes = _tree_trips(truth, access_kmh=20.0)
    model = speed_model(keys, edges["speed_kmh"].to_numpy(), TABLE, groups=GROUPS)
    fit = fit_speeds(
        edges, xy, ends, model, minutes, crs=CRS, access_speed_kmh=20.0, prior_weight=0.0
    )
    assert fit.lead_kmh[0] == pytest.approx(110.0), "the expressway speed stays within its bound"
    assert any("expressway at its upper bound (110 km/h)" in h for h in fit.at_bound), fit.at_bound


def test_folds_are_stratified_by_region() -> None:
    strata = np.array(["DBSH"] * 10 + ["DNB"] * 5 + ["TN"] * 2)
    fold = stratified_folds(strata, k=5, seed=0)
    assert sorted(np.bincount(fold).tolist()) == [3, 3, 3, 4, 4], "folds of equal size"
    for s in ("DBSH", "DNB"):
        counts = np.bincount(fold[strata == s], minlength=5)
        assert counts.max() - counts.min() <= 1, f"region {s} is not spread over the folds"
    assert np.array_equal(fold, stratified_folds(strata, k=5, seed=0)), "folds must be reproducible"


# --------------------------------------------------------------------------- command line

HEADER = (
    "origin_name,origin_lon,origin_lat,dest_name,dest_lon,dest_lat,dest_kind,"
    "minutes_low,minutes_high,source_url,source_date,note\n"
)
ROADS = gpd.GeoDataFrame(
    {"highway": ["trunk", "trunk", "primary"], "name": ["a", "b", "island"]},
    geometry=[
        LineString([(106.60, 20.80), (106.70, 20.85)]),
        LineString([(106.70, 20.85), (106.80, 20.80)]),
        LineString([(105.90, 21.30), (106.00, 21.33)]),  # a separate road network, 80 km away
    ],
    crs="EPSG:4326",
)


@pytest.fixture(scope="module")
def roads_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("roads") / "roads.geojson"
    ROADS.to_file(p, driver="GeoJSON")
    return p


def _error_line(r) -> str:  # type: ignore[no-untyped-def]
    assert r.returncode == 1, f"expected exit 1, got {r.returncode}\n{r.stdout}\n{r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_cli_validate_lists_rejected_and_unreachable_trips(
    tmp_path: Path, roads_file: Path
) -> None:
    trips = tmp_path / "trips.csv"
    trips.write_text(
        HEADER
        + "Đồ Sơn road,106.62,20.81,Kiến An,106.78,20.81,place,15,25,https://example.org/a,2024-05-01,\n"
        + "Kiến An,106.78,20.81,hill road,105.95,21.31,place,60,90,https://example.org/b,2024-05-01,\n"
        + "Kiến An,106.78,20.81,far airport,106.30,20.50,airport,30,40,https://example.org/c,2024-05-01,\n"
        + "Manila,121.0,14.6,Kiến An,106.78,20.81,place,30,40,https://example.org/d,2024-05-01,\n"
        + "Kiến An,106.78,20.81,Đồ Sơn,106.62,20.81,place,abc,25,https://example.org/e,2024-05-01,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    r = run_cli("validate", "--trips", str(trips), "--roads", str(roads_file), "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    assert "3 trips, 1 reachable, 2 unreachable, 2 rows rejected" in r.stdout, r.stdout
    assert "row 2" in r.stdout and "separate road networks" in r.stdout, r.stdout
    assert "row 3" in r.stdout and "no road within 10 km" in r.stdout, r.stdout
    assert "rejected: row 4" in r.stdout and "bounding box" in r.stdout, r.stdout
    assert "rejected: row 5 [minutes_low]" in r.stdout, r.stdout
    table = pd.read_csv(out / "trips_validation.csv")
    assert table["trip_row"].tolist() == [1, 2, 3]
    assert table["reachable"].tolist() == [True, False, False]
    assert not (out / "trips_validation.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rejects = pd.read_csv(out / "trips_rejects.csv")
    assert rejects["row"].tolist() == [4, 5]


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"\x00\x01\x02garbage\xff\xfe" * 50, ("trips.csv",)),
        (
            (HEADER.replace(",dest_kind", "")).encode()
            + b"a,106.62,20.81,b,106.78,20.81,15,25,u,2024,\n",
            ("dest_kind", "missing column"),
        ),
        (
            HEADER.encode() + b"a,125.0,20.81,b,106.78,20.81,place,15,25,u,2024,\n",
            ("no usable trip", "row 1", "bounding box"),
        ),
        (HEADER.encode(), ("no data rows",)),
    ],
    ids=["not-a-csv", "missing-column", "all-outside", "header-only"],
)
def test_cli_unusable_trips_file(
    tmp_path: Path, roads_file: Path, content: bytes, needles: tuple[str, ...]
) -> None:
    trips = tmp_path / "trips.csv"
    trips.write_bytes(content)
    r = run_cli(
        "validate", "--trips", str(trips), "--roads", str(roads_file), "--out", str(tmp_path)
    )
    line = _error_line(r)
    for n in needles:
        assert n in line, f"the message should name {n!r}: {line}"


def test_cli_calibrate_unusable_file(tmp_path: Path, roads_file: Path) -> None:
    trips = tmp_path / "trips.csv"
    trips.write_text(HEADER.replace("minutes_high,", "") + "a,1,2\n", encoding="utf-8")
    r = run_cli(
        "calibrate",
        "--trips",
        str(trips),
        "--roads",
        str(roads_file),
        "--write-config",
        str(tmp_path / "new.toml"),
    )
    assert "missing column(s) minutes_high" in _error_line(r)
    assert not (tmp_path / "new.toml").exists()


def test_trips_summary_matches_the_written_table(tmp_path: Path, roads_file: Path) -> None:
    from geo.config import load_region_config
    from pipeline import trips_summary

    trips = tmp_path / "trips.csv"
    trips.write_text(
        HEADER
        + "a,106.62,20.81,b,106.78,20.81,place,15,25,u,2024,\n"
        + "b,106.78,20.81,far airport,106.30,20.50,airport,30,40,u,2024,\n",
        encoding="utf-8",
    )
    s = trips_summary(
        trips,
        config=load_region_config(),
        data_dir=REPO / "data" / "vietnam",
        roads_file=roads_file,
    )
    assert (s["trips"], s["reachable"], s["unreachable"], s["rejected"]) == (2, 1, 1, 0)
    assert s["within_tolerance"] <= 1 and s["source"] == str(trips)
    # the same figures from a run's own provinces and network (no second load)
    from analysis.trips_run import summary_for_table
    from geo.provinces import load_provinces
    from geo.roads import road_network_for_region
    from geo.trips import read_trips

    config = load_region_config()
    data = REPO / "data" / "vietnam"
    again = summary_for_table(
        read_trips(trips, config=config, provinces=load_provinces(data, config)),
        config=config,
        network=road_network_for_region(data, config, roads_file=roads_file),
    )
    assert again == s


def test_cli_calibrate_never_writes_its_input(tmp_path: Path, roads_file: Path) -> None:
    trips = tmp_path / "trips.csv"
    trips.write_text(
        HEADER + "a,106.62,20.81,b,106.78,20.81,place,15,25,u,2024,\n", encoding="utf-8"
    )
    config = tmp_path / "region.toml"
    config.write_bytes((REPO / "data" / "vietnam.toml").read_bytes())
    before = config.read_bytes()
    r = run_cli(
        "calibrate", "--trips", str(trips), "--config", str(config), "--write-config", str(config)
    )
    assert "--write-config must name a new file" in _error_line(r)
    assert config.read_bytes() == before


def test_cli_calibrate_writes_a_new_config(tmp_path: Path, roads_file: Path) -> None:
    trips = tmp_path / "trips.csv"
    rows = [
        "a,106.62,20.81,b,106.78,20.81,place,22,26,u,2024,",
        "b,106.78,20.81,a,106.62,20.81,place,22,26,u,2024,",
        "c,106.65,20.83,d,106.75,20.83,place,14,18,u,2024,",
        "d,106.75,20.83,c,106.65,20.83,place,14,18,u,2024,",
    ]
    trips.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    target = tmp_path / "calibrated.toml"
    r = run_cli(
        "calibrate",
        "--trips",
        str(trips),
        "--roads",
        str(roads_file),
        "--write-config",
        str(target),
        "--folds",
        "2",
        "--out",
        str(tmp_path / "cal"),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "held back (k-fold)" in r.stdout and "fitted (in sample)" in r.stdout, r.stdout
    assert "verdict: the fitted speeds" in r.stdout, r.stdout
    new = tomllib.loads(target.read_text(encoding="utf-8"))
    old = tomllib.loads((REPO / "data" / "vietnam.toml").read_text(encoding="utf-8"))
    assert new["roads"]["speed_kmh"]["trunk"] != old["roads"]["speed_kmh"]["trunk"], (
        "the trunk speed the trips run on should be fitted"
    )
    assert new["types"] == old["types"], "the rest of the config is copied unchanged"
    assert 5 <= new["region"]["access_speed_kmh"] <= 40
    per_trip = pd.read_csv(tmp_path / "cal" / "trips_calibration.csv")
    assert per_trip["trip_row"].tolist() == [1, 2, 3, 4]
    assert per_trip["model_min_held_back"].notna().all(), "every trip is predicted once held back"


def test_read_trips_notes_with_semicolons_and_a_bom(tmp_path: Path) -> None:
    from geo.config import load_region_config
    from geo.trips import read_trips

    p = tmp_path / "trips.csv"
    note = "\"city; 'about 30-40 minutes'; mode: taxi; coords GeoNames, CAAV\""
    rows = [
        f"Huế,107.59546,16.4619,Phú Bài,107.703,16.4015,airport,30,40,https://x.org/a,2023-01-01,{note}",
        f"Hà Nội,105.85,21.03,Hải Phòng,106.68,20.84,place,90,120,https://x.org/b,2024-01-01,{note}",
        f"Hà Nội,105.85,21.03,Hải Phòng,106.68,20.84,Place,120,90,https://x.org/c,2024-01-01,{note}",
    ]
    p.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n".join(rows) + "\n").encode("utf-8"))
    t = read_trips(p, config=load_region_config())
    assert t.trips["trip_row"].tolist() == [1, 2], "rows 1 and 2 are usable"
    assert t.trips["dest_is_facility"].tolist() == [True, False]
    assert t.trips["note"].iloc[0].startswith("city; 'about 30-40"), "the note is read whole"
    assert [(r["row"], r["field"]) for r in t.issues.rejects] == [(3, "minutes_low")]


def test_cli_calibrate_needs_two_trips(tmp_path: Path, roads_file: Path) -> None:
    trips = tmp_path / "trips.csv"
    trips.write_text(HEADER + "a,106.62,20.81,b,106.78,20.81,place,15,25,u,2024,\n", "utf-8")
    target = tmp_path / "new.toml"
    r = run_cli(
        "calibrate",
        "--trips",
        str(trips),
        "--roads",
        str(roads_file),
        "--write-config",
        str(target),
    )
    assert "at least 2 usable trips" in _error_line(r)
    assert not target.exists()
