"""Multi-site facilities: from the travel times of sites to the travel times of units.

A unit (an official seaport) has member sites (its terminals). Each site is snapped on its own,
with its own access time; the unit's travel time to a cell is the minimum over its members, so
that every measure downstream (coverage, flags, overlaps, covers, sentences) is per unit.
"""

from __future__ import annotations

import numpy as np

from analysis.catchments import Access, TravelTimes
from analysis.network import Snap

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
