"""The one validation layer of configuration files (pydantic v2): region TOML and scenario files.

Models mirror the files table by table. Every model forbids unknown keys and is strict (a boolean
is not a number, a string is not a list, ``"no"`` is not ``false``); ranges are declared on the
fields. :func:`geo.validation.validate_file` turns pydantic's errors into one :class:`ConfigError` naming the
file, the key (dotted, e.g. ``types.airport.breaks_min[0]``) and what to change.

``geo.config`` builds its frozen dataclasses from these models; ``batch_spec`` validates
scenario files with :class:`ScenarioFile`; both through :func:`geo.validation.validate_file`.
"""

from __future__ import annotations

import math
import os
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

from geo.config_types import (
    BBox,
    Count,
    DataPath,
    Fraction,
    Number,
    Positive,
    Share,
    Strict,
    _check_bbox,
)
from geo.scenario_schema import ReportTable as ReportTable
from geo.scenario_schema import ScenarioFile as ScenarioFile
from geo.scenario_schema import ScenarioName as ScenarioName
from geo.scenario_schema import ScenarioParams as ScenarioParams
from geo.scenario_schema import ScenarioTable as ScenarioTable

FACILITY_TYPES = ("seaport", "airport", "industrial_park")
REGION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# bytes held per cell of the whole grid (the bbox) at the peak of a run, per facility type: the
# coverage-count and nearest-time rasters and a mask are dense over the grid; the demand cells
# themselves are sparse and checked from their count when they are built
# (analysis.demand.MemoryBudget). A deliberate over-estimate: the message comes before a MemoryError
GRID_BYTES_PER_CELL = 8


class RegionTable(Strict):
    name: str | None = None
    label_vi: str | None = None
    label_en: str | None = None
    metric_crs: str
    bbox: Annotated[BBox, AfterValidator(_check_bbox)]
    data_date: str = ""
    edition: Literal[34, 63] = 34
    cell_size_m: Positive = 1000.0
    access_speed_kmh: Positive = 20.0
    max_facility_access_km: Positive = 10.0
    province_tolerance_m: Positive = 10000.0
    duplicate_distance_m: Positive = 500.0
    min_component_km: Annotated[float, Field(ge=0)] = 5.0
    max_grid_gib: Positive | None = None
    populated_cells_only: bool = False
    outline_cell_m: Positive = 1000.0
    coastal_provinces63: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not REGION_NAME.match(v):
            raise ValueError(
                f"region name {v!r} must be 1-64 letters, digits, _ or - (no separator, no '..': "
                "it names the default output folder)"
            )
        return v

    @field_validator("metric_crs")
    @classmethod
    def _crs(cls, v: str) -> str:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(v)
        except CRSError:
            raise ValueError(
                f"unknown CRS {v!r}; give a projected CRS in metres, e.g. 'EPSG:3405'"
            ) from None
        if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
            raise ValueError(
                f"{v!r} is not a projected CRS in metres: distances would be wrong; give a "
                "projected CRS in metres, e.g. 'EPSG:3405' (VN-2000 / UTM 48N)"
            )
        return v


class FlagsTable(Strict):
    max_unique_share: Fraction = 0.25
    min_other_province_share: Fraction = 0.5


class VerdictTable(Strict):
    """``[verdict]``: the joint redundancy verdict (analysis.verdict; METHOD.md)."""

    max_loss_share: Fraction = 0.02
    equivalent_share: Fraction = 0.8
    min_pool_shortfall: Fraction = 0.25
    keep_one_min: Count = 3


class ValidationTable(Strict):
    """``[validation]``: the real trips every run is checked against (``cli.py validate``)."""

    # relative to the region config's folder (the trips table travels with the config)
    trips_file: DataPath | None = None


class SensitivityTable(Strict):
    speed_factors: list[Annotated[Positive, Field(le=10)]] = [0.8, 1.2]
    threshold_shifts_min: list[Annotated[Number, Field(ge=-600, le=600)]] = [-15.0, 15.0]


class CoveringTable(Strict):
    exact_work: Count = 500_000
    exact_shares: list[Share] = [0.9, 0.95, 0.99]


