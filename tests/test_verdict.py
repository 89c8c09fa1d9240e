"""The joint redundancy verdict on hand-made instances (analysis.verdict).

Each case is small enough to decide by hand: which facilities can go together within the loss
bound, which must stay as the last of their group, and how ties go to the larger facility.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from analysis.catchments import TravelTimes
from analysis.redundancy import SetEvidence, evidence_sentences
from analysis.verdict import (
    REASON_LAST_OF_GROUP,
    REASON_LOSS,
    REASON_OVERLAP_GONE,
    REASON_VERDICT,
    VerdictRule,
    equivalent_groups,
    joint_verdict,
    judge,
    set_removal,
)


def _rule(*args: float, **kw: object) -> VerdictRule:
    """The rule of these cases: one facility per province, so the province rule is off
    unless a case tests it."""
    return VerdictRule(*args, **{"keep_one_min": 0, **kw})  # type: ignore[arg-type]


RULE = _rule(0.25, 0.5, max_loss_share=0.02)


def _within(reach: dict[int, list[int]], n_cells: int) -> sp.csr_matrix:
    rows = [f for f, cs in reach.items() for _ in cs]
    cols = [c for cs in reach.values() for c in cs]
    return sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(len(reach), n_cells))


def _verdict(reach, weight, prov, *, size=None, rule=RULE, candidates=None, severity=None):
    n = len(reach)
    w = _within(reach, len(weight))
    return joint_verdict(
        w,
        np.asarray(weight, float),
        candidates=np.ones(n, bool) if candidates is None else np.asarray(candidates),
        base=np.ones(n, bool),
        severity=np.zeros(n) if severity is None else np.asarray(severity, float),
        size=np.ones(n) if size is None else np.asarray(size, float),
        ids=np.array([f"f{i}" for i in range(n)]),
        fac_prov=np.asarray(prov),
        rule=rule,
    )


def test_two_identical_facilities_one_flagged_the_larger_kept():
    # f0 and f1 in two provinces reach the same cells: each alone is a duplicate of the other
    verdict, reason, group, loss, covered = _verdict(
        {0: [0, 1, 2], 1: [0, 1, 2]}, [100, 100, 100], [0, 1], size=[5.0, 1.0]
    )
    assert verdict.tolist() == [False, True], "the smaller (f1) goes, the larger (f0) is kept"
    assert group[0] == group[1] >= 0, "identical catchments are one equivalent group"
    assert reason[0] in (REASON_OVERLAP_GONE, REASON_LAST_OF_GROUP)
    assert loss == 0.0 and covered == 300.0


def test_size_breaks_ties_the_other_way():
    verdict, *_ = _verdict({0: [0, 1, 2], 1: [0, 1, 2]}, [100, 100, 100], [0, 1], size=[1.0, 5.0])
    assert verdict.tolist() == [True, False]


def test_three_in_a_chain_only_the_middle_one_goes():
    # f0 (prov 0) cells 0-3, f1 (prov 1) cells 2-5, f2 (prov 2) cells 4-7: f1 is covered by
    # f0 and f2 together; f0 and f2 each have cells nobody else reaches.
    reach = {0: [0, 1, 2, 3], 1: [2, 3, 4, 5], 2: [4, 5, 6, 7]}
    verdict, reason, *_ = _verdict(reach, [100] * 8, [0, 1, 2])
    assert verdict.tolist() == [False, True, False]
    assert reason[1] == REASON_VERDICT


def test_the_loss_bound_stops_the_set():
    # Both have 10 % of their people alone; a 2 % bound on 1000 people allows neither.
    reach = {0: [0, 1, 2, 3, 4, 5, 6, 7, 8], 1: [1, 2, 3, 4, 5, 6, 7, 8, 9]}
    verdict, reason, _, loss, covered = _verdict(
        reach, [100] * 10, [0, 1], rule=_rule(0.25, 0.5, max_loss_share=0.02)
    )
    assert covered == 1000.0
    assert not verdict.any() and loss == 0.0
    assert set(reason) == {REASON_LOSS}
    # with a 10 % bound one of them may go (100 people = 10 %), not both
    verdict, _, _, loss, _ = _verdict(
        reach, [100] * 10, [0, 1], rule=_rule(0.25, 0.5, max_loss_share=0.10)
    )
    assert verdict.sum() == 1 and loss == 100.0


def test_a_mutual_overlap_is_not_redundant_twice():
    # f0 (prov 0) and f1 (prov 1) overlap on 90 % of each other's people; after f0 goes,
    # f1's people are no longer served from another province: f1 stays.
    reach = {0: list(range(0, 10)), 1: list(range(1, 11))}
    verdict, reason, *_ = _verdict(
        reach, [1] * 11, [0, 1], severity=[0.9, 0.8], rule=_rule(0.25, 0.5, 0.2, 0.95)
    )
    assert verdict.tolist() == [True, False]
    assert reason[1] == REASON_OVERLAP_GONE


def test_equivalent_groups_are_transitive_components():
    reach = {0: [0, 1, 2, 3, 4], 1: [0, 1, 2, 3, 4], 2: [3, 4, 5, 6, 7], 3: [9]}
    g = equivalent_groups(
        _within(reach, 10), np.ones(10), base=np.ones(4, bool), equivalent_share=0.8
    )
    assert g[0] == g[1] and len({g[0], g[2], g[3]}) == 3


def _tt(pairs: list[tuple[int, int, float]], n_fac: int, n_cells: int) -> TravelTimes:
    f, c, t = (np.array(x) for x in zip(*pairs, strict=True))
    order = np.lexsort((c, f))
    return TravelTimes(f[order], c[order], t[order].astype(float), n_fac, n_cells, 1e9)


def test_set_removal_counts_lost_and_moved_people_together():
    # cells 0,1,2 with 10, 20, 30 people; f0 nearest to all; f1 reaches cell 1 (+60 s) and
    # cell 2 (+120 s); nobody else reaches cell 0.
    tt = _tt([(0, 0, 60), (0, 1, 60), (0, 2, 60), (1, 1, 120), (1, 2, 180)], 2, 3)
    lost, moved, extra = set_removal(
        tt,
        np.array([10.0, 20.0, 30.0]),
        base=np.ones(2, bool),
        removed=np.array([True, False]),
        threshold_s=600,
    )
    assert lost == 10.0 and moved == 50.0
    assert np.isclose(extra, (20 * 1 + 30 * 2) / 50), "people-weighted mean of +1 and +2 min"


def test_judge_marks_robustness_under_variants():
    # f0's cells 0-8 are all within 10 min of f1 too: f0 is redundant at 10 min (nobody lost).
    # At 5 min f1 reaches only its own cell 9, so f0 is no longer a duplicate: fragile.
    pairs = [(0, c, 60.0) for c in range(9)] + [(1, c, 540.0) for c in range(9)] + [(1, 9, 60.0)]
    tt = _tt(pairs, 2, 10)
    people = np.ones(10) * 10
    j = judge(
        tt,
        people,
        people,
        threshold_s=600,
        variants_s=(300.0, 900.0),
        fac_prov=np.array([0, 1]),
        n_prov=2,
        base=np.ones(2, bool),
        size=np.array([2.0, 1.0]),
        ids=np.array(["a", "b"]),
        rule=_rule(0.25, 0.5, max_loss_share=0.2),
    )
    assert j.verdict.verdict.tolist() == [True, False]
    assert j.verdict_robust.tolist() == [False, False], "at 5 min f0 is no longer a duplicate"
    assert j.overlap_flag.tolist() == [True, True] and j.overlap_robust.tolist() == [False, False]
    assert j.verdict.rank.tolist() == [1, 2] and j.verdict.lost_people == 0.0
    assert j.verdict.moved_people == 90.0 and np.isclose(j.verdict.extra_min, 8.0)


def test_evidence_words_verdict_and_overlap_apart_with_loss_and_penalty_together():
    common = dict(
        name="Cảng A",
        prov_name="Hải Phòng",
        type_vi="Cảng biển",
        type_en="Seaport",
        threshold_min=120,
        coverage=11_500_000,
        unique=100_000,
        other_share=0.9,
        partners=[("Cảng B", "Quảng Ninh", 2_000_000)],
        lost=9_500_000,
        penalty_min=3.0,
        alt=None,
    )
    se = SetEvidence(
        n=3, loss_share=0.015, lost_people=120_000, moved_people=2e6, extra_min=7.5,
        max_loss_share=0.02,
    )  # fmt: skip
    vi, en = evidence_sentences(**common, verdict=True, set_evidence=se)
    assert en.startswith("Redundant:") and "9.5 million people would lose access" in en
    assert "2.0 million who keep it would travel 3.0 min longer" in en
    assert "1.5% of the demand served today" in en and "bound 2%" in en
    assert vi.startswith("Dư thừa:") and "9,5 triệu người sẽ mất tiếp cận" in vi and "1,5 %" in vi
    assert "Removed together with the other 2 seaport(s)" in en and "Nếu bỏ cùng 2" in vi
    vi, en = evidence_sentences(**common, verdict=False, reason="loss_bound", set_evidence=se)
    assert en.startswith("Overlap:") and "Redundant" not in en and "more than 2%" in en
    assert vi.startswith("Trùng lặp:") and "Dư thừa" not in vi
    # a set of one is this facility: no "the other 0", its own removal said once
    one = SetEvidence(
        n=1, loss_share=0.005, lost_people=300_000, moved_people=320_000, extra_min=34.0,
        max_loss_share=0.02,
    )  # fmt: skip
    vi, en = evidence_sentences(**common, verdict=True, set_evidence=one)
    assert "the other 0" not in en and "cùng 0" not in vi
    assert "It is the only seaport judged redundant" in en and "0.5% of the demand" in en
    assert "320,000 people whose nearest seaport it is would travel 34 min longer" in en
    assert "Đây là cảng biển duy nhất được kết luận là dư thừa" in vi


def test_pool_severity_is_the_shortfall_against_the_neighbours():
    # f0 and f1 meet (cell 1); f2 is alone. Pools per ha 100, 300, 50.
    from analysis.verdict import severity_from_pool

    w = _within({0: [0, 1], 1: [1, 2], 2: [5]}, 6)
    sev = severity_from_pool(w, np.array([100.0, 300.0, 50.0]), base=np.ones(3, bool))
    assert np.allclose(sev, [1 - 100 / 200, 1 - 300 / 200, 0.0])


def test_only_parks_short_of_labour_are_candidates():
    # two parks in two provinces over the same cells: the one drawing less per hectare goes,
    # whatever the size tie-break would say
    pairs = [(0, c, 60.0) for c in range(5)] + [(1, c, 60.0) for c in range(5)]
    tt = _tt(pairs, 2, 5)
    people = np.full(5, 100.0)
    kw = dict(
        threshold_s=600, variants_s=(), fac_prov=np.array([0, 1]), n_prov=2,
        base=np.ones(2, bool), size=np.array([1.0, 9.0]), ids=np.array(["a", "b"]),
        rule=_rule(0.25, 0.5, 0.02, 0.8, min_pool_shortfall=0.25),
    )  # fmt: skip
    j = judge(tt, people, people, pool=np.array([300.0, 100.0]), **kw)
    assert j.verdict.verdict.tolist() == [False, True], "b draws half of the mean: redundant"
    j = judge(tt, people, people, pool=np.array([110.0, 100.0]), **kw)
    assert not j.verdict.verdict.any(), "a 5 % shortfall is within the error: no verdict"


def test_a_facility_over_capacity_is_never_redundant():
    pairs = [(0, c, 60.0) for c in range(5)] + [(1, c, 60.0) for c in range(5)]
    tt = _tt(pairs, 2, 5)
    people = np.full(5, 100.0)
    kw = dict(
        threshold_s=600, variants_s=(), fac_prov=np.array([0, 1]), n_prov=2,
        base=np.ones(2, bool), size=np.array([9.0, 1.0]), ids=np.array(["a", "b"]), rule=RULE,
    )  # fmt: skip
    j = judge(tt, people, people, **kw)
    assert j.verdict.verdict.tolist() == [False, True], "the smaller one goes"
    j = judge(tt, people, people, exempt=np.array(["", "over_capacity"], dtype=object), **kw)
    assert j.verdict.verdict.tolist() == [True, False], "b runs over capacity: a goes instead"
    assert j.verdict.reason[1] == "over_capacity"


def test_capacity_sentences_say_over_capacity_and_largest():
    from analysis.redundancy import capacity_sentences

    vi, en = capacity_sentences(
        throughput=40_738_295, unit_vi="khách/năm", unit_en="passengers a year", year=2023,
        design=25e6, largest=True,
    )  # fmt: skip
    assert "over its design capacity of 25.0 million (163%)" in en and "(2023)" in en
    assert "vượt công suất thiết kế 25,0 triệu (163 %)" in vi
    vi, en = capacity_sentences(
        throughput=163e6, unit_vi="tấn/năm", unit_en="tonnes a year", year=2022,
        design=float("nan"), largest=True,
    )  # fmt: skip
    assert "163.0 million tonnes a year (2022), the largest of its type" in en
    assert "says nothing about spare capacity" in en and "lớn nhất trong loại" in vi
    assert capacity_sentences(
        throughput=float("nan"), unit_vi="", unit_en="", year=2022, design=1.0, largest=True
    ) == ("", "")


def test_rank_correlation_of_demand_and_throughput():
    import pandas as pd

    from analysis.capacity import demand_throughput_correlation

    fac = pd.DataFrame(
        {
            "type": ["airport"] * 4 + ["industrial_park"],
            "coverage": [4.0, 3.0, 2.0, 1.0, 9.0],
            "demand_huff": [1.0, 2.0, 3.0, 4.0, np.nan],
            "throughput": [40.0, 30.0, 20.0, np.nan, np.nan],
            "throughput_unit": ["passengers/year"] * 5,
        }
    )
    c = demand_throughput_correlation(fac)
    assert set(c) == {"airport"} and c["airport"]["n"] == 3
    assert c["airport"]["rho_coverage"] == 1.0 and c["airport"]["rho_demand"] == -1.0


def test_a_province_keeps_its_last_facility():
    # three parks of province 0 and one of province 1 over the same cells: with the province
    # rule, province 0 keeps one of its three (the largest); province 1 has fewer than three,
    # so its park is judged on the overlap alone (province 0's park serves its people)
    reach = {0: [0, 1, 2], 1: [0, 1, 2], 2: [0, 1, 2], 3: [0, 1, 2]}
    rule = VerdictRule(0.25, 0.5, max_loss_share=0.02, equivalent_share=1.01, keep_one_min=3)
    verdict, reason, *_ = _verdict(reach, [100] * 3, [0, 0, 0, 1], size=[3, 2, 1, 9], rule=rule)
    assert verdict.tolist() == [False, True, True, True]
    assert reason[0] == "last_in_province", "province 0 (three parks) keeps its largest"
    rule = VerdictRule(0.25, 0.5, max_loss_share=0.02, equivalent_share=1.01, keep_one_min=0)
    verdict, *_ = _verdict(reach, [100] * 3, [0, 0, 0, 1], size=[3, 2, 1, 9], rule=rule)
    assert verdict.tolist() == [True, True, True, False], "without the rule, the largest stays"


def test_other_class_from_the_cells_sets_equals_the_dense_province_counts():
    """The verdict finds the cells of a candidate that a facility of another province class
    reaches from the cells' facility lists (issue 19: nothing kept per (province, cell));
    removing facilities one by one gives what the dense (province, cell) array gives (all
    classes' count minus the class's own, positive), for every class, also classes that do not
    reach these cells, and a class of its own for facilities without a province."""
    import scipy.sparse as sp

    from analysis.cell_sets import CellSets
    from analysis.verdict_set import candidate_weights, other_class_alive, province_classes

    rng = np.random.default_rng(4)
    n_fac, n_cells = 30, 500
    w = rng.random(n_cells)
    within = sp.random(n_fac, n_cells, density=0.1, random_state=5, format="csr").astype(bool)
    fac_prov = rng.integers(0, 6, n_fac)
    fac_prov[[2, 7]] = -1
    prov, n_class = province_classes(fac_prov)
    onehot = sp.csr_matrix((np.ones(n_fac), (prov, np.arange(n_fac))), shape=(n_class + 1, n_fac))
    dense = np.asarray((onehot @ within.astype(float)).todense(), dtype=np.int64)
    by_cell = sp.csr_matrix(within.T, dtype=np.int8)
    by_cell.sort_indices()
    sets = CellSets(by_cell.indptr.astype(np.int64), by_cell.indices.astype(np.int32), n_fac)
    alive = np.ones(n_fac, bool)
    assert (dense[n_class] > 0).any() and (dense > 1).any(), "weak fixture"
    seen_both = seen_unique = False
    for i in rng.permutation(n_fac):
        cells = within.indices[within.indptr[i] : within.indptr[i + 1]].astype(np.int64)
        total = dense[:, cells].sum(axis=0)
        count = dense.sum(axis=0)
        for k in range(n_class + 1):
            got = other_class_alive(sets.indptr, sets.members, cells, prov, k, alive)
            assert got.dtype == np.bool_
            assert np.array_equal(got, total - dense[k, cells] > 0), (i, k)
            # the candidate's three weight arrays in one loop: the masks' (same order, so the
            # same sums)
            wc, wu, wo = candidate_weights(cells, w, count, sets.indptr, sets.members, prov, k,
                                           alive)  # fmt: skip
            assert np.array_equal(wc, w[cells]) and np.array_equal(wo, w[cells][got])
            assert np.array_equal(wu, w[cells][count[cells] == 1])
            seen_unique |= wu.size > 0 and wu.size < cells.size
        seen_both |= ((total - dense[prov[i], cells]) > 0).any() and (
            (total - dense[prov[i], cells]) == 0
        ).any()
        assert (dense[prov[i], cells] > 0).all()
        alive[i] = False
        dense[prov[i], cells] -= 1
    assert not dense.any()
    assert seen_both, "no candidate with cells both reached and not by another class"
    assert seen_unique, "no candidate with some cells of its own only"
