"""The notebook API (analysis.api) on small hand-made GeoDataFrames, and its example script."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from analysis import api
from geo.errors import InputError
from tests.conftest import REPO

CRS = "EPSG:32648"  # UTM 48N (metres)
X0, Y0 = 500_000.0, 1_000_000.0


@pytest.fixture(scope="module")
def region() -> dict[str, gpd.GeoDataFrame]:
    """A 10 km east-west road with a 4 km spur, two areas split at x = 5 km, people every 100 m
    along the road, three facilities (two of them 600 m apart across the border)."""
    roads = gpd.GeoDataFrame(
        {"highway": ["primary", "residential"]},
        geometry=[
            LineString([(X0, Y0), (X0 + 10_000, Y0)]),
            LineString([(X0 + 2_000, Y0), (X0 + 2_000, Y0 + 4_000)]),
        ],
        crs=CRS,
    )
    areas = gpd.GeoDataFrame(
        {"code": ["A", "B"]},
        geometry=[
            box(X0, Y0 - 2_000, X0 + 5_000, Y0 + 5_000),
            box(X0 + 5_000, Y0 - 2_000, X0 + 10_000, Y0 + 5_000),
        ],
        crs=CRS,
    )
    xs = X0 + 50 + np.arange(100) * 100.0
    people = gpd.GeoDataFrame(
        {"pop": np.full(100, 10.0)}, geometry=gpd.points_from_xy(xs, np.full(100, Y0 + 10)), crs=CRS
    )
    fac = gpd.GeoDataFrame(
        {"fid": ["c", "a", "b"], "status": ["operating"] * 3},
        geometry=[
            Point(X0 + 9_000, Y0 + 20),
            Point(X0 + 4_700, Y0 + 20),
            Point(X0 + 5_300, Y0 + 20),
        ],
        crs=CRS,
    )
    return {"roads": roads, "areas": areas, "people": people, "fac": fac}


@pytest.fixture(scope="module")
def catch(region: dict[str, gpd.GeoDataFrame]) -> api.Catchments:
    graph = api.graph_from_roads(region["roads"], speed_kmh={"default": 30.0}, crs=CRS)
    demand = api.demand_from_points(
        region["areas"], region["people"], population_column="pop", area_id="code", cell_size_m=100
    )
    return api.catchments(
        region["fac"], graph, demand, breaks_min=(2, 4), id_column="fid", access_speed_kmh=10
    )


def test_public_names_and_version() -> None:
    for name in api.__all__:
        assert hasattr(api, name), f"analysis.api.__all__ names {name}, which is missing"
    assert re.match(r"^\d+\.\d+", api.__version__), f"version {api.__version__!r}"


def test_frame_without_crs_is_refused(region: dict[str, gpd.GeoDataFrame]) -> None:
    with pytest.raises(InputError, match="no CRS"):
        api.graph_from_roads(region["roads"].set_crs(None, allow_override=True))


def test_geographic_input_warns_and_is_projected(region: dict[str, gpd.GeoDataFrame]) -> None:
    roads = region["roads"].to_crs("EPSG:4326")
    with pytest.warns(UserWarning, match="geographic CRS"):
        g = api.graph_from_roads(roads, speed_kmh={"default": 30.0})
    assert g.crs == "EPSG:32648", f"estimated UTM zone {g.crs}, expected 48N"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit crs= gives no warning
        api.graph_from_roads(roads, speed_kmh={"default": 30.0}, crs=CRS)
    with pytest.raises(InputError, match="not a projected"):
        api.graph_from_roads(roads, crs="EPSG:4326")


def test_inputs_are_not_modified(
    region: dict[str, gpd.GeoDataFrame], catch: api.Catchments
) -> None:
    assert list(region["fac"].columns) == ["fid", "status", "geometry"]
    assert region["fac"]["fid"].tolist() == ["c", "a", "b"], "the caller's frame was reordered"
    assert catch.facilities["facility_id"].tolist() == ["a", "b", "c"]
    assert catch.facilities["area_id"].tolist() == ["A", "B", "B"]


def test_times_are_road_distance_over_speed(catch: api.Catchments) -> None:
    """Facility a (x = 4.7 km) to the cell centred at x = 4.05 km: 650 m of road at 30 km/h,
    plus 20 m (facility) and 50 m (cell centre) off the road at 10 km/h."""
    cells = catch.demand.cells()
    t = catch.times.merge(cells[["cell", "geometry"]], on="cell")
    x = gpd.GeoSeries(t["geometry"]).x - X0
    row = t[
        (t["facility_id"] == "a")
        & np.isclose(x, 4_050)
        & np.isclose(gpd.GeoSeries(t["geometry"]).y - Y0, 50)
    ]
    expected = (650 / (30 / 3.6) + 70 / (10 / 3.6)) / 60
    assert len(row) == 1
    assert row["travel_time_min"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_coverage_and_overlaps_agree_with_the_long_times(catch: api.Catchments) -> None:
    """Coverage recomputed from the long frame (people of the cells within the break) matches."""
    cells = catch.demand.cells().set_index("cell")["population"]
    cov = api.coverage(catch)
    for (fid, b), c in cov.set_index(["facility_id", "break_min"])["coverage"].items():
        t = catch.times[(catch.times["facility_id"] == fid) & (catch.times["travel_time_min"] <= b)]
        assert c == pytest.approx(cells[t["cell"]].sum()), f"coverage of {fid} at {b} min"
    ov = api.overlaps(catch, breaks_min=(4,))
    pair = ov[(ov["facility_a"] == "a") & (ov["facility_b"] == "b")].iloc[0]
    ta = set(catch.times.query("facility_id == 'a' and travel_time_min <= 4")["cell"])
    tb = set(catch.times.query("facility_id == 'b' and travel_time_min <= 4")["cell"])
    assert pair["overlap"] == pytest.approx(cells[sorted(ta & tb)].sum())
    assert list(ov.columns) == ["facility_a", "facility_b", "break_min", "overlap", "overlap_share"]
    assert (ov["facility_a"] < ov["facility_b"]).all()


def test_province_matrices_long(catch: api.Catchments) -> None:
    pm = api.province_matrices(catch, breaks_min=(4,))
    assert list(pm.columns) == ["province_a", "province_b", "break_min", "served_by", "duplicated"]
    served = pm.groupby("province_b")["served_by"].sum()
    assert served["B"] > 0 and served["A"] > 0
    ab = pm[(pm["province_a"] == "A") & (pm["province_b"] == "B")]["duplicated"].iloc[0]
    assert ab > 0, "a and b overlap across the border: duplicated people expected"


def test_verdict_and_cover(catch: api.Catchments) -> None:
    v = api.verdict(catch, threshold_min=4, max_loss_share=0.2, keep_one_min=0)
    assert v["facility_id"].tolist() == ["a", "b", "c"]
    for col in ("coverage", "unique_share", "other_province_share", "overlap_flag", "verdict",
                "severity", "verdict_rank", "verdict_reason", "removal_lost", "removal_penalty_min"):  # fmt: skip
        assert col in v, f"verdict frame lacks {col}"
    flagged = v.set_index("facility_id")["overlap_flag"]
    assert flagged["a"] and flagged["b"] and not flagged["c"], flagged.to_dict()
    assert v["verdict"].sum() == 1, "one of the twin facilities is redundant, not both"
    assert v.set_index("facility_id")["removal_lost"]["c"] > 0
    cover = api.minimal_cover(catch, threshold_min=4)
    people = catch.demand.cells().set_index("cell")["population"]
    near = catch.times[catch.times["travel_time_min"] <= 4]
    reached = people[sorted(set(near["cell"]))].sum()
    chosen = cover.loc[cover["in_cover"], "facility_id"]
    kept = people[sorted(set(near.loc[near["facility_id"].isin(chosen), "cell"]))].sum()
    assert cover.attrs["covered_people"] == pytest.approx(reached)
    assert kept == pytest.approx(reached), f"the cover {list(chosen)} loses people"
    assert cover.attrs["n_chosen"] == len(chosen) and cover.attrs["optimal"]


def test_break_beyond_catchments_is_refused(catch: api.Catchments) -> None:
    with pytest.raises(InputError, match="beyond"):
        api.verdict(catch, threshold_min=10)
    with pytest.raises(InputError, match="beyond"):  # a variant would see truncated catchments
        api.verdict(catch, threshold_min=4, variants_min=(2, 5))


def test_example_script_runs() -> None:
    r = subprocess.run(
        [sys.executable, str(REPO / "docs" / "example_api.py")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert re.search(r"graph: \d+ nodes", out), out[:500]
    people = float(re.search(r"demand: \d+ cells, (\d+) people", out).group(1))
    assert people == pytest.approx(315_151, rel=0), "3,000 points with seed 7 hold 315,151 people"
    assert "CRS warning: hospitals is in a geographic CRS" in out
    for h in ("H1", "H2", "H3", "H4", "H5"):
        assert h in out
    loss = float(re.search(r"verdict set loss share: ([\d.]+)", out).group(1))
    assert 0 < loss <= 0.05, f"the verdict set loses {loss} (bound 0.05)"
    m = re.search(r"minimal cover: (\d+) of (\d+) facilities", out)
    assert m and 1 <= int(m.group(1)) <= int(m.group(2)) == 4, out[-500:]


def test_demand_from_polygons_keeps_every_person(region: dict[str, gpd.GeoDataFrame]) -> None:
    """Each polygon's people are spread over its cells, none lost or made (geographic input)."""
    pop = gpd.GeoDataFrame(
        {"people": [1000.0, 250.0]},
        geometry=[box(X0, Y0, X0 + 3_000, Y0 + 2_000), box(X0 + 6_000, Y0, X0 + 6_040, Y0 + 40)],
        crs=CRS,
    ).to_crs("EPSG:4326")
    d = api.demand_from_polygons(
        region["areas"], pop, population_column="people", area_id="code", cell_size_m=500, crs=CRS
    )
    cells = d.cells()
    assert cells["population"].sum() == pytest.approx(1250.0)
    by_area = cells.groupby("area_id")["population"].sum()
    assert by_area["A"] == pytest.approx(1000.0) and by_area["B"] == pytest.approx(250.0)
    assert "people" in pop.columns and "population" not in pop.columns, "input renamed in place"


