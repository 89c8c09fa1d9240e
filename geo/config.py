"""Region configuration: read a TOML file once, validate it (geo.config_schema, pydantic),
return frozen dataclasses whose attributes the rest of the code reads."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.config_schema import (
    DEFAULT_AREAS,
    FACILITY_TYPES,
    REGION_NAME,
    AreasTable,
    RegionFile,
    RoadsTable,
    TypeTable,
)
from geo.errors import ConfigError
from geo.paths import DATA_DIR
from geo.validation import validate_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["FACILITY_TYPES", "RegionConfig", "RoadsConfig", "SourceSpec", "TypeConfig"]
REPO_DATA = DATA_DIR  # the shipped `data` package (geo.paths), in a checkout or installed


# [covering] defaults (analysis.covering): exact-solve work of a coverage curve (nonzeros x
# solves: a count, not a time) and the shares whose first p is always made exact
COVERING_EXACT_WORK = 500_000
COVERING_EXACT_SHARES = (0.9, 0.95, 0.99)


@dataclass(frozen=True)
class SourceSpec:
    """How one source layer maps onto the facility schema."""

    file: str
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
    in_project: bool = False  # the file lies in ``project_dir`` (the config folder)
    project_dir: str = ""

    def path(self, data_dir: Path) -> Path:
        """Where the file is read: the data folder's, or the project's own table (``in_project``)."""
        return Path(self.project_dir) / self.file if self.in_project else data_dir / self.file


@dataclass(frozen=True)
class TypeConfig:
    """Settings of one facility type (thresholds in minutes)."""

    name: str
    label_vi: str
    label_en: str
    breaks_min: tuple[float, ...]
    primary_min: float
    official_count: int | None = None
    official_source: str = ""
    official_source_vi: str = ""
    exclude_classes: tuple[str, ...] = ()
    class_map: dict[str, str] = field(default_factory=dict)
    international_iata: tuple[str, ...] = ()
    sources: tuple[SourceSpec, ...] = ()
    # Facilities located outside these 63-edition provinces get class ``outside_class`` (e.g.
    # inland river ports are not seaports); empty = no such rule.
    class_provinces63: tuple[str, ...] = ()
    outside_class: str = ""
    # classes never judged redundant (e.g. special-class gateway seaports), with the reason
    verdict_exempt_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoadsConfig:
    file: str
    layer: str | None
    class_field: str
    highway_field: str | None
    maxspeed_field: str | None
    oneway_field: str | None
    status_field: str | None
    open_statuses: tuple[str, ...]
    snap_tolerance_m: float
    speed_kmh: dict[str, float]
    second_file: str | None = None
    second_layer: str | None = None
    second_class_field: str | None = None
    merge_second: bool = False
    # geo.road_repairs: longest fragment connector (0: no repair) and islands without a bridge,
    # each {name, bbox = [min_lon, min_lat, max_lon, max_lat], source}.
    max_connector_m: float = 0.0
    islands: tuple[dict[str, Any], ...] = ()
    extra_files: tuple[str, ...] = ()
    # geo.ferries ({name, a, b, crossing_min, wait_min, source, drawn_road_crossing}) and
    # geo.point_connectors (cities of this file at least this large, farther than this).
    ferries: tuple[dict[str, Any], ...] = ()
    no_junctions: tuple[dict[str, Any], ...] = ()  # geo.road_links.split_false_junctions
    city_connectors_file: str | None = None
    city_connectors_min_population: int = 50_000
    city_connector_min_m: float = 2000.0
    point_connector_class: str = "tertiary"
    facility_connector_min_m: float | None = None

    urban_speed_factor: float = 1.0
    urban_min_population: int = 1_000_000
    urban_radius_km: float = 10.0


@dataclass(frozen=True)
class AreaLevel:
    """One area level of the region (``[[areas.levels]]``, finest first; see
    ``geo.config_schema.AreaLevelTable``): Viet Nam's 63 and 34 provinces."""

    edition: int  # the number the outputs write (province_matrix.edition)
    key: str  # prefix of the facilities' columns: <key>_code, <key>_name
    crosswalk: str | None = None  # column of the finest level's table giving this level's code


def _area_levels(areas: AreasTable) -> tuple[AreaLevel, ...]:
    return tuple(AreaLevel(lv.edition, lv.key, lv.crosswalk) for lv in areas.levels)


