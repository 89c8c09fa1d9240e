"""Road readers: line layers, OSM XML, OSM PBF."""

from __future__ import annotations

import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point

from geo.errors import InputError, NetworkError
from geo.roads import (
    DRIVE_HIGHWAYS,
    RoadLayer,
    network_from_layers,
    network_from_lines,
    network_from_osm_xml,
    network_from_pbf,
    parse_maxspeed,
    read_road_layer,
)

CRS = "EPSG:3405"
X0, Y0 = 600_000.0, 1_200_000.0
SPEEDS = {
    "trunk": 60.0,
    "national_highway": 50.0,
    "motorway": 80.0,
    "connector": 20.0,
    "default": 30.0,
}
DATA = Path(os.environ.get("INFRA_OVERLAP_DATA", "/work/shared/data/vietnam"))
BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bench"
PBF = Path(os.environ.get("INFRA_OVERLAP_BENCH", BENCH)) / "sao_paulo.osm.pbf"


def frame(rows: list[dict], geoms: list, crs: str | None = CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)


def line(*xy: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("60", 60.0),
        ("60 km/h", 60.0),
        ("80kmh", 80.0),
        ("50;80", 50.0),
        ("30 mph", 30 * 1.609344),
        (["40", "60"], 40.0),
        ("none", math.nan),
        ("VN:urban", math.nan),
        ("signals", math.nan),
        ("0", math.nan),
        ("999", math.nan),
        (None, math.nan),
        ("", math.nan),
    ],
)
def test_parse_maxspeed(raw, expected):
    got = parse_maxspeed([raw])[0]
    if math.isnan(expected):
        assert math.isnan(got), f"{raw!r} should be ignored, got {got}"
    else:
        assert got == pytest.approx(expected), f"{raw!r} -> {got}, expected {expected}"


def test_speed_from_maxspeed_then_highway_then_class_then_default():
    rows = [
        {"cls": "national_highway", "hw": "trunk", "ms": "70"},
        {"cls": "national_highway", "hw": "trunk", "ms": "fast"},
        {"cls": "national_highway", "hw": "construction", "ms": None},
        {"cls": "dirt", "hw": None, "ms": None},
    ]
    geoms = [line((0, y), (1000, y)) for y in (0, 500, 1000, 1500)]
    net = network_from_lines(
        frame(rows, geoms),
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        class_field="cls",
        highway_field="hw",
        maxspeed_field="ms",
    )
    by_y = net.edges.assign(y=net.edges.geometry.centroid.y - Y0).sort_values("y")
    assert list(by_y["speed_kmh"]) == [70.0, 60.0, 50.0, 30.0]


def test_status_filter_drops_and_counts():
    rows = [
        {"c": "trunk", "s": "unknown"},
        {"c": "trunk", "s": "planned"},
        {"c": "trunk", "s": "planned"},
    ]
    geoms = [line((0, y), (1000, y)) for y in (0, 500, 1000)]
    net = network_from_lines(
        frame(rows, geoms),
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        class_field="c",
        status_field="s",
        open_statuses=["unknown"],
    )
    assert len(net.edges) == 1 and (net.edges["status"] == "unknown").all()
    assert net.report["layers"][0]["dropped_by_status"] == {"planned": 2}


def test_bad_geometry_rows_skipped_and_counted():
    geoms = [line((0, 0), (1000, 0)), None, LineString(), Point(X0, Y0), line((0, 9), (0, 9))]
    net = network_from_lines(
        frame([{"c": "trunk"}] * 5, geoms), metric_crs=CRS, speed_kmh=SPEEDS, class_field="c"
    )
    skipped = {r["row"]: r["reason"] for r in net.report["skipped_rows"]}
    assert skipped == {
        2: "no geometry",
        3: "empty geometry",
        4: "not a line",
        5: "line with no length",
    }, skipped
    assert len(net.edges) == 1


def test_layer_without_crs_refused_with_advice():
    g = frame([{"c": "trunk"}], [line((0, 0), (10, 0))], crs=None)
    with pytest.raises(InputError, match=r"roads\.shp.*no CRS.*\.prj"):
        network_from_lines(g, metric_crs=CRS, speed_kmh=SPEEDS, class_field="c", source="roads.shp")