class IslandTable(Strict):
    """``[[roads.islands]]``: an island without a bridge, kept apart with its source."""

    name: Annotated[str, Field(min_length=1)]
    bbox: BBox
    source: Annotated[str, Field(min_length=1)]


class FerryTable(Strict):
    """``[[roads.ferries]]``: a car ferry as a network link (geo.ferries), with its source."""

    name: Annotated[str, Field(min_length=1)]
    a: Annotated[list[float], Field(min_length=2, max_length=2)]
    b: Annotated[list[float], Field(min_length=2, max_length=2)]
    a_osm_node: int | None = None
    b_osm_node: int | None = None
    crossing_min: Annotated[float, Field(gt=0, le=600)]
    wait_min: Annotated[float, Field(ge=0, le=600)]
    source: Annotated[str, Field(min_length=1)]
    drawn_road_crossing: bool = False


class NoJunctionTable(Strict):
    """``[[roads.no_junctions]]``: a road passing over others without a junction (a bridge)."""

    name: Annotated[str, Field(min_length=1)]
    at: Annotated[list[float], Field(min_length=2, max_length=2)]
    radius_m: Annotated[float, Field(gt=0, le=2000)] = 300.0
    over_class: Annotated[str, Field(min_length=1)] = "expressway"
    source: Annotated[str, Field(min_length=1)]


class RoadsTable(Strict):
    file: DataPath
    layer: str | None = None
    class_field: str = "highway"
    highway_field: str | None = None
    maxspeed_field: str | None = None
    oneway_field: str | None = None
    status_field: str | None = None
    open_statuses: list[str] = []
    snap_tolerance_m: Positive = 50.0
    speed_kmh: dict[str, Annotated[Positive, Field(le=200)]] = {}
    expected_km: dict[str, Annotated[float, Field(ge=0)]] = {}
    second_file: DataPath | None = None
    second_layer: str | None = None
    second_class_field: str | None = None
    merge_second: bool = False
    # geo.road_repairs: longest fragment connector (0: no repair) and islands without a bridge
    max_connector_m: Annotated[float, Field(ge=0)] = 0.0
    islands: list[IslandTable] = []
    extra_files: list[DataPath] = []
    # geo.ferries: car ferries as links; geo.point_connectors: cities far from the network
    ferries: list[FerryTable] = []
    no_junctions: list[NoJunctionTable] = []
    city_connectors_file: DataPath | None = None
    city_connectors_min_population: Annotated[int, Field(ge=0)] = 50_000
    city_connector_min_m: Annotated[float, Field(gt=0)] = 2000.0
    # the road class whose speed a facility's connector (a missing local road) is driven at
    point_connector_class: str = "tertiary"
    # operating facilities farther than this from every road get a connector (default: the
    # facility access limit, max_facility_access_km, beyond which they would have no road)
    facility_connector_min_m: Annotated[float, Field(gt=0)] | None = None
    # geo.urban: speed factor of the non-expressway roads within urban_radius_km of a city of
    # cities_geonames.csv with at least urban_min_population people (1: no congestion)
    urban_speed_factor: Annotated[float, Field(gt=0, le=1)] = 1.0
    urban_min_population: Annotated[int, Field(ge=0)] = 1_000_000
    urban_radius_km: Annotated[float, Field(ge=0)] = 10.0

    @field_validator("speed_kmh")
    @classmethod
    def _default_speed(cls, v: dict[str, float]) -> dict[str, float]:
        if "default" not in v:
            raise ValueError("[roads.speed_kmh] needs a 'default' speed")
        return v


class DemandTable(Strict):
    """``[population.demand.<type>]`` (analysis.type_demand; METHOD.md "Demand per type")."""

    kind: Literal["people", "huff", "economic_huff", "labour"] = "people"
    decay: Literal["power", "exponential", "steps"] = "power"
    beta: Annotated[float, Field(gt=0, le=10)] = 2.0
    cutoff_min: Positive | None = None
    step_weights: list[Annotated[float, Field(ge=0, le=1)]] = []
    working_age_share: Annotated[float, Field(gt=0, le=1)] = 1.0
    size_field: str | None = None


