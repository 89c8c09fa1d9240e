"""Batch runs: many scenarios of one region read from a TOML file, run as tasks on Dask.

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
once instead of each scenario rebuilding it. Writing outputs is the caller's ``writer`` (a ``maps``
function), so that ``analysis`` stays free of file formats.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from analysis.run import RunOptions, run_region
from geo.config import RegionConfig, load_region_config
from geo.config_schema import ScenarioFile, ScenarioParams
from geo.errors import ConfigError, InfraOverlapError, InputError
from geo.netcheck import preflight_dask
from geo.validation import validate_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

PATH_KEYS = ("data", "roads", "population", "config")
REPORT_KEYS = ("baseline", "compare")


@dataclass(frozen=True)
class Scenario:
    """One scenario as written in the file (paths made absolute, keys validated)."""

    name: str
    params: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class BatchSpec:
    """A parsed scenario file."""

    path: Path
    scenarios: tuple[Scenario, ...]
    baseline: str
    compare: str


@dataclass(frozen=True)
class ScenarioJob:
    """Everything a worker needs to run one scenario (picklable)."""

    name: str
    description: str
    digest: str
    folder: Path
    config: RegionConfig
    opts: RunOptions
    data_dir: Path
    data_origin: str
    provinces: tuple[str, ...]
    region6: tuple[str, ...]
    input_key: str
    params: dict[str, Any]
    spec_path: str


@dataclass
class BatchRun:
    """What happened: one outcome dict per scenario (file order) and the shared inputs."""

    spec: BatchSpec
    out_dir: Path
    outcomes: list[dict[str, Any]]
    shared: dict[str, dict[str, Any]] = field(default_factory=dict)
    wall_s: float = 0.0
    workers: int = 0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if o["status"] == "failed"]


# --------------------------------------------------------------------------- reading the file


def _normalised(params: ScenarioParams, base: Path) -> dict[str, Any]:
    """One validated table as run parameters: paths absolute (relative to the file), lists as
    tuples, province codes two digits and sorted, breaks sorted."""
    out: dict[str, Any] = {}
    for key, value in params.model_dump(exclude_none=True, exclude={"name"}).items():
        if key in PATH_KEYS:
            value = str((base / Path(value).expanduser()).resolve())
        elif key == "facilities":
            value = tuple(str((base / Path(v).expanduser()).resolve()) for v in value)
        elif key == "provinces":
            value = tuple(sorted({c.zfill(2) for c in value}))
        elif key == "breaks_min":
            value = {t: tuple(sorted(set(v))) for t, v in value.items()}
        elif isinstance(value, list):
            value = tuple(value)
        out[key] = value
    return out


def read_scenarios(path: str | Path) -> BatchSpec:
    """Read and validate a scenario file (geo.config_schema.ScenarioFile).

    Parameters
    ----------
    path
        The TOML file. Relative paths inside it are relative to its folder.

    Returns
    -------
    BatchSpec

    Raises
    ------
    ConfigError
        Naming the file, the scenario and the key: unknown keys (listing the allowed ones), wrong
        value types, duplicate or missing names, a province subset with a population raster.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError("scenario file not found", source=str(p))
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(p)) from None
    base = p.resolve().parent

    def bad(msg: str, key: str | None = None) -> ConfigError:
        return ConfigError(msg, source=str(p), field=key)

    if not doc.get("scenario"):
        raise bad("no scenarios: add at least one [[scenario]] table with a name")
    spec = validate_file(ScenarioFile, doc, source=str(p))
    defaults = _normalised(spec.defaults, base)
    scenarios: list[Scenario] = []
    for item in spec.scenario:
        where = f"scenario '{item.name}'"
        if any(s.name == item.name for s in scenarios):
            raise bad(f"{where}: the name is used twice; names must be unique", "name")
        own = _normalised(item, base)
        params = {**defaults, **own}
        for k in ("breaks_min", "primary_min"):  # per-type tables merge with the defaults' ones
            if k in defaults and k in own:
                params[k] = {**defaults[k], **own[k]}
        if (params.get("provinces") or params.get("region6")) and params.get("population"):
            msg = "a province or region subset needs the polygon demand, not a population raster"
            raise bad(f"{where}: {msg}; drop 'population' or the subset", "provinces")
        scenarios.append(Scenario(item.name, params, str(params.pop("description", ""))))
    names = [s.name for s in scenarios]
    picks = [
        spec.report.baseline or names[0],
        spec.report.compare or names[min(1, len(names) - 1)],
    ]
    for key, value in zip(REPORT_KEYS, picks, strict=True):
        if value not in names:
            raise bad(
                f"[report]: {key} = {value!r} is not a scenario; have: {', '.join(names)}", key
            )
    return BatchSpec(p, tuple(scenarios), picks[0], picks[1])


# --------------------------------------------------------------------------- hashing


