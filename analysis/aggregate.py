"""The measures of one type per group of areas: every area level of the region (Viet Nam:
provinces, 63 and 34), its groupings of the finest units (Viet Nam: the 6 socio-economic regions
and the 4 historical key economic regions) and the groupings of the region config.

A group is a set of finest-level areas (a coarser level's area is the union of the finest units
its crosswalk maps onto it), so every grouping, disjoint or not, is one boolean membership matrix
(groups x finest areas). A facility belongs to the groups of its finest area, a cell to those of
its area. For a group G, at threshold T, counting only facilities that exist (``base``:
operating, with road access) unless said otherwise:

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.covering import minimal_cover
from geo.config import AreaLevel
from geo.errors import ConfigError

GROUP_COLUMNS = ["grouping", "group_code", "group_name"]


@dataclass(frozen=True)
class AreaGrouping:
    """One grouping of the finest areas: its name in the outputs (``grouping``), the group code
    of every finest area ("": in no group), its groups in output order and their names."""

    name: str
    of_area: np.ndarray
    group_codes: tuple[str, ...]
    names: Mapping[str, str]


def _codes(values: pd.Series) -> np.ndarray:
    return values.fillna("").astype(str).to_numpy()


def _names(table: pd.DataFrame | None, code: str, name: str) -> dict[str, str]:
    if table is None or code not in table or name not in table:
        return {}
    return dict(zip(table[code].astype(str), table[name].astype(str), strict=True))


def area_groupings(
    provinces: Any, levels: Sequence[AreaLevel], groups: Mapping[str, str]
) -> tuple[pd.DataFrame, list[AreaGrouping]]:
    """The finest area table and every grouping of its areas the region declares (``[areas]``).

    ``levels`` (``RegionConfig.area_levels``, finest first): one grouping each, named
    ``province<edition>``, its areas those of the level's table ``provinces.p<edition>`` (the
    finest in table order, a coarser one as its crosswalk column names them, sorted), named by
    the table's ``prov_name``. ``groups`` (``RegionConfig.area_groups``): name -> column of the
    finest table giving each area's group, named by a ``<name>_vi`` column of another table of
    ``provinces`` that carries the code column (Viet Nam: ``regions6``), else by their codes.
    """
    tables = {lv.edition: getattr(provinces, f"p{lv.edition}") for lv in levels}
    finest = tables[levels[0].edition]
    codes = _codes(finest["prov_code"])
    out = [
        AreaGrouping(
            f"province{levels[0].edition}",
            codes,
            tuple(dict.fromkeys(codes)),
            _names(finest, "prov_code", "prov_name"),
        )
    ]
    for lv in levels[1:]:
        of_area = _codes(finest[str(lv.crosswalk)])
        names = _names(tables[lv.edition], "prov_code", "prov_name")
        out.append(
            AreaGrouping(f"province{lv.edition}", of_area, tuple(sorted(set(of_area))), names)
        )
    others = [t for t in vars(provinces).values() if isinstance(t, pd.DataFrame)]
    others = [t for t in others if all(t is not lt for lt in tables.values())]
    for name, column in groups.items():
        if column not in finest:
            raise ConfigError(
                f"[areas] groups: '{name}' reads column '{column}', which the finest area table "
                f"({levels[0].key}) does not have",
                field=f"areas.groups.{name}",
            )
        of_area = _codes(finest[column])
        named = [t for t in others if column in t and f"{name}_vi" in t]
        names = _names(named[0] if named else None, column, f"{name}_vi")
        out.append(AreaGrouping(name, of_area, tuple(sorted(set(of_area) - {""})), names))
    return finest, out


def group_membership(
    finest: pd.DataFrame,
    area_groups: Sequence[AreaGrouping],
    *,
    groupings: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every group of areas and its finest-level members.

    Parameters
    ----------
    finest
        The finest areas (``prov_code``), in the order of the run's area index.
    area_groups
        The region's groupings of them, from :func:`area_groupings` (Viet Nam: ``province63``,
        ``province34``, ``region6``, ``key_econ_region``).
    groupings
        The region config's ``[groupings]``: name -> list of finest-level codes, or name ->
        table with ``provinces`` (the codes) and optional ``label``.

    Returns
    -------
    groups : DataFrame
        ``grouping`` (the area groupings, then ``config``), ``group_code``, ``group_name``.
    membership : ndarray of bool
        (n_groups, n_finest): area k is a member of group g.

    Raises
    ------
    ConfigError
        A configured grouping names a code that is not a finest-level area.
    """
    codes = _codes(finest["prov_code"])
    width = (
        len(codes[0])
        if codes.size and all(c.isdigit() and len(c) == len(codes[0]) for c in codes)
        else 0
    )
    rows, member = [], []
    for ag in area_groups:  # a loop over groupings
        for code in ag.group_codes:
            rows.append((ag.name, code, ag.names.get(code, code)))
            member.append(ag.of_area == code)
    for name, spec in (groupings or {}).items():
        members = spec.get("provinces", []) if isinstance(spec, dict) else spec
        label = spec.get("label", name) if isinstance(spec, dict) else name
        wanted = [str(c).zfill(width) for c in members]
        unknown = sorted(set(wanted) - set(codes))
        if unknown or not wanted:
            raise ConfigError(
                f"[groupings] '{name}': {'unknown province codes ' + ', '.join(unknown) if unknown else 'no provinces'}; "
                f"give codes of the finest area level such as {codes[0]!r} ({finest['prov_name'].iloc[0]})",
                field=f"groupings.{name}",
            )
        rows.append(("config", str(name), str(label)))
        member.append(np.isin(codes, wanted))
    return pd.DataFrame(rows, columns=GROUP_COLUMNS), np.array(member, dtype=bool).reshape(
        len(rows), codes.size
    )