class PopulationTable(Strict):
    sources: list[Literal["grid", "communes_census", "districts", "communes"]] = []
    communes_census_file: DataPath | None = None
    grdp_field: str | None = None
    demand: dict[Literal["seaport", "airport", "industrial_park"], DemandTable] = {}
    grid_file: DataPath | None = None
    districts_file: DataPath | None = None
    districts_layer: str | None = None
    communes_file: DataPath | None = None
    communes_layer: str | None = None
    province_totals_file: DataPath | None = None
    census2019_file: DataPath | None = None
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    # a demand cell above this many people per km2 is reported as implausible
    max_density_per_km2: Positive = 100_000.0


class ProvincesTable(Strict):
    file63: DataPath
    layer63: str | None = None
    file34: DataPath
    layer34: str | None = None
    crosswalk: DataPath
    regions6_file: DataPath | None = None
    regions6_layer: str | None = None
    key_regions_file: DataPath | None = None
    key_regions_layer: str | None = None


class AreaLevelTable(Strict):
    """One area level of the region (``[[areas.levels]]``), finest first.

    ``edition``: the number the outputs write for it (``province_matrix.edition``; Viet Nam: 63
    and 34); ``key``: the prefix of its columns on facilities (``<key>_code``, ``<key>_name``);
    ``crosswalk``: the column of the finest level's table that gives this level's code (none for
    the finest level, whose units cells and facilities are located in).
    """

    edition: int
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    crosswalk: str | None = None


class AreasTable(Strict):
    """The region's area levels (``[areas]``): what the analysis counts people and facilities by."""

    levels: Annotated[list[AreaLevelTable], Field(min_length=1)]
    # Groupings of the finest units beside the levels (Viet Nam: the 6 socio-economic regions and
    # the 4 key economic regions), each by its crosswalk column of the finest level's table
    # (analysis.aggregate.area_groupings; group names from a <name>_vi column where one exists).
    groups: dict[str, str] = {}

    @model_validator(mode="after")
    def _finest_first(self) -> AreasTable:
        first, rest = self.levels[0], self.levels[1:]
        if first.crosswalk is not None:
            raise ValueError(
                f"areas.levels: the first level ({first.key}) is the finest and has no crosswalk"
            )
        for lv in rest:
            if not lv.crosswalk:
                raise ValueError(
                    f"areas.levels: level {lv.key} needs a crosswalk (the column of the "
                    f"{first.key} table that gives its code)"
                )
        editions = [lv.edition for lv in self.levels]
        if len(set(editions)) != len(editions):
            raise ValueError(f"areas.levels: editions must differ, got {editions}")
        return self


# The area levels of a region file without ``[areas]`` (files written before it existed).
DEFAULT_AREAS = AreasTable(
    levels=[
        AreaLevelTable(edition=63, key="prov63"),
        AreaLevelTable(edition=34, key="prov34", crosswalk="prov34_code"),
    ],
    groups={"region6": "region6_code", "key_econ_region": "key_econ_region_vi"},
)


class SourceTable(Strict):
    file: DataPath
    layer: str | None = None
    id_field: str | None = None
    name_field: str = "name"
    name_fallback: str | None = None
    status_field: str | None = None
    class_field: str | None = None
    require_field: str | None = None
    filter_true: str | None = None
    polygon_layer: str | None = None
    lon_field: str = "lon"
    lat_field: str = "lat"
    source_label: str = ""
    optional: bool = False  # a file absent from the data folder is skipped (mirror-only layers)
    # the file is the project's own table in the region config's folder (data/), read by every
    # data folder (embedded default, mirror, user folder), like [validation] trips_file
    in_project: bool = False