class FileHasher:
    """SHA-256 of files and folders, each file read once per batch (keyed by size and mtime)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int, int], str] = {}

    def file(self, path: str | Path) -> str:
        st = Path(path).stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key not in self._seen:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            self._seen[key] = h.hexdigest()
        return self._seen[key]

    def folder(self, path: Path) -> str:
        files = sorted(q for q in path.rglob("*") if q.is_file() and not q.name.startswith("."))
        return _sha({str(q.relative_to(path)): self.file(q) for q in files})


def _sha(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=list)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _roads(config: RegionConfig, opts: RunOptions) -> RegionConfig:
    """The config with the scenario's road statuses and merge flag (they shape the network)."""
    r = config.roads
    statuses = r.open_statuses if opts.open_statuses is None else tuple(opts.open_statuses)
    merge = r.merge_second if opts.merge_second_roads is None else opts.merge_second_roads
    return replace(config, roads=replace(r, open_statuses=statuses, merge_second=merge))


def prepare_job(sc: Scenario, spec: BatchSpec, out_dir: Path, hasher: FileHasher) -> ScenarioJob:
    """Resolve a scenario's region, data folder, options and content hash.

    Raises
    ------
    InputError
        A file it names is missing, the region or data folder cannot be found.
    """
    from geo.datasets import resolve_data_dir

    prm = dict(sc.params)
    config = load_region_config(prm.pop("config", None), region=prm.pop("region", "vietnam"))
    provinces, region6 = prm.pop("provinces", ()), prm.pop("region6", ())
    dd = resolve_data_dir(prm.get("data"), region=config.name, config=config)
    opts = RunOptions(**{**prm, "data": str(dd.path.resolve())})
    config = _roads(config, opts)
    files = {}
    for key in ("facilities", "roads", "population"):
        value = getattr(opts, key)
        for f in (value,) if isinstance(value, str) else value or ():
            if not Path(f).is_file():
                where = f"{spec.path}, scenario '{sc.name}'"
                raise InputError(f"{key}: file not found: {f}", source=where, field=key)
            files[f] = hasher.file(f)
    sums = {
        "config_sha256": _sha(repr(replace(config, path=""))),  # the values, not the comments
        "data_sha256": hasher.folder(dd.path),
        "input_files": files,
    }
    options = {k: sorted(v.items()) if isinstance(v, dict) else v for k, v in vars(opts).items()}
    params = {"region": config.name, "options": options, "provinces": provinces, "region6": region6}
    digest = _sha({**params, **sums})
    r = config.roads
    key = _sha(
        [
            sums["config_sha256"],
            sums["data_sha256"],
            opts.roads,
            opts.population,
            r.open_statuses,
            r.merge_second,
        ]
    )
    return ScenarioJob(
        name=sc.name, description=sc.description, digest=digest, folder=out_dir / "scenarios" / f"{sc.name}-{digest[:12]}",
        config=config, opts=opts, data_dir=dd.path, data_origin=dd.origin, provinces=provinces, region6=region6,
        input_key=key, params={**params, **sums}, spec_path=str(spec.path),
    )  # fmt: skip


# --------------------------------------------------------------------------- worker tasks


def load_shared_inputs(config: RegionConfig, opts: RunOptions, data_dir: Path) -> dict[str, Any]:
    """The facility-independent inputs (provinces, road network, population) and ``load_s``."""
    from geo.population import population_from_config, population_from_raster
    from geo.provinces import load_provinces
    from geo.roads import road_network_for_region

    t = time.perf_counter()
    pop = opts.population
    return {
        "provinces": load_provinces(data_dir, config),
        "network": road_network_for_region(data_dir, config, roads_file=opts.roads),
        "population": population_from_raster(pop, bbox=config.bbox) if pop else population_from_config(data_dir, config),
        "load_s": round(time.perf_counter() - t, 3),
    }  # fmt: skip


def _subset(inputs: dict[str, Any], job: ScenarioJob) -> dict[str, Any]:
    """Keep the facilities and the demand (population polygons) of the chosen provinces only."""
    xw = inputs["provinces"].crosswalk.astype(str)
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
    load, pop = inputs["facilities"], inputs["population"]
    fac = load.facilities[load.facilities["prov63_code"].astype(str).isin(codes63)]
    polys = pop.polygons[pop.polygons["prov63_code"].astype(str).isin(codes63)]
    label = ", ".join([*job.region6, *job.provinces])
    pop = replace(
        pop,
        polygons=polys,
        total=float(polys["population"].sum()),
        description=f"{pop.description} Restricted to {label}.",
    )
    return {**inputs, "facilities": replace(load, facilities=fac.reset_index(drop=True)), "population": pop}  # fmt: skip


