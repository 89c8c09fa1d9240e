"""GeoTIFFs, their QML sidecars and the QGIS project; then the whole folder opened in real QGIS.

The first tests need only rasterio and the standard library; those marked ``qgis`` run Debian's
QGIS 3.22 (``../shared/tools/install.sh``) in a child process and are skipped without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from maps.gpkg import write_geopackage
from maps.qgis_project import write_qgis_project
from maps.rasters import write_rasters
from tests.cog_check import cog_errors
from tests.fake_result import make_fake_result

REPO = Path(__file__).resolve().parent.parent
CHECK_QGIS = REPO.parent / "shared" / "tools" / "check_qgis.py"
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run's GIS outputs for the fake result, as ``cli.py run`` lays them out."""
    out = tmp_path_factory.mktemp("run") / "out"
    result = make_fake_result()
    write_geopackage(result, out / "infra_overlap.gpkg")
    write_rasters(result, out)
    write_qgis_project(result, out)
    return out


def _qgs(out_dir: Path) -> ET.Element:
    with zipfile.ZipFile(out_dir / "infra_overlap.qgz") as zf:
        names = zf.namelist()
        assert names == ["infra_overlap.qgs"], f"the .qgz should hold one .qgs, holds {names}"
        return ET.fromstring(zf.read(names[0]).decode("utf-8").split("\n", 1)[1])


# --- rasters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["coverage_count_seaport", "travel_time_seaport"])
def test_raster_is_a_tiled_cog_with_overviews(out_dir: Path, name: str) -> None:
    result = make_fake_result()
    layer, grid = result.rasters[name], result.grid
    assert cog_errors(out_dir / "rasters" / f"{name}.tif") == []
    with rasterio.open(out_dir / "rasters" / f"{name}.tif") as src:
        assert src.crs.to_epsg() == 3405, f"{name}: CRS {src.crs}, expected EPSG:3405"
        assert src.transform == Affine(*grid.affine), f"{name}: transform {src.transform}"
        assert src.nodata == layer.nodata, f"{name}: nodata {src.nodata}, expected {layer.nodata}"
        assert src.profile["tiled"] and src.block_shapes == [(256, 256)], src.block_shapes
        assert src.compression.name.upper() == "DEFLATE", f"{name}: compression {src.compression}"
        structure = src.tags(ns="IMAGE_STRUCTURE")
        assert structure.get("LAYOUT") == "COG", f"{name}: not a COG layout: {structure}"
        assert structure.get("PREDICTOR") in ("2", "3"), f"{name}: no predictor: {structure}"
        assert len(src.overviews(1)) == 4, f"{name}: overviews {src.overviews(1)}, want 2/4/8/16"
        assert src.dtypes[0] == layer.array.dtype.name
        np.testing.assert_array_equal(src.read(1), layer.array, err_msg=f"{name}: values changed")
        assert src.units[0] == layer.unit


def test_raster_sidecars(out_dir: Path) -> None:
    def shader(name: str) -> ET.Element:
        text = (out_dir / "rasters" / f"{name}.qml").read_text(encoding="utf-8")
        el = ET.fromstring(text.split("\n", 1)[1]).find(
            "pipe/rasterrenderer/rastershader/colorrampshader"
        )
        assert el is not None, f"{name}.qml has no colour ramp"
        return el

    count = shader("coverage_count_seaport")
    assert count.get("colorRampType") == "DISCRETE", "coverage counts should be discrete classes"
    items = [(i.get("label"), int(i.get("alpha"))) for i in count.iter("item")]
    assert [lab for lab, _ in items] == ["0", "1", "2", "3", "4+"] and items[0][1] == 0, items
    time = shader("travel_time_seaport")
    assert time.get("colorRampType") == "INTERPOLATED"
    assert time.get("maximumValue") == "150" and "phút" in next(time.iter("item")).get("label")


def test_rasters_written_twice_are_identical(tmp_path: Path, out_dir: Path) -> None:
    paths = write_rasters(make_fake_result(), tmp_path)
    for p in paths:
        assert p.read_bytes() == (out_dir / "rasters" / p.name).read_bytes(), f"{p.name} differs"
    assert sorted(x.name for x in (tmp_path / "rasters").iterdir()) == sorted(
        [p.name for p in paths] + [p.with_suffix(".qml").name for p in paths]
    ), "unexpected (temporary?) files in rasters/"


# --- project -------------------------------------------------------------------------------------


