"""Is a GeoTIFF a Cloud Optimized GeoTIFF? The checks of GDAL's
``validate_cloud_optimized_geotiff.py`` (osgeo_utils samples), read from the TIFF's own bytes so
that they need no GDAL Python bindings: every image tiled, the overviews after the full
resolution in the IFD chain and each smaller than the one before, every IFD before the first
tile's data, the smallest overview's data first and the full resolution's last, each image's
tiles in row-major order, and GDAL's ghost header (``LAYOUT=IFDS_BEFORE_DATA``).

:func:`gdal_validate` runs GDAL's own script with the system Python when it is installed.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

TYPES = {3: "H", 4: "I", 16: "Q"}  # SHORT, LONG, LONG8
WIDTH, HEIGHT, TILE_W, TILE_H, OFFSETS = 256, 257, 322, 323, 324
GDAL_VALIDATOR = (
    "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py"
)
SYSTEM_PYTHON = "/usr/bin/python3"


def _ifds(data: bytes) -> tuple[list[int], list[dict[int, list[int]]], str]:
    """IFD offsets, each IFD's integer tags, byte order of a TIFF or BigTIFF."""
    bo = {b"II": "<", b"MM": ">"}[data[:2]]
    big = struct.unpack(bo + "H", data[2:4])[0] == 43
    off = struct.unpack(bo + ("Q" if big else "I"), data[8:16] if big else data[4:8])[0]
    n_fmt, e_size, c_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    offsets, ifds = [], []
    while off:
        offsets.append(off)
        n = struct.unpack_from(bo + n_fmt, data, off)[0]
        p = off + struct.calcsize(n_fmt)
        tags: dict[int, list[int]] = {}
        for i in range(n):
            e = p + i * e_size
            tag, typ = struct.unpack_from(bo + "HH", data, e)
            count = struct.unpack_from(bo + c_fmt, data, e + 4)[0]
            if typ not in TYPES:
                continue
            f = bo + TYPES[typ] * count
            inline = struct.calcsize(f) <= (8 if big else 4)
            at = e + 4 + struct.calcsize(c_fmt)
            if not inline:
                at = struct.unpack_from(bo + c_fmt, data, at)[0]
            tags[tag] = list(struct.unpack_from(f, data, at))
        ifds.append(tags)
        off = struct.unpack_from(bo + c_fmt, data, p + n * e_size)[0]
    return offsets, ifds, bo


def cog_errors(path: str | Path) -> list[str]:
    """What makes ``path`` not a COG (an empty list when it is one)."""
    data = Path(path).read_bytes()
    errors = []
    if b"LAYOUT=IFDS_BEFORE_DATA" not in data[:400]:
        errors.append("no GDAL ghost header with LAYOUT=IFDS_BEFORE_DATA")
    offsets, ifds, _ = _ifds(data)
    first_data = min(o for t in ifds for o in t.get(OFFSETS, []) if o) if ifds else 0
    if any(o > first_data for o in offsets):
        errors.append("an IFD lies after the first tile's data")
    for i, t in enumerate(ifds):
        if TILE_W not in t or TILE_H not in t:
            errors.append(f"image {i} is not tiled")
        tiles = [o for o in t.get(OFFSETS, []) if o]
        if tiles != sorted(tiles):
            errors.append(f"image {i}: tiles not in row-major order")
        if i and (t[WIDTH][0] >= ifds[i - 1][WIDTH][0] or t[HEIGHT][0] >= ifds[i - 1][HEIGHT][0]):
            errors.append(f"overview {i} is not smaller than the image before it")
    starts = [min((o for o in t.get(OFFSETS, []) if o), default=None) for t in ifds]
    known = [s for s in starts if s is not None]
    if known != sorted(known, reverse=True):
        errors.append("the images' data are not stored smallest overview first")
    return errors


def overview_count(path: str | Path) -> int:
    """Number of reduced-resolution images after the full resolution."""
    return len(_ifds(Path(path).read_bytes())[1]) - 1


def gdal_validate(path: str | Path) -> str | None:
    """GDAL's ``validate_cloud_optimized_geotiff.py`` output (None when it says the file is a
    valid COG); raises FileNotFoundError without the system GDAL bindings."""
    if not Path(GDAL_VALIDATOR).is_file():
        raise FileNotFoundError(GDAL_VALIDATOR)
    r = subprocess.run(
        [SYSTEM_PYTHON, GDAL_VALIDATOR, "--full-check=yes", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return (
        None
        if r.returncode == 0 and "is a valid cloud optimized" in r.stdout
        else (r.stdout + r.stderr)
    )
