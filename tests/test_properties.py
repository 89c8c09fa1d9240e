"""Property tests (hypothesis) on users' facility files (issue 5): shuffle, duplicate and perturb the
rows of a CSV; no row may disappear (accepted + rejected + merged duplicates = input rows) and
nothing may depend on the order of the rows."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.config import load_region_config
from geo.facilities import load_region_facilities
from tests.conftest import EMBEDDED

CONFIG = load_region_config()

# Real places, more than the merge distance (500 m) apart; names distinct once normalised.
POOL = [
    ("ap-nb", "Sân bay quốc tế Nội Bài", 105.8019, 21.2212, "airport"),
    ("ap-tsn", "Sân bay Tân Sơn Nhất", 106.6520, 10.8188, "airport"),
    ("ap-dad", "Sân bay Đà Nẵng", 108.1990, 16.0439, "airport"),
    ("ap-cb", "Sân bay Cát Bi", 106.7250, 20.8190, "airport"),
    ("sp-dv", "Cảng Đình Vũ", 106.7700, 20.8500, "seaport"),
    ("sp-cm", "Cảng Cái Mép", 107.0300, 10.5300, "seaport"),
    ("sp-ts", "Cảng Tiên Sa", 108.2200, 16.1200, "seaport"),
    ("sp-qn", "Cảng Quy Nhơn", 109.2200, 13.7700, "seaport"),
    ("ip-tl", "KCN Thăng Long", 105.7800, 21.1100, "industrial_park"),
    ("ip-vs", "KCN VSIP Bình Dương", 106.7000, 11.0500, "industrial_park"),
    ("ip-hk", "KCN Hòa Khánh", 108.1500, 16.0800, "industrial_park"),
    ("ip-nm", "KCN Nomura", 106.5800, 20.8700, "industrial_park"),
]
PERTURBATIONS = (
    "none",  # accepted
    "decimal_comma",  # repaired, accepted
    "swap",  # rejected: latitude and longitude swapped
    "blank",  # rejected: no coordinates
    "zero",  # rejected: 0,0
    "unknown_type",  # rejected: type
    "bad_status",  # rejected: status
    "blank_name",  # rejected: name
    "nudge",  # a few metres away: accepted, or merged with the unmoved row
    "renamed",  # accepted; with an exact copy of the original, two rows claim one id
)
DUPLICATIONS = ("exact", "new_id")  # same id: rejected; another id, same place: merged


def perturbed(base: tuple[str, str, float, float, str], how: str) -> dict[str, object]:
    fid, name, lon, lat, kind = base
    row: dict[str, object] = {
        "facility_id": fid,
        "name": name,
        "lon": f"{lon:.4f}",
        "lat": f"{lat:.4f}",
        "type": kind,
        "status": "operating",
    }
    if how == "decimal_comma":
        row["lon"], row["lat"] = f"{lon:.4f}".replace(".", ","), f"{lat:.4f}".replace(".", ",")
    elif how == "swap":
        row["lon"], row["lat"] = row["lat"], row["lon"]
    elif how == "blank":
        row["lon"] = row["lat"] = ""
    elif how == "zero":
        row["lon"] = row["lat"] = "0"
    elif how == "unknown_type":
        row["type"] = "spaceport"
    elif how == "bad_status":
        row["status"] = "abandoned"
    elif how == "blank_name":
        row["name"] = "   "
    elif how == "renamed":
        row["name"] = f"{name} (tên mới)"
    elif how == "nudge":
        row["facility_id"], row["lon"] = f"{fid}-moved", f"{lon + 0.0003:.4f}"
    return row


@st.composite
def facility_rows(draw: st.DrawFn) -> tuple[list[dict[str, object]], list[int]]:
    """Rows of a user's file (some perturbed, some duplicated) and a permutation of them."""
    picks = draw(
        st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=len(POOL), unique=True)
    )
    rows = [perturbed(POOL[i], draw(st.sampled_from(PERTURBATIONS))) for i in picks]
    for i in draw(st.lists(st.sampled_from(picks), max_size=4)):
        copy = perturbed(POOL[i], "none")
        if draw(st.sampled_from(DUPLICATIONS)) == "new_id":
            copy["facility_id"] = f"{copy['facility_id']}-copy{len(rows)}"
        rows.append(copy)
    order = draw(st.permutations(range(len(rows))))
    return rows, list(order)


def load(rows: list[dict[str, object]], path: Path):
    pd.DataFrame(rows).to_csv(path, index=False)
    return load_region_facilities(EMBEDDED, CONFIG, extra_files=(path,), keep_default=False)


def canonical(result) -> dict[str, object]:
    """What a user gets from a load, without the rows' positions in the file."""
    fac = pd.DataFrame(result.facilities.drop(columns=["source_row", "source"]))
    fac["wkt"] = result.facilities.geometry.to_wkt()
    fac = fac.drop(columns="geometry").sort_values("facility_id").reset_index(drop=True)
    rejects = sorted(
        (r["field"], re.sub(r"row \d+", "row N", r["reason"])) for r in result.issues.rejects
    )
    merged = result.merged.sort_values(["kept_id", "merged_id"]).reset_index(drop=True)
    return {"facilities": fac, "rejects": rejects, "merged": merged}


@pytest.mark.skipif(not (EMBEDDED / "provinces_34.gpkg").exists(), reason="embedded data not built")
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=facility_rows())
def test_no_row_lost_and_order_does_not_matter(tmp_path, case):
    rows, order = case
    a = load(rows, tmp_path / "ordered.csv")
    b = load([rows[i] for i in order], tmp_path / "shuffled.csv")
    for name, res in (("ordered", a), ("shuffled", b)):
        n_acc, n_rej = len(res.facilities), len(res.issues.rejects)
        n_merged, n_excl = len(res.merged), len(res.excluded)
        assert n_acc + n_rej + n_merged + n_excl == len(rows), (
            f"{name}: {n_acc} accepted + {n_rej} rejected + {n_merged} merged + {n_excl} excluded "
            f"!= {len(rows)} input rows\nrejects: {res.issues.rejects}"
        )
        assert all(r["reason"] and r["field"] and r["row"] >= 1 for r in res.issues.rejects)
    ca, cb = canonical(a), canonical(b)
    pd.testing.assert_frame_equal(ca["facilities"], cb["facilities"], obj="facilities (order)")
    assert ca["rejects"] == cb["rejects"], "rejects depend on the order of the rows"
    pd.testing.assert_frame_equal(ca["merged"], cb["merged"], obj="merged duplicates (order)")


@pytest.mark.skipif(not (EMBEDDED / "provinces_34.gpkg").exists(), reason="embedded data not built")
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(picks=st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=6, unique=True))
def test_clean_rows_are_all_accepted_with_their_ids(tmp_path, picks):
    rows = [perturbed(POOL[i], "none") for i in picks]
    res = load(rows, tmp_path / "clean.csv")
    assert not res.issues.rejects, res.issues.rejects
    assert sorted(res.facilities["facility_id"]) == sorted(str(r["facility_id"]) for r in rows)
