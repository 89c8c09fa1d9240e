"""Crossings restored where the generalised layer was clipped (geo.road_additions), hand-made data."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from analysis.network import graph_from_edges
from geo.road_additions import clip_gap_links, expressway_termini
from geo.roads import RoadLayer, network_from_layers

CRS = "EPSG:3405"
X0, Y0 = 600_000.0, 1_200_000.0
SPEEDS = {"expressway": 90.0, "national_highway": 50.0, "default": 30.0, "connector": 20.0}


def layer(rows: list[dict]) -> gpd.GeoDataFrame:
    geom = [LineString([(X0 + x, Y0 + y) for x, y in r.pop("xy")]) for r in rows]
    base = {"road_class": "expressway", "status": "unknown", "name": "CT test", "ref": "CT.99"}
    return gpd.GeoDataFrame([{**base, **r} for r in rows], geometry=geom, crs=CRS)


def two_pieces(closed: bool = False, **second: object) -> gpd.GeoDataFrame:
    # an expressway cut by a 1.2 km estuary (x 10 000 -> 11 200) into two clipped pieces, a
    # slow national road around it
    return layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": True},
            {"xy": [(11_200, 0), (20_000, 0)], "clipped_at_boundary": True, **second},
            {
                "xy": [(0, 0), (10_000, 8_000), (20_000, 0)],
                "road_class": "national_highway",
                "ref": "QL.99",
                "clipped_at_boundary": False,
            },
        ]
        + (  # the section between the pieces, still being built
            [{"xy": [(10_000, 0), (11_200, 0)], "status": "under_construction"}] if closed else []
        )
    )


def minutes(gdf: gpd.GeoDataFrame) -> float:
    links, _ = clip_gap_links(gdf, metric_crs=CRS)
    full = gpd.GeoDataFrame(
        [*gdf.to_dict("records"), *links.drop(columns="addition").to_dict("records")], crs=CRS
    )
    net = network_from_layers(
        [
            RoadLayer(
                full, class_field="road_class", status_field="status", open_statuses=("unknown",)
            )
        ],
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        snap_tolerance_m=100.0,
    )
    g = graph_from_edges(net.edges, net.node_xy, crs=CRS)
    ends = [int(np.argmin(np.hypot(*(net.node_xy - [X0 + x, Y0]).T))) for x in (0, 20_000)]
    return float(dijkstra(g.csr, indices=ends[0])[ends[1]]) / 60


def test_clipped_crossing_rejoined_at_the_roads_speed():
    links, records = clip_gap_links(two_pieces(), metric_crs=CRS)
    assert len(records) == 1, records
    assert records[0]["gap_m"] == pytest.approx(1_200.0)
    assert records[0]["ref"] == "CT.99" and records[0]["road_class"] == "expressway"
    assert links["road_class"].tolist() == ["expressway"]
    # 20 km of expressway at 90 km/h, not the 25.6 km national detour at 50 km/h
    assert minutes(two_pieces()) == pytest.approx(20 / 90 * 60, rel=1e-3)


@pytest.mark.parametrize(
    "closed, first_clipped, second",
    [
        (False, False, {"clipped_at_boundary": False}),  # neither cut by the clipping
        (False, True, {"ref": "CT.98"}),  # another road
        (False, True, {"status": "under_construction"}),  # not open
        (True, True, {}),  # the gap is a section under construction
    ],
)
def test_no_link_unless_a_clipped_open_end_meets_the_same_road(closed, first_clipped, second):
    gdf = two_pieces(closed, **second)
    gdf.loc[0, "clipped_at_boundary"] = first_clipped
    _, records = clip_gap_links(gdf, metric_crs=CRS)
    assert records == []


def test_one_clipped_side_is_enough():
    # a bridge way dropped whole by the clipping: only one neighbour was itself clipped
    _, records = clip_gap_links(two_pieces(clipped_at_boundary=False), metric_crs=CRS)
    assert len(records) == 1


def test_twin_carriageways_are_not_joined_across_and_each_continues():
    # a dual expressway (carriageways 30 m apart) cut by the same 1.2 km estuary
    gdf = layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": True},
            {"xy": [(11_200, 0), (20_000, 0)], "clipped_at_boundary": True},
            {"xy": [(10_000, 30), (0, 30)], "clipped_at_boundary": True},
            {"xy": [(20_000, 30), (11_200, 30)], "clipped_at_boundary": True},
        ]
    )
    links, records = clip_gap_links(gdf, metric_crs=CRS)
    assert sorted(r["gap_m"] for r in records) == pytest.approx([1_200.0, 1_200.0])
    ys = sorted(round(float(np.mean(np.asarray(g.coords)[:, 1] - Y0))) for g in links.geometry)
    assert ys == [0, 30], "a link crosses between the carriageways"


def test_no_link_beyond_the_maximum_gap_or_against_the_lines_direction():
    far = layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": True},
            {"xy": [(14_000, 0), (20_000, 0)], "clipped_at_boundary": True},
        ]
    )
    assert clip_gap_links(far, metric_crs=CRS)[1] == []
    # the second piece lies beside the first's end, running away at a right angle
    side = layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": True},
            {"xy": [(9_000, 1_000), (9_000, 9_000)], "clipped_at_boundary": True},
        ]
    )
    assert clip_gap_links(side, metric_crs=CRS)[1] == []


def test_layer_without_the_clipping_flag_is_left_alone():
    gdf = two_pieces().drop(columns="clipped_at_boundary")
    links, records = clip_gap_links(gdf, metric_crs=CRS)
    assert records == [] and len(links) == 0


def terminus_network(gap_m: float):
    # an expressway from x=0 to x=10 km on y=0 that ends gap_m short of a national road running
    # north-south at x = 10 km + gap; both meet only through a 30 km loop in the south
    g = layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": False},
            {
                "xy": [(10_000 + gap_m, -5_000), (10_000 + gap_m, 5_000)],
                "road_class": "national_highway",
                "ref": "QL.99",
                "clipped_at_boundary": False,
            },
            {
                "xy": [(0, 0), (0, -15_000), (10_000 + gap_m, -15_000), (10_000 + gap_m, -5_000)],
                "road_class": "national_highway",
                "ref": "QL.98",
                "clipped_at_boundary": False,
            },
        ]
    )
    return network_from_layers(
        [RoadLayer(g, class_field="road_class", status_field="status", open_statuses=("unknown",))],
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        snap_tolerance_m=100.0,
    )


def test_expressway_dead_end_joined_to_the_road_it_meets():
    net = terminus_network(1_500.0)
    out, records = expressway_termini(net, connector_speed_kmh=20.0)
    assert [r["kind"] for r in records] == ["expressway terminus"]
    assert records[0]["gap_m"] == pytest.approx(1_500.0, abs=1.0)
    added = out.edges[out.edges["edge_kind"] == "connector"]
    assert len(added) == len(net.edges[net.edges["edge_kind"] == "connector"]) + 1
    g = graph_from_edges(out.edges, out.node_xy, crs=CRS)
    end = int(np.argmin(np.hypot(*(out.node_xy - [X0 + 10_000, Y0]).T)))
    road = int(np.argmin(np.hypot(*(out.node_xy - [X0 + 11_500, Y0]).T)))
    # 1.5 km at 20 km/h = 4.5 min instead of the southern loop
    assert dijkstra(g.csr, indices=end)[road] / 60 == pytest.approx(4.5, abs=0.05)


def test_expressway_end_far_from_any_road_or_a_non_expressway_end_is_left_alone():
    _, records = expressway_termini(terminus_network(4_000.0), connector_speed_kmh=20.0)
    assert records == []
    net = terminus_network(1_500.0)
    edges = net.edges.assign(road_class=net.edges["road_class"].replace("expressway", "trunk"))
    _, records = expressway_termini(replace(net, edges=edges), connector_speed_kmh=20.0)
    assert records == []


def test_one_way_carriageways_are_joined_in_their_direction_of_travel():
    # a dual expressway drawn as two one-way carriageways 30 m apart (eastbound at y=0,
    # westbound at y=30, drawn east to west), both cut by the 1.2 km estuary, and a slow
    # two-way national road around it: both directions must cross the estuary
    gdf = layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": True, "oneway": "yes"},
            {"xy": [(11_200, 0), (20_000, 0)], "clipped_at_boundary": True, "oneway": "yes"},
            {"xy": [(20_000, 30), (11_200, 30)], "clipped_at_boundary": True, "oneway": "yes"},
            {"xy": [(10_000, 30), (0, 30)], "clipped_at_boundary": True, "oneway": "yes"},
            {
                "xy": [(0, 15), (0, -8_000), (20_000, -8_000), (20_000, 15)],
                "road_class": "national_highway",
                "ref": "QL.99",
                "clipped_at_boundary": False,
                "oneway": "no",
            },
        ]
    )
    links, records = clip_gap_links(gdf, metric_crs=CRS)
    assert len(records) == 2
    for g in links.geometry:  # drawn from the end traffic leaves to the end it enters
        (x0, y0), (x1, _) = np.asarray(g.coords)
        assert (x1 > x0) == (round(y0 - Y0) == 0), "link drawn against its carriageway"
    assert (links["oneway"] == "yes").all()
    full = gpd.GeoDataFrame(
        [*gdf.to_dict("records"), *links.drop(columns="addition").to_dict("records")], crs=CRS
    )
    net = network_from_layers(
        [
            RoadLayer(
                full,
                class_field="road_class",
                oneway_field="oneway",
                status_field="status",
                open_statuses=("unknown",),
            )
        ],
        metric_crs=CRS,
        speed_kmh=SPEEDS,
        snap_tolerance_m=10.0,
    )
    g = graph_from_edges(net.edges, net.node_xy, crs=CRS)

    def node(x: float, y: float) -> int:
        return int(np.argmin(np.hypot(*(net.node_xy - [X0 + x, Y0 + y]).T)))

    east = dijkstra(g.csr, indices=node(0, 0))[node(20_000, 0)] / 60
    west = dijkstra(g.csr, indices=node(20_000, 30))[node(0, 30)] / 60
    # 20 km of expressway at 90 km/h each way, not the 36 km national loop at 50 km/h
    assert east == pytest.approx(20 / 90 * 60, rel=1e-3)
    assert west == pytest.approx(20 / 90 * 60, rel=1e-3)


def test_one_way_ends_are_paired_exit_to_entry():
    # both pieces drawn towards the gap, each one-way: traffic leaves both there, no link
    gdf = layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": True, "oneway": "yes"},
            {"xy": [(20_000, 0), (11_200, 0)], "clipped_at_boundary": True, "oneway": "yes"},
        ]
    )
    assert clip_gap_links(gdf, metric_crs=CRS)[1] == []
    # the other carriageway's entry lies nearer than the own carriageway's entry (the bridge is
    # offset from the road it continues, as at Cầu Trà Long, Cam Ranh): each exit still meets
    # the entry of its own carriageway
    gdf = layer(
        [
            {"xy": [(0, 0), (10_000, 0)], "clipped_at_boundary": True, "oneway": "yes"},
            {"xy": [(10_100, 60), (20_000, 60)], "clipped_at_boundary": True, "oneway": "yes"},
            {"xy": [(20_000, 75), (10_100, 75)], "clipped_at_boundary": True, "oneway": "yes"},
            {"xy": [(10_000, 15), (0, 15)], "clipped_at_boundary": True, "oneway": "yes"},
        ]
    )
    links, records = clip_gap_links(gdf, metric_crs=CRS)
    assert len(records) == 2
    starts = sorted(tuple(np.round(np.asarray(g.coords)[0] - [X0, Y0])) for g in links.geometry)
    ends = sorted(tuple(np.round(np.asarray(g.coords)[-1] - [X0, Y0])) for g in links.geometry)
    assert starts == [(10_000, 0), (10_100, 75)]  # the two exits
    assert ends == [(10_000, 15), (10_100, 60)]  # the two entries