def run_scenario(
    job: ScenarioJob, shared: dict[str, Any] | None, writer: Callable[..., Any]
) -> dict[str, Any]:
    """Run one scenario on a worker and write its folder; errors become a failed outcome.

    Parameters
    ----------
    job
        The prepared scenario.
    shared
        :func:`load_shared_inputs` of the job's input key (None: build them here).
    writer
        ``writer(result, config=, opts=, data_dir=, data_origin=, folder=, scenario=)``.
    """
    from geo.facilities import load_region_facilities

    t0 = time.perf_counter()
    out: dict[str, Any] = {
        "name": job.name,
        "hash": job.digest,
        "folder": str(job.folder),
        "error": "",
    }
    o = job.opts
    try:
        shared = shared if shared is not None else load_shared_inputs(job.config, o, job.data_dir)
        types = o.types or tuple(job.config.types)
        keep = o.keep_default_facilities or not o.facilities
        fac = load_region_facilities(
            job.data_dir,
            job.config,
            types=types,
            extra_files=o.facilities,
            encoding=o.encoding,
            keep_default=keep,
            add=o.add,
        )
        fac.require_usable()
        known = set(fac.facilities["facility_id"])
        if fac.sites is not None:  # a member site (terminal) of an official unit can go too
            known |= set(fac.sites["site_id"])
        missing = sorted(set(o.remove) - known)
        if missing:
            msg = (
                f"facility_id(s) {missing} not loaded (ids are in tables/facilities.csv of a "
                "run, terminals' site_id in tables/terminals.csv)"
            )
            raise InputError(msg, source=f"{job.spec_path}, scenario '{job.name}'", field="remove")
        inputs = {
            **{k: v for k, v in shared.items() if k != "load_s"},
            "facilities": fac,
            "types": types,
        }
        if job.provinces or job.region6:
            inputs = _subset(inputs, job)
        result = run_region(
            job.config, o, data_dir=job.data_dir, data_origin=job.data_origin, inputs=inputs
        )
        meta = {
            "name": job.name,
            "description": job.description,
            "hash": job.digest,
            "scenario_file": job.spec_path,
            "parameters": job.params,
        }
        writer(
            result,
            config=job.config,
            opts=o,
            data_dir=job.data_dir,
            data_origin=job.data_origin,
            folder=job.folder,
            scenario=meta,
        )
        out.update(
            status="done", timings=result.meta.get("timings", {}), shared_load_s=shared["load_s"]
        )
    except InfraOverlapError as exc:
        out.update(status="failed", error=str(exc))
    except Exception as exc:  # an internal error must not stop the other scenarios
        out.update(
            status="failed",
            error=f"internal error: {type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out  # fmt: skip


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


def _finished(outcomes: dict[str, Any], job: ScenarioJob, fut: Any) -> dict[str, Any]:
    """The outcome of a future; an exception (shared-input task, lost worker) is a failure."""
    try:
        res = fut.result()
    except Exception as exc:
        msg = str(exc) if isinstance(exc, InfraOverlapError) else f"{type(exc).__name__}: {exc}"
        res = {"name": job.name, "hash": job.digest, "folder": str(job.folder), "status": "failed", "error": msg, "seconds": 0.0}  # fmt: skip
    if res["status"] == "done":
        log.info("scenario %s: done in %.1f s (%s)", job.name, res["seconds"], job.folder.name)
    else:
        log.error("scenario %s: FAILED after %.1f s: %s", job.name, res["seconds"], res["error"])
        log.debug("%s", res.get("traceback", ""))
    outcomes[job.name] = res
    return res


def run_batch(
    spec: BatchSpec,
    *,
    client: Any,
    out_dir: str | Path,
    writer: Callable[..., Any],
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
    writer
        Writes one scenario's outputs (see :func:`run_scenario`).
    share_inputs
        Build the facility-independent inputs once per input key (False: in every scenario,
        for measuring what sharing saves).
    progress_bar
        Show a tqdm bar over scenarios (the caller decides: a terminal, not ``-q``, not CI).

    Returns
    -------
    BatchRun
        Outcomes in file order, status ``done``, ``skipped`` or ``failed`` (with ``error``).
    """
    from distributed import as_completed
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    hasher = FileHasher()
    outcomes: dict[str, dict[str, Any]] = {}
    jobs: list[ScenarioJob] = []
    for sc in spec.scenarios:
        res = {"name": sc.name, "hash": "", "folder": "", "seconds": 0.0, "error": ""}
        try:
            job = prepare_job(sc, spec, out, hasher)
        except InfraOverlapError as exc:
            outcomes[sc.name] = {**res, "status": "failed", "error": str(exc)}
            log.error("scenario %s: FAILED before running: %s", sc.name, exc)
            continue
        if not (job.folder / "manifest.json").is_file():
            jobs.append(job)
            continue
        outcomes[sc.name] = {
            **res,
            "hash": job.digest,
            "folder": str(job.folder),
            "status": "skipped",
        }
        log.info("scenario %s: finished earlier, skipped (%s)", sc.name, job.folder.name)
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
        client.submit(run_scenario, job, shared.get(job.input_key), writer, key=f"scenario-{job.name}-{job.digest[:12]}", pure=False): job
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
                _finished(outcomes, futures[fut], fut)
                bar.update(1)
    except KeyboardInterrupt:  # finished folders stay; the next invocation continues from there
        client.cancel([*futures, *shared.values()])
        raise
    finally:
        bar.close()
    info = {}
    for key, names in users.items():
        loads = [outcomes[x].get("shared_load_s", 0.0) for x in names]
        info[key] = {"scenarios": names, "load_s": max(loads, default=0.0), "shared": share_inputs}
    workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    done = [outcomes[s.name] for s in spec.scenarios]
    return BatchRun(spec, out, done, info, time.perf_counter() - t0, workers)
