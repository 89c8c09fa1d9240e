"""Validation and calibration against real trips, from a read trips table to results.

The analysis behind ``cli.py validate`` and ``cli.py calibrate``: ``pipeline`` reads the trips and
the region's network through ``geo`` (``pipeline.load_trip_inputs``); here the trips' ends are
snapped (:func:`trip_inputs`), then :mod:`analysis.validation` and :mod:`analysis.calibration`
compute. Nothing here reads or writes a file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from analysis.calibration import (
    URBAN_FACTORS,
    Fit,
    SpeedModel,
    fit_loss,
    fit_speeds,
    model_times_s,
    route_terms,
    speed_model,
    speed_table_for,
    stratified_folds,
    subset_ends,
)
from analysis.network import Graph, graph_from_edges
from analysis.validation import (
    DEFAULT_LIMIT_S,
    TripEnds,
    snap_trip_ends,
    summarise_validation,
    trip_times_s,
    unreachable_reasons,
    validation_table,
)
from geo.config import RegionConfig
from geo.errors import InputError
from geo.roads import RoadNetwork
from geo.trips import TripTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TripInputs:
    """A trips table with the region's network and the trips' snapped ends."""

    table: TripTable
    network: RoadNetwork
    edge_key: np.ndarray
    graph: Graph
    ends: TripEnds


@dataclass(frozen=True)
class TripValidation:
    """Per-trip table (:func:`analysis.validation.validation_table`), its summary
    (:func:`analysis.validation.summarise_validation`, plus ``rejected`` rows) and the rejects."""

    table: pd.DataFrame
    summary: dict[str, Any]
    rejects: pd.DataFrame
    source: str


@dataclass(frozen=True)
class Calibration:
    """The fit on all trips, the speed table it gives, and its accuracy.

    ``before``: the configured speeds on all trips; ``in_sample``: the fitted speeds on the trips
    they were fitted to; ``held_back``: each trip predicted by the fit of the other folds (the
    figure to quote). ``folds``: per fold, its trips and fitted speeds.
    """

    fit: Fit
    speed_kmh: dict[str, float]
    before: TripValidation
    in_sample: TripValidation
    held_back: TripValidation
    folds: list[dict[str, Any]] = field(default_factory=list)
    urban_speed_factor: float = 1.0


def trip_inputs(
    table: TripTable,
    network: RoadNetwork,
    *,
    config: RegionConfig,
    edge_key: np.ndarray | None = None,
) -> TripInputs:
    """Snap a read trips table onto an already built network (a run's own network: no second
    load). ``edge_key`` (from :func:`geo.speed_keys.road_network_with_speed_keys`) is needed
    only to calibrate; without it every edge counts as fixed-speed."""
    graph = graph_from_edges(network.edges, network.node_xy, crs=network.crs)
    to_metric = Transformer.from_crs("EPSG:4326", network.crs, always_xy=True)
    t = table.trips
    ox, oy = to_metric.transform(t["origin_lon"].to_numpy(), t["origin_lat"].to_numpy())
    dx, dy = to_metric.transform(t["dest_lon"].to_numpy(), t["dest_lat"].to_numpy())
    ends = snap_trip_ends(
        graph,
        np.column_stack([ox, oy]),
        np.column_stack([dx, dy]),
        t["dest_is_facility"].to_numpy(bool),
        min_component_km=config.min_component_km,
        max_facility_access_km=config.max_facility_access_km,
        origin_is_facility=t["origin_is_facility"].to_numpy(bool),
    )
    keys = edge_key if edge_key is not None else np.full(len(network.edges), "", dtype=object)
    return TripInputs(table=table, network=network, edge_key=keys, graph=graph, ends=ends)


def _validation(
    inputs: TripInputs, time_s: np.ndarray, mask: np.ndarray | None = None
) -> TripValidation:
    trips = inputs.table.trips
    ends = inputs.ends
    if mask is not None:
        trips = trips.loc[mask].reset_index(drop=True)
        ends = subset_ends(ends, mask)
    reasons = unreachable_reasons(ends, time_s, limit_s=DEFAULT_LIMIT_S)
    table = validation_table(trips, time_s, reasons)
    rejects = inputs.table.issues.rejects_frame()
    summary = {**summarise_validation(table), "rejected": len(rejects)}
    return TripValidation(table, summary, rejects, inputs.table.source)


def validate_loaded(inputs: TripInputs, config: RegionConfig) -> TripValidation:
    """Validate loaded trips with the region's configured speeds."""
    time_s = trip_times_s(inputs.graph, inputs.ends, access_speed_kmh=config.access_speed_kmh)
    return _validation(inputs, time_s)


