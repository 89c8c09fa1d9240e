"""What the shortest-path step works on and returns: facilities or cells snapped to the network
(:class:`Access`), the (facility, cell, time) triples within a limit (:class:`TravelTimes`), and
the times along a snapped point's own edge. Shared by the scipy reference
(:mod:`analysis.catchments`) and the compiled kernel (:mod:`analysis.kernel`), so neither imports
the other at module level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from analysis.network import Graph, Snap


@dataclass(frozen=True)
class Access:
    """Snapped positions with their off-network access time (seconds)."""

    snap: Snap
    access_s: np.ndarray

    @classmethod
    def from_snap(cls, snap: Snap, *, access_speed_kmh: float) -> Access:
        access = np.where(snap.edge >= 0, snap.dist_m / (access_speed_kmh / 3.6), np.inf)
        return cls(snap=snap, access_s=access)


@dataclass(frozen=True)
class TravelTimes:
    """Sparse facility x cell travel times within ``limit_s`` (long form, sorted by fac, cell)."""

    fac: np.ndarray
    cell: np.ndarray
    time_s: np.ndarray
    n_fac: int
    n_cells: int
    limit_s: float

    def within(self, threshold_s: float) -> sp.csr_matrix:
        """Boolean (n_fac, n_cells) matrix of the pairs within ``threshold_s``."""
        m = self.time_s <= threshold_s
        return sp.csr_matrix(
            (np.ones(int(m.sum()), dtype=bool), (self.fac[m], self.cell[m])),
            shape=(self.n_fac, self.n_cells),
        )


def cell_offsets(
    graph: Graph, cells: Access
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cells that have a road: (cell index, edge, seconds from the edge's start u to the cell's
    snapped point, seconds from its end v; inf on a one-way edge)."""
    ok = np.flatnonzero(cells.snap.edge >= 0)
    e = cells.snap.edge[ok]
    along = cells.snap.along_m[ok]
    speed = graph.edge_speed_ms[e]
    from_u = along / speed
    from_v = np.where(graph.edge_oneway[e], np.inf, (graph.edge_len_m[e] - along) / speed)
    return ok, e, from_u, from_v


def source_arcs(
    graph: Graph, facilities: Access
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Facilities that have a road, as virtual sources inside their edge: (facility index,
    edge, seconds to the edge's end v, seconds to its start u, True where u may be reached:
    not on a one-way edge). Times are at least 1e-9 s (a zero would vanish from a sparse graph)."""
    ok = np.flatnonzero(facilities.snap.edge >= 0)
    e = facilities.snap.edge[ok]
    a = facilities.snap.along_m[ok]
    speed = graph.edge_speed_ms[e]
    to_v = np.maximum((graph.edge_len_m[e] - a) / speed, 1e-9)
    to_u = np.maximum(a / speed, 1e-9)
    return ok, e, to_v, to_u, ~graph.edge_oneway[e]


def along_edge_s(graph: Graph, edge: np.ndarray, d_along_m: np.ndarray) -> np.ndarray:
    """Seconds between two points of the same edge ``d_along_m`` metres apart in the edge's
    direction (negative: backwards; inf against a one-way edge)."""
    speed = graph.edge_speed_ms[edge]
    return np.where(
        d_along_m >= 0,
        d_along_m / speed,
        np.where(graph.edge_oneway[edge], np.inf, -d_along_m / speed),
    )
