"""Building blocks of the configuration models (``geo.config_schema``): checked number and path
types, the bbox check and the strict base model (moved from ``geo.config_schema``)."""

from __future__ import annotations

import math
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _relative_data_path(value: str) -> str:
    """A file of the data folder: relative, no ``..``, no drive (DESIGN.md, "Paths")."""
    posix, win = PurePosixPath(value), PureWindowsPath(value)
    if not value or posix.is_absolute() or win.is_absolute() or win.drive:
        raise ValueError(
            f"{value!r} must be a file name relative to the data folder (give other files on "
            "the command line, e.g. --roads, --population, --facilities)"
        )
    if ".." in posix.parts or ".." in win.parts:
        raise ValueError(f"{value!r} may not leave the data folder ('..')")
    return value


def _share(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"shares must lie in (0, 1], got {value:g}")
    return value


def _fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"must lie in [0, 1] (a share), got {value:g}")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    return value


Number = Annotated[float, AfterValidator(_finite)]
Positive = Annotated[float, Field(gt=0), AfterValidator(_finite)]
Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, AfterValidator(_share)]
Fraction = Annotated[float, AfterValidator(_fraction)]
DataPath = Annotated[str, AfterValidator(_relative_data_path)]
BBox = Annotated[list[Number], Field(min_length=4, max_length=4)]


def _check_bbox(bbox: list[float]) -> list[float]:
    if not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise ValueError("bbox must be [min_lon, min_lat, max_lon, max_lat] with min < max")
    if not (bbox[0] >= -180 and bbox[2] <= 180 and bbox[1] >= -90 and bbox[3] <= 90):
        raise ValueError(f"bbox {bbox} lies outside longitude -180..180, latitude -90..90")
    return bbox


class Strict(BaseModel):
    """Unknown keys rejected, no coercion between kinds."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