# ----------------------------------------------------------------------------- facility blocks


def _random_region(seed: int) -> dict[str, gpd.GeoDataFrame]:
    """A 6 x 6 km lattice of streets of random class and direction, three areas in strips,
    800 random population points, 40 random facilities (some planned, two far off the roads)."""
    rng = np.random.default_rng(seed)
    lines, kinds, oneway = [], [], []
    for i in range(13):
        for horizontal in (True, False):
            a, b = (X0, Y0 + i * 500.0), (X0 + 6_000.0, Y0 + i * 500.0)
            if not horizontal:
                a, b = (X0 + i * 500.0, Y0), (X0 + i * 500.0, Y0 + 6_000.0)
            lines.append(LineString([a, b]))
            kinds.append(rng.choice(["primary", "secondary", "residential", "service"]))
            oneway.append(rng.choice(["yes", "no", "no", "no"]))
    roads = gpd.GeoDataFrame({"highway": kinds, "oneway": oneway}, geometry=lines, crs=CRS)
    areas = gpd.GeoDataFrame(
        {"code": ["P", "Q", "R"]},
        geometry=[box(X0 + k * 2_000, Y0, X0 + (k + 1) * 2_000, Y0 + 6_000) for k in range(3)],
        crs=CRS,
    )
    people = gpd.GeoDataFrame(
        {"pop": rng.gamma(2.0, 30.0, 800)},
        geometry=gpd.points_from_xy(
            rng.uniform(X0, X0 + 6_000, 800), rng.uniform(Y0, Y0 + 6_000, 800)
        ),
        crs=CRS,
    )
    xy = np.vstack([rng.uniform(0, 6_000, (38, 2)), [[3_000, -2_500], [-2_500, 3_000]]])
    fac = gpd.GeoDataFrame(
        {
            "fid": [f"f{i:02d}" for i in rng.permutation(40)],
            "status": rng.choice(["operating", "operating", "operating", "planned"], 40),
        },
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]),
        crs=CRS,
    )
    return {"roads": roads, "areas": areas, "people": people, "fac": fac}


