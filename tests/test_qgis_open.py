"""The QGIS project as a GIS officer sees it when it opens (issue 17 item 4, Done when).

Real QGIS (Debian's PyQGIS) reads the project of the hand-made result, renders the layers that are
ticked at opening over the project's saved view, and reports the drawing order and the labels the
labelling engine placed: one type's catchments on, every facility and ring above every polygon,
flags categorised by finding, and province names placed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from maps.gpkg import write_geopackage
from maps.qgis_project import write_qgis_project
from maps.rasters import write_rasters
from tests.fake_result import make_fake_result
from tests.qgis_helpers import pyqgis_available

SYSTEM_PYTHON = "/usr/bin/python3"

AS_OPENED = r"""
import json, os, sys
from qgis.core import QgsApplication, QgsMapRendererParallelJob, QgsMapSettings, QgsProject
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
ok = project.read(sys.argv[1])
root = project.layerTreeRoot()
ticked = set(root.checkedLayers())
order = [lyr for lyr in root.layerOrder() if lyr in ticked and lyr.isValid() and lyr.isSpatial()]
ms = QgsMapSettings()
ms.setLayers(order)
ms.setDestinationCrs(project.crs())
ms.setOutputSize(QSize(900, 900))
ms.setBackgroundColor(QColor(255, 255, 255))
ms.setExtent(project.viewSettings().defaultViewExtent())
job = QgsMapRendererParallelJob(ms)
job.start()
job.waitForFinished()
job.renderedImage().save(sys.argv[2], "PNG")
res = job.takeLabelingResults()
labels = {}
for lab in (res.allLabels() if res else []):
    labels.setdefault(project.mapLayer(lab.layerID).name(), []).append(lab.labelText)
every = [lyr for lyr in root.layerOrder() if lyr.isValid() and lyr.isSpatial()]
ms.setLayers(every)  # every layer ticked (what check_qgis.py draws): names still placed
job = QgsMapRendererParallelJob(ms)
job.start()
job.waitForFinished()
res_all = job.takeLabelingResults()
all_labels = [lab.labelText for lab in (res_all.allLabels() if res_all else [])]
prio = {lyr.name(): lyr.labeling().settings().priority for lyr in order
        if "layername=facilities" in lyr.source() and lyr.labeling() is not None}
flags = [lyr for lyr in order if "layername=flags" in lyr.source()]
cats = [c.value() for c in flags[0].renderer().categories()] if flags else []
print(json.dumps({
    "read": ok,
    "custom_order": root.hasCustomLayerOrder(),
    "order": [[lyr.name(), lyr.source().split("layername=")[-1].split("|")[0],
               lyr.geometryType()] for lyr in order],
    "labels": labels,
    "flag_categories": cats,
    "labels_all_ticked": all_labels,
    "facility_label_priority": prio,
}))
sys.stdout.flush()
os._exit(0)
"""


@pytest.mark.qgis
@pytest.mark.skipif(not pyqgis_available(), reason="PyQGIS (Debian's python3-qgis) not installed")
def test_project_as_opened(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = make_fake_result()
    write_geopackage(result, out / "infra_overlap.gpkg")
    write_rasters(result, out)
    write_qgis_project(result, out)
    script = tmp_path / "as_opened.py"
    script.write_text(AS_OPENED, encoding="utf-8")
    (tmp_path / "profile").mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env.update(
        QT_QPA_PLATFORM="offscreen",
        QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "profile"),
        TMPDIR=str(tmp_path),
    )
    png = tmp_path / "as_opened.png"
    r = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(out / "infra_overlap.qgz"), str(png)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, f"PyQGIS failed:\n{r.stderr[-3000:]}"
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["read"] and rep["custom_order"], rep
    order = rep["order"]
    catch = [name for name, layer, _ in order if layer == "catchments"]
    assert len(catch) == 1, f"one type's catchments on at opening, got {catch}"
    kinds = [geom for _, _, geom in order]  # 0 point, 1 line, 2 polygon
    assert kinds == sorted(kinds), f"a polygon drawn above a point or line: {order}"
    assert set(rep["flag_categories"]) == {"redundant|robust", "redundant|fragile", "overlap_only|"}
    placed = rep["labels"].get("Tỉnh, thành phố", [])
    assert placed and set(placed) <= {"Hà Nội", "Hải Phòng"}, rep["labels"]
    assert png.stat().st_size > 5000, "the render is empty"
    prio = rep["facility_label_priority"]
    seaport = next(v for k, v in prio.items() if "Cảng biển" in k)
    parks = [v for k, v in prio.items() if "Khu công nghiệp" in k]
    assert seaport > max(parks, default=5), f"park names must give way to seaport names: {prio}"
    names = {"Hà Nội", "Hải Phòng"}
    placed_all = [n for n in rep["labels_all_ticked"] if n in names]
    assert placed_all, f"with every layer ticked no province name is placed: {placed_all}"
    assert len(placed_all) == len(set(placed_all)), f"a province named twice: {placed_all}"
