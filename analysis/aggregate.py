"""The measures of one type per group of provinces: provinces (63 and 34), the 6 socio-economic
regions, the 4 historical key economic regions and the groupings of the region config.

A group is a set of 63-edition provinces (a 34-edition province is the union of its 63 members),
so every grouping, disjoint or not, is one boolean membership matrix (groups x 63 provinces).
A facility belongs to the groups of its 63-edition province, a cell to those of its province.
For a group G, at threshold T, counting only facilities that exist (``base``: operating, with
road access) unless said otherwise:

- ``people``: people in the cells of G
- ``people_covered``: people in G within T of at least one facility (anywhere)
- ``covered_by_own``: people in G within T of a facility located in G
- ``covered_by_outside``: people in G within T of a facility located outside G
  (the ``covered_by_others`` of a province); ``covered_only_by_outside``: and of none in G
- ``duplicated_with_outside``: people anywhere within T of a facility of G and of one outside G
- ``min_cover_own``: the fewest of G's facilities that keep covered every person of G whom
  G's facilities cover
- ``min_cover_given_outside``: the same, counting the people of G already within T of a facility
  outside G as covered (the neighbours' facilities stay): what G itself needs
- ``n_operating``, ``n_planned``, ``n_flagged``: facilities located in G

The pairwise table holds, for two groups A, B of one grouping, ``served_by`` (people in A within
T of a facility of B; A = B: covered_by_own) and ``duplicated`` (A != B: people anywhere within T
of a facility of A and of one of B), as ``analysis.overlap.province_matrices`` does for provinces.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.covering import minimal_cover
from geo.errors import ConfigError

GROUP_COLUMNS = ["grouping", "group_code", "group_name"]


def group_membership(
    p63: pd.DataFrame,
    *,
    p34: pd.DataFrame | None = None,
    regions6: pd.DataFrame | None = None,
    groupings: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every group of provinces and its 63-edition members.

    Parameters
    ----------
    p63
        The 63 provinces (``prov_code``, ``prov_name``, ``prov34_code``, ``region6_code``,
        ``key_econ_region_vi``), in the order of the run's province index.
    p34
        The 34 provinces (``prov_code``, ``prov_name``), for their names.
    regions6
        ``region6_code``, ``region6_vi``, for the region names.
    groupings
        The region config's ``[groupings]``: name -> list of 63-edition codes, or name ->
        table with ``provinces`` (the codes) and optional ``label``.

    Returns
    -------
    groups : DataFrame
        ``grouping`` (``province63``, ``province34``, ``region6``, ``key_econ_region``,
        ``config``), ``group_code``, ``group_name``.
    membership : ndarray of bool
        (n_groups, 63): province k is a member of group g.

    Raises
    ------
    ConfigError
        A configured grouping names a code that is not a 63-edition province.
    """
    codes = p63["prov_code"].astype(str).to_numpy()
    blocks: list[tuple[str, np.ndarray, list[str], list[str]]] = [
        ("province63", codes, list(codes), list(p63["prov_name"].astype(str)))
    ]
    c34 = p63["prov34_code"].astype(str).to_numpy()
    u34 = sorted(set(c34))
    n34 = (
        dict(zip(p34["prov_code"].astype(str), p34["prov_name"].astype(str), strict=True))
        if p34 is not None
        else {}
    )
    blocks.append(("province34", c34, u34, [n34.get(c, c) for c in u34]))
    r6 = p63["region6_code"].astype(str).to_numpy()
    u6 = sorted(set(r6))
    n6 = (
        dict(
            zip(
                regions6["region6_code"].astype(str),
                regions6["region6_vi"].astype(str),
                strict=True,
            )
        )
        if regions6 is not None and "region6_vi" in regions6
        else {}
    )
    blocks.append(("region6", r6, u6, [n6.get(c, c) for c in u6]))
    ker = p63["key_econ_region_vi"].fillna("").astype(str).to_numpy()
    uk = sorted(set(ker) - {""})
    blocks.append(("key_econ_region", ker, uk, uk))
    rows, member = [], []
    for grouping, of_prov, group_codes, names in blocks:  # a loop over groupings
        for code, name in zip(group_codes, names, strict=True):
            rows.append((grouping, code, name))
            member.append(of_prov == code)
    for name, spec in (groupings or {}).items():
        members = spec.get("provinces", []) if isinstance(spec, dict) else spec
        label = spec.get("label", name) if isinstance(spec, dict) else name
        wanted = [str(c).zfill(2) for c in members]
        unknown = sorted(set(wanted) - set(codes))
        if unknown or not wanted:
            raise ConfigError(
                f"[groupings] '{name}': {'unknown province codes ' + ', '.join(unknown) if unknown else 'no provinces'}; "
                'give 63-edition GSO codes such as "01" (Hà Nội)',
                field=f"groupings.{name}",
            )
        rows.append(("config", str(name), str(label)))
        member.append(np.isin(codes, wanted))
    return pd.DataFrame(rows, columns=GROUP_COLUMNS), np.array(member, dtype=bool).reshape(
        len(rows), codes.size
    )


def _member_of(index: np.ndarray, membership: np.ndarray) -> sp.csr_matrix:
    """(n_groups, n_items) boolean: item (cell or facility) with province ``index`` is in group g."""
    ok = index >= 0
    onehot = sp.csr_matrix(
        (np.ones(int(ok.sum())), (np.flatnonzero(ok), index[ok])),
        shape=(index.size, membership.shape[1]),
    )
    return (sp.csr_matrix(membership.astype(np.float64)) @ onehot.T).tocsr() > 0


