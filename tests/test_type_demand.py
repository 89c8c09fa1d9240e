"""Demand per type: Huff shares, E2SFCA by hand, decay weights, the demand_* columns."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.catchments import TravelTimes
from analysis.type_demand import (
    DemandSpec,
    cell_weights,
    decay_weights,
    demand_spec,
    e2sfca,
    huff_shares,
    type_demand_columns,
)


def _tt(pairs: list[tuple[int, int, float]], n_fac: int, n_cells: int) -> TravelTimes:
    """Long-form travel times from (facility, cell, minutes), sorted by facility then cell."""
    arr = sorted(pairs)
    return TravelTimes(
        fac=np.array([p[0] for p in arr], dtype=np.int64),
        cell=np.array([p[1] for p in arr], dtype=np.int64),
        time_s=np.array([60.0 * p[2] for p in arr]),
        n_fac=n_fac,
        n_cells=n_cells,
        limit_s=60.0 * 200,
    )


def test_huff_shares_sum_to_one_per_reached_cell():
    rng = np.random.default_rng(7)
    n_fac, n_cells = 6, 40
    pairs = [
        (f, c, float(rng.uniform(0.5, 150)))
        for f in range(n_fac)
        for c in range(n_cells)
        if rng.random() < 0.5
    ]
    tt = _tt(pairs, n_fac, n_cells)
    spec = DemandSpec(kind="huff", decay="power", beta=2.0)
    people = rng.uniform(0, 1000, n_cells)
    size = rng.uniform(0.5, 3.0, n_fac)
    active = np.array([True, True, True, True, False, True])
    sh = huff_shares(
        tt,
        people,
        attractiveness=size,
        weight=decay_weights(tt.time_s, spec),
        cutoff_s=120 * 60.0,
        active=active,
    )
    sums = np.bincount(sh.cell, weights=sh.share, minlength=n_cells)
    reached = np.unique(tt.cell[(tt.time_s <= 120 * 60.0) & active[tt.fac]])
    np.testing.assert_allclose(sums[reached], 1.0, rtol=1e-12)
    assert np.all(sums[np.setdiff1d(np.arange(n_cells), reached)] == 0)
    assert not np.isin(4, sh.fac), "an inactive facility must take no share"
    # the people of the reached cells are all allocated, no more
    assert sh.demand.sum() == pytest.approx(people[reached].sum(), rel=1e-12)


def test_huff_two_airports_by_hand():
    # cell 0: airport 0 at 10 min, airport 1 at 20 min; cell 1: only airport 1 at 30 min
    tt = _tt([(0, 0, 10.0), (1, 0, 20.0), (1, 1, 30.0)], 2, 2)
    spec = DemandSpec(kind="huff", decay="power", beta=2.0)
    sh = huff_shares(
        tt, np.array([500.0, 100.0]), weight=decay_weights(tt.time_s, spec), cutoff_s=1e9
    )
    # cell 0: 10^-2 / (10^-2 + 20^-2) = 0.8 to airport 0, 0.2 to airport 1
    np.testing.assert_allclose(sh.demand, [400.0, 100.0 + 100.0], rtol=1e-12)


def test_e2sfca_on_a_tiny_grid_by_hand():
    """Two parks (10 ha, 30 ha), three cells; step weights 1 / 0.5 over breaks 30 / 60 min."""
    tt = _tt([(0, 0, 20.0), (0, 1, 50.0), (1, 1, 25.0), (1, 2, 40.0), (1, 0, 70.0)], 2, 3)
    spec = DemandSpec(kind="labour", decay="steps", step_weights=(1.0, 0.5))
    w = decay_weights(tt.time_s, spec, breaks_min=(30.0, 60.0))
    workers = np.array([100.0, 200.0, 400.0])
    out = e2sfca(tt, np.array([10.0, 30.0]), workers, weight=w, cutoff_s=60 * 60.0)
    # step 1: park 0 sees 100×1 + 200×0.5 = 200 → R0 = 10/200 = 0.05;
    #         park 1 sees 200×1 + 400×0.5 = 400 (cell 0 at 70 min is beyond the cut-off) → R1 = 0.075
    np.testing.assert_allclose(out.weighted_demand, [200.0, 400.0])
    np.testing.assert_allclose(out.ratio, [0.05, 0.075])
    # step 2: A0 = 0.05×1 = 0.05; A1 = 0.05×0.5 + 0.075×1 = 0.1; A2 = 0.075×0.5 = 0.0375
    np.testing.assert_allclose(out.access, [0.05, 0.1, 0.0375])
    # supply is conserved: Σ_k P_k A_k = Σ_j S_j when every park has demand in reach
    assert float(workers @ out.access) == pytest.approx(40.0)


def test_labour_columns_share_the_pool_by_area_and_fill_a_missing_area():
    tt = _tt([(0, 0, 20.0), (0, 1, 50.0), (1, 1, 25.0), (1, 2, 40.0), (2, 2, 10.0)], 3, 3)
    spec = DemandSpec(kind="labour", decay="steps", step_weights=(1.0, 0.5), working_age_share=0.5)
    cells = cell_weights(spec, np.array([200.0, 400.0, 800.0]))
    np.testing.assert_allclose(cells, [100.0, 200.0, 400.0])
    cols = type_demand_columns(
        spec,
        tt,
        cells,
        breaks_min=(30.0, 60.0),
        active=np.array([True, True, True]),
        area_ha=np.array([10.0, 30.0, np.nan]),
    )
    # park 2 takes the median area (20 ha). cell 0: park 0 only → 100 to park 0.
    # cell 1: 10×0.5 = 5 vs 30×1 = 30 → 200×5/35 to park 0, 200×30/35 to park 1.
    # cell 2: park 1 30×0.5 = 15, park 2 20×1 = 20 → 400×15/35 to park 1, 400×20/35 to park 2.
    expected = [100 + 200 * 5 / 35, 200 * 30 / 35 + 400 * 15 / 35, 400 * 20 / 35]
    np.testing.assert_allclose(cols["demand_workers"], expected, rtol=1e-12)
    np.testing.assert_allclose(cols["demand_workers_per_ha"], np.array(expected) / [10, 30, 20])
    assert list(cols["demand_area_assumed"]) == [False, False, True]
    assert cols["demand_workers"].sum() == pytest.approx(cells.sum())


def test_economic_mass_per_cell_and_inactive_facilities_get_nan():
    spec = demand_spec({"kind": "economic_huff", "beta": 0.9})
    cells = cell_weights(spec, np.array([1000.0, 2000.0]), grdp_per_head=np.array([100.0, 50.0]))
    np.testing.assert_allclose(cells, [100.0, 100.0])  # billion VND a year
    tt = _tt([(0, 0, 30.0), (1, 0, 30.0), (1, 1, 60.0)], 2, 2)
    cols = type_demand_columns(
        spec, tt, cells, breaks_min=(60.0, 120.0), active=np.array([True, False])
    )
    assert np.isnan(cols["demand_grdp"][1])
    assert cols["demand_grdp"][0] == pytest.approx(100.0), "the only active port takes cell 0"


def test_bad_spec_names_the_table_and_key():
    with pytest.raises(ValueError, match=r"population.demand.airport\] kind"):
        demand_spec({"kind": "gravity"}, where="population.demand.airport")
    with pytest.raises(ValueError, match="unknown key"):
        demand_spec({"kind": "huff", "alpha": 1})
    with pytest.raises(ValueError, match="beta"):
        demand_spec({"kind": "huff", "beta": 0})


def test_region_config_selects_the_cited_demand_of_each_type():
    from analysis.run import type_demand_spec
    from geo.config import load_region_config

    config = load_region_config()
    kinds = {t: type_demand_spec(config, t).kind for t in config.types}
    assert kinds == {"seaport": "economic_huff", "airport": "huff", "industrial_park": "labour"}
    park = type_demand_spec(config, "industrial_park")
    assert park.step_weights == (1.0, 0.68, 0.22), "Luo & Qi (2009) weights"
    assert type_demand_spec(config, "airport").beta == 2.0


def test_huff_size_field_weights_the_share_and_a_missing_size_takes_the_median():
    # one cell, three airports at the same time: shares follow the sizes 10, 30 and (median) 20
    tt = _tt([(0, 0, 30.0), (1, 0, 30.0), (2, 0, 30.0)], 3, 1)
    spec = demand_spec({"kind": "huff", "size_field": "capacity"})
    cols = type_demand_columns(
        spec,
        tt,
        np.array([600.0]),
        breaks_min=(60.0, 90.0, 120.0),
        active=np.array([True, True, True]),
        size=np.array([10.0, 30.0, np.nan]),
    )
    np.testing.assert_allclose(cols["demand_huff"], [100.0, 300.0, 200.0], rtol=1e-12)


@pytest.mark.parametrize(
    "raw",
    [
        {"kind": "huff", "beta": 2.0},
        {"kind": "economic_huff", "beta": 0.9, "size_field": "size"},
        {"kind": "economic_huff", "decay": "exponential", "beta": 0.05, "cutoff_min": 20.0},
        {"kind": "labour", "decay": "steps", "step_weights": [1.0, 0.68, 0.22]},
    ],
)
def test_compiled_block_passes_equal_the_whole_with_ties_and_planned(raw: dict) -> None:
    """The compiled passes (``type_demand_kernel``) over blocks of 1, 3 and every facility =
    the whole-array columns bit for bit: times on whole minutes (ties between facilities, times
    exactly at the breaks and the cut-off, below 1 minute), planned facilities (no share)
    reaching the same cells, missing sizes."""
    from analysis.block_store import split_blocks
    from analysis.type_demand_passes import type_demand_blocks

    rng = np.random.default_rng(11)
    n_fac, n_cells = 12, 60
    pairs = {
        (int(f), int(c), float(rng.choice([0.0, 0.5, 10.0, 15.0, 20.0, 25.0, 30.0, 31.0])))
        for f, c in zip(rng.integers(0, n_fac, 400), rng.integers(0, n_cells, 400), strict=True)
    }
    tt = _tt(sorted({(f, c): (f, c, t) for f, c, t in pairs}.values()), n_fac, n_cells)
    active = np.ones(n_fac, bool)
    active[[2, 7]] = False  # planned
    sizes = rng.uniform(5.0, 500.0, n_fac)
    sizes[[0, 5]] = np.nan
    cells = rng.uniform(0.0, 100.0, n_cells)
    kw = {"breaks_min": (10.0, 20.0, 30.0), "active": active, "area_ha": sizes, "size": sizes}
    spec = demand_spec(raw)
    want = type_demand_columns(spec, tt, cells, **kw)
    assert want.notna().sum().min() >= 8, "weak fixture"
    for per_block in (1, 3, n_fac):
        got = type_demand_blocks(
            spec, lambda p=per_block: split_blocks(tt, p), cells, n_fac=n_fac, **kw
        )
        assert got.equals(want), f"blocks of {per_block}: {got.compare(want)}"
