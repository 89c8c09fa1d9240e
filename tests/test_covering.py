"""Minimal cover and coverage curve: brute force on small instances, spopt on real catchments."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from analysis.catchments import TravelTimes
from analysis.covering import minimal_cover, reduce_coverage
from analysis.covering_curve import coverage_curve
from analysis.covering_tables import cover_sentence, covering_tables
from geo.config import TypeConfig


def random_instance(seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """n <= 12 facilities, 40 cells; some cells empty, some unreached, often several clusters."""
    rng = np.random.default_rng(seed)
    n_fac = int(rng.integers(1, 13))
    n_cells = 40
    dense = rng.random((n_fac, n_cells)) < rng.uniform(0.05, 0.4)
    if seed % 3 == 0:  # block structure: independent clusters exercise the component DP
        cluster_f = rng.integers(0, 3, n_fac)
        cluster_c = rng.integers(0, 3, n_cells)
        dense &= cluster_f[:, None] == cluster_c[None, :]
    demand = rng.integers(0, 50, n_cells).astype(float)
    demand[rng.random(n_cells) < 0.2] = 0.0
    return sp.csr_matrix(dense), demand


def brute_force(
    within: sp.csr_matrix, demand: np.ndarray, cand: np.ndarray
) -> tuple[int, dict[int, float]]:
    """Smallest cover size and best coverage for every p, by enumerating subsets."""
    a = within.toarray()
    idx = np.flatnonzero(cand)
    need = a[idx].any(axis=0) & (demand > 0)
    best: dict[int, float] = {}
    size = None if need.any() else 0
    for p in range(1, idx.size + 1):
        top = -1.0
        for s in itertools.combinations(idx, p):
            hit = a[list(s)].any(axis=0)
            top = max(top, float(demand[hit].sum()))
            if size is None and not (need & ~hit).any():
                size = p
        best[p] = top
    return (size if size is not None else 0), best


@pytest.mark.parametrize("seed", range(60))
def test_minimal_cover_and_curve_match_brute_force(seed):
    within, demand = random_instance(seed)
    rng = np.random.default_rng(1000 + seed)
    cand = rng.random(within.shape[0]) < 0.85
    size, best = brute_force(within, demand, cand)
    res = minimal_cover(within, demand, candidates=cand)
    assert res.optimal, res.status
    assert res.n_chosen == size, f"seed {seed}: cover of {res.n_chosen}, brute force {size}"
    a = within.toarray()
    need = a[cand].any(axis=0) & (demand > 0)
    if res.n_chosen:
        assert not (need & ~a[res.chosen].any(axis=0)).any(), (
            "the cover leaves a reached cell uncovered"
        )
    assert cand[res.chosen].all(), "the cover chose a non-candidate facility"
    curve = coverage_curve(within, demand, candidates=cand)
    total = float(demand[need].sum())
    if total == 0:
        assert curve.empty
        return
    for row in curve.itertuples():
        assert row.optimal
        assert row.covered == pytest.approx(best[row.p], abs=1e-9), f"seed {seed}, p={row.p}"
        chosen = np.array(row.chosen.split("|"), dtype=int)
        assert chosen.size <= row.p and cand[chosen].all()
        assert float(demand[a[chosen].any(axis=0)].sum()) == pytest.approx(row.covered), (
            "chosen ids do not give the coverage"
        )
    assert curve["share"].iloc[-1] == pytest.approx(1.0), (
        "the curve must end at 100 % of the all-facility coverage"
    )
    assert curve["p"].iloc[-1] == size, (
        "the curve must reach 100 % exactly at the minimal cover size"
    )


@pytest.mark.parametrize("seed", range(0, 60, 2))
def test_curve_without_solves_gives_real_sets_and_true_bounds(seed):
    """With no exact solve allowed, every point is a real p-set and its upper bound holds;
    a point marked optimal is the brute-force optimum."""
    within, demand = random_instance(seed)
    cand = np.ones(within.shape[0], bool)
    size, best = brute_force(within, demand, cand)
    curve = coverage_curve(within, demand, max_work=0, shares=())
    a = within.toarray()
    if curve.empty:
        return
    assert curve["p"].iloc[-1] == size, "the curve must still end at the minimal cover size"
    for row in curve.itertuples():
        chosen = np.array(row.chosen.split("|"), dtype=int)
        reached = float(demand[a[chosen].any(axis=0)].sum())
        assert chosen.size <= row.p and reached == pytest.approx(row.covered)
        assert row.covered <= best[row.p] + 1e-9 <= row.upper_bound + 2e-9, (
            f"seed {seed}, p={row.p}: {row.covered} <= {best[row.p]} <= {row.upper_bound} fails"
        )
        if row.optimal:
            assert row.covered == pytest.approx(best[row.p], abs=1e-9)


def test_greedy_bound_proves_what_it_can_and_solves_close_the_rest():
    """A classic greedy trap: the greedy first pick (the middle facility) is not in the best
    pair. The bound proves p = 1 and leaves p = 2 open; one exact solve closes it."""
    # cells 0..3 left (facility 0), 4..7 right (facility 1); facility 2 reaches 1..6 and cell 8
    dense = np.zeros((3, 9), bool)
    dense[0, 0:4] = True
    dense[1, 4:8] = True
    dense[2, 1:7] = True
    dense[2, 8] = True
    demand = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0.5])
    greedy_only = coverage_curve(sp.csr_matrix(dense), demand, max_work=0, shares=())
    exact = coverage_curve(sp.csr_matrix(dense), demand, max_work=10**6)
    assert greedy_only["p"].tolist() == exact["p"].tolist() == [1, 2, 3]
    assert greedy_only["covered"].iloc[0] == 6.5 and bool(greedy_only["optimal"].iloc[0])
    # p = 2: greedy adds one side (7.5); the best pair is left + right (8); the bound says 8.5
    assert greedy_only["covered"].iloc[1] == 7.5 and not bool(greedy_only["optimal"].iloc[1])
    assert greedy_only["upper_bound"].iloc[1] == pytest.approx(8.5)
    assert exact["covered"].iloc[1] == 8 and exact["chosen"].iloc[1] == "0|1"
    assert bool(exact["optimal"].all()) and exact["covered"].iloc[2] == 8.5


def test_cell_order_and_duplicate_cells_do_not_change_the_result():
    within, demand = random_instance(4)
    rng = np.random.default_rng(0)
    perm = rng.permutation(within.shape[1])
    twice = sp.hstack([within, within], format="csr")
    r1 = minimal_cover(within, demand)
    r2 = minimal_cover(within[:, perm], demand[perm])
    r3 = minimal_cover(twice, np.concatenate([demand, demand]))
    assert r1.chosen.tolist() == r2.chosen.tolist() == r3.chosen.tolist()
    c1, c2 = coverage_curve(within, demand), coverage_curve(within[:, perm], demand[perm])
    pd.testing.assert_frame_equal(c1, c2)
    red = reduce_coverage(twice, np.concatenate([demand, demand]))
    assert red.weight.size == reduce_coverage(within, demand).weight.size, (
        "identical cells must merge"
    )


def test_ties_go_to_the_largest_catchments():
    # facilities 0 and 1 reach the same two cells; 1 also reaches an empty cell, 2 reaches more people
    within = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0]], bool))
    demand = np.array([10.0, 5.0, 1.0, 0.0])
    res = minimal_cover(within, demand)
    assert res.n_chosen == 2 and 2 in res.chosen.tolist()
    # among {0,2} and {1,2} (equal size, equal coverage) any is fine; {0,1} would not cover cell 2
    assert res.covered_people == 16.0


def test_nothing_to_cover():
    within = sp.csr_matrix((3, 5), dtype=bool)
    res = minimal_cover(within, np.ones(5))
    assert res.n_chosen == 0 and res.optimal
    assert coverage_curve(within, np.ones(5)).empty


def test_sentences_name_counts_share_and_threshold():
    vi, en = cover_sentence(
        p=7,
        n=19,
        share=0.987,
        label_vi="Cảng biển",
        label_en="Seaport",
        threshold_min=120,
        region_vi="Việt Nam",
        region_en="Viet Nam",
    )
    assert (
        en
        == "7 of the 19 seaports of Viet Nam reach 98% of the people that all 19 reach within 120 min by road."
    )
    assert vi.startswith("7 trong số 19 cảng biển của Việt Nam tiếp cận 98 % số người"), (
        vi
    )  # Vietnamese: a space before %
    _, en = cover_sentence(
        p=5, n=19, share=0.9999, label_vi="x", label_en="Airport", threshold_min=90
    )
    assert "99%" in en, "a share below 1 must never read as 100 %"
    _, en = cover_sentence(
        p=12, n=19, share=1.0, label_vi="x", label_en="Industrial park", threshold_min=45
    )
    assert (
        "12 of the 19 industrial parks keep within 45 min by road everyone that all 19 reach" in en
    )


def test_covering_tables_columns_and_planned_facilities():
    # 3 facilities (the third planned), 4 cells; times in seconds
    fac = np.array([0, 0, 1, 1, 2, 2])
    cell = np.array([0, 1, 1, 2, 2, 3])
    t = np.array([600.0, 1200.0, 600.0, 600.0, 60.0, 60.0])
    tt = TravelTimes(fac, cell, t, n_fac=3, n_cells=4, limit_s=3600.0)
    tc = TypeConfig(
        name="airport",
        label_vi="Cảng hàng không",
        label_en="Airport",
        breaks_min=(30.0,),
        primary_min=30.0,
    )
    frame = pd.DataFrame({"facility_id": ["a", "b", "c"]})
    out = covering_tables(
        tt, np.array([1.0, 2.0, 3.0, 4.0]), frame, tc, base=np.array([True, True, False])
    )
    cov = out["covering"].iloc[0]
    assert (
        cov["min_cover_size"] == 2
        and cov["min_cover_ids"] == "a|b"
        and cov["covered_people"] == 6.0
    )
    assert cov["n_facilities"] == 2 and bool(cov["optimal"])
    curve = out["coverage_curve"]
    assert curve["p"].tolist() == [1, 2] and curve["covered"].tolist() == [5.0, 6.0]
    assert curve["facility_ids"].tolist() == ["b", "a|b"]
    mem = out["cover_members"]
    assert mem["in_minimal_cover"].tolist() == [True, True, False], (
        "a planned facility is never in the cover"
    )


@pytest.fixture(scope="module")
def real_catchments():
    """Travel times of the embedded default chain, captured as analyse_type receives them."""
    from pathlib import Path

    import analysis.run as run_mod
    import pipeline
    from geo.config import load_region_config
    from geo.datasets import DataDir

    data = Path(__file__).resolve().parent.parent / "data" / "vietnam"
    if not (data / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    captured = {}
    orig = run_mod.analyse_type

    def capture(fac, tc, tt, access, demand, provinces, config, **kw):
        base = (fac["status"].to_numpy() == "operating") & (access.snap.edge >= 0)
        whole = tt.to_travel_times() if hasattr(tt, "to_travel_times") else tt  # a BlockStore
        captured[tc.name] = (whole, demand.population, base, tc)
        return orig(fac, tc, tt, access, demand, provinces, config, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(run_mod, "analyse_type", capture)
    try:
        config, opts = load_region_config(), run_mod.RunOptions(types=("seaport", "airport"))
        inputs = pipeline.load_inputs(config, opts, DataDir(data, "embedded"))
        run_mod.run_region(config, opts, inputs)
    finally:
        mp.undo()
    return captured


@pytest.mark.integration
@pytest.mark.parametrize("type_name", ["airport", "seaport"])
def test_same_objective_values_as_spopt_on_real_catchments(real_catchments, type_name):
    """spopt's LSCP and MCLP (pulp + CBC) on the reduced rows of the real catchment matrix."""
    from pulp import PULP_CBC_CMD
    from spopt.locate import LSCP, MCLP

    tt, demand, base, tc = real_catchments[type_name]
    within = tt.within(tc.primary_min * 60.0)
    ours = minimal_cover(within, demand, candidates=base)
    curve = coverage_curve(within, demand, candidates=base)
    red = reduce_coverage(within, demand, candidates=base)
    # the reduction keeps every reached person: checked against the unreduced matrix
    reached = np.asarray(within[base].sum(axis=0)).ravel() > 0
    assert red.weight.sum() == pytest.approx(demand[reached].sum(), rel=1e-12)
    cols = np.flatnonzero(base)
    cost = np.where(red.rows[:, cols].toarray(), 0.0, 2.0)  # clients = reduced rows, radius 1
    lscp = LSCP.from_cost_matrix(cost, service_radius=1.0).solve(PULP_CBC_CMD(msg=False))
    n_spopt = round(lscp.problem.objective.value())
    assert ours.n_chosen == n_spopt, (
        f"{type_name}: minimal cover {ours.n_chosen}, spopt LSCP {n_spopt}"
    )
    for p in sorted({1, 3, max(1, ours.n_chosen // 2), max(1, ours.n_chosen - 1)}):
        mclp = MCLP.from_cost_matrix(cost, red.weight, service_radius=1.0, p_facilities=p).solve(
            PULP_CBC_CMD(msg=False)
        )
        theirs = float(mclp.problem.objective.value())
        mine = float(curve.loc[curve["p"] == p, "covered"].iloc[0])
        assert mine == pytest.approx(theirs, rel=1e-6), (
            f"{type_name} p={p}: ours {mine:,.0f}, spopt MCLP {theirs:,.0f}"
        )


@pytest.mark.parametrize("seed", range(1, 60, 3))
def test_quoted_shares_are_exact_without_any_curve_budget(seed):
    """With no work budget, the first p that reaches 90 / 95 / 99 % is still the brute-force one."""
    within, demand = random_instance(seed)
    cand = np.ones(within.shape[0], bool)
    _, best = brute_force(within, demand, cand)
    curve = coverage_curve(within, demand, max_work=0, shares=(0.9, 0.95, 0.99))
    if curve.empty:
        return
    total = float(demand[within.toarray().any(axis=0) & (demand > 0)].sum())
    for s in (0.9, 0.95, 0.99):
        want = min(p for p, v in best.items() if v >= s * total * (1 - 1e-12))
        got = int(curve.loc[curve["share"] >= s - 1e-12, "p"].min())
        assert got == want, f"seed {seed}, share {s}: curve says {got}, brute force {want}"


@pytest.mark.parametrize("words", [1, 2, 3])
def test_unique_rows_equals_numpy_unique(words: int) -> None:
    """The hashed merge of identical covering sets gives np.unique's rows, order and inverse."""
    from analysis.covering import unique_rows

    rng = np.random.default_rng(words)
    pool = rng.integers(0, 2**63, size=(40, words), dtype=np.uint64)
    bits = pool[rng.integers(0, 40, 5_000)]
    want, want_inv = np.unique(bits, axis=0, return_inverse=True)
    got, got_inv = unique_rows(bits)
    assert np.array_equal(got, want) and np.array_equal(got_inv, want_inv.ravel())


def test_unique_rows_two_rows_with_one_hash() -> None:
    """Two different rows built to share the hash: the lexicographic fallback still separates
    them (h = ((x0 * K + 1) ^ x1) * K + 2 is equal for (0, 0) and (1, (K + 1) ^ 1))."""
    from analysis.covering import unique_rows

    k = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        other = (k + np.uint64(1)) ^ np.uint64(1)
    bits = np.array([[1, other], [0, 0], [1, other], [0, 0], [5, 5]], dtype=np.uint64)
    want, want_inv = np.unique(bits, axis=0, return_inverse=True)
    got, got_inv = unique_rows(bits)
    assert len(got) == 3
    assert np.array_equal(got, want) and np.array_equal(got_inv, want_inv.ravel())