def test_project_paths_are_relative(out_dir: Path) -> None:
    qgs = _qgs(out_dir)
    sources = [e.text for e in qgs.iter("datasource")]
    assert sources, "the project has no layers"
    bad = [s for s in sources if not s.startswith("./")]
    assert not bad, f"datasources not relative to the project: {bad}"
    assert qgs.find("properties/Paths/Absolute").text == "false"
    assert "./rasters/travel_time_seaport.tif" in sources
    assert "./infra_overlap.gpkg|layername=facilities|subset=\"type\" = 'seaport'" in sources
    assert str(out_dir) not in ET.tostring(qgs, encoding="unicode"), "an absolute path leaked"


def test_project_tree_crs_and_styles(out_dir: Path) -> None:
    qgs = _qgs(out_dir)
    assert qgs.find("projectCrs/spatialrefsys/authid").text == "EPSG:3405"
    groups = [g.get("name") for g in qgs.find("layer-tree-group").findall("layer-tree-group")]
    assert groups == ["Cảng biển", "Cảng hàng không", "Tỉnh, thành phố", "Lưới (raster)", "Bảng"], (
        groups
    )
    layers = {m.find("id").text: m for m in qgs.iter("maplayer")}
    seaport = qgs.find("layer-tree-group/layer-tree-group[@name='Cảng biển']")
    kinds = [layers[t.get("id")].get("geometry") for t in seaport.iter("layer-tree-layer")]
    assert kinds == ["Point", "Point", "Line", "Polygon"], f"seaport group order {kinds}"
    ids = [t.get("id") for t in qgs.iter("layer-tree-layer")]
    assert len(set(ids)) == len(ids) == len(layers), "layer ids not unique or tree/layers mismatch"
    for lid, m in layers.items():
        if m.get("type") == "vector" and m.get("geometry") != "No geometry":
            assert m.find("renderer-v2") is not None, f"{lid}: no embedded style"
        if m.get("type") == "raster":
            assert m.find("pipe/rasterrenderer").get("type") == "singlebandpseudocolor", lid
    extent = [
        float(qgs.find(f"mapcanvas/extent/{k}").text) for k in ("xmin", "ymin", "xmax", "ymax")
    ]
    assert (
        400_000 < extent[0] < extent[2] < 800_000 and 2_100_000 < extent[1] < extent[3] < 2_500_000
    ), f"map extent {extent} is not the region in EPSG:3405 metres"


def test_project_opens_readable(out_dir: Path) -> None:
    """Issue 17 item 4: only the first type's primary catchments on, other breaks unticked,
    overlaps at the primary break only and off, one named province layer per measure, labels
    with a scale range and collision handling, every field aliased in Vietnamese."""
    qgs = _qgs(out_dir)
    tree = {t.get("id"): t for t in qgs.iter("layer-tree-layer")}
    layers = {m.find("id").text: m for m in qgs.iter("maplayer")}
    on = {
        layers[i].find("layername").text
        for i, t in tree.items()
        if t.get("checked") == "Qt::Checked"
    }
    catch = [m for m in layers.values() if "layername=catchments" in m.find("datasource").text]
    assert [tree[m.find("id").text].get("checked") for m in catch] == [
        "Qt::Checked",
        "Qt::Unchecked",
    ]
    for m in catch:
        ranges = {float(r.get("upper")): r.get("render") for r in m.iter("range")}
        primary = 120.0 if "seaport" in m.find("datasource").text else 90.0
        assert ranges[primary] == "true" and all(
            v == "false" for k, v in ranges.items() if k != primary
        ), f"{m.find('layername').text}: only the primary break drawn, got {ranges}"
    for m in layers.values():
        src = m.find("datasource").text
        if "layername=overlaps" in src:
            assert (
                '"break_min" = ' in src
                and tree[m.find("id").text].get("checked") == "Qt::Unchecked"
            ), src
    prov = qgs.find("layer-tree-group/layer-tree-group[@name='Tỉnh, thành phố']")
    names = [t.get("name") for t in prov.iter("layer-tree-layer")]
    assert names == [
        "Tỷ lệ do tỉnh khác phục vụ – Cảng biển",
        "Tỷ lệ do tỉnh khác phục vụ – Cảng hàng không",
        "Tỉnh, thành phố",
    ], names
    assert "Tỉnh, thành phố" in on and not (set(names[:2]) & on), on
    for lid, m in layers.items():
        for rendering in m.iter("rendering"):
            assert rendering.get("displayAll") == "0", f"{lid}: colliding labels are all drawn"
        for alias in m.iter("alias"):
            name, field = alias.get("name"), alias.get("field")
            assert name and name != field, f"{lid}: field {field} has no Vietnamese alias"
    parks = [
        r for m in layers.values() for r in m.iter("rendering") if r.get("scaleVisibility") == "1"
    ]
    assert parks, "no label layer has a scale range"


