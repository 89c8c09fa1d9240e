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
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from analysis.catchments import TravelTimes
from geo.config import COVERING_EXACT_WORK, TypeConfig

log = logging.getLogger(__name__)

_MIP_OPTIONS = {"mip_rel_gap": 1e-7}
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
    mask = _mask(candidates, n_fac)
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
    uniq, inverse = np.unique(bits, axis=0, return_inverse=True)
    inverse = inverse.ravel()
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


def _mask(candidates: np.ndarray | None, n_fac: int) -> np.ndarray:
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
    within: sp.spmatrix,
    demand: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    time_limit_s: float = 60.0,
) -> CoverResult:
    """The fewest facilities that keep every currently reached cell with people reached.

    Parameters
    ----------
    within
        Boolean (n_fac, n_cells): cell within the threshold of the facility.
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
    n_fac = within.shape[0]
    mask = _mask(candidates, n_fac)
    red = reduce_coverage(within, demand, candidates=mask)
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
        options={**_MIP_OPTIONS, "time_limit": float(time_limit_s)},
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


def _greedy(a: sp.csc_matrix, w: np.ndarray, p: int, start: np.ndarray) -> np.ndarray:
    """Greedy maximal covering from ``start`` up to p facilities (a loop over p, not cells)."""
    chosen = list(start)
    covered = (
        np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0 if chosen else np.zeros(a.shape[0], bool)
    )
    while len(chosen) < p:
        gain = a.T @ (w * ~covered)
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        covered |= a[:, j].toarray().ravel() > 0
    return np.array(sorted(chosen), np.int64)


@dataclass
class _Curve:
    """One component's curve for p = 1 .. p_full (index p - 1): achieved sets and bounds."""

    value: np.ndarray  # people reached by ``sets[p - 1]``
    upper: np.ndarray  # proven upper bound of the best p-set
    sets: list[np.ndarray]


def _keep_monotone(
    a: sp.csc_matrix,
    w: np.ndarray,
    value: np.ndarray,
    upper: np.ndarray,
    sets: list[np.ndarray],
    *,
    first_p: int,
) -> None:
    """An optimum never falls as p grows (in place; index i holds p = first_p + i): a set worth
    less than the one before it is replaced by that one extended greedily, and every bound
    by the smallest bound at the same or a larger p (and never below the value reached)."""
    for i in range(1, value.size):
        if value[i] < value[i - 1]:
            sets[i] = _greedy(a, w, first_p + i, sets[i - 1])
            value[i] = _covered(a, w, sets[i])
    upper[:] = np.maximum(np.minimum.accumulate(upper[::-1])[::-1], value)


