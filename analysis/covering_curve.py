"""Coverage-versus-count curve of one facility type (maximal covering, p = 1 .. the cover size).

Each point is a real p-set with a proven upper bound: the greedy order and its submodular bound
first, then exact MILPs for the open points of each component, up to a fixed work budget; the
national curve is the max-plus combination of the component curves (see :func:`coverage_curve`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from analysis.covering import EXACT_WORK, Reduced, minimal_cover, reduced_input
from analysis.mclp import Mclp, greedy_chain, keep_monotone


@dataclass
class _Curve:
    """One component's curve for p = 1 .. p_full (index p - 1): achieved sets and bounds."""

    value: np.ndarray  # people reached by ``sets[p - 1]``
    upper: np.ndarray  # proven upper bound of the best p-set
    sets: list[np.ndarray]


def _component_curve(
    a: sp.csc_matrix,
    w: np.ndarray,
    cover: np.ndarray,
    *,
    budget: list[int],
    time_limit_s: float,
) -> _Curve:
    """Maximal covering of one connected component for p = 1 .. its minimal cover size.

    The greedy chain gives a set and a proven upper bound at every p (:func:`greedy_chain`);
    a p whose gap is open is solved exactly (HiGHS) while ``budget[0]`` lasts: work left,
    counted as the nonzeros of the component's matrix per solve (shared by all components; a
    count, not a time, so the result does not depend on the machine's speed). At
    p = minimal cover size the cover itself reaches everyone. Rows reached by a single facility
    are folded into that facility's weight; the rest get a continuous y_r <= sum over S_r of x.
    """
    total = float(w.sum())
    p_full = max(int(cover.size), 1)
    value, sets, upper = greedy_chain(a, w, p_full)
    value[p_full - 1] = total
    sets.append(np.sort(cover))
    upper = np.minimum(upper, total)
    upper[p_full - 1] = total
    tol = 1e-9 * max(total, 1.0)
    open_p = [p for p in range(1, p_full) if value[p - 1] < upper[p - 1] - tol]
    cost = max(int(a.nnz), 1)
    if open_p and budget[0] >= cost:
        mclp = Mclp(a, w)
        for p in open_p:  # a loop over the p whose optimum is not yet proved
            if budget[0] < cost:
                break
            budget[0] -= cost
            sol, got, _optimal, bound = mclp.solve(p, time_limit_s=time_limit_s, known=value[p - 1])
            if got > value[p - 1]:
                value[p - 1], sets[p - 1] = got, sol
            upper[p - 1] = min(upper[p - 1], bound)
    keep_monotone(a, w, value, upper, sets, first_p=1)
    return _Curve(value=value, upper=upper, sets=sets)


def coverage_curve(
    within: sp.spmatrix | Reduced,
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
        Boolean (n_fac, n_cells), or its reduction with the same ``candidates``
        (``analysis.covering.reduced_input``).
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
    of :func:`greedy_chain` an upper bound; exact MILPs close the open gaps while the solve
    budget lasts. The national curve is the max-plus combination of the component curves,
    F(p) = max over p_1 + ... + p_K = p of sum_k f_k(p_k), by dynamic programming over
    components, for the achieved values and, separately, for the upper bounds.
    """
    red, mask = reduced_input(within, demand, candidates)
    cols = np.flatnonzero(mask)
    total = float(red.weight.sum())
    columns = ["p", "covered", "share", "chosen", "optimal", "upper_bound"]
    if total <= 0 or cols.size == 0:
        return pd.DataFrame([], columns=columns)
    a = red.rows[:, cols].tocsc().astype(np.float64)
    if cover is None:
        cover = minimal_cover(red, demand, candidates=mask, time_limit_s=time_limit_s).chosen
    local = np.full(mask.size, -1, np.int64)
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
    mclp: Mclp | None = None
    for s in shares:  # a loop over the quoted shares (three)
        target = s * total * (1 - 1e-12)
        reach = np.flatnonzero(value >= target)
        if reach.size == 0 or reach[0] <= 1 or upper[reach[0] - 1] < target:
            continue
        p_s = int(reach[0])
        mclp = mclp or Mclp(a, w)
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
        keep_monotone(a, w, value, upper, sets, first_p=0)


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
