"""Group aggregates from facility blocks (analysis.aggregate_blocks) = the whole-array ones
(analysis.aggregate.aggregate_measures) to the last bit: on the hand-made instance of
tests/test_aggregate.py and on the random road case of tests/test_blocks.py (2,000 cells in
12 areas, every area its own group, three overlapping regions and a configured group), for
block sizes from one facility to all of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import blocks
from analysis.aggregate import aggregate_measures
from analysis.aggregate_blocks import aggregate_measures_blocks
from analysis.catchments import TravelTimes
from tests.test_aggregate import DEMAND, WITHIN, _membership
from tests.test_blocks import case  # noqa: F401 (the shared fixture)

T = 1_000.0


def _both(tt: TravelTimes, demand: np.ndarray, per_block: int, **kw: object):
    want = aggregate_measures(tt.within(T), demand, **kw)  # type: ignore[arg-type]
    sets = blocks.facility_sets(
        blocks.split_blocks(tt, per_block), threshold_s=T, n_fac=tt.n_fac, n_cells=tt.n_cells
    )
    got = aggregate_measures_blocks(
        blocks.split_blocks(tt, per_block), sets, demand, threshold_s=T, **kw
    )  # type: ignore[arg-type]
    return got, want


def _assert_same(got: tuple, want: tuple) -> None:
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w, check_exact=True)
        assert g.equals(w)


@pytest.mark.parametrize("per_block", [1, 2, 4])
def test_hand_made_aggregates_from_blocks(per_block: int) -> None:
    f, c = WITHIN.nonzero()
    tt = TravelTimes(f.astype(np.int64), c.astype(np.int64), np.full(f.size, 600.0), 4, 5, T)
    groups, mem = _membership(groupings={"west": ["01", "3"]})
    kw = {
        "cell_area": np.array([0, 0, 1, 2, 2]),
        "fac_area": np.array([0, 1, 2, 2]),
        "status": np.array(["operating", "operating", "planned", "operating"]),
        "base": np.array([True, True, False, True]),
        "flag": np.array([False, True, False, False]),
        "groups": groups,
        "membership": mem,
    }
    got, want = _both(tt, DEMAND, per_block, **kw)
    assert want[0]["covered_by_outside"].sum() > 0 and len(want[1]) > 3
    _assert_same(got, want)


@pytest.mark.parametrize("per_block", [1, 7, 1_000])
def test_aggregates_from_blocks_equal_the_whole(case: dict, per_block: int) -> None:  # noqa: F811
    tt, params = case["tt"], case["params"]
    rng = np.random.default_rng(8)
    n_area = 12
    cell_area = rng.integers(-1, n_area, tt.n_cells)
    fac_area = rng.integers(-1, n_area, tt.n_fac)
    member = [np.arange(n_area) == k for k in range(n_area)]
    member += [rng.random(n_area) < 0.4 for _ in range(4)]  # overlapping regions and a config
    groups = pd.DataFrame(
        {
            "grouping": ["area"] * n_area + ["region"] * 3 + ["config"],
            "group_code": [f"A{k}" for k in range(n_area)] + ["R1", "R2", "R3", "west"],
            "group_name": [f"n{k}" for k in range(n_area + 4)],
        }
    )
    base = params["base"]
    kw = {
        "cell_area": cell_area,
        "fac_area": fac_area,
        "status": np.where(base, "operating", "planned"),
        "base": base,
        "flag": rng.random(tt.n_fac) < 0.3,
        "groups": groups,
        "membership": np.array(member),
    }
    got, want = _both(tt, params["demand"], per_block, **kw)
    m = want[0]
    assert (m["min_cover_own"] > 1).sum() > 3 and (m["duplicated_with_outside"] > 0).sum() > 3
    assert (m["min_cover_given_outside"] < m["min_cover_own"]).any(), "weak fixture"
    _assert_same(got, want)


def _hand_built() -> tuple[TravelTimes, np.ndarray, dict]:
    """Four areas, ten cells (c4 and c7 in no area), six facilities: f0 in area 0, f1 and f5
    in area 1 (f5 without road: not existing), f2 planned in area 2, f3 in no area, f4 in area
    3; groups: each area, two regions, and two overlapping configured groups. The people mix
    1e16 with units, so a sum taken in another order changes its last bits."""
    pairs = [  # (facility, cell, seconds)
        (0, 0, 100.0), (0, 1, 200.0), (0, 2, 900.0), (0, 3, 1_500.0), (0, 4, 300.0),
        (1, 1, 100.0), (1, 2, 100.0), (1, 5, 400.0), (1, 6, 700.0), (1, 9, 1_200.0),
        (2, 5, 100.0), (2, 6, 100.0),
        (3, 2, 500.0), (3, 6, 600.0), (3, 7, 100.0), (3, 8, 200.0),
        (4, 0, 900.0), (4, 2, 300.0), (4, 8, 100.0), (4, 9, 100.0),
        (5, 3, 100.0), (5, 8, 100.0),
    ]  # fmt: skip
    f, c, t = (np.array(x) for x in zip(*pairs, strict=True))
    tt = TravelTimes(f.astype(np.int64), c.astype(np.int64), t, 6, 10, 2_000.0)
    demand = np.array([1e16, 1.0, 1.0, 3.0, 7.0, 1e16, 1.0, 2.0, 1.0, 1e16])
    member = np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],  # areas
         [1, 1, 0, 0], [0, 0, 1, 1],  # regions
         [1, 1, 1, 0], [0, 1, 1, 1]],  # configured, overlapping
        dtype=bool,
    )  # fmt: skip
    groups = pd.DataFrame(
        {
            "grouping": ["area"] * 4 + ["region"] * 2 + ["config"] * 2,
            "group_code": ["A0", "A1", "A2", "A3", "R1", "R2", "west", "north"],
            "group_name": ["a0", "a1", "a2", "a3", "r1", "r2", "West", "North"],
        }
    )
    kw = {
        "cell_area": np.array([0, 0, 1, 1, -1, 2, 2, -1, 3, 3]),
        "fac_area": np.array([0, 1, 2, -1, 3, 1]),
        "status": np.array(
            ["operating", "operating", "planned", "operating"] * 1 + ["operating"] * 2
        ),
        "base": np.array([True, True, False, True, True, False]),
        "flag": np.array([False, True, False, True, False, False]),
        "groups": groups,
        "membership": member,
    }
    return tt, demand, kw


def test_group_bits_are_the_pairs_own_and_outside_facilities() -> None:
    """Bit g of a cell's ``own`` row: an existing facility of g within T; of ``out``: an
    existing facility not of g (f3, in no area, is outside every group)."""
    from analysis.aggregate import _member_of
    from analysis.aggregate_blocks import group_bits

    tt, _, kw = _hand_built()
    w = tt.within(T).toarray() & kw["base"][:, None]  # type: ignore[index]
    fac_in = _member_of(kw["fac_area"], kw["membership"]).toarray()  # type: ignore[arg-type]
    want_own = (fac_in.astype(int) @ w.astype(int)) > 0
    want_out = ((~fac_in).astype(int) @ w.astype(int)) > 0
    for per_block in (1, 4):
        own, out = group_bits(
            blocks.split_blocks(tt, per_block), kw["fac_area"], kw["membership"],  # type: ignore[arg-type]
            threshold_s=T, base=kw["base"], n_cells=tt.n_cells,  # type: ignore[arg-type]
        )  # fmt: skip
        g = np.arange(want_own.shape[0])
        got_own = ((own[:, g // 64] >> (g % 64).astype(np.uint64)) & np.uint64(1)).T == 1
        got_out = ((out[:, g // 64] >> (g % 64).astype(np.uint64)) & np.uint64(1)).T == 1
        assert np.array_equal(got_own, want_own), "own bits differ from the pairs"
        assert np.array_equal(got_out, want_out), "outside bits differ from the pairs"


@pytest.mark.parametrize("per_block", [1, 2, 6])
def test_hand_built_aggregates_with_groups_in_no_area(per_block: int) -> None:
    """Overlapping configured groups, a facility in no group, cells in no area, a planned
    facility and one without road: the block aggregates are the reference's bits."""
    tt, demand, kw = _hand_built()
    got, want = _both(tt, demand, per_block, **kw)
    m = want[0]
    assert (m["covered_only_by_outside"] > 0).any() and (m["duplicated_with_outside"] > 0).any()
    assert len(want[1]) > 8 and (want[1]["duplicated"] > 0).sum() > 3, "weak fixture"
    _assert_same(got, want)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reduced_from_sets_is_the_reduction_of_the_sub_matrix(seed: int) -> None:
    """A group's covering input built from the sets' words equals ``reduce_coverage`` of the
    (mine x cells) sub-matrix: rows in the same order, the same weights, the same cell rows;
    with people of zero, cells no facility of the group reaches, and 70 facilities (2 words);
    the calls of one group share its distinct rows (sorted once), each picking its cells'."""
    from analysis.aggregate_blocks import reduced_from_sets, sub_from_sets
    from analysis.cell_sets import CellSets
    from analysis.covering import reduce_coverage

    rng = np.random.default_rng(seed)
    n_fac, n_cells = 130, 3_000
    sets = np.zeros((3, n_cells), np.uint64)
    for _ in range(4):
        f = rng.integers(0, n_fac, n_cells)
        sets[f // 64, np.arange(n_cells)] |= np.left_shift(np.uint64(1), (f % 64).astype(np.uint64))
    sets[:, rng.random(n_cells) < 0.1] = 0
    bits = sets.copy()
    sets = CellSets.from_bits(sets, n_fac)
    assert np.array_equal(sets.to_bits(), bits), "lists != bits"
    mine = np.sort(rng.choice(n_fac, 70, replace=False))
    cells = np.sort(rng.choice(n_cells, 1_500, replace=False))
    of_people = reduced_from_sets(sets, mine, cells)  # one closure, called as a group calls it
    few = rng.random(cells.size) * (rng.random(cells.size) < 0.05)  # a few cells' rows only
    for people in (rng.integers(0, 4, cells.size).astype(float), rng.random(cells.size), few):
        want = reduce_coverage(sub_from_sets(sets, mine, cells), people)
        got = of_people(people)
        assert want.weight.size > 10
        assert (got.rows != want.rows).nnz == 0 and got.rows.shape == want.rows.shape
        assert np.array_equal(got.weight, want.weight)
        assert np.array_equal(got.cell_row, want.cell_row)