def summary_for_table(
    table: TripTable, *, config: RegionConfig, network: RoadNetwork
) -> dict[str, Any]:
    """Headline validation figures of a read trips table on a built network (a run's own
    network: exactly the run's roads): ``trips``, ``reachable``, ``unreachable``,
    ``median_abs_error`` (share), ``within_tolerance_share``, ``within_tolerance``,
    ``rejected``, ``median_model_min``, ``median_stated_min``, ``source``."""
    v = validate_loaded(trip_inputs(table, network, config=config), config)
    return {**v.summary, "source": v.source}


def _speed_model(inputs: TripInputs, config: RegionConfig) -> SpeedModel:
    return speed_model(
        inputs.edge_key, inputs.network.edges["speed_kmh"].to_numpy(), config.roads.speed_kmh
    )


def _fit(inputs: TripInputs, model: SpeedModel, config: RegionConfig, mask: np.ndarray) -> Fit:
    t = inputs.table.trips.loc[mask]
    mid = (t["minutes_low"].to_numpy() + t["minutes_high"].to_numpy()) / 2.0
    net = inputs.network
    return fit_speeds(
        net.edges,
        net.node_xy,
        subset_ends(inputs.ends, mask),
        model,
        mid,
        crs=net.crs,
        access_speed_kmh=config.access_speed_kmh,
        # routes longer than three times the longest stated trip are of no use to the fit; the
        # bound keeps each Dijkstra local on a national full-OSM graph
        limit_s=min(DEFAULT_LIMIT_S, 3 * 60 * float(t["minutes_high"].max()) + 3600),
    )


def calibrate_loaded(
    inputs: TripInputs, config: RegionConfig, *, k: int = 5, seed: int = 0
) -> Calibration:
    """Fit the speeds on all trips and measure the error on held-back folds.

    Parameters
    ----------
    inputs
        From :func:`trip_inputs` (``pipeline.load_trip_inputs`` reads the files).
    config
        Region configuration (its speeds are the starting point and the ``before`` figures).
    k
        Folds (at most the number of trips; at least 2).
    seed
        Seed of the fold shuffle (fixed: the same file gives the same folds).
    """
    trips = inputs.table.trips
    n = len(trips)
    if n < 2:
        raise InputError(
            f"a calibration needs at least 2 usable trips (cross-validated), the file has {n}",
            source=inputs.table.source,
        )
    k = max(2, min(k, n))
    strata = trips["region6_code"].to_numpy() if "region6_code" in trips else np.zeros(n)
    fold = stratified_folds(strata, k=k, seed=seed)
    held = np.full(n, np.inf)
    folds = []
    for f in range(k):
        test = fold == f
        uf, inp_f, model_f, fit_f = _best_urban_fit(inputs, config, ~test)
        net_f = inp_f.network
        held[test] = model_times_s(
            net_f.edges, net_f.node_xy, subset_ends(inp_f.ends, test), model_f, fit_f, crs=net_f.crs
        )
        folds.append(
            {"fold": f, "trips": int(test.sum()), **fit_summary(fit_f), "urban_speed_factor": uf}
        )
    everything = np.ones(n, bool)
    uf, inp, model, fit = _best_urban_fit(inputs, config, everything)
    net = inp.network
    fitted = model_times_s(net.edges, net.node_xy, inp.ends, model, fit, crs=net.crs)
    return Calibration(
        fit=fit,
        speed_kmh=speed_table_for(model, fit.lead_kmh, config.roads.speed_kmh),
        before=validate_loaded(inputs, config),
        in_sample=_validation(inputs, fitted),
        held_back=_validation(inputs, held),
        folds=folds,
        urban_speed_factor=uf,
    )


