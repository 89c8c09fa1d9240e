"""Does the modelled demand rank facilities as their real traffic does? (rank correlation)

The check of the demand per type against published throughput (``data/capacity``): Spearman's
rank correlation between a type's own demand (``demand_huff`` for airports, ``demand_grdp`` for
seaports) or its plain coverage and the throughput, over the facilities that have both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

DEMAND_FIELD = {"airport": "demand_huff", "seaport": "demand_grdp"}


def _rho(x: pd.Series, y: pd.Series) -> float | None:
    ok = np.isfinite(x.to_numpy(np.float64)) & np.isfinite(y.to_numpy(np.float64))
    if ok.sum() < 3:
        return None
    r = spearmanr(x[ok], y[ok]).statistic
    return round(float(r), 3) if np.isfinite(r) else None


def demand_throughput_correlation(facilities: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per type with throughput data: n, Spearman rho of demand and of coverage vs throughput."""
    out: dict[str, dict[str, Any]] = {}
    if "throughput" not in facilities.columns:
        return out
    for t, f in facilities.groupby("type", sort=True):
        thr = pd.to_numeric(f["throughput"], errors="coerce")
        n = int(np.isfinite(thr.to_numpy(np.float64)).sum())
        if n == 0:
            continue
        field = DEMAND_FIELD.get(str(t), "coverage")
        dem = pd.to_numeric(f[field], errors="coerce") if field in f else f["coverage"]
        out[str(t)] = {
            "n": n,
            "unit": str(f.loc[thr.notna(), "throughput_unit"].iloc[0]),
            "demand_field": field if field in f else "coverage",
            "rho_demand": _rho(dem, thr),
            "rho_coverage": _rho(pd.to_numeric(f["coverage"], errors="coerce"), thr),
        }
    return out
