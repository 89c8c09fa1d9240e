"""The result of one run: the flat contract between ``analysis`` and ``maps``.

Every layer is a (Geo)DataFrame in EPSG:4326 with the field names of DESIGN.md, sorted
deterministically; rasters are on the demand grid in the metric CRS (numpy arrays, or
``analysis.sparse_raster.SparseRaster``: the populated cells, filled a window of rows at a time).

Layers (``RunResult.layers``):

facilities (Point)
    The facility schema (``geo.schema.FACILITY_COLUMNS``) plus, at the type's primary break:
    ``primary_break_min``, ``road_access`` (network | separate_network | none), ``access_dist_m``,
    ``coverage``, ``unique_coverage``, ``unique_share``, ``other_province_share``, ``flag`` (bool),
    ``flag_robustness`` (robust | fragile | ""), ``evidence_vi``, ``evidence_en``,
    ``removal_penalty_min``, ``removal_lost``, ``best_alternative_id``, ``best_alternative_name``,
    ``best_alternative_province``, ``best_alternative_extra_min``, ``sharing_key`` (text).
catchments (MultiPolygon)
    ``facility_id``, ``name``, ``type``, ``break_min``, ``coverage``, ``unique_coverage``.
overlaps (LineString between the two facilities)
    ``facility_a`` < ``facility_b``, ``name_a``, ``name_b``, ``type``, ``break_min``, ``overlap``,
    ``overlap_share``, ``prov_a``, ``prov_b``.
province_matrix (no geometry)
    ``type``, ``break_min``, ``edition``, ``province_a``, ``province_b``, ``name_a``, ``name_b``,
    ``served_by``, ``duplicated``.
flags (Point)
    The flagged facilities: ``facility_id``, ``name``, ``type``, ``prov_code``, ``prov_name``,
    ``unique_share``, ``other_province_share``, ``removal_penalty_min``, ``removal_lost``,
    ``flag_robustness``, ``evidence_vi``, ``evidence_en``.
provinces (MultiPolygon, the run's edition)
    ``prov_code``, ``prov_name``, ``edition``, ``prov34_code``, ``prov34_name``, ``prov63_codes``
    (pipe-separated), ``region6_code``, ``population``, and per type T: ``coverage_T``,
    ``covered_by_others_T``, ``covered_by_others_share_T``.
rejects (no geometry)
    ``source``, ``row``, ``field``, ``reason``.
repairs (no geometry)
    ``source``, ``row``, ``field``, ``repair``.

Rasters (``RunResult.rasters``): ``coverage_count_<type>`` (int16, nodata -1) and
``travel_time_<type>`` (float32 minutes, nodata -9999), all on ``RunResult.grid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from analysis.sparse_raster import SparseRaster
    from geo.quality import QualityReport

LAYER_ORDER = (
    "facilities",
    "flags",
    "catchments",
    "overlaps",
    "terminals",
    "province_matrix",
    "provinces",
    "rejects",
    "repairs",
    "road_repairs",
)


@dataclass(frozen=True)
class GridSpec:
    """A north-up raster grid in the metric CRS.

    ``transform`` is the GDAL geotransform-like tuple (x0, cell, 0, y0, 0, -cell) of the
    upper-left corner; ``shape`` is (rows, cols).
    """

    crs: str
    x0: float
    y0: float
    cell_size_m: float
    shape: tuple[int, int]

    @property
    def affine(self) -> tuple[float, float, float, float, float, float]:
        """Coefficients (a, b, c, d, e, f) for ``affine.Affine``."""
        return (self.cell_size_m, 0.0, self.x0, 0.0, -self.cell_size_m, self.y0)


@dataclass(frozen=True)
class RasterLayer:
    array: np.ndarray | SparseRaster  # dense, or sparse cells written window by window
    nodata: float
    unit: str
    description: str  # English
    description_vi: str = ""


@dataclass
class RunMeta:
    """What a run was and how it went (plain values, no HTML): region, edition, types,
    demand, verdict figures, network, timings, sources and options.

    Fields are typed attributes (``meta.types``), read as attributes everywhere (no mapping
    interface: ``dataclasses.asdict(meta)`` gives the plain dict).
    """

    region: dict[str, str] = field(default_factory=dict)
    edition: int = 0
    lang: str = "vi"
    metric_crs: str = ""
    types: dict[str, dict[str, Any]] = field(default_factory=dict)
    demand_source: str = ""
    demand_source_id: str = ""
    demand_total: float = 0.0
    cells: int = 0
    covering: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cell_size_m: float = 0.0
    flag_rule: dict[str, float] = field(default_factory=dict)
    verdict: dict[str, dict[str, float]] = field(default_factory=dict)
    sensitivity: dict[str, list[float]] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    capacity_check: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    attribution: list[str] = field(default_factory=list)
    data_sources: list[dict[str, Any]] = field(default_factory=list)
    data_date: str = ""
    data_dir: str = ""
    data_origin: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: plausibility findings on the demand grid (analysis.plausibility), for the quality section
    demand_findings: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunMeta:
        """A RunMeta from a dict of its fields; an unknown key is an error (a typo, not data)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise TypeError(f"RunMeta has no field(s) {unknown}")
        return cls(**dict(values))


@dataclass
class RunResult:
    """Everything a writer needs: layers, rasters on ``grid``, tables, :class:`RunMeta`, and the
    data-quality report of the inputs (``quality``, None when it was not measured)."""

    layers: dict[str, pd.DataFrame]
    grid: GridSpec
    rasters: dict[str, RasterLayer] = field(default_factory=dict)
    meta: RunMeta = field(default_factory=RunMeta)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    quality: QualityReport | None = None
