"""Bit sets of the cells merged over facility blocks: the provinces (province matrices) and the
facilities (pairwise overlaps, the covering step's input) within a break of every cell, then
cells with the same set merged, never the pairs (moved from ``analysis.blocks``, which
re-exports these names; see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from analysis.catchments import TravelTimes


def _words(n_prov: int) -> int:
    return max(1, (n_prov + 63) // 64)


# --------------------------------------------------------------------------- province matrices


def province_bits(
    blocks: Iterable[TravelTimes],
    *,
    threshold_s: float,
    base: np.ndarray,
    fac_prov: np.ndarray,
    n_prov: int,
) -> np.ndarray:
    """(words, n_cells) uint64: the provinces of the existing facilities within ``threshold_s``
    of each cell, merged (bitwise or) over the blocks; for another edition's provinces than the
    one of :func:`reduce_blocks`."""
    prov = np.asarray(fac_prov, np.int64)
    base = np.asarray(base, bool)
    out: np.ndarray | None = None
    for tt in blocks:
        if out is None:
            out = np.zeros((_words(n_prov), tt.n_cells), np.uint64)
        m = (tt.time_s <= threshold_s) & base[tt.fac] & (prov[tt.fac] >= 0)
        p, c = prov[tt.fac[m]], tt.cell[m]
        bits = np.left_shift(np.uint64(1), (p % 64).astype(np.uint64))
        for w in np.unique(p // 64):
            sel = (p // 64) == w
            np.bitwise_or.at(out[w], c[sel], bits[sel])
    return np.zeros((_words(n_prov), 0), np.uint64) if out is None else out


def province_matrices_from_bits(
    bits: np.ndarray, demand: np.ndarray, cell_prov: np.ndarray, n_prov: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``served_by``, ``duplicated`` and ``covered_by_others`` (as
    ``analysis.overlap.province_matrices``) from the per-cell province bits: cells are grouped
    by their set of covering provinces (a few thousand distinct sets), so the work is the grid
    plus the sets, never the pairs. Equal to the sparse products up to the order of the sums."""
    d = np.asarray(demand, np.float64)
    n_cells = bits.shape[1]
    words = np.ascontiguousarray(bits.T).view(np.dtype((np.void, 8 * bits.shape[0])))
    keys, inv = np.unique(words.ravel(), return_inverse=True)
    sets = np.frombuffer(keys.tobytes(), np.uint64).reshape(keys.size, bits.shape[0])
    # member[s, p]: province p is in set s
    member = np.zeros((keys.size, n_prov), bool)
    for p in range(n_prov):
        member[:, p] = (sets[:, p // 64] >> np.uint64(p % 64)) & np.uint64(1) != 0
    ok = cell_prov >= 0
    # people per (cell province A, set s)
    per = np.zeros((n_prov, keys.size))
    np.add.at(per, (cell_prov[ok], inv.ravel()[ok]), d[ok])
    served_by = per @ member
    per_set = np.bincount(inv.ravel(), weights=d, minlength=keys.size)
    m = member.astype(np.float64)
    dup = m.T @ (per_set[:, None] * m)
    np.fill_diagonal(dup, 0.0)
    n_in = member.sum(axis=1)
    own = np.zeros(n_cells, bool)
    own[ok] = member[inv.ravel()[ok], cell_prov[ok]]
    by_others = d * ((n_in[inv.ravel()] - own) > 0)
    covered_by_others = np.bincount(cell_prov[ok], weights=by_others[ok], minlength=n_prov)
    return served_by, dup, covered_by_others


# --------------------------------------------------------------------------- pairwise overlaps


def facility_sets(
    blocks: Iterable[TravelTimes], *, threshold_s: float, n_fac: int, n_cells: int
) -> np.ndarray:
    """(words, n_cells) uint64: bit ``i % 64`` of word ``i // 64`` set when facility i (any
    status) is within ``threshold_s`` of the cell; merged (bitwise or) over the blocks."""
    out = np.zeros((_words(n_fac), n_cells), np.uint64)
    for tt in blocks:
        m = tt.time_s <= threshold_s
        f, c = tt.fac[m], tt.cell[m]
        bits = np.left_shift(np.uint64(1), (f % 64).astype(np.uint64))
        for w in np.unique(f // 64):
            sel = (f // 64) == w
            np.bitwise_or.at(out[w], c[sel], bits[sel])
    return out


def pairwise_overlaps_from_sets(
    sets: np.ndarray, demand: np.ndarray, coverage: np.ndarray, *, chunk: int = 1 << 16
) -> Any:
    """``analysis.overlap.pairwise_overlaps`` from the cells' facility sets, without the pairs:
    cells with the same set of facilities are merged first (their demand added), then every
    pair of facilities of a set gets the set's demand. Equal to the sparse product up to the
    order of the sums."""
    import pandas as pd
    import scipy.sparse as sp

    n_fac = coverage.size
    d = np.asarray(demand, np.float64)
    rows = np.ascontiguousarray(sets.T).view(np.dtype((np.void, 8 * sets.shape[0]))).ravel()
    keys, inv = np.unique(rows, return_inverse=True)
    per_set = np.bincount(inv.ravel(), weights=d, minlength=keys.size)
    raw = np.frombuffer(keys.tobytes(), np.uint8).reshape(keys.size, 8 * sets.shape[0])
    r_parts, c_parts = [], []
    for lo in range(0, keys.size, chunk):  # unpack a chunk of sets at a time
        member = np.unpackbits(raw[lo : lo + chunk], axis=1, bitorder="little")[:, :n_fac]
        r, c = np.nonzero(member)
        r_parts.append(r + lo)
        c_parts.append(c)
    r, c = np.concatenate(r_parts), np.concatenate(c_parts)
    m = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(keys.size, n_fac))
    o = sp.triu(m.T @ sp.diags(per_set) @ m, k=1).tocoo()
    keep = o.data > 0
    i, j, v = o.row[keep], o.col[keep], o.data[keep]
    denom = np.minimum(coverage[i], coverage[j])
    share = np.divide(v, denom, out=np.zeros_like(v), where=denom > 0)
    df = pd.DataFrame(
        {"i": i.astype(np.int64), "j": j.astype(np.int64), "overlap": v, "overlap_share": share}
    )
    return df.sort_values(["i", "j"], kind="stable").reset_index(drop=True)


def covering_input(sets: np.ndarray, demand: np.ndarray, *, candidates: np.ndarray) -> Any:
    """The covering step's input (``analysis.covering.Reduced``: cells with the same covering
    set merged) from the cells' facility sets, equal to ``covering.reduce_coverage`` on the
    pairs: ``candidates`` (boolean) are the facilities that count; cells without people or
    without a candidate are dropped."""
    import scipy.sparse as sp

    from analysis.covering import Reduced

    cand = np.asarray(candidates, bool)
    n_fac, n_cells = cand.size, sets.shape[1]
    mask = np.zeros(sets.shape[0], np.uint64)
    for w in range(sets.shape[0]):
        idx = np.flatnonzero(cand[64 * w : 64 * w + 64])
        mask[w] = np.bitwise_or.reduce(
            np.left_shift(np.uint64(1), idx.astype(np.uint64)), initial=np.uint64(0)
        )
    masked = sets & mask[:, None]
    cells = np.flatnonzero((masked != 0).any(axis=0) & (np.asarray(demand) > 0))
    cell_row = np.full(n_cells, -1, np.int64)
    if cells.size == 0:
        return Reduced(sp.csr_matrix((0, n_fac), dtype=bool), np.zeros(0), cell_row)
    uniq, inverse = np.unique(np.ascontiguousarray(masked[:, cells].T), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    weight = np.bincount(inverse, weights=np.asarray(demand, float)[cells], minlength=len(uniq))
    cell_row[cells] = inverse
    raw = np.ascontiguousarray(uniq).view(np.uint8).reshape(len(uniq), -1)
    r, j = np.nonzero(np.unpackbits(raw, axis=1, bitorder="little")[:, :n_fac])
    rows = sp.csr_matrix((np.ones(r.size, bool), (r, j)), shape=(len(uniq), n_fac))
    return Reduced(rows=rows, weight=weight, cell_row=cell_row)
