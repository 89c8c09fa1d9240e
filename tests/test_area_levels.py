"""Area levels declared by the region (issue 18 item 2): the analysis takes its area tables and
the cells' areas from ``RegionConfig.area_levels``, not from Viet Nam's 63/34 written in code."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis.type_analysis import area_editions
from geo.config import AreaLevel


def test_coarser_levels_map_cells_through_the_crosswalk_of_the_finest():
    fine = pd.DataFrame({"prov_code": ["a", "b", "c"], "big_code": ["Y", "X", "Y"]})
    coarse = pd.DataFrame({"prov_code": ["X", "Y"]})
    provinces = SimpleNamespace(p7=fine, p2=coarse)
    demand = SimpleNamespace(area=np.array([0, 1, 2, -1, 2]))
    levels = (AreaLevel(7, "fine"), AreaLevel(2, "big", crosswalk="big_code"))
    ed = area_editions(provinces, demand, levels)
    assert list(ed) == [7, 2]  # finest first, as declared
    assert ed[7][0] is fine and ed[7][1].tolist() == [0, 1, 2, -1, 2]
    assert ed[2][0] is coarse and ed[2][1].tolist() == [1, 0, 1, -1, 1]


def test_a_single_level_region_needs_no_crosswalk():
    only = pd.DataFrame({"prov_code": ["a", "b"]})
    ed = area_editions(
        SimpleNamespace(p1=only), SimpleNamespace(area=np.array([1, 0])), (AreaLevel(1, "zone"),)
    )
    assert list(ed) == [1] and ed[1][1].tolist() == [1, 0]


def test_counts_by_area_follows_the_declared_levels():
    import geopandas as gpd

    from geo.quality_facilities import counts_by_area

    zones = pd.DataFrame({"prov_code": ["a", "b"], "prov_name": ["A", "B"]})
    regions = pd.DataFrame({"region6_code": ["R"], "region6_vi": ["Vùng R"]})
    fac = gpd.GeoDataFrame(
        {
            "type": ["seaport", "seaport", "airport"],
            "status": ["operating", "planned", "operating"],
            "zone_code": ["a", "a", "b"],
            "region6_code": ["R", "R", "R"],
        },
        geometry=gpd.points_from_xy([0, 1, 2], [0, 1, 2]),
        crs="EPSG:4326",
    )
    out = counts_by_area(fac, SimpleNamespace(p5=zones, regions6=regions), (AreaLevel(5, "zone"),))
    assert sorted(out["level"].unique()) == ["region6", "zone"]
    sea_a = out[(out["level"] == "zone") & (out["type"] == "seaport") & (out["code"] == "a")]
    assert sea_a[["operating", "planned", "total"]].to_numpy().tolist() == [[1, 1, 2]]
    assert out.loc[out["level"] == "zone", "total"].sum() == 3  # zeros kept, nothing lost


def test_groups_follow_the_declared_levels_and_groups():
    """No 63/34 in the aggregates: a region of 3 zones in 2 big areas and one named grouping."""
    import pytest

    from analysis.aggregate import area_groupings, group_membership
    from geo.errors import ConfigError

    fine = pd.DataFrame(
        {
            "prov_code": ["z3", "z1", "z2"],
            "prov_name": ["Zone 3", "Zone 1", "Zone 2"],
            "big_code": ["Y", "X", "Y"],
            "basin_code": ["b", None, "b"],
        }
    )
    coarse = pd.DataFrame({"prov_code": ["X", "Y"], "prov_name": ["Big X", "Big Y"]})
    basins = pd.DataFrame({"basin_code": ["b"], "basin_vi": ["Lưu vực B"]})
    provinces = SimpleNamespace(p7=fine, p2=coarse, basins=basins)
    levels = (AreaLevel(7, "fine"), AreaLevel(2, "big", crosswalk="big_code"))
    finest, area_groups = area_groupings(provinces, levels, {"basin": "basin_code"})
    groups, member = group_membership(finest, area_groups, groupings={"two": ["z1", "z2"]})
    got = list(zip(groups["grouping"], groups["group_code"], groups["group_name"], strict=True))
    assert got == [
        ("province7", "z3", "Zone 3"),  # the finest level in its table's order
        ("province7", "z1", "Zone 1"),
        ("province7", "z2", "Zone 2"),
        ("province2", "X", "Big X"),
        ("province2", "Y", "Big Y"),
        ("basin", "b", "Lưu vực B"),  # z1 is in no basin: no empty group
        ("config", "two", "two"),
    ]
    assert member.tolist() == [
        [True, False, False],
        [False, True, False],
        [False, False, True],
        [False, True, False],
        [True, False, True],
        [True, False, True],
        [False, True, True],
    ]
    with pytest.raises(ConfigError, match="'nope_code'"):
        area_groupings(provinces, levels, {"nope": "nope_code"})


def test_nearest_minutes_by_slices_equal_the_whole_array() -> None:
    """The nearest-time raster's values are made slice by slice (no float64 grid-sized
    temporaries at 100 m): equal to the whole-array conversion, unreached cells -9999, across
    slice boundaries."""
    from analysis.type_breaks import minutes_f32

    rng = np.random.default_rng(8)
    t = rng.uniform(0.0, 9_000.0, 100_003)
    t[::7] = np.inf
    want = np.where(np.isfinite(t), t / 60.0, -9999.0).astype(np.float32)
    got = minutes_f32(t, step=4_096)
    assert got.dtype == np.float32 and np.array_equal(got, want)
    assert (got == -9999.0).sum() == t[::7].size
