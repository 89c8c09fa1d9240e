"""The facility schema and the rejects / repairs tables that every loader fills.

Facility schema after loading (EPSG:4326, one row per facility, Point geometry; parks given as
polygons keep their polygon in ``area_geometry`` as WKB and their area in ``area_ha``):

facility_id (str, unique), name, type (seaport | airport | industrial_park), status
(operating | planned), status_source (source | assumed), class, capacity, capacity_unit,
prov63_code, prov63_name, prov34_code, prov34_name, region6_code, prov_method, source, source_row,
data_note, geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

FACILITY_COLUMNS = (
    "facility_id",
    "name",
    "type",
    "status",
    "status_source",
    "class",
    "capacity",
    "capacity_unit",
    "prov63_code",
    "prov63_name",
    "prov34_code",
    "prov34_name",
    "region6_code",
    "prov_method",
    "area_ha",
    "source",
    "source_row",
    "data_note",
)
STATUSES = ("operating", "planned")
REJECT_COLUMNS = ("source", "row", "field", "reason")
REPAIR_COLUMNS = ("source", "row", "field", "repair")


@dataclass
class Issues:
    """Collects rejected rows and repairs while loading (mutable on purpose: one per load)."""

    rejects: list[dict[str, object]] = field(default_factory=list)
    repairs: list[dict[str, object]] = field(default_factory=list)

    def reject(self, source: str, row: int | None, field_name: str, reason: str) -> None:
        self.rejects.append(
            {"source": str(source), "row": row, "field": field_name, "reason": reason}
        )

    def repair(self, source: str, row: int | None, field_name: str, what: str) -> None:
        self.repairs.append(
            {"source": str(source), "row": row, "field": field_name, "repair": what}
        )

    def extend(self, other: Issues) -> None:
        self.rejects.extend(other.rejects)
        self.repairs.extend(other.repairs)

    def rejects_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rejects, columns=list(REJECT_COLUMNS))
        df["row"] = df["row"].astype("Int64")
        return df.sort_values(["source", "row", "field"], kind="stable").reset_index(drop=True)

    def repairs_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.repairs, columns=list(REPAIR_COLUMNS))
        df["row"] = df["row"].astype("Int64")
        return df.sort_values(["source", "row", "field"], kind="stable").reset_index(drop=True)