@pytest.mark.parametrize("spill_mb", [None, "0"])
@pytest.mark.parametrize("seed", [3, 11])
def test_frames_equal_the_matrix_path(
    seed: int, spill_mb: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every frame of the API (computed from facility blocks, in memory or spilled to disk)
    equals the whole-array path's (every pair at once), to the last bit, on random regions."""
    from tests.api_matrix_path import assert_same_as_matrix_path

    if spill_mb is not None:
        monkeypatch.setenv("INFRA_OVERLAP_SPILL_MB", spill_mb)
    r = _random_region(seed)
    graph = api.graph_from_roads(r["roads"], crs=CRS)
    demand = api.demand_from_points(
        r["areas"], r["people"], population_column="pop", area_id="code", cell_size_m=250
    )
    access = {"access_speed_kmh": 12.0, "max_access_km": 1.0}
    catch = api.catchments(
        r["fac"], graph, demand, breaks_min=(4, 7, 10), id_column="fid", **access
    )
    assert catch.store.spilled == (spill_mb == "0")
    assert (~catch.facilities["road_access"]).sum() == 2, "the two far facilities have no road"
    v = api.verdict(catch, threshold_min=7, max_loss_share=0.1, keep_one_min=0)
    assert v["verdict"].any() and v["overlap_flag"].any(), "a case where the verdict decides"
    assert_same_as_matrix_path(
        catch,
        graph,
        threshold_min=7,
        variants_min=(5, 10),
        access=access,
        rule={"max_loss_share": 0.1, "keep_one_min": 0},
    )


def test_hand_made_frames_equal_the_matrix_path(
    region: dict[str, gpd.GeoDataFrame], catch: api.Catchments
) -> None:
    from tests.api_matrix_path import assert_same_as_matrix_path

    graph = api.graph_from_roads(region["roads"], speed_kmh={"default": 30.0}, crs=CRS)
    assert_same_as_matrix_path(
        catch, graph, threshold_min=4, variants_min=(2,), access={"access_speed_kmh": 10.0}
    )


def _reachable_arrays(obj: object, seen: set[int] | None = None) -> list[np.ndarray]:
    """Every NumPy array reachable from ``obj`` (dataclass fields, attributes, containers,
    frame columns); a sparse matrix is refused outright."""
    import dataclasses

    import pandas as pd
    import scipy.sparse as sp

    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, str | bytes | int | float | bool | type(None)):
        return []
    seen.add(id(obj))
    assert not sp.issparse(obj), "the catchments hold a sparse (facility, cell) matrix"
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, pd.DataFrame):
        return [obj[c].to_numpy() for c in obj.columns]
    items: list[object] = []
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, list | tuple | set):
        items = list(obj)
    else:
        if dataclasses.is_dataclass(obj):
            items += [getattr(obj, f.name) for f in dataclasses.fields(obj)]
        items += list(getattr(obj, "__dict__", {}).values())
    return [a for it in items for a in _reachable_arrays(it, seen)]