def aggregate_measures(  # noqa: PLR0913 (keyword-only inputs of one call site: cells, facilities, groups)
    within: sp.spmatrix,
    demand: np.ndarray,
    *,
    cell_prov63: np.ndarray,
    fac_prov63: np.ndarray,
    status: np.ndarray,
    base: np.ndarray,
    flag: np.ndarray,
    groups: pd.DataFrame,
    membership: np.ndarray,
    time_limit_s: float = 30.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The measures of one type and threshold per group, and between the groups of a grouping.

    Parameters
    ----------
    within
        Boolean (n_fac, n_cells): cell within T of facility.
    demand
        People per cell.
    cell_prov63, fac_prov63
        63-edition province index of every cell and facility (-1: none).
    status
        ``operating`` / ``planned`` per facility.
    base
        Facilities that exist (operating with road access): the only ones that cover.
    flag
        Flagged redundant, per facility.
    groups, membership
        From :func:`group_membership`.
    time_limit_s
        HiGHS limit for each group's minimal cover.

    Returns
    -------
    measures : DataFrame
        One row per group: the columns of ``groups`` and the measures of the module docstring.
    pairs : DataFrame
        ``grouping``, ``group_a``, ``group_b``, ``served_by``, ``duplicated`` for the pairs of
        one grouping with a nonzero value (the diagonal carries ``served_by`` only), sorted.
    """
    d = np.asarray(demand, np.float64)
    base = np.asarray(base, bool)
    a = sp.diags(base.astype(np.float64)) @ sp.csr_matrix(within).astype(np.float64)
    cell_in = _member_of(np.asarray(cell_prov63), membership)  # (G, cells)
    fac_in = _member_of(np.asarray(fac_prov63), membership)  # (G, fac)
    fac_in_f = fac_in.astype(np.float64)
    n_total = sp.csr_matrix(np.asarray(a.sum(axis=0)))  # (1, cells): facilities reaching each cell
    n_own = (fac_in_f @ a).tocsr()  # (G, cells): facilities of g reaching each cell
    own = (n_own > 0).astype(np.float64)
    # "within T of a facility outside g" is needed only on g's cells and on the cells g covers
    pattern = ((cell_in + (n_own > 0)) > 0).astype(np.float64)
    outside = ((pattern.multiply(n_total) - pattern.multiply(n_own)) > 0).astype(np.float64).tocsr()
    cell_f = cell_in.astype(np.float64)
    by_out = cell_f.multiply(outside)
    st = np.asarray(status).astype(str)
    measures = groups.copy()
    measures["n_operating"] = fac_in_f @ (st == "operating").astype(np.float64)
    measures["n_planned"] = fac_in_f @ (st == "planned").astype(np.float64)
    measures["n_flagged"] = fac_in_f @ np.asarray(flag, np.float64)
    measures["people"] = cell_f @ d
    measures["people_covered"] = cell_f @ (d * (n_total.toarray().ravel() > 0))
    measures["covered_by_own"] = cell_f.multiply(own) @ d
    measures["covered_by_outside"] = by_out @ d
    measures["covered_only_by_outside"] = (by_out - by_out.multiply(own)) @ d
    measures["duplicated_with_outside"] = own.multiply(outside) @ d
    for c in ("n_operating", "n_planned", "n_flagged"):
        measures[c] = measures[c].round().astype(np.int64)
    cover_own, cover_given = [], []
    w_csr = sp.csr_matrix(within)
    for g in range(len(groups)):  # a loop over groups (about a hundred), each a small LSCP
        mine = np.flatnonzero(base & fac_in[g].toarray().ravel())
        cells = cell_in[g].indices  # the group's cells: the only ones whose cover counts
        if mine.size == 0 or cells.size == 0:
            cover_own.append(0)
            cover_given.append(0)
            continue
        sub = w_csr[mine][:, cells]  # the small problem only (same answer, far less to reduce)
        d_g = d[cells]
        cover_own.append(minimal_cover(sub, d_g, time_limit_s=time_limit_s).n_chosen)
        d_need = d_g * (outside[g].toarray().ravel()[cells] == 0)
        cover_given.append(minimal_cover(sub, d_need, time_limit_s=time_limit_s).n_chosen)
    measures["min_cover_own"] = cover_own
    measures["min_cover_given_outside"] = cover_given
    # pairs within each grouping: served_by[A, B] and duplicated[A, B]
    served = (cell_f @ sp.diags(d) @ own.T).toarray()
    dup = (own @ sp.diags(d) @ own.T).toarray()
    np.fill_diagonal(dup, 0.0)
    same = groups["grouping"].to_numpy()[:, None] == groups["grouping"].to_numpy()[None, :]
    ga, gb = np.nonzero(same & ((served > 0) | (dup > 0)))
    code = groups["group_code"].to_numpy()
    pairs = pd.DataFrame(
        {
            "grouping": groups["grouping"].to_numpy()[ga],
            "group_a": code[ga],
            "group_b": code[gb],
            "served_by": served[ga, gb],
            "duplicated": dup[ga, gb],
        }
    ).sort_values(["grouping", "group_a", "group_b"], kind="stable", ignore_index=True)
    return measures, pairs
