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
    base = np.asarray(kw["base"], bool)
    count = np.asarray(tt.within(T)[base].sum(axis=0)).ravel()
    sets = blocks.facility_sets(
        blocks.split_blocks(tt, per_block), threshold_s=T, n_fac=tt.n_fac, n_cells=tt.n_cells
    )
    got = aggregate_measures_blocks(
        blocks.split_blocks(tt, per_block), sets, count, demand, threshold_s=T, **kw
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
