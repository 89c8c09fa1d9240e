"""Throughput and design capacity joined to the facilities of the official units, by name.

The capacity tables (``geo.capacity``) are keyed by the official name of a seaport (Decision
1579/QĐ-TTg) or an airport (CAAV list); the official units carry that name, so the join is exact
and a facility without a row keeps NaN (never a guess).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.capacity import CapacityTables

CAPACITY_COLUMNS = (
    "throughput",
    "throughput_unit",
    "throughput_year",
    "throughput_teu",
    "design_capacity",
    "design_capacity_unit",
    "capacity_source",
)


def facility_capacity(fac: pd.DataFrame, tables: CapacityTables) -> pd.DataFrame:
    """One row per facility of ``fac`` (same index) with its throughput and design capacity.

    Seaports: ``throughput`` in tonnes a year (TEU in ``throughput_teu``); airports: passengers
    a year, ``design_capacity`` in passengers a year. Industrial parks and unknown names: NaN.
    """
    out = pd.DataFrame(index=fac.index, columns=list(CAPACITY_COLUMNS), dtype=object)
    for c in ("throughput", "throughput_year", "throughput_teu", "design_capacity"):
        out[c] = np.nan
    name = fac["name"].astype(str)
    kinds = (
        ("seaport", tables.seaports, "tonnes", "tonnes/year", None),
        ("airport", tables.airports, "passengers", "passengers/year", "design_capacity_pax"),
    )
    for type_name, table, col, unit, cap_col in kinds:
        if table.empty:
            continue
        t = table.drop_duplicates("name_vi").set_index("name_vi")
        mine = (fac["type"] == type_name) & name.isin(t.index)
        if not mine.any():
            continue
        rows = t.loc[name[mine].tolist()]
        out.loc[mine, "throughput"] = pd.to_numeric(rows[col], errors="coerce").to_numpy()
        out.loc[mine, "throughput_unit"] = unit
        out.loc[mine, "throughput_year"] = pd.to_numeric(rows["year"], errors="coerce").to_numpy()
        if "teu" in rows:
            out.loc[mine, "throughput_teu"] = pd.to_numeric(rows["teu"], errors="coerce").to_numpy()
        if cap_col and cap_col in rows:
            out.loc[mine, "design_capacity"] = pd.to_numeric(
                rows[cap_col], errors="coerce"
            ).to_numpy()
            out.loc[mine, "design_capacity_unit"] = unit
        out.loc[mine, "capacity_source"] = rows["source_url"].astype(str).to_numpy()
    for c in ("throughput", "throughput_year", "throughput_teu", "design_capacity"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    return out
