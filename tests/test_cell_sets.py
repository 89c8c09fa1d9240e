"""The cells' facility sets as per-cell lists (analysis.cell_sets): the same sets as the bit
sets they replaced whatever the order of the blocks, the covering rows merged by a hash that is
checked (a forced collision falls back to the exact rows), and the passes a ``SetSource``
spends when its budget holds a set, holds its counts only, or holds nothing."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import blocks
from analysis import cell_sets as cs
from analysis.block_sets import SetSource
from analysis.catchments import TravelTimes
from analysis.covering import unique_rows

N_FAC, N_CELLS, T = 140, 900, 600.0


def _tt(seed: int) -> TravelTimes:
    rng = np.random.default_rng(seed)
    f, c = [], []
    for i in range(N_FAC):
        cells = np.flatnonzero(rng.random(N_CELLS) < rng.uniform(0.0, 0.25))
        f.append(np.full(cells.size, i, np.int64))
        c.append(cells)
    fac, cell = np.concatenate(f), np.concatenate(c)
    t = rng.integers(0, 16, fac.size) * 60.0
    return TravelTimes(fac, cell, t, N_FAC, N_CELLS, 900.0)


def _bits(tt: TravelTimes, keep: np.ndarray | None = None) -> np.ndarray:
    m = tt.time_s <= T
    if keep is not None:
        m &= keep[tt.fac]
    out = np.zeros(((N_FAC + 63) // 64, N_CELLS), np.uint64)
    f = tt.fac[m]
    np.bitwise_or.at(
        out, (f // 64, tt.cell[m]), np.left_shift(np.uint64(1), (f % 64).astype(np.uint64))
    )
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_lists_equal_the_bit_sets_in_any_block_order(seed: int) -> None:
    tt = _tt(seed)
    keep = np.random.default_rng(seed).random(N_FAC) < 0.6
    parts = list(blocks.split_blocks(tt, 20))
    assert len(parts) > 3, "too few blocks to shuffle"
    fwd = cs.facility_sets(parts, threshold_s=T, n_fac=N_FAC, n_cells=N_CELLS, keep=keep)
    back = cs.facility_sets(lambda: reversed(parts), threshold_s=T, n_fac=N_FAC,
                            n_cells=N_CELLS, keep=keep)  # fmt: skip
    want = _bits(tt, keep)
    assert (want[2] != 0).any(), "not three words of facilities"
    assert np.array_equal(fwd.to_bits(), want)
    assert np.array_equal(back.indptr, fwd.indptr) and np.array_equal(back.members, fwd.members)
    assert fwd.members.dtype == np.int16 and fwd.nbytes < want.nbytes


@pytest.mark.parametrize("budget", [10**9, 300, 1])
def test_cells_in_order_are_each_facilitys_pairs_whatever_the_budget(budget: int) -> None:
    """The cells of the facilities asked for (the verdict's candidates, in the order it judges
    them), read from the lists transposed a few facilities at a time within ``budget`` pairs
    (one at a time below a facility's own pairs), are each facility's pairs within the
    threshold, ascending, in the order asked; a facility asked twice gets its cells twice."""
    tt = _tt(3)
    sets = cs.facility_sets([tt], threshold_s=T, n_fac=N_FAC, n_cells=N_CELLS)
    rng = np.random.default_rng(3)
    order = rng.permutation(np.flatnonzero(rng.random(N_FAC) < 0.3))
    order = np.r_[order, order[:2]]
    m = tt.time_s <= T
    got = list(sets.cells_in_order(order, budget))
    assert len(got) == order.size
    for i, cells in zip(order, got, strict=True):
        assert cells.dtype == np.int64
        assert np.array_equal(cells, np.sort(tt.cell[m & (tt.fac == i)])), i
    per = np.bincount(tt.fac[m], minlength=N_FAC)[order]
    assert (per > 0).sum() > 20 and (per == 0).any() and m.sum() > 1000, "weak fixture"
    # the three budgets: every facility at once, a few at a time, one at a time
    assert 1 < per.max() <= 300 < per.sum() < 10**9, "the budgets do not cut as meant"
    assert list(sets.cells_in_order(np.zeros(0, np.int64), budget)) == []


def test_covering_rows_by_hash_equal_unique_rows_and_survive_a_collision(monkeypatch) -> None:
    tt = _tt(3)
    sets = cs.facility_sets([tt], threshold_s=T, n_fac=N_FAC, n_cells=N_CELLS)
    keep = np.arange(N_FAC) % 4 != 0
    cells = np.flatnonzero(sets.nonempty())
    want_u, want_inv = unique_rows(_bits(tt, keep)[:, cells].T)
    got_u, got_inv = cs.kept_rows(sets, keep, cells)
    assert len(want_u) > 50, "too few distinct sets"
    assert np.array_equal(got_u, want_u) and np.array_equal(got_inv, want_inv)
    # every cell given the same hash: the member-by-member check must catch it
    same = cs.csk.hashed(sets.indptr, sets.members, keep)
    monkeypatch.setattr(cs.csk, "hashed", lambda *a: (np.zeros_like(same[0]), same[1]))
    got_u, got_inv = cs.kept_rows(sets, keep, cells)
    assert np.array_equal(got_u, want_u) and np.array_equal(got_inv, want_inv)


class _Counted:
    """``blocks()`` that counts the passes made over the blocks."""

    def __init__(self, parts: list[TravelTimes]) -> None:
        self.parts, self.passes = parts, 0

    def __call__(self) -> list[TravelTimes]:
        self.passes += 1
        return self.parts


@pytest.mark.parametrize(("budget", "passes"), [(10**9, 0), (N_CELLS * 2, 1), (0, 2)])
def test_set_source_passes_by_budget(budget: int, passes: int) -> None:
    """Held (counted in the first pass, filled in the second): no pass of its own; counts only:
    one; nothing: two. The same sets every way."""
    tt = _tt(4)
    src = _Counted(list(blocks.split_blocks(tt, 30)))
    sets = SetSource(src, N_FAC, N_CELLS, budget)
    sets.want("t", T)
    first = sets.consumers()
    for b in src.parts:
        for acc in first:
            acc.add(b)
    second = sets.fillers()
    for b in src.parts:
        for acc in second:
            acc.add(b)
    before = src.passes
    got = sets.get("t")
    assert src.passes - before == passes
    assert np.array_equal(got.to_bits(), _bits(tt))


def test_parked_sets_come_back_equal_without_a_pass_and_leave_no_file() -> None:
    """Sets larger than a quarter of the budget wait on disk (:meth:`SetSource.park`) and come
    back equal from the file, with no pass over the blocks; smaller ones stay in memory; a
    release of parked sets removes their file."""
    tt = _tt(5)
    src = _Counted(list(blocks.split_blocks(tt, 30)))
    sets = SetSource(src, N_FAC, N_CELLS, 4 * N_CELLS)  # counts held, lists read apart
    sets.want("t", T)
    for acc in sets.consumers():
        for b in src.parts:
            acc.add(b)
    first = sets.get("t")
    want_ptr, want_members = first.indptr.copy(), first.members.copy()
    assert first.nbytes > sets.budget // 4, "too small to park"
    assert sets.park("t") and "t" not in sets.held
    (files,) = sets.parked.paths.values()
    paths = list(files.values())
    assert len(paths) == 2 and all(p.exists() for p in paths)
    del first
    before = src.passes
    again = sets.get("t")
    assert src.passes == before, "parked sets were read again from the blocks"
    assert np.array_equal(again.indptr, want_ptr) and np.array_equal(again.members, want_members)
    assert again.members.dtype == want_members.dtype and not any(p.exists() for p in paths)
    assert sets.get("t") is again, "the reloaded sets are not held"
    assert sets.park("t")
    sets.release("t")
    assert "t" not in sets.parked and not any(sets.parked.dir.iterdir())
    folder = sets.parked.dir
    del sets
    assert not folder.exists(), "the parked sets' folder outlived its source"
    small = SetSource(src, N_FAC, N_CELLS, 10**9)
    small.want("t", T)
    for acc in small.consumers():
        for b in src.parts:
            acc.add(b)
    small.get("t")
    assert not small.park("t") and small.parked.dir is None, "small sets went to disk"
