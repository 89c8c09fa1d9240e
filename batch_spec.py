"""The scenario file of a batch: read and validate it, hash each scenario's inputs, and prepare
the picklable job a worker runs (:mod:`batch` runs them).

A scenario file has ``[defaults]`` (any :class:`analysis.run.RunOptions` field, plus ``region``,
``config``, ``provinces`` and ``region6``), a list of ``[[scenario]]`` tables (``name`` and any
override) and an optional ``[report]`` naming ``baseline`` and ``compare``. See
``data/scenarios_vietnam.toml``. A scenario's folder is named by the SHA-256 of its normalised
parameters, its region configuration and the hashes of every input file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from analysis.run import RunOptions
from analysis.scenarios import BatchSpec, Scenario
from geo.config import RegionConfig, load_region_config
from geo.config_schema import ScenarioFile, ScenarioParams
from geo.errors import ConfigError, InputError
from geo.validation import validate_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PATH_KEYS = ("data", "roads", "population", "config")
REPORT_KEYS = ("baseline", "compare")


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
