"""Region configuration: read a TOML file once, validate it, return frozen dataclasses."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FACILITY_TYPES = ("seaport", "airport", "industrial_park")
REPO_DATA = Path(__file__).resolve().parent.parent / "data"


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
    exclude_classes: tuple[str, ...] = ()
    class_map: dict[str, str] = field(default_factory=dict)
    international_iata: tuple[str, ...] = ()
    sources: tuple[SourceSpec, ...] = ()
    # Facilities located outside these 63-edition provinces get class ``outside_class`` (e.g.
    # inland river ports are not seaports); empty = no such rule.
    class_provinces63: tuple[str, ...] = ()
    outside_class: str = ""


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
    data_date: str = ""
    path: str = ""


def _need(table: dict[str, Any], key: str, where: str, path: str) -> Any:
    if key not in table:
        raise ConfigError(
            f"missing key '{key}' in [{where}]; add it (see data/vietnam.toml)",
            source=path,
            field=key,
        )
    return table[key]


def _table(table: dict[str, Any], key: str, where: str, path: str) -> dict[str, Any]:
    value = _need(table, key, where, path)
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' must be a table [{key}], got {value!r}", source=path, field=key)
    return value


def _number(value: Any, key: str, path: str) -> float:
    if isinstance(value, bool):  # float(True) would pass silently
        value = str(value).lower()
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"must be a number, got {value!r}", source=path, field=key) from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ConfigError(f"must be a finite number, got {value!r}", source=path, field=key)
    return v


def _positive(value: Any, key: str, path: str) -> float:
    v = _number(value, key, path)
    if not v > 0:
        raise ConfigError(f"must be > 0, got {v:g}", source=path, field=key)
    return v


def _numbers(value: Any, key: str, path: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(
            f"must be a list of numbers, e.g. [60, 90], got {value!r}", source=path, field=key
        )
    return tuple(_number(v, key, path) for v in value)


def _count(value: Any, key: str, path: str) -> int:
    v = _number(value, key, path)
    if v < 0 or v != int(v):
        raise ConfigError(f"must be a whole number >= 0, got {v:g}", source=path, field=key)
    return int(v)


def _shares(value: Any, key: str, path: str) -> tuple[float, ...]:
    v = _numbers(value, key, path)
    if any(not 0 < x <= 1 for x in v):
        raise ConfigError(f"shares must lie in (0, 1], got {list(v)}", source=path, field=key)
    return v


def _share(value: Any, key: str, path: str) -> float:
    x = _number(value, key, path)
    if not 0.0 <= x <= 1.0:
        raise ConfigError(
            f"{key} must be a share between 0 and 1, got {value!r}", source=path, field=key
        )
    return x


def _metric_crs(value: Any, path: str) -> str:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        raise ConfigError(
            f"unknown CRS {value!r}; give a projected CRS in metres, e.g. 'EPSG:3405'",
            source=path,
            field="metric_crs",
        ) from None
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise ConfigError(
            f"{value!r} is not a projected CRS in metres: distances would be wrong; give a "
            "projected CRS in metres, e.g. 'EPSG:3405' (VN-2000 / UTM 48N)",
            source=path,
            field="metric_crs",
        )
    return str(value)


def _type_config(name: str, t: dict[str, Any], path: str) -> TypeConfig:
    where = f"types.{name}"
    if not isinstance(t, dict):
        raise ConfigError(f"[{where}] must be a table, got {t!r}", source=path, field=where)
    breaks = tuple(
        _positive(b, f"{where}.breaks_min", path)
        for b in _numbers(_need(t, "breaks_min", where, path), f"{where}.breaks_min", path)
    )
    if not breaks:
        raise ConfigError(
            f"[{where}] breaks_min is empty; give at least one break in minutes", source=path
        )
    breaks = tuple(sorted(set(breaks)))
    primary = _positive(_need(t, "primary_min", where, path), f"{where}.primary_min", path)
    if primary not in breaks:
        raise ConfigError(
            f"primary_min = {primary:g} is not one of breaks_min [{', '.join(f'{b:g}' for b in breaks)}]; "
            "make it one of them or add it to breaks_min",
            source=path,
            field=f"{where}.primary_min",
        )
    sources = []
    for s in t.get("sources", []):
        try:
            sources.append(SourceSpec(**s))
        except TypeError as exc:
            raise ConfigError(f"[{where}.sources] {exc}", source=path) from None
    return TypeConfig(
        name=name,
        label_vi=t.get("label_vi", name),
        label_en=t.get("label_en", name),
        breaks_min=breaks,
        primary_min=primary,
        official_count=t.get("official_count"),
        official_source=t.get("official_source", ""),
        exclude_classes=tuple(t.get("exclude_classes", ())),
        class_map=dict(t.get("class_map", {})),
        international_iata=tuple(t.get("international_iata", ())),
        sources=tuple(sources),
        class_provinces63=tuple(str(c).zfill(2) for c in t.get("class_provinces63", ())),
        outside_class=str(t.get("outside_class", "")),
    )


def load_region_config(path: str | Path | None = None, *, region: str = "vietnam") -> RegionConfig:
    """Read and validate a region configuration.

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
        With the file, the key and what to change.
    """
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
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(p)) from None
    sp = str(p)
    reg = _table(raw, "region", "region", sp)
    roads = _table(raw, "roads", "roads", sp)
    types_raw = _table(raw, "types", "types", sp)
    if not types_raw:
        raise ConfigError(
            "[types] is empty; configure at least one facility type", source=sp, field="types"
        )
    for name in types_raw:
        if name not in FACILITY_TYPES:
            raise ConfigError(
                f"unknown facility type '{name}'; allowed: {', '.join(FACILITY_TYPES)}",
                source=sp,
                field=f"types.{name}",
            )
    edition = reg.get("edition", 34)
    if edition not in (34, 63) or isinstance(edition, bool):
        raise ConfigError(f"edition must be 34 or 63, got {edition!r}", source=sp, field="edition")
    bbox = _numbers(_need(reg, "bbox", "region", sp), "bbox", sp)
    if len(bbox) != 4 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise ConfigError(
            "bbox must be [min_lon, min_lat, max_lon, max_lat]", source=sp, field="bbox"
        )
    flags = raw.get("flags", {})
    sens = raw.get("sensitivity", {})
    covering = raw.get("covering", {})
    verdict = raw.get("verdict", {})
    for key, value in (
        ("flags", flags),
        ("verdict", verdict),
        ("sensitivity", sens),
        ("covering", covering),
        ("roads.speed_kmh", roads.get("speed_kmh", {})),
    ):
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] must be a table, got {value!r}", source=sp, field=key)
    speed = {
        str(k): _positive(v, f"roads.speed_kmh.{k}", sp)
        for k, v in roads.get("speed_kmh", {}).items()
    }
    if "default" not in speed:
        raise ConfigError(
            "[roads.speed_kmh] needs a 'default' speed", source=sp, field="speed_kmh.default"
        )
    status_map = {str(k): str(v) for k, v in raw.get("status_map", {}).items()}
    for k, v in status_map.items():
        if v not in ("operating", "planned"):
            raise ConfigError(
                f"status_map['{k}'] = '{v}': allowed values are operating, planned", source=sp
            )
    return RegionConfig(
        name=str(reg.get("name", region)),
        label_vi=str(reg.get("label_vi", region)),
        label_en=str(reg.get("label_en", region)),
        metric_crs=_metric_crs(_need(reg, "metric_crs", "region", sp), sp),
        bbox=bbox,
        edition=edition,
        cell_size_m=_positive(reg.get("cell_size_m", 1000), "cell_size_m", sp),
        access_speed_kmh=_positive(reg.get("access_speed_kmh", 20), "access_speed_kmh", sp),
        max_facility_access_km=_positive(
            reg.get("max_facility_access_km", 10), "max_facility_access_km", sp
        ),
        province_tolerance_m=_positive(
            reg.get("province_tolerance_m", 10000), "province_tolerance_m", sp
        ),
        duplicate_distance_m=_positive(
            reg.get("duplicate_distance_m", 500), "duplicate_distance_m", sp
        ),
        min_component_km=_number(reg.get("min_component_km", 5.0), "min_component_km", sp),
        max_unique_share=_number(flags.get("max_unique_share", 0.25), "flags.max_unique_share", sp),
        min_other_province_share=_number(
            flags.get("min_other_province_share", 0.5), "flags.min_other_province_share", sp
        ),
        speed_factors=tuple(
            _positive(v, "sensitivity.speed_factors", sp)
            for v in _numbers(
                sens.get("speed_factors", [0.8, 1.2]), "sensitivity.speed_factors", sp
            )
        ),
        threshold_shifts_min=_numbers(
            sens.get("threshold_shifts_min", [-15, 15]), "sensitivity.threshold_shifts_min", sp
        ),
        roads=RoadsConfig(
            file=str(_need(roads, "file", "roads", sp)),
            layer=roads.get("layer"),
            class_field=str(roads.get("class_field", "highway")),
            highway_field=roads.get("highway_field"),
            maxspeed_field=roads.get("maxspeed_field"),
            oneway_field=roads.get("oneway_field"),
            status_field=roads.get("status_field"),
            open_statuses=tuple(roads.get("open_statuses", ())),
            snap_tolerance_m=_positive(roads.get("snap_tolerance_m", 50), "snap_tolerance_m", sp),
            speed_kmh=speed,
            second_file=roads.get("second_file"),
            second_layer=roads.get("second_layer"),
            second_class_field=roads.get("second_class_field"),
            merge_second=bool(roads.get("merge_second", False)),
        ),
        population=dict(raw.get("population", {})),
        provinces={str(k): str(v) for k, v in raw.get("provinces", {}).items()},
        types={n: _type_config(n, t, sp) for n, t in types_raw.items()},
        status_map=status_map,
        groupings=dict(raw.get("groupings", {})),
        covering_exact_work=_count(
            covering.get("exact_work", COVERING_EXACT_WORK), "covering.exact_work", sp
        ),
        covering_exact_shares=_shares(
            covering.get("exact_shares", list(COVERING_EXACT_SHARES)), "covering.exact_shares", sp
        ),
        verdict_max_loss_share=_share(
            verdict.get("max_loss_share", 0.02), "verdict.max_loss_share", sp
        ),
        verdict_equivalent_share=_share(
            verdict.get("equivalent_share", 0.8), "verdict.equivalent_share", sp
        ),
        verdict_min_pool_shortfall=_share(
            verdict.get("min_pool_shortfall", 0.25), "verdict.min_pool_shortfall", sp
        ),
        data_date=str(reg.get("data_date", "")),
        path=sp,
    )


def config_tables(config: RegionConfig) -> dict[str, Any]:
    """The region's TOML as parsed, for tables only one module reads (``[[province_overrides]]``,
    ``coastal_provinces63``, ``[roads.expected_km]``); empty when the config has no file."""
    if not config.path or not Path(config.path).is_file():
        return {}
    return tomllib.loads(Path(config.path).read_text(encoding="utf-8"))
