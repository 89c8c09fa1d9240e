"""Overlap, province matrices and redundancy measures on a tiny grid computed by hand.

Cells 0..4 with people [100, 200, 300, 400, 500]; provinces of the cells [0, 0, 1, 1, 1].
Facility 0 (province 0) reaches cells {0, 1, 2}; facility 1 (province 1) reaches {2, 3};
facility 2 (province 1) reaches {3, 4}.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from analysis.catchments import TravelTimes, nearest_two
from analysis.overlap import coverage_measures, pairwise_overlaps, province_matrices
from analysis.redundancy import evidence_sentences, redundancy_flags, removal_penalty, sharing_keys

D = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
CELL_PROV = np.array([0, 0, 1, 1, 1])
FAC_PROV = np.array([0, 1, 1])
REACH = {0: [0, 1, 2], 1: [2, 3], 2: [3, 4]}


def within() -> sp.csr_matrix:
    rows = [f for f, cs in REACH.items() for _ in cs]
    cols = [c for cs in REACH.values() for c in cs]
    return sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(3, 5))


def test_coverage_unique_and_other_province():
    cov = coverage_measures(within(), D, FAC_PROV, 2)
    assert cov.coverage.tolist() == [600.0, 700.0, 900.0]
    # unique: f0 alone on cells 0,1 (300); f1 has none alone; f2 alone on cell 4 (500)
    assert cov.unique.tolist() == [300.0, 0.0, 500.0]
    # also served from another province: f0 -> cell 2 (f1, prov 1): 300; f1 -> cell 2 (f0): 300;
    # f2 -> nothing (cells 3, 4 only reached from province 1)
    assert cov.other_province.tolist() == [300.0, 300.0, 0.0]


def test_pairwise_overlaps():
    cov = coverage_measures(within(), D, FAC_PROV, 2)
    ov = pairwise_overlaps(within(), D, cov.coverage)
    got = {(r.i, r.j): (r.overlap, round(r.overlap_share, 6)) for r in ov.itertuples()}
    assert got == {(0, 1): (300.0, round(300 / 600, 6)), (1, 2): (400.0, round(400 / 700, 6))}


def test_province_matrices():
    served, dup, others = province_matrices(within(), D, FAC_PROV, CELL_PROV, 2)
    # province 0's people (cells 0, 1 = 300) are served only from province 0
    assert served[0].tolist() == [300.0, 0.0]
    # province 1's people: from province 0 cell 2 (300); from province 1 cells 2, 3, 4 (1200)
    assert served[1].tolist() == [300.0, 1200.0]
    assert dup.tolist() == [[0.0, 300.0], [300.0, 0.0]]
    assert others.tolist() == [0.0, 300.0]


def test_removal_penalty_and_alternative():
    # times (s): f0 -> c0 10, c1 20, c2 50; f1 -> c2 30, c3 40; f2 -> c3 10, c4 10
    tt = TravelTimes(
        fac=np.array([0, 0, 0, 1, 1, 2, 2]),
        cell=np.array([0, 1, 2, 2, 3, 3, 4]),
        time_s=np.array([10.0, 20.0, 50.0, 30.0, 40.0, 10.0, 10.0]),
        n_fac=3,
        n_cells=5,
        limit_s=60.0,
    )
    f1, t1, f2, t2 = nearest_two(tt)
    cov = coverage_measures(within(), D, FAC_PROV, 2).coverage
    rm = removal_penalty(f1, t1, f2, t2, D, cov, threshold_s=60.0)
    # f0 is nearest for c0, c1 (lost: 300 people); keeps access: c2 (f1 nearest) -> penalty 0
    assert rm.lost.tolist() == [300.0, 0.0, 500.0]
    assert rm.penalty_min[0] == 0.0
    # f1 nearest for c2 (300 people, second f0 at +20 s); c3 not nearest -> 0; mean over 700
    assert abs(rm.penalty_min[1] - (300 * 20 / 700) / 60) < 1e-12
    assert rm.alt_index[1] == 0 and abs(rm.alt_extra_min[1] - 20 / 60) < 1e-12
    # f2 nearest for c3 (second f1, +30 s, 400 people) and c4 (lost)
    assert abs(rm.penalty_min[2] - (400 * 30 / 400) / 60) < 1e-12 and rm.alt_index[2] == 1


def test_flags_and_sharing_keys():
    cov = coverage_measures(within(), D, FAC_PROV, 2)
    _u, _o, flag = redundancy_flags(
        cov.coverage,
        cov.unique,
        cov.other_province,
        max_unique_share=0.25,
        min_other_province_share=0.4,
    )
    assert flag.tolist() == [False, True, False], (
        "only f1 has unique share < 25% and >= 40% served from elsewhere"
    )
    keys = sharing_keys(within(), D, CELL_PROV, 2)
    f0 = keys[keys["i"] == 0]
    assert f0["prov"].tolist() == [0, 1] and np.allclose(f0["share"], [300 / 600, 300 / 600])
    assert np.allclose(keys.groupby("i")["share"].sum(), 1.0)


def test_evidence_is_bilingual_and_quotes_numbers():
    vi, en = evidence_sentences(
        name="Cảng A",
        prov_name="Hải Phòng",
        type_vi="Cảng biển",
        type_en="Seaport",
        threshold_min=120,
        coverage=2_500_000,
        unique=100_000,
        other_share=0.9,
        partners=[("Cảng B", "Quảng Ninh", 2_000_000)],
        lost=100_000,
        penalty_min=14.2,
        alt=("Cảng B", "Quảng Ninh", 14.2),
    )
    assert "2.5 million" in en and "90%" in en and "Cảng B (Quảng Ninh" in en and "+14 min" in en
    assert "2,5 triệu" in vi and "tỉnh khác" in vi and "phút" in vi


def test_evidence_of_a_planned_facility_is_a_what_if():
    vi, en = evidence_sentences(
        name="Sân bay X",
        prov_name="Đồng Nai",
        type_vi="Cảng hàng không",
        type_en="Airport",
        threshold_min=90,
        coverage=14_600_000,
        unique=900_600,
        other_share=0.94,
        partners=[("Tân Sơn Nhất", "Hồ Chí Minh", 12_600_000)],
        lost=0,
        penalty_min=float("nan"),
        alt=None,
        planned=True,
    )
    assert (
        "planned" in en
        and "would newly serve 900,600 people (6.2%)" in en
        and "Without it" not in en
    )
    assert "quy hoạch" in vi and "Nếu không có nó" not in vi
