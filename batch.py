"""Batch runs: many scenarios of one region read from a TOML file, run as tasks on Dask.

The top floor beside ``cli.py`` and ``pipeline.py``: :mod:`batch_spec` reads the scenario file
and hashes the inputs; this module runs each scenario through :mod:`pipeline` (load, analyse,
describe quality, write), so a scenario's report is the report of ``cli run`` with the same
options. The plain
contracts (:class:`analysis.scenarios.BatchRun`, its outcomes) live in ``analysis`` for the
report writer.

A scenario file has ``[defaults]`` (any :class:`analysis.run.RunOptions` field, plus ``region``,
``config``, ``provinces`` and ``region6``), a list of ``[[scenario]]`` tables (``name`` and any
override) and an optional ``[report]`` naming ``baseline`` and ``compare``. See
``data/scenarios_vietnam.toml``.

Each scenario's result lives in ``OUT/scenarios/<name>-<hash12>/``, the hash being the SHA-256 of
its normalised parameters, its region configuration and the hashes of every input file. The
writer puts ``manifest.json`` in place last (the folder is renamed into place whole), so a folder
holding it is finished: a re-run skips it and an interrupted batch continues with the rest.

The road network, the province layers and the population layer do not depend on the facilities,
thresholds or speeds, so they are built once per distinct *input key* (region config, data folder,
roads file, open statuses, second-layer merge, population file) in one Dask task, and every
scenario task with that key takes that task's result as an argument: Dask moves it to each worker
once instead of each scenario rebuilding it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import pipeline
from analysis.inputs import Inputs, SharedInputs
from analysis.run import RunOptions
from analysis.scenarios import BatchRun, BatchSpec, ScenarioOutcome, Status
from batch_spec import FileHasher, ScenarioJob, prepare_job, read_scenarios
from geo.config import RegionConfig
from geo.errors import InfraOverlapError, InputError
from geo.netcheck import preflight_dask

log = logging.getLogger(__name__)

__all__ = ["dask_client", "load_shared_inputs", "read_scenarios", "run_batch", "run_scenario"]


# --------------------------------------------------------------------------- worker tasks


def load_shared_inputs(config: RegionConfig, opts: RunOptions, data_dir: Path) -> SharedInputs:
    """The facility-independent inputs (provinces, road network, population): a Dask task."""
    return pipeline.load_shared(config, opts, data_dir)


def _subset(inputs: Inputs, job: ScenarioJob) -> Inputs:
    """Keep the facilities and the demand (population polygons) of the chosen provinces only."""
    xw = inputs.provinces.crosswalk.astype(str)
    ed = job.opts.edition or job.config.edition
    col = f"prov{ed}_code"
    for key, values, column in (
        ("provinces", job.provinces, col),
        ("region6", job.region6, "region6_code"),
    ):
        known = sorted(set(xw[column]))
        if set(values) - set(known):
            msg = f"unknown code(s) {sorted(set(values) - set(known))} (edition {ed}); known: {', '.join(known)}"
            raise InputError(msg, source=f"{job.spec_path}, scenario '{job.name}'", field=key)
    codes63 = set(
        xw.loc[xw[col].isin(job.provinces) | xw["region6_code"].isin(job.region6), "prov63_code"]
    )
    load, pop = inputs.facilities, inputs.population
    fac = load.facilities[load.facilities["prov63_code"].astype(str).isin(codes63)]
    polys = pop.polygons[pop.polygons["prov63_code"].astype(str).isin(codes63)]
    label = ", ".join([*job.region6, *job.provinces])
    pop = replace(
        pop,
        polygons=polys,
        total=float(polys["population"].sum()),
        description=f"{pop.description} Restricted to {label}.",
    )
    return replace(
        inputs,
        shared=replace(inputs.shared, population=pop),
        facilities=replace(load, facilities=fac.reset_index(drop=True)),
    )


def _check_removals(job: ScenarioJob, inputs: Inputs) -> None:
    """Every ``remove`` id names a loaded facility or a member site (terminal) of one."""
    load = inputs.facilities
    known = set(load.facilities["facility_id"])
    if load.sites is not None:  # a member site (terminal) of an official unit can go too
        known |= set(load.sites["site_id"])
    missing = sorted(set(job.opts.remove) - known)
    if missing:
        msg = (
            f"facility_id(s) {missing} not loaded (ids are in tables/facilities.csv of a "
            "run, terminals' site_id in tables/terminals.csv)"
        )
        raise InputError(msg, source=f"{job.spec_path}, scenario '{job.name}'", field="remove")


def _run_job(job: ScenarioJob, shared: SharedInputs | None) -> tuple[dict[str, float], float]:
    """Load (sharing ``shared``), analyse, describe quality and write one scenario through
    :mod:`pipeline`; returns the run's timings and the shared layers' load time."""
    from geo.datasets import DataDir

    o, config = job.opts, job.config
    shared = shared if shared is not None else pipeline.load_shared(config, o, job.data_dir)
    cfg = pipeline.apply_overrides(config, o)
    inputs = pipeline.load_inputs(cfg, o, DataDir(job.data_dir, job.data_origin), shared=shared)
    _check_removals(job, inputs)
    if job.provinces or job.region6:
        inputs = _subset(inputs, job)
    result = pipeline.analyse(config, o, inputs)
    result.quality = pipeline.describe_quality(config, o, inputs, result)
    scenario = {
        "name": job.name,
        "description": job.description,
        "hash": job.digest,
        "scenario_file": job.spec_path,
        "parameters": job.params,
    }
    pipeline.write(result, job.folder, config=config, opts=o, overwrite=True, scenario=scenario)
    return dict(result.meta.timings), shared.load_s


def run_scenario(job: ScenarioJob, shared: SharedInputs | None) -> ScenarioOutcome:
    """Run one scenario on a worker and write its folder; errors become a failed outcome.

    Parameters
    ----------
    job
        The prepared scenario.
    shared
        :func:`load_shared_inputs` of the job's input key (None: build them here).
    """
    t0 = time.perf_counter()
    out = ScenarioOutcome(job.name, Status.DONE, hash=job.digest, folder=str(job.folder))
    try:
        timings, load_s = _run_job(job, shared)
        out = replace(out, timings=timings, shared_load_s=load_s)
    except InfraOverlapError as exc:
        out = replace(out, status=Status.FAILED, error=str(exc))
    except Exception as exc:  # an internal error must not stop the other scenarios
        out = replace(
            out,
            status=Status.FAILED,
            error=f"internal error: {type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )
    return replace(out, seconds=round(time.perf_counter() - t0, 2))


# --------------------------------------------------------------------------- the client side


@contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    connect_timeout_s: float = 5.0,
    verbose: bool = False,
) -> Iterator[Any]:
    """A Dask client: to ``scheduler`` (``tcp://HOST:8786``), else a machine-sized ``LocalCluster``.

    A ``scheduler`` is checked first (geo.netcheck.preflight_dask, ``connect_timeout_s``): a
    closed port, a silent server or one that is not Dask is a user error within seconds.
    Without ``verbose`` the local cluster's processes log only critical errors (no tracebacks of
    heartbeats after an interrupt or a failed scenario).

    The local cluster has ``n_workers`` processes (default: the CPU count) of one thread each,
    since every task is a whole single-threaded run.
    """
    from distributed import Client, LocalCluster

    # Dask's own INFO lines (workers starting, comms) would drown the per-scenario log
    logging.getLogger("distributed").setLevel(
        max(logging.WARNING, logging.getLogger().level) if verbose else logging.CRITICAL
    )
    if scheduler:
        preflight_dask(scheduler, timeout_s=connect_timeout_s)  # seconds, not a hang
        try:
            client = Client(scheduler, timeout=f"{max(connect_timeout_s * 2, 5):g}s")
        except (OSError, TimeoutError) as exc:
            how = "start one with `dask scheduler` + `dask worker ADDR`, or omit --scheduler"
            raise InputError(
                f"cannot reach the Dask scheduler ({exc}); {how}",
                source=scheduler,
                field="--scheduler",
            ) from None
        with client:
            yield client
        return
    n = n_workers or os.cpu_count() or 1
    # worker processes start with Ctrl-C ignored (a spawned process inherits it), so that an
    # interrupt reaches only this process: one line, exit 130, no traceback from each worker
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
            scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR if verbose else logging.CRITICAL,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    with cluster, Client(cluster) as client:
        yield client


def _finished(job: ScenarioJob, fut: Any) -> ScenarioOutcome:
    """The outcome of a future; an exception (shared-input task, lost worker) is a failure."""
    try:
        res: ScenarioOutcome = fut.result()
    except Exception as exc:
        msg = str(exc) if isinstance(exc, InfraOverlapError) else f"{type(exc).__name__}: {exc}"
        res = ScenarioOutcome(job.name, Status.FAILED, hash=job.digest, folder=str(job.folder), error=msg)  # fmt: skip
    if res.status is Status.DONE:
        log.info("scenario %s: done in %.1f s (%s)", job.name, res.seconds, job.folder.name)
    else:
        log.error("scenario %s: FAILED after %.1f s: %s", job.name, res.seconds, res.error)
        log.debug("%s", res.traceback)
    return res


def _prepare(spec: BatchSpec, out: Path) -> tuple[list[ScenarioJob], dict[str, ScenarioOutcome]]:
    """The jobs to run, and the outcomes of scenarios that failed to prepare or were finished
    by an earlier invocation (skipped)."""
    hasher = FileHasher()
    outcomes: dict[str, ScenarioOutcome] = {}
    jobs: list[ScenarioJob] = []
    for sc in spec.scenarios:
        try:
            job = prepare_job(sc, spec, out, hasher)
        except InfraOverlapError as exc:
            outcomes[sc.name] = ScenarioOutcome(sc.name, Status.FAILED, error=str(exc))
            log.error("scenario %s: FAILED before running: %s", sc.name, exc)
            continue
        if not (job.folder / "manifest.json").is_file():
            jobs.append(job)
            continue
        outcomes[sc.name] = ScenarioOutcome(
            sc.name, Status.SKIPPED, hash=job.digest, folder=str(job.folder)
        )
        log.info("scenario %s: finished earlier, skipped (%s)", sc.name, job.folder.name)
    return jobs, outcomes


def run_batch(
    spec: BatchSpec,
    *,
    client: Any,
    out_dir: str | Path,
    share_inputs: bool = True,
    progress_bar: bool = False,
) -> BatchRun:
    """Run every unfinished scenario of ``spec`` on ``client``; finished folders are skipped.

    Parameters
    ----------
    spec
        From :func:`read_scenarios`.
    client
        A ``distributed.Client``.
    out_dir
        The batch folder; scenarios go to ``out_dir/scenarios/<name>-<hash12>/``.
    share_inputs
        Build the facility-independent inputs once per input key (False: in every scenario,
        for measuring what sharing saves).
    progress_bar
        Show a tqdm bar over scenarios (the caller decides: a terminal, not ``-q``, not CI).

    Returns
    -------
    BatchRun
        Outcomes in file order, :class:`analysis.scenarios.Status` done, skipped or failed.
    """
    from distributed import as_completed
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    jobs, outcomes = _prepare(spec, out)
    shared: dict[str, Any] = {}
    users: dict[str, list[str]] = {}
    for job in jobs:
        users.setdefault(job.input_key, []).append(job.name)
        if share_inputs and job.input_key not in shared:
            key = f"shared-inputs-{job.input_key[:12]}"
            shared[job.input_key] = client.submit(
                load_shared_inputs, job.config, job.opts, job.data_dir, key=key, pure=False
            )
    futures = {
        client.submit(run_scenario, job, shared.get(job.input_key), key=f"scenario-{job.name}-{job.digest[:12]}", pure=False): job
        for job in jobs
    }  # fmt: skip
    n = len(spec.scenarios)
    bar = tqdm(total=n, initial=n - len(jobs), unit="scenario", disable=not progress_bar)
    quiet_bar = (
        logging_redirect_tqdm(loggers=[logging.getLogger()]) if progress_bar else nullcontext()
    )
    try:
        with quiet_bar:
            for fut in as_completed(futures):
                job = futures[fut]
                outcomes[job.name] = _finished(job, fut)
                bar.update(1)
    except KeyboardInterrupt:  # finished folders stay; the next invocation continues from there
        client.cancel([*futures, *shared.values()])
        raise
    finally:
        bar.close()
    info = {}
    for key, names in users.items():
        loads = [outcomes[x].shared_load_s for x in names]
        info[key] = {"scenarios": names, "load_s": max(loads, default=0.0), "shared": share_inputs}
    workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    done = [outcomes[s.name] for s in spec.scenarios]
    return BatchRun(spec, out, done, info, time.perf_counter() - t0, workers)