class TypeTable(Strict):
    label_vi: str | None = None
    label_en: str | None = None
    breaks_min: Annotated[list[Positive], Field(min_length=1)]
    primary_min: Positive
    official_count: Count | None = None
    official_source: str = ""
    official_source_vi: str = ""
    exclude_classes: list[str] = []
    class_map: dict[str, str] = {}
    international_iata: list[str] = []
    sources: list[SourceTable] = []
    class_provinces63: list[str] = []
    outside_class: str = ""
    verdict_exempt_classes: list[str] = []
    # official units and their member sites: validated by geo.unit_lists (its own keys)
    units: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _primary_is_a_break(self) -> TypeTable:
        breaks = sorted(set(self.breaks_min))
        if self.primary_min not in breaks:
            raise ValueError(
                f"primary_min = {self.primary_min:g} is not one of breaks_min "
                f"[{', '.join(f'{b:g}' for b in breaks)}]; make it one of them or add it to breaks_min"
            )
        return self


class Grouping(Strict):
    provinces: list[str]
    label: str | None = None


class OverrideTable(Strict):
    method: str
    bbox: BBox
    to_code: str
    from_code: str | None = None
    applies_to: Literal["inside", "outside"] = "inside"


class RegionFile(Strict):
    """A region configuration file (``data/<region>.toml``)."""

    region: RegionTable
    flags: FlagsTable = FlagsTable()
    verdict: VerdictTable = VerdictTable()
    sensitivity: SensitivityTable = SensitivityTable()
    covering: CoveringTable = CoveringTable()
    validation: ValidationTable = ValidationTable()
    roads: RoadsTable
    population: PopulationTable = PopulationTable()
    provinces: ProvincesTable
    types: Annotated[dict[str, TypeTable], Field(min_length=1)]
    status_map: dict[str, Literal["operating", "planned"]] = {}
    groupings: dict[str, list[str] | Grouping] = {}
    province_overrides: list[OverrideTable] | None = None
    areas: AreasTable = DEFAULT_AREAS

    @field_validator("types", mode="before")
    @classmethod
    def _known_types(cls, v: Any) -> Any:
        for name in v if isinstance(v, dict) else ():
            if name not in FACILITY_TYPES:
                raise ValueError(
                    f"unknown facility type '{name}'; allowed: {', '.join(FACILITY_TYPES)}"
                )
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> RegionFile:
        for name, t in self.types.items():
            low = min(t.primary_min + s for s in self.sensitivity.threshold_shifts_min or [0])
            if low <= 0:
                raise ValueError(
                    f"sensitivity.threshold_shifts_min takes the primary threshold of {name} "
                    f"({t.primary_min:g} min) to {low:g} min; every shifted threshold must stay > 0"
                )
        _check_grid_memory(self.region, n_types=len(self.types))
        editions = [lv.edition for lv in self.areas.levels]
        if self.region.edition not in editions:
            raise ValueError(
                f"region.edition = {self.region.edition} is not an area level; "
                f"the levels ([[areas.levels]]) are {editions}"
            )
        return self


def _check_grid_memory(region: RegionTable, *, n_types: int = 1) -> None:
    """Refuse a grid whose dense rasters cannot fit in memory, before anything is allocated."""
    lon0, lat0, lon1, lat1 = region.bbox
    mid = math.radians((lat0 + lat1) / 2)
    width_m = (lon1 - lon0) * 111_320 * max(math.cos(mid), 0.01)
    height_m = (lat1 - lat0) * 110_574
    cells = (width_m / region.cell_size_m) * (height_m / region.cell_size_m)
    need_gib = cells * GRID_BYTES_PER_CELL * max(n_types, 1) / 2**30
    limit = region.max_grid_gib or machine_memory_gib() * 0.5
    if need_gib > limit:
        raise ValueError(
            f"cell_size_m = {region.cell_size_m:g} over the bbox gives about {cells:.3g} grid cells, "
            f"about {need_gib:,.1f} GiB of dense rasters for {max(n_types, 1)} type(s) (limit {limit:,.1f} GiB, half of this machine's "
            "memory or [region] max_grid_gib); raise cell_size_m (e.g. 1000) or shrink the bbox"
        )


def machine_memory_gib() -> float:
    """This machine's physical memory, GiB (16 when it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # pragma: no cover (not POSIX)
        return 16.0
