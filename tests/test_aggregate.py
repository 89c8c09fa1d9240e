"""Measures per group of provinces, on a hand-made instance with numbers worked out by hand.

Three 63-edition provinces 01, 02, 03; the 34-edition A = 01 + 02, B = 03; regions R1 = 01 + 02,
R2 = 03; key economic region K = 01. Cells (province, people): c0 (01, 10), c1 (01, 20),
c2 (02, 30), c3 (03, 40), c4 (03, 50). Facilities: f0 in 01 reaches c0 c1 c2; f1 in 02 reaches
c1 c2 c3 (flagged); f2 in 03 is planned and reaches c3; f3 in 03 reaches c4.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from analysis.aggregate import aggregate_measures, area_groupings, group_membership
from geo.config import DEFAULT_LEVELS
from geo.errors import ConfigError

P63 = pd.DataFrame(
    {
        "prov_code": ["01", "02", "03"],
        "prov_name": ["Một", "Hai", "Ba"],
        "prov34_code": ["A", "A", "B"],
        "region6_code": ["R1", "R1", "R2"],
        "key_econ_region_vi": ["K", None, None],
    }
)
P34 = pd.DataFrame({"prov_code": ["A", "B"], "prov_name": ["Tỉnh A", "Tỉnh B"]})
WITHIN = sp.csr_matrix(
    np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]], dtype=bool)
)
DEMAND = np.array([10.0, 20.0, 30.0, 40.0, 50.0])


GROUPS = {"region6": "region6_code", "key_econ_region": "key_econ_region_vi"}


def _membership(**kw):
    finest, area_groups = area_groupings(
        SimpleNamespace(p63=P63, p34=P34, regions6=None), DEFAULT_LEVELS, GROUPS
    )
    return group_membership(finest, area_groups, **kw)


@pytest.fixture(scope="module")
def result():
    groups, mem = _membership(groupings={"west": ["01", "3"]})
    measures, pairs = aggregate_measures(
        WITHIN,
        DEMAND,
        cell_area=np.array([0, 0, 1, 2, 2]),
        fac_area=np.array([0, 1, 2, 2]),
        status=np.array(["operating", "operating", "planned", "operating"]),
        base=np.array([True, True, False, True]),
        flag=np.array([False, True, False, False]),
        groups=groups,
        membership=mem,
    )
    return measures.set_index(["grouping", "group_code"]), pairs


def test_groups_of_every_grouping(result):
    measures, _ = result
    assert sorted(measures.index) == sorted(
        [("province63", c) for c in ("01", "02", "03")]
        + [("province34", "A"), ("province34", "B"), ("region6", "R1"), ("region6", "R2")]
        + [("key_econ_region", "K"), ("config", "west")]
    )
    assert measures.loc[("province34", "A"), "group_name"] == "Tỉnh A"


EXPECTED = {
    # people, covered, own, outside, only outside, duplicated with outside, cover own, cover given outside
    ("province63", "01"): (30, 30, 30, 20, 0, 50, 1, 1),
    ("province63", "02"): (30, 30, 30, 30, 0, 50, 1, 0),
    ("province63", "03"): (90, 90, 50, 40, 40, 0, 1, 1),
    ("province34", "A"): (60, 60, 60, 0, 0, 0, 1, 1),
    ("region6", "R2"): (90, 90, 50, 40, 40, 0, 1, 1),
    ("key_econ_region", "K"): (30, 30, 30, 20, 0, 50, 1, 1),
    ("config", "west"): (120, 120, 80, 60, 40, 50, 2, 2),
}
COLUMNS = [
    "people",
    "people_covered",
    "covered_by_own",
    "covered_by_outside",
    "covered_only_by_outside",
    "duplicated_with_outside",
    "min_cover_own",
    "min_cover_given_outside",
]


@pytest.mark.parametrize("key", list(EXPECTED))
def test_measures_worked_out_by_hand(result, key):
    measures, _ = result
    got = tuple(float(measures.loc[key, c]) for c in COLUMNS)
    assert got == EXPECTED[key], f"{key}: {dict(zip(COLUMNS, got, strict=True))}"


def test_facility_counts_by_status_and_flag(result):
    measures, _ = result
    b = measures.loc[("province34", "B")]
    assert (b["n_operating"], b["n_planned"], b["n_flagged"]) == (1, 1, 0)
    a = measures.loc[("province34", "A")]
    assert (a["n_operating"], a["n_planned"], a["n_flagged"]) == (2, 0, 1)


def test_pairs_served_by_and_duplicated(result):
    _, pairs = result
    p = pairs[pairs["grouping"] == "province63"].set_index(["group_a", "group_b"])
    assert p.loc[("01", "01"), "served_by"] == 30 and p.loc[("01", "01"), "duplicated"] == 0
    assert p.loc[("01", "02"), "served_by"] == 20, "people in 01 within T of a facility of 02: c1"
    assert p.loc[("02", "01"), "served_by"] == 30
    assert p.loc[("03", "02"), "served_by"] == 40, "c3 is served from 02 (f2 in 03 is only planned)"
    assert p.loc[("01", "02"), "duplicated"] == 50 and p.loc[("02", "01"), "duplicated"] == 50
    assert ("02", "03") not in p.index, (
        "02 and 03 share no covered people and 02 serves nobody in 03"
    )
    assert set(pairs["grouping"]) <= {
        "province63",
        "province34",
        "region6",
        "key_econ_region",
        "config",
    }
    cross = pairs[pairs["grouping"] == "province34"]
    assert set(cross["group_a"]) | set(cross["group_b"]) <= {"A", "B"}, "pairs never mix groupings"


def test_unknown_province_code_in_config_grouping_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown province codes 99"):
        _membership(groupings={"bad": ["01", "99"]})
    with pytest.raises(ConfigError, match="no provinces"):
        _membership(groupings={"empty": []})