def _greedy_chain(
    a: sp.csc_matrix, w: np.ndarray, p_full: int
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Greedy sets of size 1 .. p_full - 1 with a proven upper bound of the optimum at every p.

    The bound is the one of Leskovec et al. (2007) for monotone submodular coverage: for any
    set S and any p, OPT(p) <= f(S) + (sum of the p largest marginal gains given S). It is
    evaluated at every greedy prefix S_j and the smallest kept, so a p whose greedy value meets
    its bound is proved optimal without a solve.
    """
    covered = np.zeros(a.shape[0], bool)
    chosen: list[int] = []
    value = np.zeros(p_full)
    sets: list[np.ndarray] = []
    upper = np.full(p_full, np.inf)
    f = 0.0
    for _ in range(p_full):  # a loop over p (at most the minimal cover size)
        gain = np.asarray(a.T @ (w * ~covered)).ravel()
        gain[chosen] = 0.0
        top = np.cumsum(-np.sort(-gain))[:p_full]
        top = np.concatenate([top, np.full(p_full - top.size, top[-1] if top.size else 0.0)])
        upper = np.minimum(upper, f + top)
        if len(chosen) == p_full - 1:
            break
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        covered |= a[:, j].toarray().ravel() > 0
        f = float(w[covered].sum())
        value[len(chosen) - 1] = f
        sets.append(np.array(sorted(chosen), np.int64))
    # everyone reached before the cover size (a cover not proved minimal): the rest repeat
    while len(sets) < p_full - 1:
        sets.append(sets[-1] if sets else np.zeros(0, np.int64))
        value[len(sets) - 1] = f
    return value, sets, upper


class _Mclp:
    """Maximal covering MILP of a (rows x facilities) matrix, solved for any p.

    Rows reached by a single facility are folded into that facility's objective weight; the
    rest get a continuous y_r <= sum over S_r of x.
    """

    def __init__(self, a: sp.csc_matrix, w: np.ndarray) -> None:
        self.a, self.w = a, w
        n = self.n = a.shape[1]
        deg = np.asarray(a.sum(axis=1)).ravel()
        single = deg == 1
        u = np.asarray(a[single].T @ w[single]).ravel()
        multi = np.flatnonzero(~single)
        k = multi.size
        self.c = -np.concatenate([u, w[multi]])  # variables: x (n) then y (k)
        self.link = sp.hstack(
            [-a[multi], sp.identity(k, format="csr")], format="csr"
        )  # y - A x <= 0
        self.count = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(k)])[None, :])
        self.integrality = np.concatenate([np.ones(n), np.zeros(k)])
        self.lp_rows = sp.vstack([self.link, self.count], format="csr")

    def _lp(self, p: int) -> Any:
        b = np.zeros(self.link.shape[0] + 1)
        b[-1] = p
        return linprog(self.c, A_ub=self.lp_rows, b_ub=b, bounds=(0, 1), method="highs")

    def lp_bound(self, p: int) -> float:
        """Upper bound of the people p facilities can reach: the LP relaxation's optimum."""
        lp = self._lp(p)
        return -float(lp.fun) if lp.status == 0 else np.inf

    def solve(
        self, p: int, *, time_limit_s: float, known: float = 0.0, enough: float = -np.inf
    ) -> tuple[np.ndarray, float, bool, float]:
        """(chosen, people reached, proved optimal, upper bound) with at most p facilities.

        The LP relaxation is solved first (a fraction of the MILP's cost). No MILP follows when
        it settles the question: its solution is integral (then optimal); its bound is no
        better than ``known`` (people a p-set is already known to reach: that set is optimal);
        or its bound is below ``enough`` (the caller only needs to know that). In the last two
        cases the chosen set is empty and the bound is the LP's.
        """
        tol = 1e-9 * max(float(self.w.sum()), 1.0)
        lp = self._lp(p)
        if lp.status == 0:
            bound = -float(lp.fun)
            x = lp.x[: self.n]
            if np.all((x < 1e-7) | (x > 1 - 1e-7)):
                sol = np.flatnonzero(x > 0.5)
                got = _covered(self.a, self.w, sol)
                if got >= bound - tol:
                    return sol, got, True, got
            if bound <= known + tol:
                return np.zeros(0, np.int64), 0.0, False, max(bound, known)
            if bound < enough:
                return np.zeros(0, np.int64), 0.0, False, bound
        res = milp(
            self.c,
            integrality=self.integrality,
            bounds=Bounds(0, 1),
            constraints=[
                LinearConstraint(self.link, -np.inf, 0.0),
                LinearConstraint(self.count, -np.inf, p),
            ],
            options={**_MIP_OPTIONS, "time_limit": float(time_limit_s)},
        )
        sol = np.flatnonzero(res.x[: self.n] > 0.5) if res.x is not None else np.zeros(0, np.int64)
        got = _covered(self.a, self.w, sol)
        if res.status == 0:
            return sol, got, True, got
        dual = getattr(res, "mip_dual_bound", None)
        bound = -float(dual) if dual is not None and np.isfinite(dual) else np.inf
        return sol, got, False, bound


def _component_curve(
    a: sp.csc_matrix,
    w: np.ndarray,
    cover: np.ndarray,
    *,
    budget: list[int],
    time_limit_s: float,
) -> _Curve:
    """Maximal covering of one connected component for p = 1 .. its minimal cover size.

    The greedy chain gives a set and a proven upper bound at every p (:func:`_greedy_chain`);
    a p whose gap is open is solved exactly (HiGHS) while ``budget[0]`` lasts: work left,
    counted as the nonzeros of the component's matrix per solve (shared by all components; a
    count, not a time, so the result does not depend on the machine's speed). At
    p = minimal cover size the cover itself reaches everyone. Rows reached by a single facility
    are folded into that facility's weight; the rest get a continuous y_r <= sum over S_r of x.
    """
    total = float(w.sum())
    p_full = max(int(cover.size), 1)
    value, sets, upper = _greedy_chain(a, w, p_full)
    value[p_full - 1] = total
    sets.append(np.sort(cover))
    upper = np.minimum(upper, total)
    upper[p_full - 1] = total
    tol = 1e-9 * max(total, 1.0)
    open_p = [p for p in range(1, p_full) if value[p - 1] < upper[p - 1] - tol]
    cost = max(int(a.nnz), 1)
    if open_p and budget[0] >= cost:
        mclp = _Mclp(a, w)
        for p in open_p:  # a loop over the p whose optimum is not yet proved
            if budget[0] < cost:
                break
            budget[0] -= cost
            sol, got, _optimal, bound = mclp.solve(p, time_limit_s=time_limit_s, known=value[p - 1])
            if got > value[p - 1]:
                value[p - 1], sets[p - 1] = got, sol
            upper[p - 1] = min(upper[p - 1], bound)
    _keep_monotone(a, w, value, upper, sets, first_p=1)
    return _Curve(value=value, upper=upper, sets=sets)


def coverage_curve(
    within: sp.spmatrix,
    demand: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    cover: np.ndarray | None = None,
    p_max: int | None = None,
    max_work: int = EXACT_WORK,
    shares: tuple[float, ...] = (0.9, 0.95, 0.99),
    time_limit_s: float = 20.0,
) -> pd.DataFrame:
    """Most people reachable with p facilities, p = 1 .. the minimal cover size.

    Parameters
    ----------
    within
        Boolean (n_fac, n_cells).
    demand
        People per cell.
    candidates
        Facilities that may be chosen (mask or indices); default all.
    cover
        A minimal cover of the same problem (indices into ``within``), e.g.
        ``minimal_cover(...).chosen``; computed when not given. The curve reaches 100 % of the
        all-candidate coverage at its size, and stops there.
    p_max
        Largest p (default: the minimal cover size).
    max_work
        Exact (HiGHS) solves allowed for the p whose optimum the greedy bound does not prove,
        as a total of (nonzeros of the component solved) over the solves: a count, not a
        time, so that two runs give the same table on any machine. The default solves every
        open point of Viet Nam's seaport and airport curves; the parks' curve (274) keeps
        greedy points with their bounds beyond the first few, its quoted shares made exact.
    shares
        Shares of the all-candidate coverage whose first p is made exact whatever the budget
        (by solves of the whole problem, see :func:`_settle_shares`): the numbers quoted.
    time_limit_s
        HiGHS time limit per solve (a safety net; a solve that hits it keeps its incumbent).

    Returns
    -------
    pandas.DataFrame
        ``p``, ``covered`` (people reached by the set), ``share`` (of the all-candidate
        coverage), ``chosen`` (facility indices into ``within``, pipe-joined, ascending),
        ``optimal`` (proved: no p-set reaches more), ``upper_bound`` (people: no p-set
        reaches more than this; equal to ``covered`` where optimal).

    Notes
    -----
    Facilities that share no cell form independent components (industrial parks: ~45
    clusters). In each component the greedy order gives a set per p and the submodular bound
    of :func:`_greedy_chain` an upper bound; exact MILPs close the open gaps while the solve
    budget lasts. The national curve is the max-plus combination of the component curves,
    F(p) = max over p_1 + ... + p_K = p of sum_k f_k(p_k), by dynamic programming over
    components, for the achieved values and, separately, for the upper bounds.
    """
    mask = _mask(candidates, within.shape[0])
    red = reduce_coverage(within, demand, candidates=mask)
    cols = np.flatnonzero(mask)
    total = float(red.weight.sum())
    columns = ["p", "covered", "share", "chosen", "optimal", "upper_bound"]
    if total <= 0 or cols.size == 0:
        return pd.DataFrame([], columns=columns)
    a = red.rows[:, cols].tocsc().astype(np.float64)
    if cover is None:
        cover = minimal_cover(within, demand, candidates=mask, time_limit_s=time_limit_s).chosen
    local = np.full(within.shape[0], -1, np.int64)
    local[cols] = np.arange(cols.size)
    in_cover = np.zeros(cols.size, bool)
    in_cover[local[np.asarray(cover, np.int64)]] = True
    n_comp, label = connected_components(a.T @ a, directed=False)
    curves: list[_Curve] = []
    members = []
    budget = [int(max_work)]
    for k in range(n_comp):  # a loop over components (clusters of facilities)
        fk = np.flatnonzero(label == k)
        rk = np.flatnonzero(np.asarray(a[:, fk].sum(axis=1)).ravel() > 0)
        if rk.size == 0:
            continue
        curves.append(
            _component_curve(
                a[rk][:, fk].tocsc(),
                red.weight[rk],
                np.flatnonzero(in_cover[fk]),
                budget=budget,
                time_limit_s=time_limit_s,
            )
        )
        members.append(fk)
    p_full = sum(cv.value.size for cv in curves)
    p_max = p_full if p_max is None else min(int(p_max), p_full)
    value, picks = _max_plus([cv.value for cv in curves], p_max)
    upper, _ = _max_plus([cv.upper for cv in curves], p_max)
    sets: list[np.ndarray] = [np.zeros(0, np.int64)]
    for p in range(1, p_max + 1):  # a loop over p: the DP's pick per component
        chosen, rest = [], p
        for k in range(len(curves) - 1, -1, -1):
            q = int(picks[k][rest])
            rest -= q
            if q:
                chosen.append(members[k][curves[k].sets[q - 1]])
        sets.append(np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64))
    upper = np.maximum(upper, value)
    if shares and p_max == p_full:
        _settle_shares(a, red.weight, value, upper, sets, shares=shares, time_limit_s=time_limit_s)
    tol = 1e-9 * max(total, 1.0)
    rows = []
    for p in range(1, p_max + 1):  # a loop over p
        rows.append(
            {
                "p": p,
                "covered": float(value[p]),
                "share": float(value[p]) / total,
                "chosen": "|".join(map(str, cols[sets[p]].tolist())),
                "optimal": bool(value[p] >= upper[p] - tol),
                "upper_bound": float(upper[p]),
            }
        )
        if value[p] >= total * (1 - 1e-12):
            break
    return pd.DataFrame(rows, columns=columns)


