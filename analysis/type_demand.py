"""Demand per facility type: what each facility's catchment is worth to that type.

Pure functions on the long-form travel times (:class:`analysis.catchments.TravelTimes`: ``fac``,
``cell``, ``time_s`` sorted by facility then cell) and per-cell vectors. Residential people within
T (``coverage``) stay the people fields; a type's own demand goes in ``demand_*`` fields
(units in METHOD.md, "Demand per type"):

- ``huff`` (airports): people shared between competing facilities by a Huff share
  ``P(i|c) = A_i f(t_ic) / Σ_j A_j f(t_jc)`` over the facilities that reach cell *c* within the
  cut-off; ``demand_huff`` = Σ_c people(c) P(i|c) (people likely to use *i*);
- ``economic_huff`` (seaports): the same share on an economic mass per cell, people × GRDP per head
  of the cell's province (``demand_grdp``, billion VND a year), with a gentler decay;
- ``labour`` (industrial parks): working-age people per cell; E2SFCA (Luo & Qi 2009) with park
  area as supply and step weights over the type's breaks, and the labour pool shared among
  competing parks in proportion to area × weight (``demand_workers``, ``demand_workers_per_ha``);
- ``people``: no ``demand_*`` field (the plain coverage is the demand).

:func:`cell_weights` gives the per-cell demand vector of a type (for the joint verdict).

:class:`TypeDemandPasses` gives the same columns from facility blocks (``analysis.blocks``)
in two passes, which the run shares with the type's first two (``analysis.type_analysis``):
the Huff denominators per cell (added pair by pair in facility order, as one ``bincount`` over
every pair does), then each facility's shares; E2SFCA's pool is per facility. Each block is one
compiled loop over its pairs (``analysis.type_demand_kernel``). Bit for bit the whole-array
result; memory the grid plus one block. :func:`type_demand_blocks` runs the two passes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import type_demand_kernel as tdk
from analysis.catchments import TravelTimes

KINDS = ("people", "huff", "economic_huff", "labour")
DECAYS = ("power", "exponential", "steps")
MIN_TIME_MIN = 1.0  # power decay: times below 1 minute count as 1 minute (no infinite weight)


@dataclass(frozen=True)
class DemandSpec:
    """How one type's demand is computed (``[population.demand.<type>]`` of the region config).

    Attributes
    ----------
    kind
        ``people``, ``huff``, ``economic_huff`` or ``labour``.
    decay
        ``power`` (``t^-beta``, t in minutes), ``exponential`` (``exp(-beta t)``) or ``steps``.
    beta
        Decay parameter of ``power`` / ``exponential``.
    cutoff_min
        Facilities farther than this (minutes) are not in a cell's choice set; None = the type's
        largest break.
    step_weights
        ``steps``: weight within the 1st, 2nd, ... break of the type (0 beyond the last).
    working_age_share
        ``labour``: share of people aged 15–64 (national; a constant factor).
    size_field
        ``huff`` / ``economic_huff``: facility column used as attractiveness ``A_i`` (e.g. a
        capacity); empty = 1 for every facility.
    """

    kind: str = "people"
    decay: str = "power"
    beta: float = 2.0
    cutoff_min: float | None = None
    step_weights: tuple[float, ...] = ()
    working_age_share: float = 1.0
    size_field: str = ""


def demand_spec(raw: dict[str, Any] | None, *, where: str = "population.demand") -> DemandSpec:
    """Validate one ``[population.demand.<type>]`` table (None or empty = plain people).

    Raises
    ------
    ValueError
        An unknown kind or decay, a non-positive beta, weights outside 0..1 or a share outside
        (0, 1]; the message names the table and key.
    """
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DemandSpec.__dataclass_fields__))
    if unknown:
        raise ValueError(f"[{where}]: unknown key(s) {', '.join(unknown)}")
    spec = DemandSpec(
        kind=str(raw.get("kind", "people")),
        decay=str(raw.get("decay", "power")),
        beta=float(raw.get("beta", 2.0)),
        cutoff_min=None if raw.get("cutoff_min") is None else float(raw["cutoff_min"]),
        step_weights=tuple(float(w) for w in raw.get("step_weights", ())),
        working_age_share=float(raw.get("working_age_share", 1.0)),
        size_field=str(raw.get("size_field", "")),
    )
    if spec.kind not in KINDS:
        raise ValueError(f"[{where}] kind: '{spec.kind}' is not one of {', '.join(KINDS)}")
    if spec.decay not in DECAYS:
        raise ValueError(f"[{where}] decay: '{spec.decay}' is not one of {', '.join(DECAYS)}")
    if spec.decay != "steps" and not spec.beta > 0:
        raise ValueError(f"[{where}] beta: must be > 0, got {spec.beta}")
    if spec.decay == "steps" and (
        not spec.step_weights or any(not 0 <= w <= 1 for w in spec.step_weights)
    ):
        raise ValueError(f"[{where}] step_weights: give weights in 0..1, one per break")
    if not 0 < spec.working_age_share <= 1:
        raise ValueError(f"[{where}] working_age_share: must be in (0, 1]")
    return spec


def decay_weights(
    time_s: np.ndarray, spec: DemandSpec, *, breaks_min: tuple[float, ...] = ()
) -> np.ndarray:
    """Distance-decay weight of each travel time (seconds) under ``spec``.

    ``steps``: the weight of the first break (minutes, ascending) that the time is within, 0 beyond
    the last break or the last weight.
    """
    t = np.ascontiguousarray(time_s, dtype=np.float64)
    return tdk.decay_all(t, *decay_args(spec, breaks_min))


def decay_args(
    spec: DemandSpec, breaks_min: tuple[float, ...]
) -> tuple[int, float, float, np.ndarray, np.ndarray]:
    """:func:`decay_weights`' parameters for the compiled decay (``type_demand_kernel``)."""
    code = {"power": tdk.POWER, "exponential": tdk.EXPONENTIAL}.get(spec.decay, tdk.STEPS)
    edges = np.asarray(sorted(breaks_min)[: len(spec.step_weights)], dtype=np.float64)
    weights = np.append(np.asarray(spec.step_weights[: len(edges)], np.float64), 0.0)
    return code, float(spec.beta), MIN_TIME_MIN, edges, weights


