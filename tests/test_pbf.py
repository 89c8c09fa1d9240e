"""The streaming PBF reader (geo.pbf): the same graph as the osmnx XML path, and bad files refused
before the read starts, with the file named."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.errors import InputError
from geo.pbf import check_pbf, network_from_pbf
from geo.roads import DRIVE_HIGHWAYS, RoadNetwork, network_from_osm_xml

CRS = "EPSG:3405"
SPEEDS = {"primary": 50.0, "secondary": 40.0, "residential": 25.0, "default": 30.0}
DATA = Path(os.environ.get("INFRA_OVERLAP_DATA", "/work/shared/data/vietnam"))
XML = DATA / "osm" / "hcmc_district1_small.osm"
HUE = DATA / "roads_extra" / "hue_2026_osm.osm.pbf"


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} not available (set INFRA_OVERLAP_DATA)")
    return path


def _write_drivable(src: Path, dst: Path) -> None:
    """The drivable ways of ``src`` and their nodes, in the format of ``dst``'s suffix."""
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


def _segments(net: RoadNetwork) -> Counter:
    """Every straight piece of every edge (cm-rounded ends, direction kept only on oneway edges)
    with its speed: two readers that agree on nodes, arcs, lengths and times agree on this."""
    e = net.edges
    coords, idx = shapely.get_coordinates(np.asarray(e.geometry.array), return_index=True)
    k = np.flatnonzero(idx[1:] == idx[:-1])
    a = np.round(coords[k] * 100).astype(np.int64)
    b = np.round(coords[k + 1] * 100).astype(np.int64)
    oneway = e["oneway"].to_numpy(bool)[idx[k]]
    speed = e["speed_kmh"].to_numpy(float)[idx[k]]
    out: Counter = Counter()
    for p, q, ow, s in zip(map(tuple, a), map(tuple, b), oneway, speed, strict=True):
        key = (p, q) if ow or p <= q else (q, p)
        out[(key, bool(ow), round(float(s), 6))] += 1
    return out


@pytest.mark.integration
def test_streaming_reader_gives_the_osmnx_graph(tmp_path):
    """Same drivable ways written as XML and as PBF: the PBF reader (pyosmium, no networkx) and
    the XML reader (osmnx graph_from_xml) give the same segments, lengths, speeds, times."""
    src = _need(XML)
    xml, pbf = tmp_path / "drive.osm", tmp_path / "drive.osm.pbf"
    _write_drivable(src, xml)
    _write_drivable(src, pbf)
    via_pbf = network_from_pbf(pbf, metric_crs=CRS, speed_kmh=SPEEDS)
    # Unsimplified, osmnx keeps each way's own tags on each segment (simplified, it merges the
    # edges of two ways through a node of degree 2 and keeps the first way's highway tag).
    kw = {"metric_crs": CRS, "speed_kmh": SPEEDS, "retain_all": True}
    via_xml = network_from_osm_xml(xml, simplify=False, **kw)
    seg_pbf, seg_xml = _segments(via_pbf), _segments(via_xml)
    assert sum(seg_pbf.values()) > 300
    assert seg_pbf == seg_xml, (
        f"{sum((seg_pbf - seg_xml).values())} segments only from the PBF, "
        f"{sum((seg_xml - seg_pbf).values())} only from osmnx"
    )

    def totals(net: RoadNetwork) -> tuple[float, float, int]:
        e = net.edges
        arcs = np.where(e["oneway"], 1, 2)
        hours = (e["length_m"] / 1000.0 / e["speed_kmh"] * arcs).sum()
        return float((e["length_m"] * arcs).sum()), float(hours), int(arcs.sum())

    m_pbf, h_pbf, _ = totals(via_pbf)
    m_xml, h_xml, _ = totals(via_xml)
    assert m_pbf == pytest.approx(m_xml, rel=1e-9)
    assert h_pbf == pytest.approx(h_xml, rel=1e-9)
    # Every node of osmnx's simplified graph (a junction or a dead end) is a node of the PBF
    # graph, which also splits where one way continues another (a way end), so it may have more.
    simple = network_from_osm_xml(xml, simplify=True, **kw)
    ours = {tuple(np.round(xy * 100).astype(np.int64)) for xy in via_pbf.node_xy}
    theirs = {tuple(np.round(xy * 100).astype(np.int64)) for xy in simple.node_xy}
    assert theirs <= ours
    assert len(ours) < len(via_xml.node_xy)  # and no degree-2 node inside a way
    arcs = int(np.where(via_pbf.edges["oneway"], 1, 2).sum())
    assert totals(simple)[2] <= arcs < totals(via_xml)[2]


def test_check_pbf_counts_blocks_of_a_real_extract():
    info = check_pbf(_need(HUE))
    assert info["bytes"] == HUE.stat().st_size
    assert info["blocks"] > 1


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_pbf_refused_before_reading(tmp_path, keep):
    src = _need(HUE)
    cut = tmp_path / "vietnam-latest.osm.pbf"
    data = src.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError) as err:
        network_from_pbf(cut, metric_crs=CRS, speed_kmh=SPEEDS)
    text = str(err.value)
    assert str(cut) in text
    assert "truncated" in text
    assert f"file has {cut.stat().st_size:,} bytes" in text and "missing" in text


@pytest.mark.parametrize(
    "content",
    [b"", b"<?xml version='1.0'?><osm></osm>", b"\x1f\x8b\x08\x00gzip data" * 10, os.urandom(4096)],
)
def test_not_a_pbf_refused_with_the_file_named(tmp_path, content):
    bad = tmp_path / "roads.osm.pbf"
    bad.write_bytes(content)
    with pytest.raises(InputError) as err:
        check_pbf(bad)
    text = str(err.value)
    assert str(bad) in text
    assert any(w in text for w in ("not an OSM PBF", "empty", "truncated", "corrupt")), text


def test_corrupt_block_header_inside_the_file(tmp_path):
    data = bytearray(_need(HUE).read_bytes())
    # The second block's header: overwrite its type string with garbage of the same length.
    first_len = int.from_bytes(data[:4], "big")
    first_size = check_first_datasize(bytes(data[4 : 4 + first_len]))
    second = 4 + first_len + first_size
    start = data.index(b"OSMData", second)
    data[start : start + 7] = b"XXXXXXX"
    bad = tmp_path / "hue.osm.pbf"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="not a PBF block") as err:
        check_pbf(bad)
    assert str(bad) in str(err.value)
    assert f"byte {second:,}" in str(err.value)


def check_first_datasize(header: bytes) -> int:
    from geo.pbf import _blob_header

    kind, size = _blob_header(header)
    assert kind == "OSMHeader"
    return size