def _settle_shares(
    a: sp.csc_matrix,
    w: np.ndarray,
    value: np.ndarray,
    upper: np.ndarray,
    sets: list[np.ndarray],
    *,
    shares: tuple[float, ...],
    time_limit_s: float,
) -> None:
    """Make the first p that reaches each share exact (updates the arrays in place).

    For a share s the curve's first p with value >= s (p_s) is achievable; it is the smallest
    possible once the optimum at p_s - 1 is proved below s. The LP relaxation, whose bound
    grows with p, is bisected for the smallest p whose bound reaches s (cheap solves); below
    it no p can reach s. From there the whole problem (all components in one MILP) is solved
    upwards until a set reaches s or p_s is reached: usually one or two MILPs per share.
    """
    total = float(w.sum())
    mclp: _Mclp | None = None
    for s in shares:  # a loop over the quoted shares (three)
        target = s * total * (1 - 1e-12)
        reach = np.flatnonzero(value >= target)
        if reach.size == 0 or reach[0] <= 1 or upper[reach[0] - 1] < target:
            continue
        p_s = int(reach[0])
        mclp = mclp or _Mclp(a, w)
        lo, hi = 0, p_s  # the LP bound is below s at lo, reaches s at hi
        while hi - lo > 1:  # bisection over p (a few LPs)
            mid = (lo + hi) // 2 if hi < p_s else p_s - 1  # p_s - 1 first: often all it takes
            bound = mclp.lp_bound(mid)
            if bound < target:
                lo = mid
                upper[mid] = min(upper[mid], bound)
            else:
                hi = mid
        for q in range(hi, p_s):  # MILPs upwards from the first p the LP cannot rule out
            sol, got, _optimal, bound = mclp.solve(
                q, time_limit_s=time_limit_s, known=value[q], enough=target
            )
            if got > value[q]:
                value[q], sets[q] = got, sol
            upper[q] = max(min(upper[q], bound), value[q])
            if got >= target or bound >= target:
                break  # q reaches s (the answer), or the solve stopped unproved (left as is)
        _keep_monotone(a, w, value, upper, sets, first_p=0)


