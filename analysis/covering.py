"""Minimal covering set and coverage-versus-count curve of one facility type.

The core works on a plain coverage matrix, as spopt's ``from_cost_matrix`` does: ``within``
(boolean, facilities x cells: cell within the threshold of the facility) and the people per cell.
No geodata. Both models are solved with HiGHS through :func:`scipy.optimize.milp`.

- **Minimal cover** (location set covering, LSCP): the fewest facilities such that every cell
  with people that some candidate facility reaches today is still reached by a chosen one.
  Ties between covers of the same size go to the cover whose facilities reach the most people
  in total (the largest catchments), so the answer names the hubs; the solver settles any tie left.
- **Coverage curve** (maximal covering, MCLP, p = 1 .. n): the most people reachable with p
  facilities. It reaches the all-facility coverage at p = minimal cover size, where it stops.
  Each point is a real p-set with a proven upper bound: the greedy order and its submodular
  bound first (most points are proved there, at no solver cost), then exact MILPs for the open
  points, up to a fixed number of solves (a count, so the table is the same on any machine).

Both are solved on a reduced problem: cells with the same covering set are one row carrying
their summed people (national industrial parks: 330k cells -> a few thousand rows), and in the
curve a row reached by a single facility is folded into that facility's objective weight.

This module holds the reduction and the minimal cover; the curve is in
:mod:`analysis.covering_curve` (its MCLP blocks in :mod:`analysis.mclp`), the output tables and
sentences in :mod:`analysis.covering_tables`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.config import COVERING_EXACT_WORK

log = logging.getLogger(__name__)

MIP_OPTIONS = {"mip_rel_gap": 1e-7}
EXACT_WORK = COVERING_EXACT_WORK  # default exact-solve work of a curve (geo.config)


@dataclass(frozen=True)
class Reduced:
    """Cells grouped by covering set.

    Attributes
    ----------
    rows
        Boolean csr (n_rows, n_fac): row r is covered by facility j.
    weight
        People of each row (sum over its cells).
    cell_row
        Row of every original cell (-1: no people or reached by no candidate).
    """

    rows: sp.csr_matrix
    weight: np.ndarray
    cell_row: np.ndarray


@dataclass(frozen=True)
class CoverResult:
    """Result of :func:`minimal_cover`.

    Attributes
    ----------
    chosen
        Indices (rows of ``within``) of the facilities in the cover, ascending.
    n_chosen
        Size of the cover.
    n_candidates
        Facilities that could be chosen.
    covered_people
        People the candidates reach (all of whom the cover keeps within reach).
    optimal
        True when HiGHS proved the size minimal.
    status
        The solver's message.
    mip_gap
        Relative gap of the count objective at termination (0 when optimal).
    solve_s
        Wall time of reduction and solve, seconds.
    n_rows
        Rows of the reduced problem.
    """

    chosen: np.ndarray
    n_chosen: int
    n_candidates: int
    covered_people: float
    optimal: bool
    status: str
    mip_gap: float
    solve_s: float
    n_rows: int


def unique_rows(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(bits, axis=0, return_inverse=True)`` of a (rows, words) uint64 array (the
    same rows in the same order, the same inverse), by a 1-D sort of a hash of each row and a
    sort of the distinct rows only: a few seconds instead of half a minute on the 20 M cells
    of a 100 m grid. A hash shared by different rows falls back to a lexicographic sort."""
    x = np.ascontiguousarray(bits, np.uint64)
    n, w = x.shape
    if n == 0:
        return x.copy(), np.zeros(0, np.int64)
    h = np.zeros(n, np.uint64)
    with np.errstate(over="ignore"):
        for k in range(w):  # a multiplicative hash of the words (wraps modulo 2**64)
            h = (h ^ x[:, k]) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(k + 1)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    if not np.array_equal(x, x[first[inv]]):  # two rows share a hash: sort the rows themselves
        order = np.lexsort(x.T[::-1])
        xs = x[order]
        new = np.r_[True, (xs[1:] != xs[:-1]).any(axis=1)]
        inverse = np.empty(n, np.int64)
        inverse[order] = np.cumsum(new) - 1
        return xs[new], inverse
    return in_unique_order(x[first], inv)