def test_catchments_hold_no_pairs_and_measures_read_one_block_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With INFRA_OVERLAP_SPILL_MB=0 every block is on disk: the catchments hold arrays of the
    grid's and the facilities' size only, and every measure reads the blocks one at a time
    (at most the block in hand and the next one alive), never every pair at once."""
    import weakref

    from analysis.block_store import BlockStore

    monkeypatch.setenv("INFRA_OVERLAP_SPILL_MB", "0")
    r = _random_region(5)
    graph = api.graph_from_roads(r["roads"], crs=CRS)
    demand = api.demand_from_points(
        r["areas"], r["people"], population_column="pop", area_id="code", cell_size_m=100
    )
    catch = api.catchments(r["fac"], graph, demand, breaks_min=(6, 9), id_column="fid")
    n_pairs, n_cells = catch.store.n_pairs, demand.grid.n_cells
    assert catch.store.spilled and n_pairs > 20 * n_cells, (n_pairs, n_cells)
    held = _reachable_arrays(catch)
    biggest = max(a.size for a in held)  # the cells' centres: (n_cells, 2)
    assert biggest <= 2 * max(n_cells, len(catch.facilities)), f"an array of {biggest} values"
    assert sum(a.nbytes for a in held) < n_pairs * 24 / 5, "the catchments hold the pairs"

    alive: list[weakref.ref[np.ndarray]] = []
    peak = [0]
    passes = [0]
    blocks = BlockStore.blocks

    def tracked(self: BlockStore):  # type: ignore[no-untyped-def]
        passes[0] += 1
        for tt in blocks(self):
            alive.append(weakref.ref(tt.fac))
            peak[0] = max(peak[0], sum(ref() is not None for ref in alive))
            yield tt

    monkeypatch.setattr(BlockStore, "blocks", tracked)
    n_blocks = sum(1 for _ in catch.blocks())
    assert n_blocks >= 8, f"{n_blocks} blocks: too few to tell"
    api.coverage(catch), api.overlaps(catch), api.province_matrices(catch)
    api.verdict(catch, threshold_min=9, variants_min=(6,), keep_one_min=0)
    api.minimal_cover(catch, threshold_min=9)
    assert passes[0] > 10 and peak[0] <= 2, f"{peak[0]} of {n_blocks} blocks alive at once"
    # the tracker sees a holder of every block: every block kept at once
    peak[0] = 0
    alive.clear()
    every = list(catch.blocks())
    assert sum(b.fac.size for b in every) == n_pairs
    assert peak[0] == n_blocks, "the tracker missed every block held at once"
    del every
    assert catch.store.to_travel_times().fac.size == n_pairs
    assert len(catch.times) == n_pairs and 0 < catch.within(6).nnz < n_pairs
