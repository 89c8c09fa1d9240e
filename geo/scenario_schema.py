"""Scenario files of ``batch`` (pydantic v2): ``[defaults]``, ``[[scenario]]`` tables and
``[report]``, validated like the region files (moved from ``geo.config_schema``, which
re-exports these names)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from geo.config_types import Positive, Strict

ScenarioName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class ScenarioParams(Strict):
    """Keys a scenario or ``[defaults]`` may set (any :class:`analysis.run.RunOptions` field)."""

    data: str | None = None
    roads: str | None = None
    population: str | None = None
    config: str | None = None
    types: list[Literal["seaport", "airport", "industrial_park"]] | None = None
    add: list[str] | None = None
    remove: list[str] | None = None
    open_statuses: list[str] | None = None
    region6: list[str] | None = None
    facilities: list[str] | None = None
    provinces: list[str] | None = None
    keep_default_facilities: bool | None = None
    merge_second_roads: bool | None = None
    region: str | None = None
    encoding: str | None = None
    lang: Literal["vi", "en"] | None = None
    edition: Literal[34, 63] | None = None
    speed_factor: Annotated[Positive, Field(le=10)] | None = None
    breaks_min: dict[str, Annotated[list[Positive], Field(min_length=1)]] | None = None
    primary_min: dict[str, Positive] | None = None

    @field_validator("types")
    @classmethod
    def _unique_types(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("types is empty; name at least one type or leave the key out")
        return list(dict.fromkeys(v)) if v is not None else None


class ScenarioTable(ScenarioParams):
    name: ScenarioName
    description: str = ""


class ReportTable(Strict):
    baseline: str | None = None
    compare: str | None = None


class ScenarioFile(Strict):
    """A batch scenario file: ``[defaults]``, ``[[scenario]]`` tables, ``[report]``."""

    defaults: ScenarioParams = ScenarioParams()
    scenario: Annotated[list[ScenarioTable], Field(min_length=1)]
    report: ReportTable = ReportTable()
