"""The contracts of a batch of scenarios: the parsed scenario file and what happened to each.

``batch`` (the top floor) reads the scenario file and runs the scenarios on Dask through
``pipeline``; ``maps.batch_report`` writes the comparative report from a :class:`BatchRun`.
Plain data only: nothing here reads or writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Status(str, Enum):
    """How a scenario ended in this invocation."""

    DONE = "done"  # run and written now
    SKIPPED = "skipped"  # its folder was finished by an earlier invocation
    FAILED = "failed"  # an error, named in ScenarioOutcome.error

    def __str__(self) -> str:
        return self.value


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
class ScenarioOutcome:
    """What happened to one scenario.

    Attributes
    ----------
    name, status
        The scenario and how it ended.
    hash, folder
        Its content hash and output folder (empty when it failed before they were known).
    error, traceback
        Why it failed (the traceback only for an internal error).
    seconds
        Wall time of this scenario in this invocation.
    timings
        The run's step timings (``RunMeta.timings``) when it was run now.
    shared_load_s
        Seconds spent loading the shared inputs it used.
    """

    name: str
    status: Status
    hash: str = ""
    folder: str = ""
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    shared_load_s: float = 0.0


@dataclass
class BatchRun:
    """What happened: one outcome per scenario (file order) and the shared inputs."""

    spec: BatchSpec
    out_dir: Path
    outcomes: list[ScenarioOutcome]
    shared: dict[str, dict[str, Any]] = field(default_factory=dict)
    wall_s: float = 0.0
    workers: int = 0

    @property
    def failed(self) -> list[ScenarioOutcome]:
        return [o for o in self.outcomes if o.status is Status.FAILED]

    def count(self, status: Status) -> int:
        """How many scenarios ended with ``status``."""
        return sum(o.status is status for o in self.outcomes)