def _pairs(tt: TravelTimes, cutoff_s: float, active: np.ndarray | None) -> np.ndarray:
    keep = tt.time_s <= cutoff_s
    if active is not None:
        keep &= np.asarray(active, dtype=bool)[tt.fac]
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class Shares:
    """Shares of each reached cell between facilities (long form) and the demand they give."""

    fac: np.ndarray
    cell: np.ndarray
    share: np.ndarray
    demand: np.ndarray  # per facility: Σ_c cell_demand(c) × share


def huff_shares(
    tt: TravelTimes,
    cell_demand: np.ndarray,
    *,
    attractiveness: np.ndarray | None = None,
    weight: np.ndarray,
    cutoff_s: float,
    active: np.ndarray | None = None,
) -> Shares:
    """Huff shares ``A_i w_ic / Σ_j A_j w_jc`` over the pairs within ``cutoff_s``.

    Parameters
    ----------
    tt
        Travel times (long form).
    cell_demand
        Demand per cell (people, economic mass, workers).
    attractiveness
        ``A_i`` per facility (default 1); facilities with ``A_i <= 0`` take no share.
    weight
        Decay weight per pair of ``tt`` (same length as ``tt.time_s``).
    cutoff_s
        Choice set: facilities within this time of the cell.
    active
        Facilities that compete (default all); the others take no share.

    Returns
    -------
    Shares
        Only pairs with a positive share; the shares of every reached cell sum to 1.
    """
    idx = _pairs(tt, cutoff_s, active)
    a = np.ones(tt.n_fac) if attractiveness is None else np.asarray(attractiveness, np.float64)
    w = a[tt.fac[idx]] * np.asarray(weight, np.float64)[idx]
    pos = w > 0
    idx, w = idx[pos], w[pos]
    fac, cell = tt.fac[idx], tt.cell[idx]
    total = np.bincount(cell, weights=w, minlength=tt.n_cells)
    share = w / total[cell]
    demand = np.bincount(
        fac, weights=share * np.asarray(cell_demand, np.float64)[cell], minlength=tt.n_fac
    )
    return Shares(fac=fac, cell=cell, share=share, demand=demand)


@dataclass(frozen=True)
class E2sfca:
    """Enhanced two-step floating catchment area (Luo & Qi 2009).

    Attributes
    ----------
    ratio
        Step 1, per facility: ``R_j = S_j / Σ_k P_k W_kj`` (supply per weighted demand; NaN when
        no demand is in reach).
    access
        Step 2, per cell: ``A_k = Σ_j R_j W_kj`` (supply per person within reach).
    weighted_demand
        ``Σ_k P_k W_kj`` per facility (the unshared pool).
    """

    ratio: np.ndarray
    access: np.ndarray
    weighted_demand: np.ndarray


def e2sfca(
    tt: TravelTimes,
    supply: np.ndarray,
    cell_demand: np.ndarray,
    *,
    weight: np.ndarray,
    cutoff_s: float,
    active: np.ndarray | None = None,
) -> E2sfca:
    """E2SFCA on the pairs within ``cutoff_s`` with decay ``weight`` per pair (see :class:`E2sfca`)."""
    idx = _pairs(tt, cutoff_s, active)
    fac, cell = tt.fac[idx], tt.cell[idx]
    w = np.asarray(weight, np.float64)[idx]
    p = np.asarray(cell_demand, np.float64)
    pooled = np.bincount(fac, weights=p[cell] * w, minlength=tt.n_fac)
    s = np.asarray(supply, np.float64)
    ratio = np.full(tt.n_fac, np.nan)
    np.divide(s, pooled, out=ratio, where=pooled > 0)
    r = np.nan_to_num(ratio)
    access = np.bincount(cell, weights=r[fac] * w, minlength=tt.n_cells)
    return E2sfca(ratio=ratio, access=access, weighted_demand=pooled)


