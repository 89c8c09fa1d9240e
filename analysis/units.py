"""Multi-site facilities: from the travel times of sites to the travel times of units.

A unit (an official seaport) has member sites (its terminals). Each site is snapped on its own,
with its own access time; the unit's travel time to a cell is the minimum over its members, so
that every measure downstream (coverage, flags, overlaps, covers, sentences) is per unit.

Per facility block (``analysis.blocks``): the minimum over a unit's members needs all of them,
so a block of sites must hold whole units. :func:`sites_by_unit` orders the sites by unit and
:func:`unit_bounds` cuts that order at unit boundaries; :func:`units_from_blocks` reduces each
such block on its own (a unit split over two blocks is refused), and the unit blocks come out in
unit order, so they concatenate into :func:`reduce_to_units` of every pair; :func:`unit_store`
keeps them as the blocks of a ``BlockStore`` (issue 19), never concatenated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from analysis.block_store import BlockStore, SpanPlan, spill_bytes_default
from analysis.catchments import Access, TravelTimes
from analysis.network import Graph, Snap
from analysis.remote import solve_blocks

# road access of a member, best first: on the main network, on a separate network, no road
_ACCESS_RANK_NONE = 2


def reduce_to_units(tt: TravelTimes, site_unit: np.ndarray, n_units: int) -> TravelTimes:
    """Travel times of units: per (unit, cell), the minimum over the unit's member sites.

    Parameters
    ----------
    tt
        Travel times of the sites (long form, any order).
    site_unit
        Unit index of each site (length ``tt.n_fac``); -1 for a site that belongs to no unit.
    n_units
        Number of units (a unit without a member keeps no pair).

    Returns
    -------
    TravelTimes
        Long form over units, sorted by (fac, cell), one row per pair.
    """
    site_unit = np.asarray(site_unit, dtype=np.int64)
    if site_unit.shape != (tt.n_fac,):
        raise ValueError(f"site_unit has {site_unit.size} entries for {tt.n_fac} sites")
    if site_unit.size and site_unit.max() >= n_units:
        raise ValueError(f"site_unit refers to unit {site_unit.max()} of {n_units}")
    unit = site_unit[tt.fac] if tt.fac.size else np.zeros(0, dtype=np.int64)
    keep = unit >= 0
    u, c, t = unit[keep], tt.cell[keep], tt.time_s[keep]
    order = np.lexsort((t, c, u))
    u, c, t = u[order], c[order], t[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (c[1:] != c[:-1])
    return TravelTimes(
        fac=u[first].astype(tt.fac.dtype, copy=False),
        cell=c[first],
        time_s=t[first],
        n_fac=n_units,
        n_cells=tt.n_cells,
        limit_s=tt.limit_s,
    )


def sites_by_unit(site_unit: np.ndarray) -> np.ndarray:
    """Site indices ordered by unit (stable; sites of no unit last)."""
    su = np.asarray(site_unit, np.int64)
    key = np.where(su >= 0, su, np.iinfo(np.int64).max)
    return np.argsort(key, kind="stable")


def unit_bounds(unit_of_ordered: np.ndarray, per_block: int) -> np.ndarray:
    """Bounds (into the ordered sites) of blocks of about ``per_block`` sites that never split
    a unit: each cut is moved forward to the next unit boundary."""
    u = np.asarray(unit_of_ordered, np.int64)
    n = u.size
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]) if n else np.zeros(0, np.int64)
    cuts = [0]
    for want in range(per_block, n, max(1, per_block)):
        nxt = starts[np.searchsorted(starts, want)] if want <= starts[-1] else n
        if nxt > cuts[-1]:
            cuts.append(int(nxt))
    if cuts[-1] != n:
        cuts.append(n)
    return np.asarray(cuts, np.int64)


def units_from_blocks(
    blocks: Iterable[TravelTimes], site_unit: np.ndarray, n_units: int
) -> Iterator[TravelTimes]:
    """:func:`reduce_to_units` of each block of sites (each holding whole units); a unit whose
    members lie in two blocks is an error (its minimum would be split)."""
    su = np.asarray(site_unit, np.int64)
    seen = np.zeros(n_units, bool)
    for tt in blocks:
        units = np.unique(su[tt.fac])
        units = units[units >= 0]
        if seen[units].any():
            raise ValueError(
                f"units_from_blocks: unit {int(units[seen[units]][0])} has member sites in two "
                "blocks (order the sites with sites_by_unit and cut them with unit_bounds)"
            )
        seen[units] = True
        yield reduce_to_units(tt, su, n_units)


def best_member(access: Access, site_unit: np.ndarray, n_units: int) -> np.ndarray:
    """The member whose road access is best, per unit (-1 for a unit without a member).

    Best = on the main network (component 0) before a separate network before no road; then
    the shortest access time; then the lowest site index (deterministic).
    """
    snap = access.snap
    rank = np.where(snap.edge < 0, _ACCESS_RANK_NONE, np.where(snap.component == 0, 0, 1))
    site_unit = np.asarray(site_unit, dtype=np.int64)
    sites = np.flatnonzero(site_unit >= 0)
    order = np.lexsort((sites, access.access_s[sites], rank[sites], site_unit[sites]))
    sites = sites[order]
    out = np.full(n_units, -1, dtype=np.int64)
    # the first site of each unit in this order is its best; write in reverse so it wins
    out[site_unit[sites[::-1]]] = sites[::-1]
    return out


def unit_access(access: Access, site_unit: np.ndarray, n_units: int) -> Access:
    """Road access of each unit: its best member's snap and access time (``best_member``).

    A unit without a member has no road (edge -1, infinite access time).
    """
    best = best_member(access, site_unit, n_units)
    has = best >= 0
    pick = np.where(has, best, 0)
    s = access.snap

    def take(a: np.ndarray, empty: float | int) -> np.ndarray:
        if a.size == 0:
            return np.full(n_units, empty, dtype=a.dtype)
        return np.where(has, a[pick], empty)

    snap = Snap(
        edge=take(s.edge, -1),
        dist_m=take(s.dist_m, np.inf),
        along_m=take(s.along_m, np.nan),
        component=take(s.component, -1),
    )
    return Access(snap=snap, access_s=take(access.access_s, np.inf))


def _take(access: Access, idx: np.ndarray) -> Access:
    s = access.snap
    snap = Snap(edge=s.edge[idx], dist_m=s.dist_m[idx], along_m=s.along_m[idx],
                component=s.component[idx])  # fmt: skip
    return Access(snap=snap, access_s=access.access_s[idx])


def unit_travel_times(
    graph: Graph,
    sites: Access,
    cells: Access,
    *,
    site_unit: np.ndarray,
    n_units: int,
    limit_s: float,
    per_block: int = 32,
    client: Any = None,
) -> TravelTimes:
    """Every pair of :func:`unit_store` in one long-form result (tests and small cases).
    Equal to ``reduce_to_units(travel_times(sites))``."""
    store = unit_store(
        graph, sites, cells, site_unit=site_unit, n_units=n_units, limit_s=limit_s,
        per_block=per_block, client=client,
    )  # fmt: skip
    try:
        return store.to_travel_times()
    finally:
        store.close()


def unit_store(
    graph: Graph,
    sites: Access,
    cells: Access,
    *,
    site_unit: np.ndarray,
    n_units: int,
    limit_s: float,
    per_block: int = 32,
    client: Any = None,
) -> BlockStore:
    """The units' travel times as unit blocks in a :class:`analysis.block_store.BlockStore`
    (in memory, spilled to disk past ``INFRA_OVERLAP_SPILL_MB``), never one array: the kernel's site blocks
    (sites in unit order, spans of whole units sized by ``block_store.SpanPlan``), each reduced
    to its units on its own.
    With a Dask ``client`` the site blocks are solved on its workers and reduced here in block
    order (the same blocks bit for bit)."""
    from analysis import kernel

    su = np.asarray(site_unit, np.int64)
    order = sites_by_unit(su)
    ki = kernel.prepare(graph, _take(sites, order), cells, limit_s=limit_s)
    store = BlockStore(n_units, cells.snap.edge.size, limit_s, spill_bytes_default())
    u = su[order][ki.fac_ok]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]) if u.size else np.zeros(0, np.int64)
    # spans of whole units sized to the store's pairs per block (a unit's sites in one span)
    plan = SpanPlan(u.size, max_pairs=store.max_pairs, per_block=per_block, starts=starts)

    def site_blocks() -> Iterator[TravelTimes]:
        for tt in solve_blocks(client, ki, plan):
            yield TravelTimes(order[tt.fac], tt.cell, tt.time_s, su.size, tt.n_cells, limit_s)

    for part in units_from_blocks(site_blocks(), su, n_units):
        store.add(part)
    return store