def test_project_written_twice_is_identical(tmp_path: Path, out_dir: Path) -> None:
    again = write_qgis_project(make_fake_result(), tmp_path)
    assert again.read_bytes() == (out_dir / "infra_overlap.qgz").read_bytes()


# --- in real QGIS --------------------------------------------------------------------------------


def _qgis_missing() -> str | None:
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found (Debian QGIS: ../shared/tools/install.sh)"
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"PyQGIS not importable by {SYSTEM_PYTHON}; run ../shared/tools/install.sh"
    return None


needs_qgis = pytest.mark.skipif(_qgis_missing() is not None, reason=_qgis_missing() or "")

OPEN_PROJECT = r"""
import json, os, sys
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
ok = project.read(sys.argv[1])
layers = []
for node in project.layerTreeRoot().findLayers():
    lyr = node.layer()
    info = {"name": node.name(), "id": node.layerId(), "valid": bool(lyr and lyr.isValid())}
    if isinstance(lyr, QgsRasterLayer):
        info.update(kind="raster", crs=lyr.crs().authid(), renderer=lyr.renderer().type(),
                    nodata=lyr.dataProvider().sourceNoDataValue(1), source=lyr.source())
    elif isinstance(lyr, QgsVectorLayer):
        info.update(kind="vector", crs=lyr.crs().authid(), features=lyr.featureCount(),
                    renderer=lyr.renderer().type() if lyr.renderer() else None, source=lyr.source())
    layers.append(info)
print(json.dumps({"read": ok, "crs": project.crs().authid(), "layers": layers}))
sys.stdout.flush()
os._exit(0)
"""


@pytest.mark.qgis
@needs_qgis
def test_check_qgis_accepts_gpkg_and_project(out_dir: Path, tmp_path: Path) -> None:
    if not CHECK_QGIS.exists():
        pytest.skip(f"{CHECK_QGIS} not found")
    r = subprocess.run(
        [
            sys.executable,
            str(CHECK_QGIS),
            str(out_dir / "infra_overlap.gpkg"),
            "-q",
            "--timeout",
            "300",
            "--project",
            str(out_dir / "infra_overlap.qgz"),
            "--png-dir",
            str(tmp_path / "png"),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert r.returncode == 0, f"check_qgis exit {r.returncode}:\n{r.stdout}\n{r.stderr[-3000:]}"
    assert "7/7 spatial layers styled" in r.stdout, r.stdout
    assert (tmp_path / "png" / "project.png").exists(), "check_qgis rendered no project PNG"


@pytest.mark.qgis
@needs_qgis
def test_moved_project_opens_every_layer(out_dir: Path, tmp_path: Path) -> None:
    moved = tmp_path / "somewhere" / "else"
    shutil.copytree(out_dir, moved)  # relative paths: the copy must work on its own
    script = tmp_path / "open_project.py"
    script.write_text(OPEN_PROJECT, encoding="utf-8")
    profile = tmp_path / "profile"
    profile.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env.update(
        QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(profile), TMPDIR=str(tmp_path)
    )
    r = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(moved / "infra_overlap.qgz")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, f"PyQGIS failed:\n{r.stderr[-3000:]}"
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["read"] and report["crs"] == "EPSG:3405", report
    layers = report["layers"]
    # 12 layers, and one provinces layer per measure (2 types): 14
    assert len(layers) == 14, f"expected 14 layers, QGIS has {[x['name'] for x in layers]}"
    broken = [x["name"] for x in layers if not x["valid"]]
    assert not broken, f"layers not valid after moving the folder: {broken}"
    for x in layers:
        assert x["source"].startswith(str(moved)), f"{x['name']} resolved to {x['source']}"
    rasters = {Path(x["source"]).stem: x for x in layers if x["kind"] == "raster"}
    assert set(rasters) == {"coverage_count_seaport", "travel_time_seaport"}
    assert rasters["travel_time_seaport"]["nodata"] == -9999.0
    assert rasters["coverage_count_seaport"]["nodata"] == -1.0
    assert {x["crs"] for x in rasters.values()} == {"EPSG:3405"}
    assert {x["renderer"] for x in rasters.values()} == {"singlebandpseudocolor"}
    fac = [x for x in layers if x["kind"] == "vector" and "facilities" in x["source"]]
    assert {x["renderer"] for x in fac} == {"categorizedSymbol"}, fac
    assert sum(x["features"] for x in fac) == 5, "the subset filters lose or repeat facilities"
