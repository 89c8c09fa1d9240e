"""The options of one run (``cli run`` flags, batch scenario keys) and how they change the
region configuration."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from geo.config import RegionConfig, TypeConfig
from geo.errors import ConfigError


@dataclass(frozen=True)
class RunOptions:
    """Parameters of one run (every one can be overridden by a batch scenario)."""

    data: str | None = None
    types: tuple[str, ...] | None = None
    facilities: tuple[str, ...] = ()
    keep_default_facilities: bool = False
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    roads: str | None = None
    open_statuses: tuple[str, ...] | None = None
    merge_second_roads: bool | None = None
    population: str | None = None
    edition: int | None = None
    lang: str = "vi"
    encoding: str | None = None
    crs: str | None = None
    speed_factor: float = 1.0
    breaks_min: dict[str, tuple[float, ...]] = field(default_factory=dict)
    primary_min: dict[str, float] = field(default_factory=dict)


def _with_breaks(config_types: dict[str, TypeConfig], opts: RunOptions) -> dict[str, TypeConfig]:
    """``breaks_min`` per type: positive minutes; the primary break moves to the middle one
    when it is not among them."""
    types = dict(config_types)
    for name, breaks in opts.breaks_min.items():
        if name not in types:
            raise ConfigError(
                f"breaks given for unknown type '{name}'; allowed: {', '.join(types)}"
            )
        if not breaks or min(breaks) <= 0:
            raise ConfigError(f"breaks for '{name}' must be positive minutes, got {list(breaks)}")
        prim = opts.primary_min.get(name, types[name].primary_min)
        if prim not in breaks:
            prim = sorted(breaks)[len(breaks) // 2]
        types[name] = replace(types[name], breaks_min=tuple(sorted(set(breaks))), primary_min=prim)
    return types


def _with_primary(config_types: dict[str, TypeConfig], opts: RunOptions) -> dict[str, TypeConfig]:
    """``primary_min`` per type: positive, added to the breaks when missing."""
    types = dict(config_types)
    for name, prim in opts.primary_min.items():
        if name not in types:
            raise ConfigError(f"primary break given for unknown type '{name}'")
        if prim <= 0:
            raise ConfigError(f"the primary threshold of '{name}' must be > 0 minutes, got {prim}")
        if prim not in types[name].breaks_min:
            types[name] = replace(
                types[name], breaks_min=tuple(sorted({*types[name].breaks_min, prim}))
            )
        types[name] = replace(types[name], primary_min=prim)
    return types


def apply_overrides(config: RegionConfig, opts: RunOptions) -> RegionConfig:
    """The configuration with the run's overrides (breaks, primary thresholds, road statuses,
    second-layer merge, edition); unknown types or bad values are a :class:`ConfigError`.
    Neither argument is changed."""
    types = _with_primary(_with_breaks(config.types, opts), opts)
    roads = config.roads
    if opts.open_statuses is not None:
        roads = replace(roads, open_statuses=tuple(opts.open_statuses))
    if opts.merge_second_roads is not None:
        roads = replace(roads, merge_second=opts.merge_second_roads)
    if opts.types:
        unknown = [t for t in opts.types if t not in types]
        if unknown:
            raise ConfigError(
                f"unknown facility type(s) {unknown}; allowed: {', '.join(types)}", field="--types"
            )
    return replace(config, types=types, roads=roads, edition=opts.edition or config.edition)