def _max_plus(curves: list[np.ndarray], p_max: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """F(p) = max over p_1 + ... + p_K = p of sum_k f_k(p_k) (f_k(0) = 0), with back-pointers."""
    value = np.full(p_max + 1, -np.inf)
    value[0] = 0.0
    picks = []
    p = np.arange(p_max + 1)
    for cv in curves:
        g = np.concatenate([[0.0], cv])
        q = np.arange(g.size)
        cand = np.where(
            q[None, :] <= p[:, None],
            value[np.maximum(p[:, None] - q[None, :], 0)] + g[None, :],
            -np.inf,
        )
        pick = np.argmax(cand, axis=1)
        value = cand[p, pick]
        picks.append(pick)
    return value, picks


def _covered(a: sp.csc_matrix, w: np.ndarray, chosen: np.ndarray) -> float:
    if chosen.size == 0:
        return 0.0
    hit = np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def _pct(share: float) -> str:
    """Whole percent, rounded down below 100 % so that 99.6 % never reads as everyone."""
    if share >= 1 - 1e-12:
        return "100%"
    return f"{min(int(np.floor(100 * share)), 99)}%"


def cover_sentence(
    *,
    p: int,
    n: int,
    share: float,
    label_vi: str,
    label_en: str,
    threshold_min: float,
    region_vi: str = "",
    region_en: str = "",
) -> tuple[str, str]:
    """A curve point in words, Vietnamese and English.

    Parameters
    ----------
    p, n
        Facilities chosen and facilities in total.
    share
        Coverage of the p as a share of the coverage of all n (0..1); shown in whole percent,
        rounded down below 100 %.
    label_vi, label_en
        The type's labels (``TypeConfig.label_vi`` / ``label_en``), e.g. "Cảng biển", "Seaport".
    threshold_min
        The break, minutes by road.
    region_vi, region_en
        Where, e.g. "Việt Nam" / "Viet Nam"; omitted when empty.

    Returns
    -------
    tuple of str
        (vi, en), e.g. "7 of the 19 seaports of Viet Nam reach 98% of the people that all 19
        reach within 120 min by road."
    """
    t = f"{threshold_min:g}"
    en_type = label_en.lower() + "s"
    vi_type = label_vi[:1].lower() + label_vi[1:]
    of_en = f" of {region_en}" if region_en else ""
    of_vi = f" của {region_vi}" if region_vi else ""
    pct = _pct(share)
    if pct == "100%":
        en = f"{p} of the {n} {en_type}{of_en} keep within {t} min by road everyone that all {n} reach."
        vi = f"{p} trong số {n} {vi_type}{of_vi} vẫn giữ được mọi người mà cả {n} {vi_type} tiếp cận trong {t} phút đường bộ."
    else:
        en = f"{p} of the {n} {en_type}{of_en} reach {pct} of the people that all {n} reach within {t} min by road."
        vi = f"{p} trong số {n} {vi_type}{of_vi} tiếp cận {pct.replace('%', ' %')} số người mà cả {n} {vi_type} tiếp cận trong {t} phút đường bộ."
    return vi, en


def covering_tables(
    tt: TravelTimes,
    demand: np.ndarray,
    fac: pd.DataFrame,
    tc: TypeConfig,
    *,
    base: np.ndarray,
    breaks_min: tuple[float, ...] | None = None,
    region_vi: str = "",
    region_en: str = "",
    shares: tuple[float, ...] = (0.9, 0.95, 0.99),
    max_work: int = EXACT_WORK,
    exact_shares: tuple[float, ...] | None = None,
    time_limit_s: float = 60.0,
) -> dict[str, pd.DataFrame]:
    """Minimal cover and coverage curve of one type, as output tables.

    Parameters
    ----------
    tt
        Travel times of the type (facility x cell).
    demand
        People per cell.
    fac
        The type's facilities, row i = facility i of ``tt`` (``facility_id`` column).
    tc
        The type's configuration (labels, breaks, primary break).
    base
        Facilities that exist (operating with road access): the only candidates, and the only
        ones whose reach must be kept. Planned facilities are never in the cover.
    breaks_min
        Breaks to solve (default: the primary break only).
    region_vi, region_en
        Region name for the sentences.
    shares
        Curve shares to report the first p of (``p_90``, ``p_95``, ``p_99``); ``p_90_proved``
        etc. say whether no smaller p can reach the share (else the p is achievable, and the
        smallest possible lies between the first p whose ``upper_bound`` reaches it and ``p_90``).
    max_work
        Exact-solve work the curve may spend on the p the greedy bound leaves open (per break;
        see :func:`coverage_curve`).
    exact_shares
        Shares whose first p is made exact (default: ``shares``; ``()`` leaves them to the
        greedy bound and the work budget, with ``p_90_proved`` etc. saying what was proved).
    time_limit_s
        HiGHS limit per solve.

    Returns
    -------
    dict of str to DataFrame
        ``covering`` (one row per break), ``coverage_curve`` (one row per break and p) and
        ``cover_members`` (one row per break and facility: ``in_minimal_cover``).
    """
    ids = fac["facility_id"].astype(str).to_numpy()
    base = np.asarray(base, bool)
    n = int(base.sum())
    summary, curves, members = [], [], []
    for b in breaks_min or (tc.primary_min,):  # a loop over breaks
        within = tt.within(b * 60.0)
        t0 = time.perf_counter()
        cover = minimal_cover(within, demand, candidates=base, time_limit_s=time_limit_s)
        t1 = time.perf_counter()
        curve = coverage_curve(
            within,
            demand,
            candidates=base,
            cover=cover.chosen,
            max_work=max_work,
            shares=shares if exact_shares is None else exact_shares,
            time_limit_s=time_limit_s,
        )
        t2 = time.perf_counter()
        log.info(
            "%s %g min: minimal cover %d of %d (%.2f s), curve %d points (%.2f s)",
            tc.name,
            b,
            cover.n_chosen,
            n,
            t1 - t0,
            len(curve),
            t2 - t1,
        )
        row: dict[str, object] = {
            "type": tc.name,
            "break_min": b,
            "n_facilities": n,
            "covered_people": cover.covered_people,
            "min_cover_size": cover.n_chosen,
            "min_cover_ids": "|".join(ids[cover.chosen]),
            "optimal": cover.optimal,
            "mip_gap": cover.mip_gap,
            "curve_points": len(curve),
            "curve_points_proved": int(curve["optimal"].sum()),
        }  # solve times are logged, not stored: identical runs give identical tables
        for s in shares:
            hit = curve.loc[curve["share"] >= s - 1e-12, "p"]
            p_s = int(hit.min()) if len(hit) else cover.n_chosen
            row[f"p_{round(100 * s)}"] = p_s
            # proved when no smaller p could reach the share even at its upper bound
            can = curve.loc[curve["upper_bound"] >= s * cover.covered_people * (1 - 1e-12), "p"]
            row[f"p_{round(100 * s)}_proved"] = bool(
                cover.optimal and (int(can.min()) if len(can) else p_s) >= p_s
            )
        vi, en = cover_sentence(
            p=cover.n_chosen,
            n=n,
            share=1.0,
            label_vi=tc.label_vi,
            label_en=tc.label_en,
            threshold_min=b,
            region_vi=region_vi,
            region_en=region_en,
        )
        row["cover_sentence_vi"], row["cover_sentence_en"] = vi, en
        knee = curve[curve["share"] >= 0.95 - 1e-12].head(1)
        if len(knee) and int(knee["p"].iloc[0]) < cover.n_chosen:
            vi, en = cover_sentence(
                p=int(knee["p"].iloc[0]),
                n=n,
                share=float(knee["share"].iloc[0]),
                label_vi=tc.label_vi,
                label_en=tc.label_en,
                threshold_min=b,
                region_vi=region_vi,
                region_en=region_en,
            )
        row["curve_sentence_vi"], row["curve_sentence_en"] = vi, en
        summary.append(row)
        chosen_ids = [
            "|".join(ids[np.array(c.split("|"), dtype=np.int64)]) if c else ""
            for c in curve["chosen"]
        ]
        curves.append(
            curve.drop(columns="chosen").assign(type=tc.name, break_min=b, facility_ids=chosen_ids)
        )
        inside = np.zeros(len(ids), bool)
        inside[cover.chosen] = True
        members.append(
            pd.DataFrame(
                {"type": tc.name, "break_min": b, "facility_id": ids, "in_minimal_cover": inside}
            )
        )
    cols = ["type", "break_min", "p", "covered", "share", "facility_ids", "optimal", "upper_bound"]
    return {
        "covering": pd.DataFrame(summary),
        "coverage_curve": pd.concat(curves, ignore_index=True)[cols],
        "cover_members": pd.concat(members, ignore_index=True),
    }
