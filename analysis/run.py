"""The analysis of one region: network -> demand -> catchments -> measures -> RunResult.

A plain function from loaded :class:`analysis.inputs.Inputs` and options to a ``RunResult``;
``pipeline`` (the top floor) loads the inputs, calls it for ``cli run`` and every batch scenario,
and writes the outputs. Nothing here reads or writes a file, and no argument is changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.block_store import kernel_store
from analysis.capacity import demand_throughput_correlation
from analysis.catchments import Access
from analysis.demand import DemandGrid
from analysis.demand import build_demand as demand_build
from analysis.demand_memory import MemoryBudget, release_freed
from analysis.inputs import Inputs, SharedInputs
from analysis.layers import TypeAnalysis, analyse_type, assemble_result
from analysis.network import Graph, Snap, component_report, graph_from_edges, snap_points
from analysis.options import RunOptions, apply_overrides
from analysis.remote import travel_times_on
from analysis.results import RunMeta, RunResult
from analysis.type_demand import DemandSpec, cell_weights, demand_spec
from analysis.type_demand_passes import TypeDemandPasses
from analysis.units import unit_access, unit_store
from geo.config import RegionConfig
from geo.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["RunOptions", "apply_overrides", "build_demand", "run_region", "type_cell_weights"]


def validation_summary(config: RegionConfig, inputs: Inputs) -> dict[str, Any]:
    """The run's drive times against the region's real trips (empty without a trips table)."""
    from analysis.trips_run import summary_for_table
    from geo.errors import InfraOverlapError

    if inputs.trips is None:
        return {}
    try:
        s = summary_for_table(inputs.trips, config=config, network=inputs.network)
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


def build_demand(config: RegionConfig, inputs: Inputs | SharedInputs) -> DemandGrid:
    """The demand grid from the population layer (polygons or a raster read in row windows),
    its memory checked against ``[region] max_grid_gib`` (``analysis.demand.build_demand``)."""
    load = getattr(inputs, "facilities", None)  # the facilities of a whole run's inputs
    memory = MemoryBudget.for_run(
        config,
        provinces=inputs.provinces,
        facilities=getattr(load, "facilities", None),
        types=getattr(inputs, "types", None),
    )
    return demand_build(
        inputs.provinces.p63,
        inputs.population,
        crs=config.metric_crs,
        cell_size_m=config.cell_size_m,
        populated_only=config.populated_cells_only,
        memory=memory,
    )


def _with_data_flags(fac: Any, config: RegionConfig) -> Any:
    """Add ``doubtful`` and ``doubt_score``, and extend ``data_note`` (geo.quality's rules)."""
    from analysis.glossary import note_text
    from geo.quality_facilities import facility_data_flags, suspected_duplicates

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


def needs_grdp(config: RegionConfig, types: tuple[str, ...]) -> bool:
    """Whether a type's demand is ``economic_huff`` (it weighs cells by the GRDP per head)."""
    return any(type_demand_spec(config, t).kind == "economic_huff" for t in types)


def type_cell_weights(
    config: RegionConfig, type_name: str, demand: DemandGrid, inputs: Inputs
) -> np.ndarray:
    """The type's demand per cell (people, economic mass or workers; see analysis.type_demand)."""
    spec = type_demand_spec(config, type_name)
    grdp = None
    if spec.kind == "economic_huff":
        if inputs.grdp_per_head is None:
            raise ConfigError(
                f"[population.demand.{type_name}] economic_huff needs the GRDP per head "
                "(population.grdp_field of the province totals), which was not loaded",
                source=config.path,
            )
        table = inputs.grdp_per_head.reindex(inputs.provinces.p63["prov_code"].astype(str))
        per_prov = table.to_numpy(np.float64)
        grdp = np.where(demand.prov63 >= 0, per_prov[np.maximum(demand.prov63, 0)], np.nan)
    return cell_weights(spec, demand.population, grdp_per_head=grdp)


@dataclass(frozen=True)
class _Chain:
    """The state every type of one run shares: config (overrides applied), options, inputs, the
    graph, the demand grid and the cells' access to it."""

    config: RegionConfig
    opts: RunOptions
    inputs: Inputs
    graph: Graph
    demand: DemandGrid
    cell_snap: Snap
    cell_access: Access
    client: Any = None  # a Dask client: catchments on its workers (analysis.remote)


@dataclass(frozen=True)
class _TypeTimes:
    """One type's facilities, their access and travel times, and the cells' demand weights."""

    fac: gpd.GeoDataFrame
    tc: Any
    tt: Any
    access: Access
    weights: np.ndarray


def _type_demand(chain: _Chain, t: _TypeTimes) -> TypeDemandPasses:
    """The passes of the type's demand columns (analysis.type_demand) of its facilities, run
    within the type's own (``analyse_type``)."""
    config, fac, tc = chain.config, t.fac, t.tc
    spec = type_demand_spec(config, tc.name)
    active = (fac["status"].to_numpy() == "operating") & (t.access.snap.edge >= 0)
    area = fac["area_ha"].to_numpy(np.float64) if "area_ha" in fac else None
    size = None
    if spec.size_field:
        if spec.size_field not in fac:
            raise ConfigError(
                f"[population.demand.{tc.name}] size_field: no column '{spec.size_field}' in "
                f"the {tc.name} facilities",
                source=config.path,
            )
        size = pd.to_numeric(fac[spec.size_field], errors="coerce").to_numpy(np.float64)
    return TypeDemandPasses(
        spec,
        t.weights,
        n_fac=t.tt.n_fac,
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
    inputs: Inputs,
    *,
    progress: Callable[[str], None] | None = None,
    client: Any = None,
) -> RunResult:
    """Analyse loaded inputs and return the result (nothing is read or written, no argument
    is changed).

    Parameters
    ----------
    config
        The region configuration (overrides from ``opts`` are applied here).
    opts
        Run options.
    inputs
        The loaded inputs (``pipeline.load_inputs``).
    progress
        Called with the name of each step as it starts.
    client
        A Dask client (``batch.dask_client``): the catchments run in facility blocks on its
        workers (:mod:`analysis.remote`); the result is the single-process one.
    """
    say = progress or (lambda step: None)
    timings: dict[str, float] = {"load_s": float(inputs.load_s)}
    t0 = time.perf_counter()
    config = apply_overrides(config, opts)

    say("network")
    chain = replace(_chain(config, opts, inputs), client=client)
    timings["network_demand_s"] = time.perf_counter() - t0

    facilities = _with_data_flags(inputs.facilities.facilities, config)
    if inputs.capacity is not None:
        facilities = facilities.join(inputs.capacity)
    if opts.remove:
        facilities = facilities[~facilities["facility_id"].isin(opts.remove)]
    analyses: list[TypeAnalysis] = []
    fac_snaps: list[tuple[list[str], Snap]] = []
    t = time.perf_counter()
    for type_name in inputs.types:
        say(f"catchments {type_name}")
        ta, named_snap = _analyse_one_type(chain, facilities, type_name)
        analyses.append(ta)
        fac_snaps.append(named_snap)
        release_freed()  # the type's freed heap, before the next type's passes
    timings["analysis_s"] = time.perf_counter() - t

    t = time.perf_counter()
    say("layers")
    result = _assemble(chain, analyses, fac_snaps)
    timings["layers_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    result.meta = _meta(chain, result.meta, timings, result.layers["facilities"])
    return result


def _chain(config: RegionConfig, opts: RunOptions, inputs: Inputs) -> _Chain:
    """The graph at the run's speeds, the demand grid and the cells' snap onto the roads."""
    net = inputs.network
    graph: Graph = graph_from_edges(
        net.edges, net.node_xy, crs=net.crs, speed_factor=opts.speed_factor
    )
    demand = build_demand(config, inputs)
    cell_snap = snap_points(graph, demand.xy, min_component_km=config.min_component_km)
    cell_access = Access.from_snap(
        cell_snap, access_speed_kmh=config.access_speed_kmh * opts.speed_factor
    )
    return _Chain(config, opts, inputs, graph, demand, cell_snap, cell_access)


def _points_xy(points: gpd.GeoDataFrame, metric_crs: str) -> np.ndarray:
    if not len(points):
        return np.zeros((0, 2))
    metric = points.to_crs(metric_crs).geometry
    return np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])