def in_unique_order(distinct: np.ndarray, inv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (rows, words) rows, and each row's index into them (``inv``), in
    ``np.unique(axis=0)``'s lexicographic order and with its inverse."""
    order = np.lexsort(distinct.T[::-1])
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    return distinct[order], rank[np.asarray(inv).ravel()]


def reduce_coverage(
    within: sp.spmatrix, demand: np.ndarray, *, candidates: np.ndarray | None = None
) -> Reduced:
    """Merge the cells that have the same covering set (a bitset per cell, then ``np.unique``).

    Parameters
    ----------
    within
        Boolean (n_fac, n_cells).
    demand
        People per cell; cells with no people are dropped.
    candidates
        Boolean mask or indices of the facilities that count; the others' columns are emptied.

    Returns
    -------
    Reduced
        Rows sorted by their bitset, so the result does not depend on the cell order.
    """
    n_fac, n_cells = within.shape
    mask = candidate_mask(candidates, n_fac)
    coo = sp.coo_matrix(within)
    keep = coo.data.astype(bool) & mask[coo.row] & (np.asarray(demand)[coo.col] > 0)
    f, c = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
    cells = np.unique(c)
    cell_row = np.full(n_cells, -1, np.int64)
    if cells.size == 0:
        return Reduced(sp.csr_matrix((0, n_fac), dtype=bool), np.zeros(0), cell_row)
    pos = np.searchsorted(cells, c)
    n_words = (n_fac + 63) // 64
    bits = np.zeros((cells.size, n_words), np.uint64)
    # each (cell, facility) pair appears once, so adding the bits is OR-ing them
    np.add.at(bits, (pos, f // 64), np.left_shift(np.uint64(1), (f % 64).astype(np.uint64)))
    return reduced_from_bits(bits, cells, demand, n_cells, n_fac)


def reduced_from_bits(
    bits: np.ndarray,
    cells: np.ndarray,
    demand: np.ndarray,
    n_cells: int,
    n_fac: int,
    *,
    inverse: np.ndarray | None = None,
) -> Reduced:
    """The :class:`Reduced` of ``cells`` (ascending, each with people and a candidate) whose
    covering sets are the rows of ``bits`` (a bit per facility); with ``inverse``, ``bits``
    are already the distinct rows (:func:`unique_rows`' order) and ``inverse`` each cell's."""
    cell_row = np.full(n_cells, -1, np.int64)
    n_words = bits.shape[1]
    uniq, inverse = unique_rows(bits) if inverse is None else (bits, inverse)
    weight = np.bincount(inverse, weights=np.asarray(demand, float)[cells], minlength=len(uniq))
    cell_row[cells] = inverse
    # rows x facilities from the bitsets (a loop over <= n_fac/64 words, not over cells)
    r_idx, f_idx = [], []
    for w in range(n_words):
        word = uniq[:, w]
        for b in range(64):
            hit = np.flatnonzero(word & np.uint64(1 << b))
            if hit.size:
                r_idx.append(hit)
                f_idx.append(np.full(hit.size, 64 * w + b))
    r = np.concatenate(r_idx)
    j = np.concatenate(f_idx)
    rows = sp.csr_matrix((np.ones(r.size, bool), (r, j)), shape=(len(uniq), n_fac))
    return Reduced(rows=rows, weight=weight, cell_row=cell_row)


def reduced_input(
    within: sp.spmatrix | Reduced, demand: np.ndarray, candidates: np.ndarray | None
) -> tuple[Reduced, np.ndarray]:
    """The covering input and the candidates' mask: ``within`` reduced here, or already reduced
    (``analysis.block_sets.covering_input`` from the cells' merged sets, with the same
    candidates; then it is used as given)."""
    if isinstance(within, Reduced):
        mask = candidate_mask(candidates, within.rows.shape[1])
        return within, mask
    mask = candidate_mask(candidates, within.shape[0])
    return reduce_coverage(within, demand, candidates=mask), mask


def candidate_mask(candidates: np.ndarray | None, n_fac: int) -> np.ndarray:
    if candidates is None:
        return np.ones(n_fac, bool)
    cand = np.asarray(candidates)
    if cand.dtype == bool:
        if cand.size != n_fac:
            raise ValueError(f"candidates mask has {cand.size} entries for {n_fac} facilities")
        return cand
    mask = np.zeros(n_fac, bool)
    mask[cand.astype(np.int64)] = True
    return mask


def minimal_cover(
    within: sp.spmatrix | Reduced,
    demand: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    time_limit_s: float = 60.0,
) -> CoverResult:
    """The fewest facilities that keep every currently reached cell with people reached.

    Parameters
    ----------
    within
        Boolean (n_fac, n_cells): cell within the threshold of the facility; or its reduction
        with the same ``candidates`` (:func:`reduced_input`).
    demand
        People per cell (cells with 0 people need no cover).
    candidates
        Facilities that exist and may be chosen (boolean mask or indices); default all. Only
        the cells they reach must stay covered (e.g. planned facilities excluded from both).
    time_limit_s
        HiGHS time limit; on expiry the best cover found is returned with ``optimal=False``.

    Returns
    -------
    CoverResult
        Among covers of the minimal size, the one whose facilities' coverage sums highest.

    Notes
    -----
    One solve: minimise sum_j (1 - 0.5 * cov_j / sum(cov)) x_j subject to sum over S_r of x >= 1
    for every reduced row r. The secondary term adds less than 0.5 in total, so it never
    trades a facility for coverage; it only picks, among minimal covers, the largest catchments.
    """
    t0 = time.perf_counter()
    red, mask = reduced_input(within, demand, candidates)
    n_cand = int(mask.sum())
    if red.weight.size == 0:
        return CoverResult(
            np.zeros(0, np.int64),
            0,
            n_cand,
            0.0,
            True,
            "nothing to cover",
            0.0,
            time.perf_counter() - t0,
            0,
        )
    cols = np.flatnonzero(mask)
    a = red.rows[:, cols]
    cov = np.asarray(a.T.astype(np.float64) @ red.weight).ravel()
    c = 1.0 - 0.5 * cov / cov.sum()
    res = milp(
        c,
        integrality=np.ones(cols.size),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(a.astype(np.float64), lb=1.0, ub=np.inf),
        options={**MIP_OPTIONS, "time_limit": float(time_limit_s)},
    )
    if res.x is None:
        raise RuntimeError(f"minimal_cover: HiGHS found no cover ({res.message})")
    x = res.x > 0.5
    chosen = cols[x]
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    # the count is proved minimal when the dual bound is above n - 1 (the tie term is < 0.5)
    bound = float(res.fun) * (1.0 - gap) if res.fun is not None else 0.0
    optimal = res.status == 0 or bound > chosen.size - 1
    return CoverResult(
        chosen=chosen,
        n_chosen=int(chosen.size),
        n_candidates=n_cand,
        covered_people=float(red.weight.sum()),
        optimal=bool(optimal),
        status=str(res.message),
        mip_gap=0.0 if optimal else gap,
        solve_s=time.perf_counter() - t0,
        n_rows=int(red.weight.size),
    )