def _member_of(index: np.ndarray, membership: np.ndarray) -> sp.csr_matrix:
    """(n_groups, n_items) boolean: item (cell or facility) with area ``index`` is in group g."""
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
    cell_area: np.ndarray,
    fac_area: np.ndarray,
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
    cell_area, fac_area
        Finest-level area index of every cell and facility (-1: none).
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

    Notes
    -----
    The scipy reference of the block path (``analysis.aggregate_blocks.aggregate_from_bits``,
    equal to it to the last bit; tests hold this).
    """
    d = np.asarray(demand, np.float64)
    base = np.asarray(base, bool)
    w_csr = sp.csr_matrix(within)
    a = sp.diags(base.astype(np.float64)) @ w_csr.astype(np.float64)
    cell_in = _member_of(np.asarray(cell_area), membership)  # (G, cells)
    fac_in = _member_of(np.asarray(fac_area), membership)  # (G, fac)
    n_own = (fac_in.astype(np.float64) @ a).tocsr()  # existing facilities of g reaching c
    n_total = sp.csr_matrix(np.asarray(a.sum(axis=0)))  # (1, cells): facilities reaching c
    own = (n_own > 0).astype(np.float64)
    # "within T of a facility outside g" is needed only on g's cells and on the cells g covers
    pattern = ((cell_in + (n_own > 0)) > 0).astype(np.float64)
    outside = ((pattern.multiply(n_total) - pattern.multiply(n_own)) > 0).astype(np.float64).tocsr()
    cell_f = cell_in.astype(np.float64)
    by_out = cell_f.multiply(outside)
    measures = _counts_frame(groups, fac_in, status=status, flag=flag)
    measures["people"] = cell_f @ d
    measures["people_covered"] = cell_f @ (d * (n_total.toarray().ravel() > 0))
    measures["covered_by_own"] = cell_f.multiply(own) @ d
    measures["covered_by_outside"] = by_out @ d
    measures["covered_only_by_outside"] = (by_out - by_out.multiply(own)) @ d
    measures["duplicated_with_outside"] = own.multiply(outside) @ d
    measures["min_cover_own"], measures["min_cover_given_outside"] = _min_covers(
        fac_in,
        base,
        d,
        cells_of=lambda g: cell_in[g].indices,
        outside_on=lambda g, cells: outside[g].toarray().ravel()[cells] != 0,
        sub_of=lambda mine, cells: w_csr[mine][:, cells],
        time_limit_s=time_limit_s,
    )
    # pairs within each grouping: served_by[A, B] and duplicated[A, B] (each entry is added
    # over the cells in descending order: the sparse product lists a row's cells so)
    served = (cell_f @ sp.diags(d) @ own.T).toarray()
    dup = (own @ sp.diags(d) @ own.T).toarray()
    return measures, _pairs_frame(groups, served, dup)


def _counts_frame(
    groups: pd.DataFrame, fac_in: sp.csr_matrix, *, status: np.ndarray, flag: np.ndarray
) -> pd.DataFrame:
    """``groups`` with the facilities located in each: ``n_operating``, ``n_planned``,
    ``n_flagged``."""
    fac_in_f = fac_in.astype(np.float64)
    st = np.asarray(status).astype(str)
    measures = groups.copy()
    measures["n_operating"] = fac_in_f @ (st == "operating").astype(np.float64)
    measures["n_planned"] = fac_in_f @ (st == "planned").astype(np.float64)
    measures["n_flagged"] = fac_in_f @ np.asarray(flag, np.float64)
    for c in ("n_operating", "n_planned", "n_flagged"):
        measures[c] = measures[c].round().astype(np.int64)
    return measures


def _min_covers(
    fac_in: sp.csr_matrix,
    base: np.ndarray,
    d: np.ndarray,
    *,
    cells_of: Callable[[int], np.ndarray],
    outside_on: Callable[[int, np.ndarray], np.ndarray],
    sub_of: Callable[[np.ndarray, np.ndarray], Any],
    time_limit_s: float,
) -> tuple[list[int], list[int]]:
    """``min_cover_own`` and ``min_cover_given_outside`` of every group: ``cells_of(g)`` its
    cells (ascending), ``outside_on(g, cells)`` those within T of an existing facility outside
    g, ``sub_of(mine, cells)`` the (mine x cells) boolean matrix of the pairs within T."""
    cover_own, cover_given = [], []
    for g in range(fac_in.shape[0]):  # a loop over groups (about a hundred), each a small LSCP
        mine = np.flatnonzero(base & fac_in[g].toarray().ravel())
        cells = cells_of(g) if mine.size else np.zeros(0, np.int64)
        if cells.size == 0:  # the group's cells: the only ones whose cover counts
            cover_own.append(0)
            cover_given.append(0)
            continue
        sub = sub_of(mine, cells)  # the small problem only (same answer, far less to reduce)

        def cover(people: np.ndarray, sub: Any = sub) -> int:
            # sub: the (mine x cells) matrix, or a function of the people giving its reduction
            within = sub(people) if callable(sub) else sub
            return minimal_cover(within, people, time_limit_s=time_limit_s).n_chosen

        d_g = d[cells]
        cover_own.append(cover(d_g))
        cover_given.append(cover(d_g * ~outside_on(g, cells)))
    return cover_own, cover_given


def _pairs_frame(groups: pd.DataFrame, served: np.ndarray, dup: np.ndarray) -> pd.DataFrame:
    """The pairs table from (G x G) ``served`` and ``dup`` (read within each grouping only; the
    diagonal of ``dup`` is left out)."""
    dup = dup.copy()
    np.fill_diagonal(dup, 0.0)
    same = groups["grouping"].to_numpy()[:, None] == groups["grouping"].to_numpy()[None, :]
    ga, gb = np.nonzero(same & ((served > 0) | (dup > 0)))
    code = groups["group_code"].to_numpy()
    return pd.DataFrame(
        {
            "grouping": groups["grouping"].to_numpy()[ga],
            "group_a": code[ga],
            "group_b": code[gb],
            "served_by": served[ga, gb],
            "duplicated": dup[ga, gb],
        }
    ).sort_values(["grouping", "group_a", "group_b"], kind="stable", ignore_index=True)