def _analyse_one_type(
    chain: _Chain, facilities: gpd.GeoDataFrame, type_name: str
) -> tuple[TypeAnalysis, tuple[list[str], Snap]]:
    """One type: snap its facilities (or their member sites), travel times, demand, measures.

    Returns the analysis and the facilities' names per snapped point with their snap."""
    config, opts = chain.config, chain.opts
    tc = config.types[type_name]
    fac = facilities[facilities["type"] == type_name].sort_values("facility_id")
    fac = fac.reset_index(drop=True)
    sites, site_unit = _member_sites(chain.inputs.facilities, fac, type_name, opts.remove)
    points = fac if sites is None else sites
    snap = snap_points(
        chain.graph,
        _points_xy(points, config.metric_crs),
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
    shifts = config.threshold_shifts_min
    limit_min = max(
        max(tc.breaks_min),
        tc.primary_min * max((*config.speed_factors, 1.0)),
        tc.primary_min + max((*shifts, 0.0)),
    )
    if sites is None and chain.client is None:  # facility blocks, never one array of pairs
        tt: Any = kernel_store(chain.graph, fac_access, chain.cell_access, limit_s=limit_min * 60.0)
    elif sites is None:  # blocks solved on the Dask workers, kept as blocks (analysis.remote)
        tt = travel_times_on(
            chain.client, chain.graph, fac_access, chain.cell_access, limit_s=limit_min * 60.0
        )
    else:  # multi-site units: each site snapped on its own, min over members, block by block
        # (on the Dask workers when the run has a client), kept as unit blocks
        tt = unit_store(
            chain.graph,
            fac_access,
            chain.cell_access,
            site_unit=site_unit,
            n_units=len(fac),
            limit_s=limit_min * 60.0,
            client=chain.client,
        )
        fac_access = unit_access(fac_access, site_unit, len(fac))
    weights = type_cell_weights(config, type_name, chain.demand, chain.inputs)
    ta = analyse_type(
        fac,
        tc,
        tt,
        fac_access,
        chain.demand,
        chain.inputs.provinces,
        config,
        weight=weights,
        type_demand=_type_demand(chain, _TypeTimes(fac, tc, tt, fac_access, weights)),
    )
    return ta, (point_names.astype(str).tolist(), snap)


def _assemble(
    chain: _Chain, analyses: list[TypeAnalysis], fac_snaps: list[tuple[list[str], Snap]]
) -> RunResult:
    """The result's layers (analysis.layers) with the road repairs layer."""
    from analysis.glossary import with_vietnamese_text
    from analysis.road_repairs import road_repairs_layer

    inputs, net = chain.inputs, chain.inputs.network
    layer_inputs = {
        "provinces": inputs.provinces,
        "facilities": inputs.facilities,
        "population": inputs.population,
    }
    result = assemble_result(
        analyses, chain.demand, layer_inputs, chain.config, lang=chain.opts.lang
    )
    result.layers["road_repairs"] = road_repairs_layer(
        getattr(net, "repairs", None),
        net.edges["repair_id"].to_numpy() if "repair_id" in net.edges else None,
        cell_snap=chain.cell_snap,
        population=chain.demand.population,
        facility_snaps=fac_snaps,
    )
    result.layers.update(with_vietnamese_text({"road_repairs": result.layers["road_repairs"]}))
    return result


def _meta(
    chain: _Chain, meta: RunMeta, timings: dict[str, float], facilities: pd.DataFrame
) -> RunMeta:
    """The assembled meta with the network, timings, checks, sources and options of the run."""
    from analysis.plausibility import dense_cells_finding

    config, inputs, demand = chain.config, chain.inputs, chain.demand
    off_main = chain.cell_snap.component != 0  # nearest eligible road is not on the largest one
    people = demand.population
    limit = float(config.population.get("max_density_per_km2", 100_000.0))
    dense = dense_cells_finding(people, cell_size_m=config.cell_size_m, max_density_per_km2=limit)
    return replace(
        meta,
        network={
            **component_report(chain.graph),
            "people_off_main_network": round(float(people[off_main].sum()), 1),
            "people_off_main_network_share": round(
                float(people[off_main].sum() / max(people.sum(), 1)), 4
            ),
            "repair": inputs.network.report,
        },
        timings={k: round(v, 3) for k, v in timings.items()},
        capacity_check=demand_throughput_correlation(facilities),
        validation=validation_summary(config, inputs),
        attribution=list(inputs.attribution),
        data_sources=[dict(d) for d in inputs.data_sources],
        data_date=config.data_date,
        data_dir=inputs.data_dir,
        data_origin=inputs.data_origin,
        options={
            k: (list(v) if isinstance(v, tuple) else v) for k, v in chain.opts.__dict__.items()
        },
        demand_findings=[dense] if dense else [],
    )