def cell_weights(
    spec: DemandSpec, population: np.ndarray, *, grdp_per_head: np.ndarray | None = None
) -> np.ndarray:
    """The type's demand per cell: the vector a joint verdict weighs cells by.

    Parameters
    ----------
    spec
        The type's demand spec.
    population
        People per cell.
    grdp_per_head
        ``economic_huff``: GRDP per head (million VND a year) of each cell's province.

    Returns
    -------
    numpy.ndarray
        ``people`` and ``huff``: people; ``economic_huff``: people × GRDP per head / 1000
        (billion VND a year); ``labour``: people × working-age share (people aged 15–64).
    """
    p = np.asarray(population, dtype=np.float64)
    if spec.kind == "economic_huff":
        if grdp_per_head is None:
            raise ValueError("economic_huff needs the GRDP per head of every cell's province")
        return p * np.nan_to_num(np.asarray(grdp_per_head, np.float64)) / 1000.0
    if spec.kind == "labour":
        return p * spec.working_age_share
    return p


def fill_size(values: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sizes with the missing or non-positive ones set to the median of the others (1 if none).

    Returns the sizes and a mask of the ones that were assumed.
    """
    size = np.full(n, np.nan) if values is None else np.asarray(values, np.float64)
    known = np.isfinite(size) & (size > 0)
    fill = float(np.median(size[known])) if known.any() else 1.0
    return np.where(known, size, fill), ~known


def type_demand_columns(
    spec: DemandSpec,
    tt: TravelTimes,
    cells: np.ndarray,
    *,
    breaks_min: tuple[float, ...],
    active: np.ndarray,
    area_ha: np.ndarray | None = None,
    size: np.ndarray | None = None,
) -> pd.DataFrame:
    """The ``demand_*`` columns of one type's facilities (one row per facility of ``tt``).

    Parameters
    ----------
    spec
        The type's demand spec.
    tt
        Travel times of the type's facilities.
    cells
        :func:`cell_weights` of the type.
    breaks_min
        The type's breaks (minutes); the largest is the default cut-off.
    active
        Facilities that compete (operating with road access); the others get NaN.
    area_ha
        ``labour``: park area (ha); parks without an area take the median of those with one.
    size
        ``huff`` / ``economic_huff``: attractiveness per facility (``spec.size_field``); None = 1,
        missing values take the median of the known ones.

    Returns
    -------
    pandas.DataFrame
        ``huff``: ``demand_huff`` (people); ``economic_huff``: ``demand_grdp`` (billion VND a
        year); ``labour``: ``demand_workers`` (people 15–64), ``demand_workers_per_ha`` and
        ``demand_e2sfca_workers_per_ha`` (people 15–64 per ha), ``demand_area_assumed``;
        ``people``: no column.
    """
    n = tt.n_fac
    if spec.kind == "people":
        return pd.DataFrame(index=range(n))
    cutoff_s = 60.0 * (spec.cutoff_min if spec.cutoff_min is not None else max(breaks_min))
    weight = decay_weights(tt.time_s, spec, breaks_min=breaks_min)
    off = ~np.asarray(active, dtype=bool)
    if spec.kind in ("huff", "economic_huff"):
        attract = None if size is None else fill_size(size, n)[0]
        sh = huff_shares(
            tt, cells, attractiveness=attract, weight=weight, cutoff_s=cutoff_s, active=active
        )
        name = "demand_huff" if spec.kind == "huff" else "demand_grdp"
        return pd.DataFrame({name: np.where(off, np.nan, sh.demand)})
    supply, assumed = fill_size(area_ha, n)
    sh = huff_shares(
        tt, cells, attractiveness=supply, weight=weight, cutoff_s=cutoff_s, active=active
    )
    fca = e2sfca(tt, supply, cells, weight=weight, cutoff_s=cutoff_s, active=active)
    with np.errstate(divide="ignore", invalid="ignore"):
        unshared = 1.0 / fca.ratio
    return pd.DataFrame(
        {
            "demand_workers": np.where(off, np.nan, sh.demand),
            "demand_workers_per_ha": np.where(off, np.nan, sh.demand / supply),
            "demand_e2sfca_workers_per_ha": np.where(off, np.nan, unshared),
            "demand_area_assumed": assumed,
        }
    )
