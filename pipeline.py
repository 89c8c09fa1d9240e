"""The one pipeline: load -> analyse -> describe quality -> write.

The top floor beside ``cli.py`` and ``batch.py``: ``cli run``, ``cli check``, ``cli validate``,
``cli calibrate`` and every batch scenario go through these functions, so they load the same
way and their reports say the same things. The layers below keep to their floor: ``geo`` reads
files, ``analysis`` computes on loaded data (no file I/O), ``maps`` writes.

For a notebook, :func:`run` is the whole chain without writing::

    from geo.config import load_region_config
    from geo.datasets import resolve_data_dir
    import pipeline

    config = load_region_config(region="vietnam")
    result = pipeline.run(config, pipeline.RunOptions(types=("airport",)),
                          source=resolve_data_dir(None, region=config.name))
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.inputs import Inputs, SharedInputs
from analysis.results import RunResult
from analysis.run import RunOptions, apply_overrides, needs_grdp, run_region
from geo.config import RegionConfig
from geo.errors import InfraOverlapError

if TYPE_CHECKING:
    import pandas as pd

    from analysis.trips_run import Calibration, TripInputs, TripValidation
    from geo.datasets import DataDir
    from geo.facilities import FacilityLoad
    from geo.quality import QualityReport
    from geo.schema import Issues
    from geo.trips import TripTable

log = logging.getLogger("infra_overlap")

Progress = Callable[[str], None]

__all__ = [
    "Inputs",
    "RunOptions",
    "RunResult",
    "SharedInputs",
    "analyse",
    "apply_overrides",
    "calibrate_trips",
    "describe_quality",
    "load_facilities",
    "load_inputs",
    "load_shared",
    "load_trip_inputs",
    "run",
    "trips_summary",
    "validate_trips",
    "write",
]


def _quiet(_step: str) -> None:
    return None


# --------------------------------------------------------------------------- load


def load_shared(
    config: RegionConfig,
    opts: RunOptions,
    data_dir: Path,
    *,
    facilities: Any = None,
) -> SharedInputs:
    """The facility-independent layers: provinces, road network (``opts.roads`` or the config's
    layer) and population (``opts.population`` raster or the config's layer).

    ``facilities`` (a run's loaded facilities): those farther from every road than the access
    limit get a listed connector (``geo.point_connectors``); a batch shares one network between
    scenarios and builds it without them."""
    from geo.point_connectors import facilities_to_connect
    from geo.population import population_from_config, population_from_raster
    from geo.provinces import load_provinces
    from geo.roads import road_network_for_region

    t = time.perf_counter()
    provinces = load_provinces(data_dir, config)
    pop = opts.population
    population = (
        population_from_raster(pop, bbox=config.bbox)
        if pop
        else population_from_config(data_dir, config)
    )
    points = (
        []
        if facilities is None
        else facilities_to_connect(
            facilities,
            min_gap_m=config.roads.facility_connector_min_m or config.max_facility_access_km * 1000,
        )
    )
    network = road_network_for_region(data_dir, config, roads_file=opts.roads, points=points)
    return SharedInputs(provinces, network, population, round(time.perf_counter() - t, 3))


def load_facilities(
    config: RegionConfig, opts: RunOptions, data_dir: Path, *, add: bool = True
) -> FacilityLoad:
    """The run's facilities (``opts.facilities`` replacing or added to the region's, ``--add``
    rows), with rejects and repairs. ``add=False`` leaves out the planned ``--add`` rows."""
    from geo.facilities import load_region_facilities

    return load_region_facilities(
        data_dir,
        config,
        types=opts.types or tuple(config.types),
        extra_files=opts.facilities,
        keep_default=opts.keep_default_facilities or not opts.facilities,
        encoding=opts.encoding,
        add=opts.add if add else (),
        crs=opts.crs,
    )


def _capacity(fac: pd.DataFrame, data_dir: Path) -> tuple[pd.DataFrame, Issues] | None:
    """Throughput and design capacity of the facilities (data/capacity, keyed by official name)
    and the issues of the capacity tables; None when the data folder has no official lists to
    check the tables against."""
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


def _trips(config: RegionConfig, shared: SharedInputs) -> TripTable | None:
    """The region's real trips (``[validation] trips_file``); a bad table is a warning, since it
    must not stop the run."""
    from geo.trips import read_trips

    if not config.validation_trips or not Path(config.validation_trips).is_file():
        return None
    try:
        return read_trips(config.validation_trips, config=config, provinces=shared.provinces)
    except InfraOverlapError as exc:
        log.warning("warning: validation against real trips skipped: %s", exc)
        return None


def load_inputs(
    config: RegionConfig,
    opts: RunOptions,
    source: DataDir,
    *,
    shared: SharedInputs | None = None,
) -> Inputs:
    """Read every input of a run through ``geo``.

    Parameters
    ----------
    config
        The region configuration with ``opts``' overrides applied (:func:`apply_overrides`).
    opts
        Run options.
    source
        The resolved data folder (``geo.datasets.resolve_data_dir``).
    shared
        Already loaded facility-independent layers (a batch shares them between scenarios).
    """
    from geo.datasets import attribution_lines, data_attribution
    from geo.population import province_grdp_per_head

    t0 = time.perf_counter()
    data_dir = source.path
    fac = load_facilities(config, opts, data_dir)
    fac.require_usable()  # no facility or too many: say so before the network build
    shared = (
        shared
        if shared is not None
        else load_shared(config, opts, data_dir, facilities=fac.facilities)
    )
    capacity = _capacity(fac.facilities, data_dir)
    if capacity is not None:
        fac.issues.extend(capacity[1])
    types = opts.types or tuple(config.types)
    sources = tuple(
        {
            "layer": d.get("file", ""),
            "source": d.get("source", ""),
            "licence": d.get("licence", ""),
            "attribution": d.get("attribution", ""),
        }
        for d in data_attribution(data_dir)
    )
    return Inputs(
        shared=shared,
        facilities=fac,
        types=types,
        capacity=None if capacity is None else capacity[0],
        grdp_per_head=province_grdp_per_head(data_dir, config)
        if needs_grdp(config, types)
        else None,
        trips=_trips(config, shared),
        attribution=tuple(attribution_lines(data_dir)),
        data_sources=sources,
        data_dir=str(data_dir),
        data_origin=source.origin,
        load_s=round(time.perf_counter() - t0 + (shared.load_s if shared else 0.0), 3),
    )


# --------------------------------------------------------------------------- analyse, quality


def analyse(
    config: RegionConfig,
    opts: RunOptions,
    inputs: Inputs,
    *,
    progress: Progress | None = None,
    client: Any = None,
) -> RunResult:
    """The analysis of loaded inputs (:func:`analysis.run.run_region`; no file is touched);
    with a Dask ``client`` the catchments run on its workers."""
    return run_region(config, opts, inputs, progress=progress, client=client)


def describe_quality(
    config: RegionConfig, opts: RunOptions, inputs: Inputs, result: RunResult
) -> QualityReport:
    """The data-quality report of the run's inputs (``geo.quality``) with the analysis' own
    findings on the demand grid; each of those is also logged as a warning."""
    from geo.quality import region_quality

    q = region_quality(
        inputs.data_dir,
        apply_overrides(config, opts),
        load=inputs.facilities,
        network=inputs.network,
        provinces=inputs.provinces,
        # the config's population layer only (a --population raster is not what the census reads)
        population=None if opts.population else inputs.population,
        roads_file=opts.roads,
    )
    extra = list(result.meta.demand_findings[:1])
    for line in extra:
        log.warning("warning: %s", line)
    return replace(q, findings=[*q.findings, *extra])


def run(
    config: RegionConfig,
    opts: RunOptions,
    *,
    source: DataDir,
    progress: Progress | None = None,
    shared: SharedInputs | None = None,
    client: Any = None,
) -> RunResult:
    """The whole chain without writing: load, analyse, describe the data quality. With a Dask
    ``client`` (``batch.dask_client``: a scheduler or a LocalCluster, opened and closed by the
    caller) the catchments run in facility blocks on its workers; the result is the same.

    Returns
    -------
    RunResult
        With ``quality`` set (the report's data-quality section).
    """
    say = progress or _quiet
    cfg = apply_overrides(config, opts)  # unknown types or bad breaks fail before any loading
    say("load")
    inputs = load_inputs(cfg, opts, source, shared=shared)
    result = analyse(config, opts, inputs, progress=say, client=client)
    say("data quality")
    result.quality = describe_quality(config, opts, inputs, result)
    return result


# --------------------------------------------------------------------------- write


def write(
    result: RunResult,
    out_dir: Path,
    *,
    config: RegionConfig,
    opts: RunOptions,
    overwrite: bool = False,
    scenario: Mapping[str, object] | None = None,
    progress: Progress | None = None,
) -> None:
    """Write the run's outputs (``maps``): map, report, GeoPackage, QGIS project, tables and the
    manifest (with the ``scenario`` block of a batch scenario)."""
    from maps.manifest import build_manifest
    from maps.outputs import write_outputs

    manifest = build_manifest(
        result,
        config=config,
        opts=opts,
        data_dir=Path(result.meta.data_dir),
        data_origin=result.meta.data_origin,
    )
    if scenario is not None:
        manifest["scenario"] = dict(scenario)
    write_outputs(
        result, out_dir, overwrite=overwrite, lang=opts.lang, manifest=manifest, say=progress
    )


# --------------------------------------------------------------------------- real trips


def load_trip_inputs(
    trips_path: str | Path,
    *,
    config: RegionConfig,
    data_dir: str | Path,
    roads_file: str | Path | None = None,
) -> TripInputs:
    """Read the trips (rows checked, origins tagged with their region) and the road network
    (with the speed-table key of every edge, for the calibration), and snap the trips' ends as
    the analysis snaps facilities and cells."""
    from analysis.trips_run import trip_inputs
    from geo.provinces import load_provinces
    from geo.speed_keys import road_network_with_speed_keys
    from geo.trips import read_trips

    provinces = load_provinces(Path(data_dir), config)
    table = read_trips(trips_path, config=config, provinces=provinces)
    net, keys = road_network_with_speed_keys(data_dir, config, roads_file=roads_file)
    return trip_inputs(table, net, config=config, edge_key=keys)


def validate_trips(
    trips_path: str | Path,
    *,
    config: RegionConfig,
    data_dir: str | Path,
    roads_file: str | Path | None = None,
) -> TripValidation:
    """The model's drive time for every trip of a file against its stated range
    (``cli.py validate``); ``roads_file`` replaces the region's road layer as ``run --roads``."""
    from analysis.trips_run import validate_loaded

    inputs = load_trip_inputs(trips_path, config=config, data_dir=data_dir, roads_file=roads_file)
    return validate_loaded(inputs, config)


def trips_summary(
    trips_path: str | Path,
    *,
    config: RegionConfig,
    data_dir: str | Path,
    roads_file: str | Path | None = None,
) -> dict[str, Any]:
    """Headline validation figures of a trips file (for ``check``): ``trips``, ``reachable``,
    ``unreachable``, ``median_abs_error`` (share), ``within_tolerance_share``, ``rejected``,
    ``source`` and more (:func:`analysis.validation.summarise_validation`)."""
    v = validate_trips(trips_path, config=config, data_dir=data_dir, roads_file=roads_file)
    return {**v.summary, "source": v.source}


def calibrate_trips(
    trips_path: str | Path,
    *,
    config: RegionConfig,
    data_dir: str | Path,
    roads_file: str | Path | None = None,
    folds: tuple[int, int] = (5, 0),
) -> Calibration:
    """Read a trips file and the network, then fit the speeds (``cli.py calibrate``);
    ``folds`` is (k, seed) of the cross-validation."""
    from analysis.trips_run import calibrate_loaded

    inputs = load_trip_inputs(trips_path, config=config, data_dir=data_dir, roads_file=roads_file)
    return calibrate_loaded(inputs, config, k=folds[0], seed=folds[1])