def test_missing_class_field_named():
    g = frame([{"c": "trunk"}], [line((0, 0), (10, 0))])
    with pytest.raises(InputError, match="road_class"):
        network_from_lines(g, metric_crs=CRS, speed_kmh=SPEEDS, class_field="road_class")


def test_nothing_left_is_network_error():
    g = frame([{"c": "trunk", "s": "planned"}], [line((0, 0), (10, 0))])
    with pytest.raises(NetworkError):
        network_from_lines(
            g,
            metric_crs=CRS,
            speed_kmh=SPEEDS,
            class_field="c",
            status_field="s",
            open_statuses=["unknown"],
        )


def test_oneway_tags_and_reversal():
    rows = [
        {"c": "trunk", "hw": "trunk", "ow": "yes"},
        {"c": "trunk", "hw": "trunk", "ow": "-1"},
        {"c": "trunk", "hw": "trunk", "ow": None},
        {"c": "trunk", "hw": "motorway", "ow": None},
        {"c": "trunk", "hw": "motorway", "ow": "no"},
    ]
    geoms = [line((0, y), (1000, y)) for y in (0, 500, 1000, 1500, 2000)]
    net = network_from_lines(
        frame(rows, geoms),
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        class_field="c",
        highway_field="hw",
        oneway_field="ow",
    )
    e = net.edges.assign(y=net.edges.geometry.centroid.y - Y0).sort_values("y")
    assert list(e["oneway"]) == [True, True, False, True, False]
    start_x = net.node_xy[e["u"].to_numpy(), 0] - X0
    assert start_x[1] == pytest.approx(1000.0), "oneway=-1 must run against the digitised direction"
    assert start_x[0] == pytest.approx(0.0)


def test_read_missing_corrupt_and_empty_files(tmp_path):
    with pytest.raises(InputError, match=r"nowhere.gpkg"):
        read_road_layer(tmp_path / "nowhere.gpkg")
    good = tmp_path / "good.gpkg"
    frame([{"c": "trunk"}] * 50, [line((0, i), (10, i)) for i in range(50)]).to_file(
        good, layer="roads"
    )
    assert len(read_road_layer(good, layer="roads")) == 50
    with pytest.raises(InputError, match=r"no layer 'streets'.*roads"):
        read_road_layer(good, layer="streets")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.gpkg"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"truncated.gpkg"):
        read_road_layer(truncated)
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_bytes(b"this is not a geopackage" * 100)
    with pytest.raises(InputError, match=r"garbage.gpkg"):
        read_road_layer(garbage)
    empty = tmp_path / "empty.gpkg"
    frame([{"c": "trunk"}], [line((0, 0), (10, 0))]).iloc[:0].to_file(empty, layer="roads")
    with pytest.raises(InputError, match=r"empty.gpkg.*no line features"):
        read_road_layer(empty)


def test_merge_drops_duplicate_road_and_joins_extension():
    base = frame([{"c": "trunk"}], [line((0, 0), (5000, 0))])
    # The second source digitised the same road 20 m off, then continues north for 3 km.
    extra = frame([{"lvl": "national"}], [line((0, 20), (5000, 20), (5000, 3020))])
    net = network_from_layers(
        [RoadLayer(base, "c", source="a"), RoadLayer(extra, "lvl", source="b")],
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        snap_tolerance_m=50,
        dedupe_m=100,
    )
    dropped = net.report["layers"][1]["duplicate_km_dropped"]
    assert 4.7 <= dropped <= 5.0, f"the duplicated 5 km should be dropped, got {dropped} km"
    assert net.report["after"]["components"] == 1, "the extension must be joined to the base road"
    assert net.report["road_km"] == pytest.approx(8.0, abs=0.25)


# ---------------------------------------------------------------- integration on real files


def _need(p: Path) -> Path:
    if not p.is_file():
        pytest.skip(f"{p} not found: set INFRA_OVERLAP_DATA (or INFRA_OVERLAP_BENCH) to the mirror")
    return p


