"""Coverage, unique coverage, pairwise overlaps and province x province matrices.

Definitions (DESIGN.md), for one facility type and threshold T, demand d(c), catchment C_i:

- coverage(i) = sum of d over C_i
- unique(i) = sum of d over cells of C_i reached by no other facility of the type
- overlap(i, j) = sum of d over C_i & C_j; overlap share = overlap / min(coverage(i), coverage(j))
- served_by[A, B] = sum of d over cells in province A within T of a facility located in B
- duplicated[A, B] = sum of d over cells within T of a facility of A and of a facility of B, A != B
- covered_by_others[A] = sum of d over cells in A within T of a facility located outside A
- other_province_share(i) = share of coverage(i) also within T of a facility in another province

All products are sparse matrix products: no loop over facilities or cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class Coverage:
    """Per-facility measures at one threshold (arrays indexed like the facilities)."""

    coverage: np.ndarray
    unique: np.ndarray
    other_province: np.ndarray
    count_per_cell: np.ndarray


def _one_hot(index: np.ndarray, n_cols: int) -> sp.csr_matrix:
    ok = index >= 0
    rows = np.flatnonzero(ok)
    return sp.csr_matrix((np.ones(rows.size), (rows, index[ok])), shape=(index.size, n_cols))


def coverage_measures(
    within: sp.csr_matrix,
    demand: np.ndarray,
    fac_prov: np.ndarray,
    n_prov: int,
    *,
    base: np.ndarray | None = None,
) -> Coverage:
    """Coverage, unique coverage and the part of each catchment also served from another province.

    Parameters
    ----------
    within
        Boolean (n_fac, n_cells): cell within T of facility.
    demand
        People per cell.
    fac_prov
        Province index (in the run's edition) of every facility.
    n_prov
        Number of provinces in the edition.
    base
        Facilities that exist (operating, with road access); default all. The others (planned)
        are measured against the base, as a what-if: their ``unique`` is the demand they would
        newly cover, their ``other_province`` the part already served from another province.
    """
    a = within.astype(np.float64)
    base = np.ones(a.shape[0], bool) if base is None else np.asarray(base, bool)
    ab = sp.diags(base.astype(np.float64)) @ a
    coverage = a @ demand
    count = np.asarray(ab.sum(axis=0)).ravel()
    unique = np.where(base, a @ (demand * (count == 1)), a @ (demand * (count == 0)))
    prov_cover = (_one_hot(np.where(base, fac_prov, -1), n_prov).T @ ab) > 0  # (n_prov, n_cells)
    n_cover_prov = np.asarray(prov_cover.sum(axis=0)).ravel()
    other = np.zeros(fac_prov.size)
    for p in np.unique(fac_prov):  # loop over provinces (a few dozen), not features
        mine = np.flatnonzero(fac_prov == p)
        own = np.asarray(prov_cover[p].todense()).ravel() if p >= 0 else np.zeros(n_cover_prov.size)
        w = demand * ((n_cover_prov - own) > 0)
        other[mine] = a[mine] @ w
    return Coverage(coverage=coverage, unique=unique, other_province=other, count_per_cell=count)


def pairwise_overlaps(
    within: sp.csr_matrix, demand: np.ndarray, coverage: np.ndarray
) -> pd.DataFrame:
    """Every same-type pair (i < j) with a nonzero overlap: ``i``, ``j``, ``overlap``, ``overlap_share``."""
    a = within.astype(np.float64)
    o = sp.triu(a @ sp.diags(demand) @ a.T, k=1).tocoo()
    keep = o.data > 0
    i, j, v = o.row[keep], o.col[keep], o.data[keep]
    denom = np.minimum(coverage[i], coverage[j])
    share = np.divide(v, denom, out=np.zeros_like(v), where=denom > 0)
    df = pd.DataFrame(
        {"i": i.astype(np.int64), "j": j.astype(np.int64), "overlap": v, "overlap_share": share}
    )
    return df.sort_values(["i", "j"], kind="stable").reset_index(drop=True)


def province_matrices(
    within: sp.csr_matrix,
    demand: np.ndarray,
    fac_prov: np.ndarray,
    cell_prov: np.ndarray,
    n_prov: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``served_by`` and ``duplicated`` (n_prov x n_prov) and ``covered_by_others`` (n_prov).

    ``served_by[A, B]``: people in A within T of a facility located in B. ``duplicated[A, B]``
    (A != B, diagonal 0): people anywhere within T of a facility of A and of one of B.
    """
    a = within.astype(np.float64)
    cover = ((_one_hot(fac_prov, n_prov).T @ a) > 0).astype(np.float64)  # (prov B, cells)
    cell_onehot = _one_hot(cell_prov, n_prov)  # (cells, prov A)
    served_by = np.asarray((cover @ sp.diags(demand) @ cell_onehot).todense()).T
    dup = np.asarray((cover @ sp.diags(demand) @ cover.T).todense())
    np.fill_diagonal(dup, 0.0)
    n_cover = np.asarray(cover.sum(axis=0)).ravel()
    ok = cell_prov >= 0
    own = np.zeros(cell_prov.size)
    own[ok] = np.asarray(cover[cell_prov[ok], np.flatnonzero(ok)]).ravel()
    by_others = demand * ((n_cover - own) > 0)
    covered_by_others = np.bincount(cell_prov[ok], weights=by_others[ok], minlength=n_prov)
    return served_by, dup, covered_by_others