def _with_urban_factor(
    inputs: TripInputs, config: RegionConfig, factor: float
) -> tuple[TripInputs, RegionConfig]:
    """The inputs with the urban edges (:mod:`geo.urban`) at another speed factor."""
    now = float(config.roads.urban_speed_factor)
    net = inputs.network
    if factor == now or "urban" not in net.edges:
        return inputs, config
    urban = net.edges["urban"].to_numpy(bool)
    speed = net.edges["speed_kmh"].to_numpy(np.float64)
    edges = net.edges.assign(speed_kmh=np.where(urban, speed * factor / now, speed))
    net2 = replace(net, edges=edges)
    graph = graph_from_edges(edges, net2.node_xy, crs=net2.crs)
    cfg = replace(config, roads=replace(config.roads, urban_speed_factor=factor))
    return replace(inputs, network=net2, graph=graph), cfg


def _best_urban_fit(
    inputs: TripInputs, config: RegionConfig, mask: np.ndarray
) -> tuple[float, TripInputs, SpeedModel, Fit]:
    """Fit the speeds at each urban factor of :data:`analysis.calibration.URBAN_FACTORS` (only
    the configured one when no edge is urban) and keep the factor whose fit has the lowest loss
    on the fitted trips (``mask``): the factor is chosen without the held-back trips."""
    has_urban = "urban" in inputs.network.edges and bool(inputs.network.edges["urban"].any())
    factors = URBAN_FACTORS if has_urban else (float(config.roads.urban_speed_factor),)
    t = inputs.table.trips.loc[mask]
    mid = (t["minutes_low"].to_numpy() + t["minutes_high"].to_numpy()) / 2.0
    best: tuple[float, float, TripInputs, SpeedModel, Fit] | None = None
    for uf in factors:
        inp, cfg = _with_urban_factor(inputs, config, uf)
        model = _speed_model(inp, cfg)
        fit = _fit(inp, model, cfg, mask)
        net = inp.network
        t_s = model_times_s(
            net.edges, net.node_xy, subset_ends(inp.ends, mask), model, fit, crs=net.crs
        )
        loss = fit_loss(t_s / 60.0, mid)
        if best is None or loss < best[0]:
            best = (loss, uf, inp, model, fit)
    assert best is not None
    return best[1], best[2], best[3], best[4]


def route_split(inputs: TripInputs, config: RegionConfig) -> pd.DataFrame:
    """Where each trip's time goes with the configured speeds: minutes on each speed group's
    roads (``min_<group>``), on fixed-speed roads (``min_fixed``: maxspeed tags, connectors)
    and the access distance (``access_km``); NaN for a trip with no route. Says which road
    classes a trip rests on, e.g. a long trunk-road detour where an expressway is missing."""
    model = _speed_model(inputs, config)
    terms = route_terms(inputs.graph, inputs.ends, model, model.lead_kmh, limit_s=DEFAULT_LIMIT_S)
    out = pd.DataFrame({"trip_row": inputs.table.trips["trip_row"].to_numpy()})
    reach = terms.reachable
    for j, g in enumerate(model.groups):
        out[f"min_{g.name}"] = np.where(reach, terms.group_base_s[:, j] / 60, np.nan).round(1)
    out["min_fixed"] = np.where(reach, terms.fixed_s / 60, np.nan).round(1)
    out["access_km"] = np.where(reach, terms.access_m / 1000, np.nan).round(2)
    return out


def fit_summary(fit: Fit) -> dict[str, Any]:
    """A fit as plain values: lead speed per group (km/h), access speed, bounds hit."""
    speeds = {
        g.name: round(float(v), 1) if ok else None
        for g, v, ok in zip(fit.groups, fit.lead_kmh, fit.identified[:-1], strict=True)
    }
    return {
        "speeds_kmh": speeds,
        "access_speed_kmh": round(fit.access_speed_kmh, 1),
        "at_bound": list(fit.at_bound),
        "trips_used": fit.trips_used,
    }
