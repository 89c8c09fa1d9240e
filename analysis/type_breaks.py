"""A type's measures at every break from its merged reduction and its cells' facility sets
(``analysis.type_analysis``): the coverage rows, the province matrices of every edition and the
pairs' overlaps, and the nearest-time raster's minutes; split from ``type_analysis`` so that
each stays readable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.block_sets import SetSource
from analysis.blocks import (
    CellReduction,
    pairwise_overlaps_from_sets,
    province_matrices_from_bits,
    province_matrices_from_lists,
)
from geo.config import RegionConfig, TypeConfig

__all__ = [
    "PerBreak",
    "break_matrices",
    "break_overlaps",
    "matrix_frame",
    "minutes_f32",
    "prov_index",
]


def prov_index(codes: pd.Series, table: pd.DataFrame) -> np.ndarray:
    """Row of each code in an area table's ``prov_code`` (-1: not in it)."""
    pos = {c: i for i, c in enumerate(table["prov_code"].astype(str))}
    return np.array([pos.get(str(c), -1) for c in codes], dtype=np.int64)


def minutes_f32(t_s: np.ndarray, step: int = 1 << 22) -> np.ndarray:
    """Seconds as float32 minutes (-9999: not reached), by slices: no float64 array of the
    grid's size (at 100 m 213 MB each) beside the result."""
    out = np.empty(t_s.size, np.float32)
    for a in range(0, t_s.size, step):
        seg = t_s[a : a + step]
        out[a : a + step] = np.where(np.isfinite(seg), seg / 60.0, -9999.0)
    return out


@dataclass
class PerBreak:
    """Catchment rows, overlaps and province matrices (by break and edition) of every break;
    coverage by break; people of each province reached by another province's facilities
    (primary break)."""

    catchments: list[dict[str, Any]]
    overlaps: list[pd.DataFrame]
    matrices: dict[tuple[float, int], pd.DataFrame]
    at: dict[float, Any]
    covered_by_others: np.ndarray


def matrix_frame(
    tc: TypeConfig, b: float, edition: int, tab: pd.DataFrame, served: np.ndarray, dup: np.ndarray
) -> pd.DataFrame:
    a, bb = np.nonzero((served > 0) | (dup > 0))
    codes = tab["prov_code"].astype(str).to_numpy()
    names = tab["prov_name"].astype(str).to_numpy()
    return pd.DataFrame(
        {
            "type": tc.name,
            "break_min": b,
            "edition": edition,
            "province_a": codes[a],
            "province_b": codes[bb],
            "name_a": names[a],
            "name_b": names[bb],
            "served_by": served[a, bb],
            "duplicated": dup[a, bb],
        }
    )


def break_matrices(
    tc: TypeConfig,
    d: np.ndarray,
    ed: dict[int, tuple[pd.DataFrame, np.ndarray]],
    config: RegionConfig,
    *,
    red: CellReduction,
    by_break: dict[float, Any],
) -> PerBreak:
    """Coverage and the run's edition's province matrices at every break, from the cells'
    province bits merged with the counts (``analysis.blocks.Reduction``), never the pairs; the
    pairs' overlaps and the other editions' matrices are added by :func:`break_overlaps`,
    after the bits are let go."""
    tab, cprov = ed[config.edition]
    out = PerBreak([], [], {}, {}, np.zeros(len(tab)))
    for k, b in enumerate(tc.breaks_min):
        cov = by_break[b]
        out.at[b] = cov
        for i in np.flatnonzero(cov.coverage > 0):
            out.catchments.append(
                {
                    "i": int(i),
                    "break_min": b,
                    "coverage": cov.coverage[i],
                    "unique_coverage": cov.unique[i],
                }
            )
        served, dup, others = province_matrices_from_bits(red.prov_bits[k], d, cprov, len(tab))
        if b == tc.primary_min:
            out.covered_by_others = others
        out.matrices[(b, config.edition)] = matrix_frame(tc, b, config.edition, tab, served, dup)
    return out


def break_overlaps(
    out: PerBreak,
    tc: TypeConfig,
    sets: SetSource,
    d: np.ndarray,
    ed: dict[int, tuple[pd.DataFrame, np.ndarray]],
    config: RegionConfig,
    *,
    fac: gpd.GeoDataFrame,
    base: np.ndarray,
) -> None:
    """The pairs' overlaps and the other editions' province matrices at every break into
    ``out``, from the cells' facility sets (no province bits held through the first pass); the
    primary break's sets are kept (they serve the covering and the aggregates), on disk when
    large (``SetSource.park``)."""
    others = {
        edition: prov_index(fac[f"{config.area_key(edition)}_code"], tab)
        for edition, (tab, _) in ed.items()
        if edition != config.edition
    }
    for b in tc.breaks_min:
        fsets = sets.get(b * 60.0)
        coverage = out.at[b].coverage
        out.overlaps.append(pairwise_overlaps_from_sets(fsets, d, coverage).assign(break_min=b))
        for edition, fac_prov in others.items():
            tab, cprov = ed[edition]
            served, dup, _ = province_matrices_from_lists(
                fsets, d, cprov, len(tab), fac_prov=fac_prov, base=base
            )
            out.matrices[(b, edition)] = matrix_frame(tc, b, edition, tab, served, dup)
        del fsets
        if b != tc.primary_min:
            sets.release(b * 60.0)
        else:  # on disk while the larger breaks and the verdict's thresholds are read
            sets.park(b * 60.0)
