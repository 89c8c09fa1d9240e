"""Maximal covering (MCLP) building blocks: the greedy order, its submodular bound and the MILP.

Used by :mod:`analysis.covering_curve`; the matrices are (rows x facilities) of a reduced problem
(:func:`analysis.covering.reduce_coverage`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from analysis.covering import MIP_OPTIONS


def greedy(a: sp.csc_matrix, w: np.ndarray, p: int, start: np.ndarray) -> np.ndarray:
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


def keep_monotone(
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
            sets[i] = greedy(a, w, first_p + i, sets[i - 1])
            value[i] = people_reached(a, w, sets[i])
    upper[:] = np.maximum(np.minimum.accumulate(upper[::-1])[::-1], value)


def greedy_chain(
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


class Mclp:
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
                got = people_reached(self.a, self.w, sol)
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
            options={**MIP_OPTIONS, "time_limit": float(time_limit_s)},
        )
        sol = np.flatnonzero(res.x[: self.n] > 0.5) if res.x is not None else np.zeros(0, np.int64)
        got = people_reached(self.a, self.w, sol)
        if res.status == 0:
            return sol, got, True, got
        dual = getattr(res, "mip_dual_bound", None)
        bound = -float(dual) if dual is not None and np.isfinite(dual) else np.inf
        return sol, got, False, bound


def people_reached(a: sp.csc_matrix, w: np.ndarray, chosen: np.ndarray) -> float:
    if chosen.size == 0:
        return 0.0
    hit = np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())
