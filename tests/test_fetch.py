"""`fetch` end to end against a local HTTP server (no internet): recorded Overpass responses and a
small GeoTIFF, served on 127.0.0.1; the resulting folder must be what the loaders read."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from geo.config import REPO_DATA, load_region_config
from geo.errors import InputError, NetworkError, ServerError
from geo.fetch_population import download_file, sha256_bytes

FIXTURES = Path(__file__).parent / "data" / "fetch"
BBOX = (108.10, 16.00, 108.30, 16.15)
STATUS = (
    "Connected as: 1\nCurrent time: 2026-08-01T00:00:00Z\nAnnounced endpoint: none\n"
    "Rate limit: 2\n2 slots available now.\n"
)


def _population_tif(path: Path) -> bytes:
    """40 x 30 cells of 0.005° over the test bbox, 100 people each (uncompressed, so byte
    offsets mean something for the resume test)."""
    data = np.full((30, 40), 100.0, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=40,
        height=30,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(BBOX[0], BBOX[3], 0.005, 0.005),
        nodata=-1,
    ) as ds:
        ds.write(data, 1)
    return path.read_bytes()


class _Server:
    """Overpass (``/api/status``, ``/api/interpreter``) and a file with Range support."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.queries: list[str] = []
        self.ranges: list[str | None] = []
        self.cut_after: int | None = None  # next file GET sends only this many bytes, then closes
        features = (FIXTURES / "overpass_features.json").read_bytes()
        roads = json.loads((FIXTURES / "overpass_roads.json").read_text(encoding="utf-8"))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/api/status":
                    return self._send(200, STATUS.encode(), {"Content-Type": "text/plain"})
                data = server.files.get(self.path)
                if data is None:
                    return self._send(404, b"not found", {})
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                start = int(rng.removeprefix("bytes=").split("-")[0]) if rng else 0
                if start >= len(data):
                    return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                body = data[start:]
                headers = {"Content-Length": str(len(body)), "Accept-Ranges": "bytes"}
                if rng:
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                self.send_response(206 if rng else 200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if server.cut_after is not None:
                    self.wfile.write(body[: server.cut_after])
                    server.cut_after = None
                    self.close_connection = True
                    return None
                self.wfile.write(body)
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                query = urllib.parse.parse_qs(self.rfile.read(length).decode())["data"][0]
                server.queries.append(query)
                if '"highway"' in query:
                    keep = [
                        e
                        for e in roads["elements"]
                        if e["type"] == "node"
                        or "tertiary" in query  # --tertiary and --network drive
                        or e["tags"]["highway"] != "tertiary"
                    ]
                    body = json.dumps({**roads, "elements": keep}).encode()
                else:
                    body = features
                self._send(200, body, {"Content-Type": "application/json"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tif_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _population_tif(tmp_path_factory.mktemp("tif") / "pop.tif")


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory, tif_bytes: bytes) -> tuple[Path, _Server]:
    """`python cli.py fetch --bbox ...` against the local server (in-process CliRunner)."""
    from click.testing import CliRunner

    import cli

    tmp = tmp_path_factory.mktemp("fetch")
    with _Server({"/pop.tif": tif_bytes}) as srv:
        result = CliRunner().invoke(
            cli.cli,
            [
                "fetch",
                "--out",
                str(tmp / "mirror"),
                "--bbox",
                ",".join(map(str, BBOX)),
                "--overpass-url",
                f"{srv.url}/api",
                "--population-url",
                f"{srv.url}/pop.tif",
                "--population-sha256",
                sha256_bytes(tif_bytes),
                "--cache",
                str(tmp / "cache"),
            ],
            obj=cli.Ctx(),
        )
    assert result.exit_code == 0, f"fetch failed:\n{result.output}\n{result.exception!r}"
    return tmp / "mirror", srv


def test_fetch_queries_go_to_the_local_overpass(fetched: tuple[Path, _Server]) -> None:
    _, srv = fetched
    assert any("'aeroway'='aerodrome'" in q for q in srv.queries), (
        "no facilities query reached the server"
    )
    roads = [q for q in srv.queries if '"highway"' in q]
    assert roads, "no road query reached the server"
    assert all("tertiary" not in q for q in roads), (
        "tertiary roads were requested without --tertiary"
    )


def test_fetched_folder_is_read_by_the_loaders(fetched: tuple[Path, _Server]) -> None:
    from geo.facilities import load_region_facilities
    from geo.population import population_from_config, population_from_raster
    from geo.roads import road_network_for_region

    mirror, _ = fetched
    config = load_region_config()
    load = load_region_facilities(mirror, config)
    fac = load.facilities
    by_type = fac.groupby("type")["name"].apply(sorted).to_dict()
    # airports and seaports are the official units (geo.units): the fetched aerodrome is a site of
    # the Đà Nẵng airport, the fetched general ports are terminals of the Đà Nẵng seaport
    assert len(by_type["airport"]) == 23 and "Cảng hàng không quốc tế Đà Nẵng" in by_type["airport"]
    assert "Cảng biển Đà Nẵng" in by_type["seaport"], f"seaports: {by_type}"
    sites = load.sites
    members = sites[sites["excluded_reason"] == ""]
    unit_name = dict(zip(fac["facility_id"], fac["name"], strict=True))
    dn = sorted(members.loc[members["unit_id"].map(unit_name) == "Cảng biển Đà Nẵng", "name"])
    assert {"Cảng Liên Chiểu", "Cảng Tiên Sa"} <= set(dn), f"Đà Nẵng seaport's terminals: {dn}"
    dad = members.loc[members["unit_id"].map(unit_name) == "Cảng hàng không quốc tế Đà Nẵng"]
    assert "Sân bay quốc tế Đà Nẵng" in set(dad["name"]), "the fetched aerodrome is DAD's site"
    assert by_type["industrial_park"] == ["KCN Đà Nẵng", "Khu công nghiệp Hòa Khánh"], (
        f"parks: {by_type}"
    )
    parks = fac[fac["type"] == "industrial_park"]
    assert set(parks["prov63_code"]) == {"48"}, "every fetched park lies in Đà Nẵng (48)"
    assert fac.loc[fac["type"] == "industrial_park", "area_wkb"].notna().all(), (
        "parks lost their polygons"
    )
    left_out = " | ".join(sites["excluded_reason"])
    assert "fishing" in left_out, "the fishing port should be left out as not a seaport terminal"
    assert (load.excluded["reason"].str.contains("no iata")).sum() == 1, "Nước Mặn has no IATA code"

    net = road_network_for_region(mirror, config)
    osm = net.edges.loc[net.edges["road_class"].isin(["national_highway", "primary", "secondary"])]
    assert set(osm["road_class"]) == {"national_highway", "primary", "secondary"}, set(
        net.edges["road_class"]
    )
    ql1 = osm.loc[osm["road_class"] == "national_highway"]
    # the urban factor (geo.urban) slows the edges near a large city, the tag's 80 otherwise
    posted = ql1["speed_kmh"] / np.where(ql1["urban"], config.roads.urban_speed_factor, 1.0)
    assert np.allclose(posted, 80), "maxspeed=80 of QL.1 was not carried into the network"

    pop = population_from_config(mirror, config)
    assert pop.source == "raster:population_grid.tif", "run must use the fetched population grid"
    grid = population_from_raster(mirror / "population_grid.tif")
    assert pop.total == pytest.approx(grid.total)
    prov = json.loads((mirror / "PROVENANCE.json").read_text(encoding="utf-8"))
    assert grid.total == pytest.approx(
        prov["layers"]["population_grid.tif"]["grid"]["people"], rel=1e-5
    )
    # The bbox lies within the grown province polygons: every person of the source is kept once.
    assert grid.total == pytest.approx(40 * 30 * 100, rel=1e-6), "people lost or counted twice"


def test_provenance_lists_every_layer_with_source_and_counts(fetched: tuple[Path, _Server]) -> None:
    mirror, _ = fetched
    prov = json.loads((mirror / "PROVENANCE.json").read_text(encoding="utf-8"))
    layers = prov["layers"]
    for name in (
        "transport_facilities_osm.gpkg",
        "industrial_parks.gpkg",
        "roads_trunk_osm.gpkg",
        "population_grid.tif",
    ):
        assert {"source", "licence", "date"} <= set(layers[name]), f"{name}: {layers[name]}"
    assert layers["transport_facilities_osm.gpkg"]["counts"]["aerodromes_with_iata"] == 1
    assert layers["industrial_parks.gpkg"]["counts"]["parks"] == 2
    assert layers["population_grid.tif"]["sha256_verified"] is True
    assert "provinces_63.gpkg" in layers, "copied boundaries must be listed too"
    assert not list(mirror.glob(".tmp-*")), "temporary files left behind"


def test_download_resumes_after_an_interruption(tmp_path: Path, tif_bytes: bytes) -> None:
    with _Server({"/pop.tif": tif_bytes}) as srv:
        srv.cut_after = 1000
        with pytest.raises(ServerError, match="resume"):
            download_file(f"{srv.url}/pop.tif", tmp_path / "pop.tif", max_attempts=1, timeout_s=5)
        part = tmp_path / "pop.tif.part"
        assert part.stat().st_size == 1000, "the bytes received before the cut must be kept"
        assert not (tmp_path / "pop.tif").exists(), (
            "an incomplete download must not appear as the file"
        )
        got = download_file(
            f"{srv.url}/pop.tif", tmp_path / "pop.tif", sha256=sha256_bytes(tif_bytes), timeout_s=5
        )
    assert srv.ranges[-1] == "bytes=1000-", f"the second request did not resume: {srv.ranges}"
    assert got.how == "resumed" and (tmp_path / "pop.tif").read_bytes() == tif_bytes
    assert not part.exists()


def test_download_retries_within_one_call(tmp_path: Path, tif_bytes: bytes) -> None:
    with _Server({"/pop.tif": tif_bytes}) as srv:
        srv.cut_after = 777
        got = download_file(
            f"{srv.url}/pop.tif", tmp_path / "pop.tif", sha256=sha256_bytes(tif_bytes), timeout_s=5
        )
    assert got.how == "resumed" and srv.ranges == [None, "bytes=777-"]


def test_checksum_mismatch_leaves_no_file(tmp_path: Path, tif_bytes: bytes) -> None:
    with (
        _Server({"/pop.tif": tif_bytes}) as srv,
        pytest.raises(NetworkError, match="SHA-256 mismatch"),
    ):
        download_file(f"{srv.url}/pop.tif", tmp_path / "pop.tif", sha256="0" * 64, timeout_s=5)
    assert list(tmp_path.iterdir()) == [], (
        "a download with a wrong checksum must leave nothing behind"
    )


def test_fetch_cli_reports_a_failed_download_without_traceback(
    tmp_path: Path, tif_bytes: bytes
) -> None:
    from click.testing import CliRunner

    import cli

    with _Server({"/pop.tif": tif_bytes}) as srv:
        result = CliRunner().invoke(
            cli.cli,
            [
                "fetch",
                "--out",
                str(tmp_path / "m"),
                "--bbox",
                ",".join(map(str, BBOX)),
                "--overpass-url",
                f"{srv.url}/api",
                "--population-url",
                f"{srv.url}/pop.tif",
                "--population-sha256",
                "f" * 64,
                "--cache",
                str(tmp_path / "cache"),
                "--skip",
                "roads",
                "--skip",
                "facilities",
            ],
            obj=cli.Ctx(),
        )
    assert result.exit_code == 1, result.output
    assert "SHA-256 mismatch" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists(), "a failed fetch must not create the output folder"
    assert (tmp_path / "m.partial").is_dir(), "the partial folder is kept for the next fetch"


def test_fetch_moves_the_partial_folder_in_when_complete(tmp_path: Path, tif_bytes: bytes) -> None:
    from click.testing import CliRunner

    import cli

    args = ["fetch", "--out", str(tmp_path / "m"), "--bbox", ",".join(map(str, BBOX)),
            "--cache", str(tmp_path / "cache"), "--skip", "roads", "--skip", "facilities"]  # fmt: skip
    with _Server({"/pop.tif": tif_bytes}) as srv:
        url = ["--population-url", f"{srv.url}/pop.tif"]
        bad = CliRunner().invoke(
            cli.cli, [*args, *url, "--population-sha256", "f" * 64], obj=cli.Ctx()
        )
        assert bad.exit_code == 1 and (tmp_path / "m.partial").is_dir(), bad.output
        sha = ["--population-sha256", sha256_bytes(tif_bytes)]
        good = CliRunner().invoke(cli.cli, [*args, *url, *sha], obj=cli.Ctx())
    assert good.exit_code == 0, good.output
    assert (tmp_path / "m" / "population_grid.tif").is_file()
    assert (tmp_path / "m" / "PROVENANCE.json").is_file()
    assert not (tmp_path / "m.partial").exists(), "the partial folder is moved in whole"
    (tmp_path / "m" / "thesis.docx").write_bytes(b"mine")
    (tmp_path / "m" / "PROVENANCE.json").unlink()
    again = CliRunner().invoke(cli.cli, [*args, "--skip", "population"], obj=cli.Ctx())
    assert again.exit_code == 1 and "not a previous fetch" in again.output, again.output
    assert (tmp_path / "m" / "thesis.docx").read_bytes() == b"mine"


def test_embedded_base_exists() -> None:
    assert (REPO_DATA / "vietnam" / "provinces_63.gpkg").is_file(), (
        "fetch copies boundaries from here"
    )


def test_fetched_folder_names_its_own_sources(fetched: tuple[Path, _Server]) -> None:
    """The attribution of a fetched folder comes from its PROVENANCE.json, not the mirror's
    catalogue: downloaded layers say OpenStreetMap and the fetch date; copied ones keep theirs."""
    from geo.datasets import MIRROR_LAYERS, attribution_lines, data_attribution

    mirror, _ = fetched
    prov = json.loads((mirror / "PROVENANCE.json").read_text(encoding="utf-8"))
    by_file = {str(e["file"]): e for e in data_attribution(mirror)}
    roads = by_file["roads_trunk_osm.gpkg"]
    assert "OpenStreetMap" in str(roads["attribution"]) and prov["fetched"] in str(
        roads["attribution"]
    )
    assert roads["source"] == prov["layers"]["roads_trunk_osm.gpkg"]["source"]
    catalogue = {layer.file: layer.as_dict() for layer in MIRROR_LAYERS}
    assert by_file["provinces_63.gpkg"] == catalogue["provinces_63.gpkg"], (
        "a copied layer keeps its licence"
    )
    pop = by_file["population_grid.tif"]
    assert pop["source"] == prov["layers"]["population_grid.tif"]["source"]
    assert set(by_file) == {n for n in prov["layers"] if (mirror / n).is_file()}
    assert any("OpenStreetMap" in line for line in attribution_lines(mirror))


def test_fetch_full_drive_network_from_the_local_overpass(tmp_path: Path) -> None:
    """`fetch --network drive` asks Overpass for every drivable highway value (not only main
    roads), writes them to the roads layer and names the filter in the provenance."""
    from click.testing import CliRunner

    import cli
    from geo.roads import DRIVE_HIGHWAYS, road_network_for_region

    with _Server({}) as srv:
        result = CliRunner().invoke(
            cli.cli,
            [
                "fetch",
                "--out",
                str(tmp_path / "mirror"),
                "--bbox",
                ",".join(map(str, BBOX)),
                "--overpass-url",
                f"{srv.url}/api",
                "--network",
                "drive",
                "--skip",
                "facilities",
                "--skip",
                "population",
                "--cache",
                str(tmp_path / "cache"),
            ],
            obj=cli.Ctx(),
        )
    assert result.exit_code == 0, f"fetch failed:\n{result.output}\n{result.exception!r}"
    roads_q = [q for q in srv.queries if '"highway"' in q]
    assert roads_q
    for value in ("residential", "unclassified", "tertiary", "living_street", "primary"):
        assert all(value in q for q in roads_q), f"{value} not requested"
    prov = json.loads((tmp_path / "mirror" / "PROVENANCE.json").read_text(encoding="utf-8"))
    layer = prov["layers"]["roads_trunk_osm.gpkg"]
    assert "residential" in layer["filter"] and "(drive)" in layer["source"]
    assert "tertiary" in layer["km_by_class"], layer["km_by_class"]
    # the fetched full network goes through the same reader, speed rules and repairs
    config = load_region_config(region="vietnam")
    net = road_network_for_region(tmp_path / "mirror", config)
    classes = set(net.edges.loc[net.edges["edge_kind"] == "road", "road_class"])
    assert "tertiary" in classes and classes & set(DRIVE_HIGHWAYS), classes


def test_unknown_network_is_refused_before_any_download(tmp_path: Path) -> None:
    from geo.fetch import FetchOptions, fetch_region

    with pytest.raises(InputError, match="unknown road network 'all'"):
        fetch_region(
            load_region_config(region="vietnam"),
            tmp_path / "mirror",
            options=FetchOptions(network="all", overpass_url="http://127.0.0.1:9/api"),
        )
    assert not (tmp_path / "mirror").exists()
