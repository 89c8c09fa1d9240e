"""Write the run's QGIS project (``infra_overlap.qgz``) without QGIS.

The ``.qgs`` XML is generated here and zipped: one group per facility type (its flags,
facilities, overlaps and catchments, filtered with a subset string such as
``"type" = 'seaport'``), a Provinces group, a Rasters group and a Tables group; points above
lines above polygons above rasters. Data sources are relative (``./infra_overlap.gpkg|...``,
``./rasters/<name>.tif``), so the output folder can be moved or shared as a whole. Each layer
carries the same style as its GeoPackage default (or raster sidecar), embedded in the project.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from pyproj.transformer import Transformer

from analysis.results import RunResult
from analysis.text import GROUP_TEXT, LAYER_TEXT, RASTER_TEXT, term
from geo.files import write_bytes_atomic
from maps.gpkg import GEOMETRY_TYPES
from maps.qgis_styles import (
    DOCTYPE,
    QGIS_VERSION,
    field_alias,
    layer_types,
    qml_element,
    type_label,
    vector_style,
)
from maps.rasters import raster_qml_element, valid_max

log = logging.getLogger(__name__)

PROJECT_NAME = "infra_overlap"
TYPE_LAYERS = ("flags", "facilities", "overlaps", "catchments")  # drawing order, top first
TABLES = ("province_matrix", "rejects", "repairs")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so that two runs give the same bytes


@dataclass(frozen=True)
class _Layer:
    id: str
    name: str
    source: str  # relative datasource
    provider: str  # ogr | gdal
    element: ET.Element  # the <maplayer>
    checked: bool = True


def layer_id(base: str) -> str:
    """A QGIS layer id: ``base`` plus a UUID-like suffix (QGIS replaces ids without one).

    The suffix is derived from ``base`` (UUID5), so that ids are the same in every run.
    """
    return f"{base}_{uuid.uuid5(uuid.NAMESPACE_URL, 'infra-overlap/' + base)}".replace("-", "_")


def _srs(parent: ET.Element, crs: CRS) -> ET.Element:
    s = ET.SubElement(parent, "spatialrefsys")
    auth = crs.to_authority() or ("", "")
    ET.SubElement(s, "wkt").text = crs.to_wkt()
    ET.SubElement(s, "srid").text = auth[1]
    ET.SubElement(s, "authid").text = ":".join(auth) if auth[0] else ""
    ET.SubElement(s, "description").text = crs.name
    ET.SubElement(s, "geographicflag").text = "true" if crs.is_geographic else "false"
    return s


def _extent(parent: ET.Element, tag: str, bounds) -> None:
    e = ET.SubElement(parent, tag)
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), bounds, strict=True):
        ET.SubElement(e, k).text = f"{float(v):.10g}"


def _maplayer(kind: str, lid: str, name: str, source: str, provider: str, crs: CRS) -> ET.Element:
    ml = ET.Element(
        "maplayer",
        type=kind,
        minScale="100000000",
        maxScale="0",
        hasScaleBasedVisibilityFlag="0",
        styleCategories="AllStyleCategories",
        autoRefreshEnabled="0",
        refreshOnNotifyEnabled="0",
    )
    ET.SubElement(ml, "id").text = lid
    ET.SubElement(ml, "datasource").text = source
    ET.SubElement(ml, "layername").text = name
    _srs(ET.SubElement(ml, "srs"), crs)
    prov = ET.SubElement(ml, "provider")
    prov.text = provider
    if provider == "ogr":
        prov.set("encoding", "UTF-8")
    msm = ET.SubElement(ml, "map-layer-style-manager", current="default")
    ET.SubElement(msm, "map-layer-style", name="default")
    flags = ET.SubElement(ml, "flags")
    for flag, v in (
        ("Identifiable", "1"),
        ("Removable", "1"),
        ("Searchable", "1"),
        ("Private", "0"),
    ):
        ET.SubElement(flags, flag).text = v
    return ml


@overload
def _vector_layer(
    result: RunResult,
    layer: str,
    gpkg_name: str,
    *,
    only_type: None,
    lang: str,
    checked: bool = ...,
    measure: str | None = ...,
) -> _Layer: ...
@overload
def _vector_layer(
    result: RunResult,
    layer: str,
    gpkg_name: str,
    *,
    only_type: str,
    lang: str,
    checked: bool = ...,
    measure: str | None = ...,
) -> _Layer | None: ...
def _vector_layer(  # noqa: C901 (one branch per layer kind and language)
    result: RunResult,
    layer: str,
    gpkg_name: str,
    *,
    only_type: str | None,
    lang: str,
    checked: bool = True,
    measure: str | None = None,
) -> _Layer | None:
    """The layer's QGIS map layer; None only when ``only_type`` is given and has no rows.

    Overlaps of a type are limited to its primary break (a subset string; the GeoPackage holds
    every break). ``measure`` makes a provinces layer show that column (see
    :func:`maps.qgis_styles.vector_style`) and names the layer after it.
    """
    df = result.layers[layer]
    if only_type is not None:
        if "type" not in df or not (df["type"] == only_type).any():
            return None
        df = df[df["type"] == only_type]
    vi = lang == "vi"
    title = LAYER_TEXT.get(layer, (layer, layer))[0 if vi else 1]
    name = f"{title} – {type_label(only_type, result.meta, lang)}" if only_type else title
    key = layer
    source = f"./{gpkg_name}|layername={layer}"
    subset = []
    if only_type:
        key = f"{layer}_{only_type}"
        subset.append("\"type\" = '{}'".format(only_type.replace("'", "''")))
        primary = result.meta.types.get(only_type, {}).get("primary_min")
        if layer == "overlaps" and primary is not None and "break_min" in df:
            subset.append(f'"break_min" = {float(primary):g}')
            df = df[df["break_min"] == float(primary)]
            brk = "ngưỡng chính" if vi else "primary break"
            name += f" ({brk} {float(primary):g} {term('minutes', lang)})"
    if measure:
        key = f"{layer}_{measure}"
        name = field_alias(layer, measure, meta=result.meta, lang=lang)
    if subset:
        source += "|subset=" + " AND ".join(subset)
    lid = layer_id(key)
    ml = _maplayer("vector", lid, name, source, "ogr", CRS.from_epsg(4326))
    spatial = isinstance(df, gpd.GeoDataFrame) and layer in GEOMETRY_TYPES
    if not spatial:
        ml.set("geometry", "No geometry")
        ml.set("wkbType", "NoGeometry")
        aliases = ET.SubElement(ml, "aliases")
        for i, col in enumerate(c for c in df.columns if c != "geometry"):
            alias = field_alias(layer, col, meta=result.meta, lang=lang)
            ET.SubElement(aliases, "alias", field=col, index=str(i), name=alias)
        return _Layer(lid, name, source, "ogr", ml, checked=False)
    geom = GEOMETRY_TYPES[layer]
    ml.set("geometry", {"Point": "Point", "LineString": "Line"}.get(geom, "Polygon"))
    ml.set("wkbType", geom)
    if len(df):
        _extent(ml, "extent", df.total_bounds)
    types = layer_types(result.layers, result.meta)
    style = vector_style(
        layer, df, meta=result.meta, types=types, lang=lang, only_type=only_type, measure=measure
    )
    if style is not None and measure:
        # names once: the outlines layer carries them, the choropleths drawn under it do not
        style = dataclasses.replace(style, label_field=None)
    if style is not None:
        qml = qml_element(style)
        ml.set("labelsEnabled", qml.get("labelsEnabled", "0"))
        for child in qml:
            if child.tag != "layerGeometryType":
                ml.append(child)
    for tag, v in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", "1")):
        ET.SubElement(ml, tag).text = v
    return _Layer(lid, name, source, "ogr", ml, checked=checked)


def _raster_layer(result: RunResult, name: str, *, lang: str) -> _Layer:
    layer = result.rasters[name]
    g = result.grid
    source = f"./rasters/{name}.tif"
    title = layer.description or name
    for prefix, text in RASTER_TEXT.items():
        if name.startswith(prefix):
            ftype = type_label(name[len(prefix) :], result.meta, lang)
            title = f"{text[0 if lang == 'vi' else 1]} – {ftype}"
    lid = layer_id(name)
    ml = _maplayer("raster", lid, title, source, "gdal", CRS.from_user_input(g.crs))
    x0, y0, c = g.x0, g.y0, g.cell_size_m
    _extent(ml, "extent", (x0, y0 - c * g.shape[0], x0 + c * g.shape[1], y0))
    nd = ET.SubElement(ml, "noData")
    ET.SubElement(nd, "noDataList", bandNo="1", useSrcNoData="1")
    qml = raster_qml_element(name, max_value=valid_max(layer), unit=layer.unit, lang=lang)
    for child in qml:
        ml.append(child)
    return _Layer(lid, title, source, "gdal", ml, checked=False)


def _region_extent(result: RunResult, crs: CRS) -> tuple[float, float, float, float]:
    """Bounds of every spatial layer and raster in ``crs``, with a 5 % margin."""
    boxes = []
    to_proj = Transformer.from_crs(4326, crs, always_xy=True)
    for df in result.layers.values():
        if isinstance(df, gpd.GeoDataFrame) and len(df) and df.geometry.notna().any():
            boxes.append(to_proj.transform_bounds(*df.total_bounds))
    if result.rasters:
        g = result.grid
        boxes.append(
            (g.x0, g.y0 - g.cell_size_m * g.shape[0], g.x0 + g.cell_size_m * g.shape[1], g.y0)
        )
    if not boxes:
        return (0.0, 0.0, 1.0, 1.0)
    b = pd.DataFrame(boxes, columns=["x0", "y0", "x1", "y1"])
    x0, y0, x1, y1 = b.x0.min(), b.y0.min(), b.x1.max(), b.y1.max()
    mx, my = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
    return (x0 - mx, y0 - my, x1 + mx, y1 + my)


def _tree_layer(parent: ET.Element, lyr: _Layer) -> None:
    t = ET.SubElement(
        parent,
        "layer-tree-layer",
        id=lyr.id,
        name=lyr.name,
        source=lyr.source,
        providerKey=lyr.provider,
        expanded="1" if lyr.checked else "0",
        checked="Qt::Checked" if lyr.checked else "Qt::Unchecked",
    )
    ET.SubElement(t, "customproperties")


def project_groups(
    result: RunResult, *, gpkg_name: str, lang: str
) -> list[tuple[str, bool, list[_Layer]]]:
    """The layer tree: ``(group name, checked, layers top first)`` in drawing order, top first."""
    vi = lang == "vi"
    groups = []
    types = layer_types(result.layers, result.meta)
    for t in types:
        # on at opening: flags, facilities and the first type's primary catchments
        on = {"flags": True, "facilities": True, "overlaps": False, "catchments": t == types[0]}
        members = [
            lyr
            for layer in TYPE_LAYERS
            if layer in result.layers
            if (
                lyr := _vector_layer(
                    result, layer, gpkg_name, only_type=t, lang=lang, checked=on[layer]
                )
            )
            is not None
        ]
        if members:
            groups.append((type_label(t, result.meta, lang), True, members))
    if "provinces" in result.layers:
        prov_df = result.layers["provinces"]
        # one layer per measure (off), then outlines and names (on), drawn under everything
        prov = [
            _vector_layer(
                result,
                "provinces",
                gpkg_name,
                only_type=None,
                lang=lang,
                checked=False,
                measure=f"covered_by_others_share_{t}",
            )
            for t in types
            if f"covered_by_others_share_{t}" in prov_df.columns
        ]
        prov.append(
            _vector_layer(result, "provinces", gpkg_name, only_type=None, lang=lang, measure="")
        )
        groups.append((GROUP_TEXT["provinces"][0 if vi else 1], True, prov))
    if result.rasters:
        order = sorted(result.rasters, key=lambda n: (n.split("_")[-1], n))
        rasters = [_raster_layer(result, n, lang=lang) for n in order]
        groups.append((GROUP_TEXT["rasters"][0 if vi else 1], False, rasters))
    tables = [
        _vector_layer(result, n, gpkg_name, only_type=None, lang=lang)
        for n in TABLES
        if n in result.layers
    ]
    if tables:
        groups.append((GROUP_TEXT["tables"][0 if vi else 1], False, tables))
    return groups


_GEOMETRY_RANK = {"Point": 0, "Line": 1, "Polygon": 2}


def drawing_order(layers: list[_Layer]) -> list[_Layer]:
    """``layers`` top first as drawn: points, lines, polygons (catchments before provinces, as
    in the tree), rasters, tables; the tree's order within each kind."""

    def rank(lyr: _Layer) -> int:
        if lyr.provider == "gdal":
            return 3
        return _GEOMETRY_RANK.get(lyr.element.get("geometry", ""), 4)

    return sorted(layers, key=rank)


