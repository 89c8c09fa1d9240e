"""The whole chain for one region: load -> network -> demand -> catchments -> measures -> RunResult.

A plain function from options to a ``RunResult``; the CLI and the batch runner call it, and so can
a notebook. It reads files only through ``geo`` and writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.capacity import demand_throughput_correlation
from analysis.catchments import Access, travel_times
from analysis.demand import DemandGrid, demand_from_polygons
from analysis.layers import TypeAnalysis, analyse_type, assemble_result
from analysis.network import Graph, component_report, graph_from_edges, snap_points
from analysis.results import RunResult
from analysis.type_demand import DemandSpec, cell_weights, demand_spec, type_demand_columns
from analysis.units import reduce_to_units, unit_access
from geo.config import RegionConfig
from geo.errors import ConfigError

log = logging.getLogger(__name__)


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


def apply_overrides(config: RegionConfig, opts: RunOptions) -> RegionConfig:
    types = dict(config.types)
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


def load_inputs(config: RegionConfig, opts: RunOptions, data_dir: Path) -> dict[str, Any]:
    """Read every input layer through ``geo`` (facilities, provinces, roads, population)."""
    from geo.facilities import load_region_facilities
    from geo.point_connectors import facilities_to_connect
    from geo.population import population_from_config, population_from_raster
    from geo.provinces import load_provinces
    from geo.roads import road_network_for_region

    t0 = time.perf_counter()
    types = opts.types or tuple(config.types)
    provinces = load_provinces(data_dir, config)
    fac = load_region_facilities(
        data_dir,
        config,
        types=types,
        extra_files=opts.facilities,
        keep_default=opts.keep_default_facilities or not opts.facilities,
        encoding=opts.encoding,
        add=opts.add,
        crs=opts.crs,
    )
    fac.require_usable()  # an empty facility set or too many facilities: say so before the network build
    population = (
        population_from_raster(opts.population, bbox=config.bbox)
        if opts.population
        else population_from_config(data_dir, config)
    )
    network = road_network_for_region(
        data_dir,
        config,
        roads_file=opts.roads,
        points=facilities_to_connect(
            fac.facilities, min_gap_m=config.max_facility_access_km * 1000
        ),
    )
    capacity = _capacity(fac.facilities, data_dir)
    if capacity is not None:
        fac.issues.extend(capacity[1])
    return {
        "capacity": None if capacity is None else capacity[0],
        "provinces": provinces,
        "facilities": fac,
        "network": network,
        "population": population,
        "types": types,
        "load_s": round(time.perf_counter() - t0, 3),
    }


def _capacity(fac: Any, data_dir: Path) -> tuple[Any, Any] | None:
    """Throughput and design capacity of the facilities (data/capacity, keyed by official name).

    None when the data folder has no official lists to check the tables against.
    """
    from geo.capacity import DEFAULT_DIR, load_capacity
    from geo.capacity_join import facility_capacity

    if not (
        DEFAULT_DIR.is_dir()
        and (data_dir / "seaports_official_1579.csv").is_file()
        and (data_dir / "airports_official_caav.csv").is_file()
    ):
        return None
    tables = load_capacity(DEFAULT_DIR, official=data_dir)
    return facility_capacity(fac, tables), tables.issues


def _validation(config: RegionConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    """The run's drive times against the region's real trips (empty without a trips table)."""
    from analysis.trips_run import trips_summary_for_run
    from geo.errors import InfraOverlapError

    if not config.validation_trips or not Path(config.validation_trips).is_file():
        return {}
    try:
        s = trips_summary_for_run(
            config.validation_trips,
            config=config,
            provinces=inputs["provinces"],
            network=inputs["network"],
        )
    except InfraOverlapError as exc:  # a bad trips table must not stop the run
        log.warning("warning: validation against real trips skipped: %s", exc)
        return {}
    return {
        "source": str(s.get("source", "")),
        "n_trips": int(s["trips"]),
        "unreachable": int(s["unreachable"]),
        "median_abs_error": float(s["median_abs_error"]),
        "within_tolerance": float(s["within_tolerance_share"]),
    }


def build_demand(config: RegionConfig, inputs: dict[str, Any]) -> DemandGrid:
    """The demand grid from the population layer (polygons or a raster summed onto the grid)."""
    from analysis.demand import grid_for_bounds
    from geo.population import raster_to_grid

    p63 = inputs["provinces"].p63
    pop = inputs["population"]
    if pop.raster is not None:
        grid = grid_for_bounds(
            tuple(p63.to_crs(config.metric_crs).total_bounds),
            crs=config.metric_crs,
            cell_size_m=config.cell_size_m,
        )
        arr = raster_to_grid(
            pop.raster,
            crs=grid.crs,
            x0=grid.x0,
            y0=grid.y0,
            cell_size_m=grid.cell_size_m,
            shape=grid.shape,
        )
        return demand_from_polygons(
            p63,
            None,
            crs=config.metric_crs,
            cell_size_m=config.cell_size_m,
            population_grid=arr,
            grid=grid,
        )
    return demand_from_polygons(
        p63, pop.polygons, crs=config.metric_crs, cell_size_m=config.cell_size_m
    )


def _with_data_flags(fac: Any, net: Any, config: RegionConfig) -> Any:
    """Add ``doubtful`` and ``doubt_score``, and extend ``data_note`` (geo.quality's rules)."""
    from analysis.glossary import note_text
    from geo.quality import facility_data_flags, suspected_duplicates

    if len(fac) == 0:
        return fac.assign(doubtful=False, doubt_score=0)
    dup = suspected_duplicates(
        fac, metric_crs=config.metric_crs, near_m=2 * config.duplicate_distance_m
    )
    flags = facility_data_flags(fac, duplicates=dup).set_index("facility_id")
    out = fac.copy()
    ids = out["facility_id"]
    out["doubtful"] = ids.map(flags["doubtful"]).fillna(False).astype(bool).to_numpy()
    out["doubt_score"] = ids.map(flags["doubt_score"]).fillna(0).astype(int).to_numpy()
    old = out["data_note"].fillna("").astype(str)
    new = ids.map(flags["data_note"]).fillna("").astype(str)
    out["data_note"] = [
        "; ".join(dict.fromkeys(p for p in (a, b) if p)) for a, b in zip(old, new, strict=True)
    ]
    out["data_note_vi"] = [note_text(n, "vi") for n in out["data_note"]]
    return out


def type_demand_spec(config: RegionConfig, type_name: str) -> DemandSpec:
    """The demand spec of a type (``[population.demand.<type>]``; plain people when absent)."""
    raw = config.population.get("demand", {}).get(type_name)
    try:
        return demand_spec(raw, where=f"population.demand.{type_name}")
    except ValueError as exc:
        raise ConfigError(str(exc), source=config.path) from None


def type_cell_weights(
    config: RegionConfig, type_name: str, demand: DemandGrid, inputs: dict[str, Any]
) -> np.ndarray:
    """The type's demand per cell (people, economic mass or workers; see analysis.type_demand)."""
    spec = type_demand_spec(config, type_name)
    grdp = None
    if spec.kind == "economic_huff":
        table = inputs["grdp_per_head"].reindex(inputs["provinces"].p63["prov_code"].astype(str))
        per_prov = table.to_numpy(np.float64)
        grdp = np.where(demand.prov63 >= 0, per_prov[np.maximum(demand.prov63, 0)], np.nan)
    return cell_weights(spec, demand.population, grdp_per_head=grdp)


def _type_demand(
    type_name: str,
    fac: Any,
    tc: Any,
    tt: Any,
    access: Access,
    weights: np.ndarray,
    config: RegionConfig,
) -> Any:
    spec = type_demand_spec(config, type_name)
    active = (fac["status"].to_numpy() == "operating") & (access.snap.edge >= 0)
    area = fac["area_ha"].to_numpy(np.float64) if "area_ha" in fac else None
    size = None
    if spec.size_field:
        if spec.size_field not in fac:
            raise ConfigError(
                f"[population.demand.{type_name}] size_field: no column '{spec.size_field}' in "
                f"the {type_name} facilities",
                source=config.path,
            )
        size = pd.to_numeric(fac[spec.size_field], errors="coerce").to_numpy(np.float64)
    return type_demand_columns(
        spec,
        tt,
        weights,
        breaks_min=tc.breaks_min,
        active=active,
        area_ha=area,
        size=size,
    )


def _member_sites(
    load: Any, fac: Any, type_name: str, remove: tuple[str, ...] = ()
) -> tuple[Any, np.ndarray]:
    """The member sites of the type's units (``geo.units``) and the unit index of each, or
    (None, empty) when the type has no multi-site units. Sites in ``remove`` (``--remove`` of a
    terminal's site_id) are left out of their unit."""
    sites = getattr(load, "sites", None)
    if sites is None or len(sites) == 0 or not (sites["type"] == type_name).any():
        return None, np.zeros(0, dtype=np.int64)
    index = {fid: i for i, fid in enumerate(fac["facility_id"])}
    mine = sites[(sites["type"] == type_name) & (sites["excluded_reason"] == "")]
    # a facility with no member site (a user's row) is its own single site; a unit whose
    # members were all removed keeps none (no road access, no coverage)
    alone = fac.loc[~fac["facility_id"].isin(mine["unit_id"]), ["facility_id", "geometry"]]
    mine = mine[~mine["site_id"].isin(remove) & mine["unit_id"].isin(index)]
    alone = alone.rename(columns={"facility_id": "unit_id"})
    both = pd.concat([mine[["unit_id", "geometry"]], alone], ignore_index=True)
    both = gpd.GeoDataFrame(both, geometry="geometry", crs=fac.crs)
    return both, both["unit_id"].map(index).to_numpy(np.int64)


def run_region(
    config: RegionConfig,
    opts: RunOptions,
    *,
    data_dir: Path,
    data_origin: str = "",
    progress: Callable[[str], None] | None = None,
    inputs: dict[str, Any] | None = None,
) -> RunResult:
    """Run the whole chain and return the result (nothing is written).

    Parameters
    ----------
    config
        The region configuration (overrides from ``opts`` are applied here).
    opts
        Run options.
    data_dir
        The resolved data folder.
    data_origin
        How the folder was chosen (``--data``, ``INFRA_OVERLAP_DATA`` or ``embedded``).
    progress
        Called with the name of each step as it starts.
    inputs
        Pre-loaded inputs (batch runs share them between scenarios).
    """
    say = progress or (lambda step: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    config = apply_overrides(config, opts)
    say("load")
    inputs = inputs if inputs is not None else load_inputs(config, opts, data_dir)
    # inputs loaded by the caller (the CLI, a batch) carry their own load time
    timings["load_s"] = float(inputs.get("load_s", time.perf_counter() - t0))

    t = time.perf_counter()
    say("network")
    net = inputs["network"]
    graph: Graph = graph_from_edges(
        net.edges, net.node_xy, crs=net.crs, speed_factor=opts.speed_factor
    )
    # The demand grid and the cells' snap depend only on the population layer and the road
    # geometry, not on speeds or facilities: batch scenarios sharing the inputs reuse them.
    pop = inputs["population"]
    key = (
        pop.source,
        pop.description,
        round(float(pop.total), 3),
        len(net.edges),
        config.cell_size_m,
        config.min_component_km,
    )
    cache = inputs.setdefault("_demand_cache", {})
    if key not in cache:
        demand = build_demand(config, inputs)
        cache[key] = (
            demand,
            snap_points(graph, demand.xy, min_component_km=config.min_component_km),
        )
    demand, cell_snap = cache[key]
    cell_access = Access.from_snap(
        cell_snap, access_speed_kmh=config.access_speed_kmh * opts.speed_factor
    )
    timings["network_demand_s"] = time.perf_counter() - t

    if inputs.get("grdp_per_head") is None and any(
        type_demand_spec(config, t).kind == "economic_huff" for t in inputs["types"]
    ):
        from geo.population import province_grdp_per_head

        inputs["grdp_per_head"] = province_grdp_per_head(data_dir, config)
    facilities = _with_data_flags(inputs["facilities"].facilities, net, config)
    if inputs.get("capacity") is not None:
        facilities = facilities.join(inputs["capacity"])
    if opts.remove:
        facilities = facilities[~facilities["facility_id"].isin(opts.remove)]
    analyses: list[TypeAnalysis] = []
    fac_snaps: list[tuple[Any, Any]] = []
    t = time.perf_counter()
    for type_name in inputs["types"]:
        tc = config.types[type_name]
        fac = (
            facilities[facilities["type"] == type_name]
            .sort_values("facility_id")
            .reset_index(drop=True)
        )
        say(f"catchments {type_name}")
        sites, site_unit = _member_sites(inputs["facilities"], fac, type_name, opts.remove)
        points = fac if sites is None else sites
        xy = (
            np.column_stack(
                [
                    points.to_crs(config.metric_crs).geometry.x.to_numpy(),
                    points.to_crs(config.metric_crs).geometry.y.to_numpy(),
                ]
            )
            if len(points)
            else np.zeros((0, 2))
        )
        snap = snap_points(
            graph,
            xy,
            min_component_km=config.min_component_km,
            max_dist_m=config.max_facility_access_km * 1000,
        )
        fac_access = Access.from_snap(
            snap, access_speed_kmh=config.access_speed_kmh * opts.speed_factor
        )
        # names per snapped point (a unit's name for each of its sites)
        point_names = (
            fac["name"]
            if sites is None
            else sites["unit_id"].map(dict(zip(fac["facility_id"], fac["name"], strict=True)))
        )
        fac_snaps.append((point_names.astype(str).tolist(), snap))
        shifts = config.threshold_shifts_min
        limit_min = max(
            max(tc.breaks_min),
            tc.primary_min * max((*config.speed_factors, 1.0)),
            tc.primary_min + max((*shifts, 0.0)),
        )
        tt = travel_times(graph, fac_access, cell_access, limit_s=limit_min * 60.0)
        if sites is not None:  # multi-site units: each site snapped on its own, min over members
            tt = reduce_to_units(tt, site_unit, len(fac))
            fac_access = unit_access(fac_access, site_unit, len(fac))
        weights = type_cell_weights(config, type_name, demand, inputs)
        tdem = _type_demand(type_name, fac, tc, tt, fac_access, weights, config)
        ta = analyse_type(
            fac,
            tc,
            tt,
            fac_access,
            demand,
            inputs["provinces"],
            config,
            weight=weights,
            pool_per_ha=(
                tdem["demand_workers_per_ha"].to_numpy(np.float64)
                if "demand_workers_per_ha" in tdem
                else None
            ),
        )
        ta.measures = ta.measures.join(tdem)
        analyses.append(ta)
    timings["analysis_s"] = time.perf_counter() - t

    t = time.perf_counter()
    say("layers")
    result = assemble_result(analyses, demand, inputs, config, lang=opts.lang)
    from analysis.glossary import with_vietnamese_text
    from analysis.road_repairs import road_repairs_layer

    result.layers["road_repairs"] = road_repairs_layer(
        getattr(net, "repairs", None),
        net.edges["repair_id"].to_numpy() if "repair_id" in net.edges else None,
        cell_snap=cell_snap,
        population=demand.population,
        facility_snaps=fac_snaps,
    )
    result.layers.update(with_vietnamese_text({"road_repairs": result.layers["road_repairs"]}))
    timings["layers_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    off_main = cell_snap.component != 0  # nearest eligible road is not on the largest component
    result.meta["network"] = {
        **component_report(graph),
        "people_off_main_network": round(float(demand.population[off_main].sum()), 1),
        "people_off_main_network_share": round(
            float(demand.population[off_main].sum() / max(demand.population.sum(), 1)), 4
        ),
        "repair": net.report,
    }
    result.meta["timings"] = {k: round(v, 3) for k, v in timings.items()}
    result.meta["capacity_check"] = demand_throughput_correlation(result.layers["facilities"])
    result.meta["validation"] = _validation(config, inputs)
    from geo.datasets import attribution_lines, data_attribution

    result.meta["attribution"] = attribution_lines(data_dir)
    result.meta["data_sources"] = [
        {
            "layer": d.get("file", ""),
            "source": d.get("source", ""),
            "licence": d.get("licence", ""),
            "attribution": d.get("attribution", ""),
        }
        for d in data_attribution(data_dir)
    ]
    result.meta["data_date"] = config.data_date
    result.meta["data_dir"] = str(data_dir)
    result.meta["data_origin"] = data_origin
    result.meta["options"] = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.__dict__.items()
    }
    return result
