"""The one validation layer (issue 20, issue 18 item 1): every config value out of range, of the
wrong kind or unknown is refused naming the file and the key; options --types and --add too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geo.config import load_region_config
from geo.errors import ConfigError
from tests.conftest import REPO, run_cli

CONFIG_TEXT = (REPO / "data" / "vietnam.toml").read_text(encoding="utf-8")


def variant(tmp_path: Path, pattern: str, replacement: str) -> Path:
    text, n = re.subn(pattern, replacement, CONFIG_TEXT, count=1, flags=re.MULTILINE)
    assert n == 1, f"fixture: pattern {pattern!r} not found in data/vietnam.toml"
    p = tmp_path / "variant.toml"
    p.write_text(text, encoding="utf-8")
    return p


CASES = [
    (r"^max_unique_share = 0.25", "max_unique_share = 5", ["flags.max_unique_share", "[0, 1]"]),
    (
        r"^min_other_province_share = 0.5",
        "min_other_province_share = -1",
        ["flags.min_other_province_share", "[0, 1]"],
    ),
    (
        r"^threshold_shifts_min = \[-15, 15\]",
        "threshold_shifts_min = [-200, 15]",
        ["threshold_shifts_min", "must stay > 0"],
    ),
    (r"^merge_second = true", 'merge_second = "no"', ["roads.merge_second", "true or false"]),
    (
        r"^exclude_classes = \[\]",
        'exclude_classes = "fishing"',
        ["types.seaport.exclude_classes", "list"],
    ),
    (r"^cell_size_m = 1000", "cell_size_m = 20", ["cell_size_m", "GiB", "raise cell_size_m"]),
    (r"^edition = 34", "edition = true", ["region.edition", "34 or 63"]),
    (r"^speed_factors = .*$", "speed_factors = [0.8, true]", ["speed_factors[1]", "number"]),
    (r'^name = "vietnam"', 'name = "../data/vietnam"', ["region.name", "no separator"]),
    (
        r'^file = "roads_trunk_osm.gpkg"',
        'file = "../../etc/passwd"',
        ["roads.file", "data folder"],
    ),
    (
        r'^file63 = "provinces_63.gpkg"',
        'file63 = "/abs/provinces.gpkg"',
        ["provinces.file63", "relative to the data folder"],
    ),
    (r"^\[flags\]", "[flags]\nmax_unique_shar = 0.3", ["unknown key 'max_unique_shar'", "allowed"]),
    (r"^\[provinces\]", "[provinces_x]", ["unknown key 'provinces_x'", "provinces, types"]),
    (r"^snap_tolerance_m = 100.0", "snap_tolerance_m = nan", ["snap_tolerance_m"]),
    (r"^unknown = \"operating\"", 'unknown = "open"', ["status_map.unknown", "operating"]),
    # area levels (issue 18 item 2): the run's edition must be a declared level, the finest first
    (
        r'^edition = 34\nkey = "prov34"',
        'edition = 35\nkey = "prov34"',
        ["region.edition = 34 is not an area level", "[63, 35]"],
    ),
    (r'^crosswalk = "prov34_code"', "", ["level prov34 needs a crosswalk"]),
    (r'^key = "prov63"', 'key = "prov63"\ncrosswalk = "x"', ["first level (prov63) is the finest"]),
]


@pytest.mark.parametrize(("pattern", "replacement", "needles"), CASES, ids=[c[1] for c in CASES])
def test_config_value_out_of_range_is_refused(tmp_path, pattern, replacement, needles):
    p = variant(tmp_path, pattern, replacement)
    with pytest.raises(ConfigError) as e:
        load_region_config(p)
    msg = str(e.value)
    for needle in [str(p), *needles]:
        assert needle in msg, f"the message should name {needle!r}: {msg}"


def test_the_shipped_config_is_valid_and_keeps_its_values():
    c = load_region_config()
    assert c.roads.merge_second is True and c.types["seaport"].exclude_classes == ()
    assert len(c.roads.islands) == 7 and c.roads.max_connector_m == 10_000
    assert c.types["airport"].breaks_min == (60.0, 90.0, 120.0) and c.max_unique_share == 0.25
    # Viet Nam declares its area levels (63 provinces, finest; 34 by crosswalk) and its regions
    assert [(lv.edition, lv.key, lv.crosswalk) for lv in c.area_levels] == [
        (63, "prov63", None),
        (34, "prov34", "prov34_code"),
    ]
    assert c.area_groups == {"region6": "region6_code", "key_econ_region": "key_econ_region_vi"}
    assert c.area_key() == "prov34"


def test_region_option_with_a_separator_is_refused():
    with pytest.raises(ConfigError, match="no separator"):
        load_region_config(region="../data/vietnam")


def test_types_are_deduplicated(tmp_path):
    once = run_cli("check", "--types", "airport", "--out", str(tmp_path / "a"), "-q")
    twice = run_cli("check", "--types", "airport,airport", "--out", str(tmp_path / "b"), "-q")
    assert once.returncode == 0 and twice.returncode == 0, twice.stderr
    a = (tmp_path / "a" / "facilities.csv").read_text(encoding="utf-8")
    b = (tmp_path / "b" / "facilities.csv").read_text(encoding="utf-8")
    assert a == b and a.count("\n") > 10, "--types airport,airport must run every airport once"


@pytest.mark.parametrize(
    ("value", "needles"),
    [
        ("", ["--types", "no facility type"]),
        (",", ["--types", "no facility type"]),
    ],
)
def test_empty_types_refused(tmp_path, value, needles):
    r = run_cli("run", "--types", value, "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 1 and all(n in r.stderr for n in needles), r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("add", "field"),
    [
        ("Cảng mới,abc,20.8,seaport", "lon"),
        ("Cảng mới,106.7,95,seaport", "lat"),
        ("Cảng mới,106.7,20.8,spaceport", "type"),
        ("only-a-name", "name"),
    ],
)
def test_bad_add_is_a_user_error_naming_row_and_field(tmp_path, add, field):
    r = run_cli(
        "run", "--add", "Ok,106.7,20.8,seaport", "--add", add, "--out", str(tmp_path / "o"), "-q"
    )
    assert r.returncode == 1, r.stderr
    assert "--add, row 2" in r.stderr and f"field '{field}'" in r.stderr, r.stderr


def test_crs_option_declares_the_crs_of_a_layer_without_one(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    layer = gpd.GeoDataFrame(
        {"name": ["Sân bay Cát Bi"], "type": ["airport"], "status": ["operating"]},
        geometry=[Point(106.72, 20.82)],
        crs=4326,
    )
    layer.to_file(tmp_path / "ports.shp")
    (tmp_path / "ports.prj").unlink()
    args = ["check", "--facilities", str(tmp_path / "ports.shp"), "--types", "airport", "-q"]
    without = run_cli(*args, "--out", str(tmp_path / "a"))
    assert without.returncode == 1 and "--crs" in without.stderr, without.stderr
    declared = run_cli(*args, "--crs", "EPSG:4326", "--out", str(tmp_path / "b"))
    assert declared.returncode == 0, declared.stderr
    assert "Sân bay Cát Bi" in (tmp_path / "b" / "facilities.csv").read_text(encoding="utf-8")
    bad = run_cli(*args, "--crs", "EPSG:99999", "--out", str(tmp_path / "c"))
    assert bad.returncode == 1 and "unknown CRS" in bad.stderr, bad.stderr


def test_huge_sparse_raster_gives_a_message_not_a_scan(tmp_path):
    import time

    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from geo.errors import InputError
    from geo.population import population_from_raster

    p = tmp_path / "huge.tif"
    profile = {
        "driver": "GTiff", "width": 200_000, "height": 200_000, "count": 1, "dtype": "float32",
        "crs": "EPSG:4326", "transform": from_origin(102.0, 24.0, 0.00009, 0.00009),
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
        "sparse_ok": True, "nodata": 0,
    }  # fmt: skip
    with rasterio.open(p, "w", **profile) as ds:
        ds.write(np.ones((1, 256, 256), "float32"), window=Window(0, 0, 256, 256))
    assert p.stat().st_size < 50_000_000
    t0 = time.monotonic()
    with pytest.raises(InputError, match="clip it to the region or resample"):
        population_from_raster(p)
    assert time.monotonic() - t0 < 30


def test_crosswalk_with_wrong_columns_is_a_user_error(tmp_path):
    import shutil

    from tests.conftest import EMBEDDED

    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    d = tmp_path / "data"
    shutil.copytree(EMBEDDED, d)
    (d / "crosswalk_63_to_34.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    r = run_cli("check", "--data", str(d), "--types", "airport", "--out", str(tmp_path / "o"), "-q")
    assert r.returncode == 1, r.stderr
    assert "crosswalk" in r.stderr and "old63_gso_code" in r.stderr and "Traceback" not in r.stderr


def test_an_added_facility_is_never_merged_away():
    import geopandas as gpd
    from shapely.geometry import Point

    from geo.facility_merge import merge_duplicates

    fac = gpd.GeoDataFrame(
        {
            "facility_id": ["airport:a", "airport:b", "airport:add-1"],
            "name": ["Cát Bi", "Cát Bi", "Cát Bi mới"],
            "type": ["airport"] * 3,
            "source": ["osm", "osm", "--add"],
        },
        geometry=[Point(106.7246, 20.8186), Point(106.7247, 20.8187), Point(106.7246, 20.8186)],
        crs=4326,
    )
    kept, merged = merge_duplicates(fac, distance_m=500, metric_crs="EPSG:3405")
    assert "airport:add-1" in set(kept["facility_id"]), "the what-if facility was merged away"
    assert list(merged["merged_id"]) == ["airport:b"], "ordinary duplicates are still merged"