def project_xml(
    result: RunResult, *, gpkg_name: str = "infra_overlap.gpkg", lang: str = "vi"
) -> str:
    """The ``.qgs`` document (text) for a run's outputs; see :func:`write_qgis_project`."""
    crs = CRS.from_user_input(result.grid.crs)
    region = result.meta.region
    title = f"infra-overlap – {region.get(f'label_{lang}', region.get('name', ''))}"
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), crs)
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    layers: list[_Layer] = []
    for gname, checked, members in project_groups(result, gpkg_name=gpkg_name, lang=lang):
        g = ET.SubElement(
            tree,
            "layer-tree-group",
            name=gname,
            expanded="1" if checked else "0",
            checked="Qt::Checked" if checked else "Qt::Unchecked",
        )
        ET.SubElement(g, "customproperties")
        for lyr in members:
            _tree_layer(g, lyr)
        layers.extend(members)
    # drawing order: every type's points above lines above catchment polygons above provinces,
    # so that one type's catchments never cover another type's facilities and rings (the
    # layer tree keeps its groups by type)
    custom = ET.SubElement(tree, "custom-order", enabled="1")
    for lyr in drawing_order(layers):
        ET.SubElement(custom, "item").text = lyr.id
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters" if not crs.is_geographic else "degrees"
    extent = _region_extent(result, crs)
    _extent(canvas, "extent", extent)
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"), crs)
    ET.SubElement(root, "projectlayers").extend(lyr.element for lyr in layers)
    order = ET.SubElement(root, "layerorder")
    for lyr in drawing_order(layers):
        ET.SubElement(order, "layer", id=lyr.id)
    props = ET.SubElement(root, "properties")
    ET.SubElement(ET.SubElement(props, "Paths"), "Absolute", type="bool").text = "false"
    ET.SubElement(
        ET.SubElement(props, "SpatialRefSys"), "ProjectionsEnabled", type="int"
    ).text = "1"
    view = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    dve = ET.SubElement(
        view,
        "DefaultViewExtent",
        dict(zip(("xmin", "ymin", "xmax", "ymax"), (f"{v:.10g}" for v in extent), strict=True)),
    )
    _srs(dve, crs)
    md = ET.SubElement(root, "projectMetadata")
    ET.SubElement(md, "title").text = title
    attribution = result.meta.attribution
    ET.SubElement(md, "abstract").text = "\n".join(
        [attribution] if isinstance(attribution, str) else map(str, attribution)
    )
    ET.indent(root, space="  ")
    return DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def write_qgis_project(
    result: RunResult,
    folder: str | Path,
    *,
    gpkg_name: str = "infra_overlap.gpkg",
    lang: str = "vi",
) -> Path:
    """Write ``folder/infra_overlap.qgz`` for the GeoPackage and rasters of a run, atomically.

    Parameters
    ----------
    result
        The run's result (the same one written to ``gpkg_name`` and ``rasters/``).
    folder
        Output folder; the project refers to ``./<gpkg_name>`` and ``./rasters/<name>.tif``
        relative to it and so works wherever the folder is moved.
    gpkg_name
        File name of the run's GeoPackage inside ``folder``.
    lang
        ``"vi"`` or ``"en"``: group and layer names, legends, field aliases.

    Returns
    -------
    Path
        The ``.qgz`` written (a zip holding ``infra_overlap.qgs``; fixed zip timestamps).
    """
    target = Path(folder) / f"{PROJECT_NAME}.qgz"
    qgs = project_xml(result, gpkg_name=gpkg_name, lang=lang).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(f"{PROJECT_NAME}.qgs", date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        zf.writestr(info, qgs)
    write_bytes_atomic(target, buf.getvalue())
    log.info("wrote %s", target)
    return target