@pytest.mark.integration
def test_trunk_gpkg_through_network_from_lines():
    gdf = read_road_layer(_need(DATA / "roads_trunk_osm.gpkg"), layer="roads")
    net = network_from_lines(
        gdf,
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        class_field="road_class",
        highway_field="highway",
        maxspeed_field="maxspeed",
        oneway_field="oneway",
        status_field="status",
        open_statuses=["unknown"],
        source="roads_trunk_osm.gpkg",
    )
    e = net.edges
    assert net.report["layers"][0]["dropped_by_status"] == {
        "planned": 138,
        "under_construction": 1342,
    }
    assert (e["length_m"] > 0).all() and (e["speed_kmh"] > 0).all()
    assert e["u"].dtype == np.int64 and e["v"].max() < len(net.node_xy)
    assert net.report["largest_share"] >= 0.560
    assert net.report["layers"][0]["maxspeed_used"] > 1000


@pytest.mark.integration
def test_osm_xml_matches_osmnx_counts():
    net = network_from_osm_xml(
        _need(DATA / "osm" / "hcmc_district1_small.osm"), metric_crs=CRS, speed_kmh=SPEEDS
    )
    directed = int((1 + ~net.edges["oneway"]).sum())
    # PROVENANCE: osmnx.graph_from_xml(simplify=True) gives 601 nodes and 1303 edges.
    assert len(net.node_xy) == 601, len(net.node_xy)
    assert directed == 1303, f"{directed} directed edges, osmnx has 1303"
    assert net.report["after"]["components"] == 1


def _osmium_drivable_km(path: Path) -> float:
    """Independent total: haversine length of the same ways, straight from pyosmium."""
    import osmium

    total = 0.0
    fp = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for w in fp:
        if w.is_way() and w.tags.get("highway") in DRIVE_HIGHWAYS:
            if w.tags.get("area") == "yes" or w.tags.get("access") in ("no", "private"):
                continue
            total += osmium.geom.haversine_distance(w.nodes)
    return total / 1000.0


def _write_drivable_xml(src: Path, dst: Path) -> None:
    import osmium

    ways, nodes = set(), set()
    for w in osmium.FileProcessor(str(src), osmium.osm.WAY):
        if (
            w.tags.get("highway") in DRIVE_HIGHWAYS
            and w.tags.get("area") != "yes"
            and w.tags.get("access") not in ("no", "private")
        ):
            ways.add(w.id)
            nodes.update(n.ref for n in w.nodes)
    with osmium.SimpleWriter(str(dst)) as writer:
        for n in osmium.FileProcessor(str(src), osmium.osm.NODE):
            if n.id in nodes:
                writer.add_node(n)
        for w in osmium.FileProcessor(str(src), osmium.osm.WAY):
            if w.id in ways:
                writer.add_way(w)


@pytest.mark.integration
def test_pbf_reader_against_pyosmium_and_osmnx(tmp_path):
    import osmnx as ox

    pbf = _need(PBF)
    net = network_from_pbf(pbf, metric_crs="EPSG:31983", speed_kmh=SPEEDS)
    km = net.report["road_km"]
    ref_km = _osmium_drivable_km(pbf)
    # UTM 23S scale error is below 0.1 % here; haversine vs ellipsoid about 0.3 %.
    assert km == pytest.approx(ref_km, rel=0.005), f"{km} km vs {ref_km} km from pyosmium"
    xml = tmp_path / "drive.osm"
    _write_drivable_xml(pbf, xml)
    G = ox.graph_from_xml(xml, simplify=True, retain_all=True)
    nodes, edges = ox.convert.graph_to_gdfs(G)
    ox_km = (
        edges.loc[~edges["oneway"].astype(bool), "length"].sum() / 2000.0
        + edges.loc[edges["oneway"].astype(bool), "length"].sum() / 1000.0
    )
    assert km == pytest.approx(ox_km, rel=0.005), f"{km} km vs osmnx {ox_km} km"
    # osmnx 2 does not split where one way simply continues another; we do (OSM way ends),
    # so every osmnx node must be one of ours, and we may have more.
    ox_xy = nodes.to_crs("EPSG:31983")
    d, _ = cKDTree(net.node_xy).query(np.column_stack([ox_xy.geometry.x, ox_xy.geometry.y]))
    assert (d < 0.01).mean() == 1.0, f"{(d >= 0.01).sum()} osmnx nodes are not nodes here"
    assert len(net.node_xy) >= len(nodes)
    print(
        f"\nPBF: {len(net.node_xy)} nodes, {len(net.edges)} edges, {km:.1f} km; "
        f"osmnx: {len(nodes)} nodes, {len(edges)} directed edges, {ox_km:.1f} km; "
        f"pyosmium haversine {ref_km:.1f} km"
    )
