"""Write a run's rasters as Cloud Optimized GeoTIFFs with QGIS ``.qml`` sidecars.

Each ``RunResult.rasters[name]`` becomes ``rasters/<name>.tif`` (256×256 tiles, DEFLATE with a
predictor, internal overviews 2/4/8/16, nodata, the grid's metric CRS) and ``<name>.qml`` next to
it, which QGIS applies by itself when the raster is opened: coverage counts as discrete classes
(0 transparent, 1, 2, 3, 4+), travel times as a green-to-red ramp in minutes.

Overviews (what QGIS draws when zoomed out; the full-resolution pixels are the run's values):

- ``coverage_count_<type>`` (int16 facilities, drawn as classes): ``nearest``, each overview
  pixel is one grid cell's count or nodata, always a class the legend has (an average would
  draw counts that no cell of the block has). It replaces ``mode``, which took 3× as long and
  which GDAL (3.10) computes as 0 on blocks of nodata only, then, level from level, lets those
  zeros win the blocks around them: its 16× overview held 0 where it should hold nodata and
  often where cells had counts. Both 0 and nodata are transparent in the ``.qml``, and
  ``nearest`` draws about as many of the zoomed-out blocks that hold cells (98 % of mode's on
  ``bench/raster_write_bench.py``'s synthetic grid); only partly populated blocks may draw as
  nodata or as one of their cells' classes.
- ``travel_time_<type>`` (float32 minutes, a continuous ramp): ``average`` of the cells that are
  not nodata, as GIS tools do for a continuous surface.

Compression: DEFLATE at level :data:`DEFLATE_LEVEL` with the predictor (horizontal for counts,
floating point for times) on every CPU (``NUM_THREADS=ALL_CPUS``; tiles are compressed in
parallel, the file's bytes do not depend on the number of threads). The raster is first written
uncompressed to a staging GeoTIFF (blocks of nodata only are not written), its overviews built
there, then GDAL's COG driver copies it to the temporary path that is renamed onto the output.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.enums import Resampling
from rasterio.windows import Window

from analysis.results import GridSpec, RasterLayer, RunResult
from analysis.sparse_raster import SparseRaster
from geo.files import atomic_path, write_text_atomic
from maps.qgis_styles import QGIS_VERSION, to_qml

log = logging.getLogger(__name__)

OVERVIEW_FACTORS = (2, 4, 8, 16)
BLOCK_SIZE = 256
DEFLATE_LEVEL = 1  # GDAL's default is 6: 8-23 % more time for 1.5 % smaller files at 100 m
THREADS = "ALL_CPUS"  # GDAL's compression and overview threads
CACHE_BYTES = 128 * 2**20  # GDAL's block cache while writing (0: GDAL's default, 5 % of the RAM)
COUNT_COLORS = (  # (r,g,b, alpha) for 0, 1, 2, 3, 4+
    ("255,255,255", 0),
    ("199,233,180", 210),
    ("65,182,196", 225),
    ("34,94,168", 235),
    ("8,29,88", 245),
)
TIME_COLORS = ("26,152,80", "145,207,96", "254,224,139", "252,141,89", "215,48,39")


def _hex(rgb: str) -> str:
    return "#{:02x}{:02x}{:02x}".format(*map(int, rgb.split(",")))


def _cell_values(layer: RasterLayer) -> np.ndarray:
    """The values a raster holds: a sparse raster's cells (every other cell is nodata), else the
    whole array."""
    src = layer.array
    return src.values if isinstance(src, SparseRaster) else np.asarray(src)


def _rows(layer: RasterLayer, r0: int, r1: int) -> np.ndarray:
    """Rows ``r0``..``r1`` of the raster, dense (a sparse raster fills only this window)."""
    src = layer.array
    return src.window(r0, r1) if isinstance(src, SparseRaster) else np.asarray(src)[r0:r1]


def valid_max(layer: RasterLayer) -> float:
    """Largest value of the cells that are not nodata (NaN when there is none)."""
    a = np.asarray(_cell_values(layer), dtype="float64")
    ok = np.isfinite(a) & (a != layer.nodata)
    return float(a[ok].max()) if ok.any() else math.nan


def raster_qml_element(name: str, *, max_value: float, unit: str, lang: str = "vi") -> ET.Element:
    """The ``<qgis>`` root of a raster QML (its ``<pipe>`` is also embedded in the project).

    Parameters
    ----------
    name
        ``coverage_count_<type>`` (discrete classes 0, 1, 2, 3, 4+) or anything else (a ramp).
    max_value
        Largest valid cell value; the ramp's top is this rounded up to 30 (at least 30).
    unit
        Unit of the values; ``min`` is shown as minutes (``phút`` in Vietnamese).
    lang
        ``"vi"`` or ``"en"`` for the legend.
    """
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology")
    pipe = ET.SubElement(root, "pipe")
    ET.SubElement(
        ET.SubElement(pipe, "provider"),
        "resampling",
        enabled="false",
        zoomedInResamplingMethod="nearestNeighbour",
        zoomedOutResamplingMethod="nearestNeighbour",
        maxOversampling="2",
    )
    rr = ET.SubElement(
        pipe,
        "rasterrenderer",
        type="singlebandpseudocolor",
        band="1",
        opacity="0.85",
        alphaBand="-1",
        nodataColor="",
    )
    ET.SubElement(ET.SubElement(rr, "minMaxOrigin"), "limits").text = "None"
    shader = ET.SubElement(ET.SubElement(rr, "rastershader"), "colorrampshader", clip="0")
    if name.startswith("coverage_count"):
        # DISCRETE: a cell takes the first class whose value is >= the cell's value
        shader.set("colorRampType", "DISCRETE")
        shader.set("classificationMode", "2")
        last = len(COUNT_COLORS) - 1
        for i, (rgb, alpha) in enumerate(COUNT_COLORS):
            ET.SubElement(
                shader,
                "item",
                value="32767" if i == last else str(i),
                label=f"{i}+" if i == last else str(i),
                color=_hex(rgb),
                alpha=str(alpha),
            )
        vmin, vmax = 0.0, 32767.0
    else:
        shader.set("colorRampType", "INTERPOLATED")
        shader.set("classificationMode", "1")
        top = max_value if math.isfinite(max_value) else 60.0
        vmin, vmax = 0.0, max(30.0, math.ceil(top / 30.0) * 30.0)
        suffix = {"min": " phút" if lang == "vi" else " min"}.get(unit, f" {unit}")
        for i, rgb in enumerate(TIME_COLORS):
            v = vmax * i / (len(TIME_COLORS) - 1)
            ET.SubElement(
                shader, "item", value=f"{v:g}", label=f"{v:g}{suffix}", color=_hex(rgb), alpha="255"
            )
    for el, lo, hi in (
        (shader, "minimumValue", "maximumValue"),
        (rr, "classificationMin", "classificationMax"),
    ):
        el.set(lo, f"{vmin:g}")
        el.set(hi, f"{vmax:g}")
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(
        pipe,
        "huesaturation",
        saturation="0",
        grayscaleMode="0",
        invertColors="0",
        colorizeOn="0",
        colorizeRed="255",
        colorizeGreen="128",
        colorizeBlue="128",
        colorizeStrength="100",
    )
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    return root


def raster_qml(name: str, layer: RasterLayer, *, lang: str = "vi") -> str:
    """QML text for one run raster (see :func:`raster_qml_element`)."""
    return to_qml(raster_qml_element(name, max_value=valid_max(layer), unit=layer.unit, lang=lang))


def _overview_resampling(dtype: np.dtype) -> Resampling:
    """``nearest`` for integer counts (classes), ``average`` for continuous values (see the
    module's docstring)."""
    return Resampling.nearest if np.issubdtype(dtype, np.integer) else Resampling.average


def write_geotiff(path: str | Path, layer: RasterLayer, grid: GridSpec, *, name: str = "") -> Path:
    """Write one raster as a Cloud Optimized GeoTIFF, atomically.

    The raster is written a row of 256-pixel tiles at a time (a sparse raster never fills the
    whole grid) to an uncompressed staging GeoTIFF (tiles of nodata only are skipped), with its
    overviews (factors 2, 4, 8, 16: ``nearest`` for integer counts, ``average`` for floats,
    nodata excluded), then copied by GDAL's COG driver (which keeps those overviews even when the
    raster is smaller than a tile), compressed on every CPU, to a temporary file renamed onto
    ``path``.
    """
    path = Path(path)
    src = layer.array
    if tuple(src.shape) != tuple(grid.shape):
        raise ValueError(f"raster {name}: shape {src.shape} is not the grid's {grid.shape}")
    dtype = np.dtype(src.dtype)
    profile = {
        "driver": "GTiff",
        "width": grid.shape[1],
        "height": grid.shape[0],
        "count": 1,
        "dtype": dtype.name,
        "crs": grid.crs,
        "transform": Affine(*grid.affine),
        "nodata": layer.nodata,
        "tiled": True,
        "blockxsize": BLOCK_SIZE,
        "blockysize": BLOCK_SIZE,
        "sparse_ok": True,  # a tile of nodata only is not written (read back as nodata)
    }
    env: dict[str, object] = {"GDAL_NUM_THREADS": THREADS}
    if CACHE_BYTES:  # GDAL's block cache: two rows of tiles, at least CACHE_BYTES
        env["GDAL_CACHEMAX"] = max(CACHE_BYTES, 2 * BLOCK_SIZE * grid.shape[1] * dtype.itemsize)
    with atomic_path(path) as tmp, rasterio.Env(**env):
        staging = tmp.with_name(tmp.stem + "-staging.tif")
        try:
            with rasterio.open(staging, "w", **profile) as dst:
                for r0 in range(0, grid.shape[0], BLOCK_SIZE):  # one row of tiles at a time
                    r1 = min(r0 + BLOCK_SIZE, grid.shape[0])
                    window = Window(0, r0, grid.shape[1], r1 - r0)
                    dst.write(_rows(layer, r0, r1), 1, window=window)
                # both languages in the band's one description; each also as a tag
                both = " / ".join(d for d in (layer.description_vi, layer.description) if d)
                dst.set_band_description(1, both)
                dst.set_band_unit(1, layer.unit)
                dst.update_tags(
                    NAME=name,
                    DESCRIPTION=layer.description,
                    DESCRIPTION_VI=layer.description_vi or layer.description,
                    UNIT=layer.unit,
                )
                dst.update_tags(
                    1, DESCRIPTION_VI=layer.description_vi, DESCRIPTION_EN=layer.description
                )
                dst.build_overviews(list(OVERVIEW_FACTORS), _overview_resampling(dtype))
            rasterio.shutil.copy(
                staging,
                tmp,
                driver="COG",
                BLOCKSIZE=BLOCK_SIZE,
                COMPRESS="DEFLATE",
                LEVEL=DEFLATE_LEVEL,
                PREDICTOR="YES",
                NUM_THREADS=THREADS,
                OVERVIEWS="FORCE_USE_EXISTING",
            )
        finally:
            staging.unlink(missing_ok=True)
    return path


def write_rasters(result: RunResult, folder: str | Path, *, lang: str = "vi") -> list[Path]:
    """Write every raster of ``result`` to ``folder/rasters/<name>.tif`` with a ``.qml`` sidecar.

    Parameters
    ----------
    result
        The run's result; rasters on ``result.grid`` (metric CRS, north-up).
    folder
        Output folder of the run; ``rasters/`` is created in it.
    lang
        ``"vi"`` or ``"en"`` for the legends in the sidecars.

    Returns
    -------
    list of Path
        The GeoTIFFs written, sorted by name (sidecars are ``path.with_suffix('.qml')``).
    """
    out_dir = Path(folder) / "rasters"
    written = []
    for name in sorted(result.rasters):
        layer = result.rasters[name]
        tif = write_geotiff(out_dir / f"{name}.tif", layer, result.grid, name=name)
        write_text_atomic(tif.with_suffix(".qml"), raster_qml(name, layer, lang=lang))
        written.append(tif)
        log.info("wrote %s", tif)
    return written