DEFAULT_LEVELS = _area_levels(DEFAULT_AREAS)


@dataclass(frozen=True)
class RegionConfig:
    """The whole validated region configuration."""

    name: str
    label_vi: str
    label_en: str
    metric_crs: str
    bbox: tuple[float, float, float, float]
    edition: int
    cell_size_m: float
    access_speed_kmh: float
    max_facility_access_km: float
    province_tolerance_m: float
    duplicate_distance_m: float
    min_component_km: float
    max_unique_share: float
    min_other_province_share: float
    speed_factors: tuple[float, ...]
    threshold_shifts_min: tuple[float, ...]
    roads: RoadsConfig
    population: dict[str, Any]
    provinces: dict[str, str]
    types: dict[str, TypeConfig]
    status_map: dict[str, str]
    groupings: dict[str, Any]
    covering_exact_work: int = COVERING_EXACT_WORK
    covering_exact_shares: tuple[float, ...] = COVERING_EXACT_SHARES
    verdict_max_loss_share: float = 0.02
    verdict_equivalent_share: float = 0.8
    verdict_min_pool_shortfall: float = 0.25
    verdict_keep_one_min: int = 3
    validation_trips: str = ""  # absolute path of the trips table (``[validation] trips_file``)
    #: only cells with people are demand (``[region] populated_cells_only``; for 100 m grids)
    populated_cells_only: bool = False
    #: catchment outlines are traced on cells of about this size where the demand cells are
    #: finer (``[region] outline_cell_m``; analysis.block_measures.Polygons)
    outline_cell_m: float = 1000.0
    #: memory limit of the grid and demand cells, GiB (``[region] max_grid_gib``; None: half
    #: of the machine's memory)
    max_grid_gib: float | None = None
    data_date: str = ""
    path: str = ""
    # the region's area levels, finest first, and groupings of the finest units ([areas])
    area_levels: tuple[AreaLevel, ...] = DEFAULT_LEVELS
    area_groups: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_AREAS.groups))
    #: the file's tables as parsed (and validated) once; read through :func:`config_tables`.
    #: Left out of repr and equality: the fields above carry the values a run depends on.
    tables: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def area_key(self, edition: int | None = None) -> str:
        """Column prefix of an area level (default: the run's edition), e.g. ``prov34``."""
        want = self.edition if edition is None else edition
        for lv in self.area_levels:
            if lv.edition == want:
                return lv.key
        raise KeyError(f"no area level with edition {want}")


def _type_config(name: str, t: TypeTable, project_dir: Path) -> TypeConfig:
    return TypeConfig(
        name=name,
        label_vi=t.label_vi or name,
        label_en=t.label_en or name,
        breaks_min=tuple(sorted(set(t.breaks_min))),
        primary_min=t.primary_min,
        official_count=t.official_count,
        official_source=t.official_source,
        official_source_vi=t.official_source_vi,
        exclude_classes=tuple(t.exclude_classes),
        class_map=dict(t.class_map),
        international_iata=tuple(t.international_iata),
        sources=tuple(
            SourceSpec(**s.model_dump(), project_dir=str(project_dir)) for s in t.sources
        ),
        class_provinces63=tuple(str(c).zfill(2) for c in t.class_provinces63),
        outside_class=t.outside_class,
        verdict_exempt_classes=tuple(t.verdict_exempt_classes),
    )


def _roads_config(r: RoadsTable) -> RoadsConfig:
    return RoadsConfig(
        file=r.file,
        layer=r.layer,
        class_field=r.class_field,
        highway_field=r.highway_field,
        maxspeed_field=r.maxspeed_field,
        oneway_field=r.oneway_field,
        status_field=r.status_field,
        open_statuses=tuple(r.open_statuses),
        snap_tolerance_m=r.snap_tolerance_m,
        speed_kmh=dict(r.speed_kmh),
        second_file=r.second_file,
        second_layer=r.second_layer,
        second_class_field=r.second_class_field,
        merge_second=r.merge_second,
        max_connector_m=r.max_connector_m,
        islands=tuple(
            {"name": i.name, "bbox": tuple(i.bbox), "source": i.source} for i in r.islands
        ),
        extra_files=tuple(r.extra_files),
        ferries=tuple(f.model_dump() for f in r.ferries),
        no_junctions=tuple(j.model_dump() for j in r.no_junctions),
        city_connectors_file=r.city_connectors_file,
        city_connectors_min_population=r.city_connectors_min_population,
        city_connector_min_m=r.city_connector_min_m,
        point_connector_class=r.point_connector_class,
        facility_connector_min_m=r.facility_connector_min_m,
        urban_speed_factor=r.urban_speed_factor,
        urban_min_population=r.urban_min_population,
        urban_radius_km=r.urban_radius_km,
    )


