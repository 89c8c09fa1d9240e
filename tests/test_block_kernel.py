"""The compiled scatter of a block's pairs (analysis.block_kernel) = the numpy path it replaced,
bit for bit: ``block_reduction`` + ``merge_into`` (still the Dask path), and the bincount /
``bitwise_or.at`` of ``Measures`` and ``block_sets`` (kept here as the reference).

A random case made to be hard on the order: times on a coarse grid of minutes (many ties
between facilities at one cell), planned facilities, facilities without a province (-1), two
words of province bits, three words of facility bits (150 facilities), cells without people,
and block sizes from one facility to all of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from analysis import blocks
from analysis.block_sets import FacilitySets, ProvinceBits, _words
from analysis.catchments import TravelTimes

N_FAC, N_CELLS, N_PROV = 150, 600, 70
BREAKS_S = (300.0, 600.0, 900.0)


def _case(seed: int) -> tuple[TravelTimes, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    fac, cell = [], []
    for i in range(N_FAC):
        c = np.flatnonzero(rng.random(N_CELLS) < rng.uniform(0.0, 0.3))
        fac.append(np.full(c.size, i, np.int64))
        cell.append(c.astype(np.int64))
    f, c = np.concatenate(fac), np.concatenate(cell)
    t = rng.integers(0, 16, f.size) * 60.0  # 0..15 minutes: ties everywhere
    tt = TravelTimes(f, c, t, N_FAC, N_CELLS, 900.0)
    fac_prov = rng.integers(-1, N_PROV, N_FAC)
    fac_prov[:4] = [-1, -1, 64, 69]
    demand = rng.gamma(1.5, 20.0, N_CELLS) * (rng.random(N_CELLS) < 0.9)
    base = rng.random(N_FAC) < 0.7
    return tt, {"base": base, "demand": demand, "fac_prov": fac_prov}


def _old_measures(red: blocks.CellReduction, tts: list[TravelTimes], p: dict) -> tuple:
    """``blocks.Measures.add`` before the kernel: bincounts in pair order."""
    base, d, prov = p["base"], p["demand"], p["fac_prov"]
    unique = np.zeros((len(BREAKS_S), N_FAC))
    other = np.zeros((len(BREAKS_S), N_FAC))
    for tt in tts:
        for k, b in enumerate(BREAKS_S):
            m = tt.time_s <= b
            f, c = tt.fac[m], tt.cell[m]
            n = red.count[k][c]
            w = d[c] * np.where(base[f], n == 1, n == 0)
            unique[k] += np.bincount(f, weights=w, minlength=N_FAC)
            pb = red.prov_bits[k][:, c]
            own = np.zeros_like(pb)
            pf = prov[f]
            located = np.flatnonzero(pf >= 0)
            own[pf[located] // 64, located] = np.left_shift(
                np.uint64(1), (pf[located] % 64).astype(np.uint64)
            )
            w = d[c] * ((pb & ~own) != 0).any(axis=0)
            other[k] += np.bincount(f, weights=w, minlength=N_FAC)
    return unique, other


def _old_or(n_members: int, members: np.ndarray, cells: np.ndarray) -> np.ndarray:
    out = np.zeros((_words(n_members), N_CELLS), np.uint64)
    np.bitwise_or.at(
        out, (members // 64, cells), np.left_shift(np.uint64(1), (members % 64).astype(np.uint64))
    )
    return out


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("per_block", [1, 9, 150])
def test_scatter_equals_partials_merged(seed: int, per_block: int) -> None:
    tt, p = _case(seed)
    tts = list(blocks.split_blocks(tt, per_block))
    params = {"breaks_s": BREAKS_S, "n_prov": N_PROV, **p}
    for nearest in (False, True):  # the nearest two last: checked below
        want = blocks.empty(N_FAC, N_CELLS, BREAKS_S, N_PROV, nearest)
        for b in tts:
            blocks.merge_into(want, blocks.block_reduction(b, nearest=nearest, **params))
        acc = blocks.Reduction(n_fac=N_FAC, n_cells=N_CELLS, nearest=nearest, **params)
        for b in tts:
            acc.add(b)
        got = acc.result()
        for name in ("count", "prov_bits", "f1", "t1", "f2", "t2", "coverage"):
            g, w = getattr(got, name), getattr(want, name)
            assert g.dtype == w.dtype and np.array_equal(g, w), f"{name} ({nearest=}) differs"
    tie = (want.f2 >= 0) & (want.t1 == want.t2)
    assert tie.sum() > 20, "too few cells with tied nearest facilities: the check is weak"
    assert (want.prov_bits[:, 1] != 0).any(), "no bit in the second word of provinces"


@pytest.mark.parametrize("per_block", [1, 9, 150])
def test_measures_and_bits_equal_the_numpy_path(per_block: int) -> None:
    tt, p = _case(2)
    tts = list(blocks.split_blocks(tt, per_block))
    red = blocks.reduce_blocks(tts, n_fac=N_FAC, n_cells=N_CELLS, breaks_s=BREAKS_S,
                               n_prov=N_PROV, **p)  # fmt: skip
    got = blocks.facility_measures(tts, red, **p)
    unique, other = _old_measures(red, tts, p)
    for k in range(len(BREAKS_S)):
        assert np.array_equal(got[k].unique, unique[k]), f"unique at break {k}"
        assert np.array_equal(got[k].other_province, other[k]), f"other province at break {k}"
    assert (unique > 0).any() and (other > 0).any(), "nothing to compare"
    base, prov, t = p["base"], p["fac_prov"], BREAKS_S[1]
    pb = ProvinceBits(threshold_s=t, base=base, fac_prov=prov, n_prov=N_PROV)
    keep = np.arange(N_FAC) % 3 != 1
    fs = FacilitySets(threshold_s=t, n_fac=N_FAC, n_cells=N_CELLS, keep=keep)
    for b in tts:
        pb.add(b)
        fs.add(b)  # counted
    fs.start_fill()
    for b in tts:
        fs.add(b)  # placed
    m = (tt.time_s <= t) & base[tt.fac] & (prov[tt.fac] >= 0)
    assert np.array_equal(pb.result(), _old_or(N_PROV, prov[tt.fac[m]], tt.cell[m]))
    m = (tt.time_s <= t) & keep[tt.fac]
    want = _old_or(N_FAC, tt.fac[m], tt.cell[m])
    assert want.shape[0] == 3 and (want[2] != 0).any(), "not three words of facilities"
    got = fs.result()
    assert np.array_equal(got.to_bits(), want), "facility sets differ"
    for c in range(N_CELLS):  # each cell's list ascending, no repeat
        lst = got.members[got.indptr[c] : got.indptr[c + 1]]
        assert np.all(np.diff(lst) > 0), f"cell {c}: {lst}"
    some = np.flatnonzero(keep)[:20]
    for i, cells in zip(some, got.cells_in_order(some, 10**9), strict=True):  # transposed
        m = (tt.time_s <= t) & (tt.fac == i)
        assert np.array_equal(cells, np.unique(tt.cell[m])), f"facility {i}"
