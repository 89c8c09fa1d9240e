"""The second region: São Paulo (real OSM roads from the bench PBF, synthetic areas, population
and parks from data/build_saopaulo.py), run end to end by the CLI and by the notebook API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from data.build_saopaulo import build
from geo.config import load_region_config
from tests.conftest import REPO, run_cli
from tests.deep_digest import changed, digest

PBF = REPO.parent / "shared" / "data" / "bench" / "sao_paulo.osm.pbf"
pytestmark = pytest.mark.skipif(not PBF.is_file(), reason=f"bench PBF not found: {PBF}")


@pytest.fixture(scope="module")
def sp_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("saopaulo")
    data, out = base / "data", base / "out"
    built = build(PBF, data)
    assert built["parks"] == 8 and built["people"] == pytest.approx(1_000_000, rel=1e-6)
    r = run_cli(
        "run", "--region", "saopaulo", "--data", str(data), "--out", str(out), "--lang", "en"
    )
    assert r.returncode == 0, f"São Paulo run failed (exit {r.returncode}):\n{r.stderr[-3000:]}"
    return data, out


def test_config_passes_validation() -> None:
    cfg = load_region_config(REPO / "data" / "saopaulo.toml")
    assert cfg.metric_crs == "EPSG:31983"
    assert list(cfg.types) == ["industrial_park"]


def test_build_is_deterministic(tmp_path: Path, sp_run: tuple[Path, Path]) -> None:
    build(PBF, tmp_path)
    for name in ("crosswalk_areas.csv", "population_areas.csv"):
        assert (tmp_path / name).read_bytes() == (sp_run[0] / name).read_bytes(), name
    a = gpd.read_file(tmp_path / "parks.gpkg")
    b = gpd.read_file(sp_run[0] / "parks.gpkg")
    assert a.geom_equals(b).all() and a["park_id"].tolist() == b["park_id"].tolist()


def test_run_facts(sp_run: tuple[Path, Path]) -> None:
    _, out = sp_run
    fac = pd.read_csv(out / "tables" / "facilities.csv", dtype={"prov63_code": str})
    assert len(fac) == 8, f"{len(fac)} parks loaded, 8 built"
    assert set(fac["prov63_code"]) <= {"01", "02", "03", "04"}
    assert fac["prov63_code"].equals(fac["prov34_code"].astype(str).str.zfill(2)), (
        "one area layer is both editions: each park's two area codes must agree"
    )
    operating = fac[fac["status"] == "operating"]
    assert (operating["road_access"] == "network").all()
    assert (operating["coverage"] > 0).all(), "every operating park reaches people"
    assert operating["coverage"].max() <= 1_000_000 + 1
    assert fac["overlap_flag"].any(), "parks 2-3 km apart in a 7 km city cut must overlap"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest, "manifest is empty"
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Parque sintético" in html and "Zona Nordeste" in html
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "São Paulo" in report and "Industrial park" in report
    assert re.search(r"\b8\b", report)


def test_api_matches_the_cli(sp_run: tuple[Path, Path]) -> None:
    """The notebook API on the same files gives the CLI's coverage, verdict and removal loss."""
    from analysis import api

    data, out = sp_run
    cfg = load_region_config(REPO / "data" / "saopaulo.toml")
    roads = gpd.read_file(data / "roads.gpkg", layer="roads")
    areas, parks = gpd.read_file(data / "areas.gpkg"), gpd.read_file(data / "parks.gpkg")
    frames_before = digest((roads, areas, parks))
    graph = api.graph_from_roads(
        roads,
        crs=cfg.metric_crs,
        speed_kmh=dict(cfg.roads.speed_kmh),
        snap_tolerance_m=cfg.roads.snap_tolerance_m,
    )
    demand = api.demand_from_raster(
        areas,
        data / "population_grid.tif",
        area_id="gso_code",
        cell_size_m=cfg.cell_size_m,
        crs=cfg.metric_crs,
    )
    built_before = digest((graph, demand))
    catch = api.catchments(
        parks,
        graph,
        demand,
        breaks_min=cfg.types["industrial_park"].breaks_min,
        id_column="park_id",
        access_speed_kmh=cfg.access_speed_kmh,
        max_access_km=cfg.max_facility_access_km,
        min_component_km=cfg.min_component_km,
    )
    catch_before = digest(catch)
    v = api.verdict(catch, threshold_min=5, keep_one_min=0, variants_min=(4, 6))
    api.coverage(catch), api.overlaps(catch), api.province_matrices(catch)
    api.minimal_cover(catch, threshold_min=5)
    # no argument mutated: the frames read, the graph and demand, the catchments as they were
    assert changed(frames_before, digest((roads, areas, parks))) == []
    assert changed(built_before, digest((graph, demand))) == []
    # (the store's read counters, passes and blocks_read, count the reads: they are meant to move)
    counters = {".store.passes", ".store.blocks_read"}
    assert [p for p in changed(catch_before, digest(catch)) if p not in counters] == []
    cli = pd.read_csv(out / "tables" / "facilities.csv", encoding="utf-8-sig")
    cli["facility_id"] = cli["facility_id"].str.split(":").str[1]
    m = v.merge(cli, on="facility_id", suffixes=("_api", "_cli"), validate="1:1")
    assert len(m) == 8
    # the tables round people to whole numbers (for Excel): equal within half a person
    assert np.allclose(m["coverage_api"], m["coverage_cli"], rtol=0, atol=0.5)
    assert (m["verdict_api"] == m["verdict_cli"]).all()
    assert (m["verdict_reason_api"] == m["verdict_reason_cli"]).all()
    assert np.allclose(
        m["removal_lost_api"].astype(float),
        m["removal_lost_cli"].astype(float),
        atol=0.5,
        equal_nan=True,
    )
    # the API's frames (from facility blocks) equal the whole-array path's to the last bit
    from tests.api_matrix_path import assert_same_as_matrix_path

    assert_same_as_matrix_path(
        catch,
        graph,
        threshold_min=5,
        variants_min=(4, 6),
        access={
            "access_speed_kmh": cfg.access_speed_kmh,
            "max_access_km": cfg.max_facility_access_km,
            "min_component_km": cfg.min_component_km,
        },
        rule={"keep_one_min": 0},
    )


def test_missing_area_totals_is_a_user_error(sp_run: tuple[Path, Path], tmp_path: Path) -> None:
    """A region without [population] province_totals_file: exit 1 naming the key, no traceback."""
    text = (REPO / "data" / "saopaulo.toml").read_text(encoding="utf-8")
    cfg = tmp_path / "sp_no_totals.toml"
    cfg.write_text(
        "\n".join(ln for ln in text.splitlines() if not ln.startswith("province_totals_file")),
        encoding="utf-8",
    )
    r = run_cli(
        "run", "--config", str(cfg), "--data", str(sp_run[0]), "--out", str(tmp_path / "out")
    )
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr[-2000:]}"
    assert "province_totals_file" in r.stderr and "Traceback" not in r.stderr