def _config_path(path: str | Path | None, region: str) -> Path:
    if path is None and not REGION_NAME.match(region):
        raise ConfigError(
            f"region name {region!r} must be letters, digits, _ or - (no separator, no '..')",
            field="--region",
        )
    p = Path(path) if path is not None else REPO_DATA / f"{region}.toml"
    if path is not None and not p.is_file():
        raise ConfigError(
            "configuration file not found; check the path given to --config", source=str(p)
        )
    if not p.is_file():
        known = sorted(
            q.stem for q in REPO_DATA.glob("*.toml") if not q.stem.startswith("scenarios")
        )
        raise ConfigError(
            f"no configuration for region '{region}' (known: {', '.join(known)})", source=str(p)
        )
    return p


def load_region_config(path: str | Path | None = None, *, region: str = "vietnam") -> RegionConfig:
    """Read and validate a region configuration (geo.config_schema.RegionFile).

    Parameters
    ----------
    path
        TOML file; default ``data/<region>.toml`` of the repository.
    region
        Region name used when ``path`` is None.

    Returns
    -------
    RegionConfig

    Raises
    ------
    ConfigError
        With the file, the key and what to change: unknown keys, wrong kinds, values out of
        range, data paths outside the data folder, a grid too large for memory.
    """
    p = _config_path(path, region)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(p)) from None
    sp = str(p)
    doc = validate_file(RegionFile, raw, source=sp)
    reg = doc.region
    return RegionConfig(
        name=reg.name or region,
        label_vi=reg.label_vi or region,
        label_en=reg.label_en or region,
        metric_crs=reg.metric_crs,
        bbox=(reg.bbox[0], reg.bbox[1], reg.bbox[2], reg.bbox[3]),
        edition=reg.edition,
        cell_size_m=reg.cell_size_m,
        populated_cells_only=reg.populated_cells_only,
        outline_cell_m=reg.outline_cell_m,
        max_grid_gib=reg.max_grid_gib,
        access_speed_kmh=reg.access_speed_kmh,
        max_facility_access_km=reg.max_facility_access_km,
        province_tolerance_m=reg.province_tolerance_m,
        duplicate_distance_m=reg.duplicate_distance_m,
        min_component_km=reg.min_component_km,
        max_unique_share=doc.flags.max_unique_share,
        min_other_province_share=doc.flags.min_other_province_share,
        speed_factors=tuple(doc.sensitivity.speed_factors),
        threshold_shifts_min=tuple(doc.sensitivity.threshold_shifts_min),
        roads=_roads_config(doc.roads),
        population=doc.population.model_dump(exclude_none=True),
        provinces=doc.provinces.model_dump(exclude_none=True),
        types={n: _type_config(n, t, p.parent) for n, t in doc.types.items()},
        status_map=dict(doc.status_map),
        groupings={
            k: (v if isinstance(v, list) else v.model_dump(exclude_none=True))
            for k, v in doc.groupings.items()
        },
        area_levels=_area_levels(doc.areas),
        area_groups=dict(doc.areas.groups),
        covering_exact_work=doc.covering.exact_work,
        covering_exact_shares=tuple(doc.covering.exact_shares),
        verdict_max_loss_share=doc.verdict.max_loss_share,
        verdict_equivalent_share=doc.verdict.equivalent_share,
        verdict_min_pool_shortfall=doc.verdict.min_pool_shortfall,
        verdict_keep_one_min=doc.verdict.keep_one_min,
        validation_trips=(
            str(p.parent / doc.validation.trips_file) if doc.validation.trips_file else ""
        ),
        data_date=reg.data_date,
        path=sp,
        tables=raw,
    )


def config_tables(config: RegionConfig) -> Mapping[str, Any]:
    """The region's TOML as parsed when the config was loaded (not read again), for tables only
    one module reads (``[[province_overrides]]``, ``coastal_provinces63``,
    ``[roads.expected_km]``); empty for a config built in code."""
    return config.tables
