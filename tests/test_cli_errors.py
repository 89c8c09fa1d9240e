"""Bad input through the real command line (issue 5): every user mistake ends with exit code 1 and
ONE message naming the file, the row or field and what to do, never a Python traceback; internal
errors end with exit code 2 and show their traceback only with ``-v``.

Facility-file cases (encodings, coordinates, geometries, ...) are tested at the library level in
``test_bad_input.py``; this file covers road layers, population rasters, configuration files,
options, output folders, exit codes and very large inputs, through ``python cli.py``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point

from tests.conftest import EMBEDDED, REPO, run_cli

CONFIG_TEXT = (REPO / "data" / "vietnam.toml").read_text(encoding="utf-8")
LINES = [
    LineString([(106.60, 20.80), (106.70, 20.85)]),
    LineString([(106.70, 20.85), (106.80, 20.80)]),
]
ONE_AIRPORT = "name,lon,lat,type,status\nSân bay Cát Bi,106.72,20.82,airport,operating\n"


def single_error(r: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The one ``error:`` line of a failed command, after checking exit code and no traceback."""
    assert r.returncode == code, (
        f"expected exit {code}, got {r.returncode}\nstdout:\n{r.stdout[-2000:]}\nstderr:\n{r.stderr[-3000:]}"
    )
    assert "Traceback" not in r.stderr, f"a traceback was shown for a user error:\n{r.stderr}"
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected exactly one 'error:' line, got:\n{r.stderr}"
    return errors[0]


def assert_names(message: str, *needles: str) -> None:
    for needle in needles:
        assert needle in message, f"the message should mention {needle!r}: {message}"


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small hand-made bad inputs (and one tiny valid road layer to fail fast after it)."""
    d = tmp_path_factory.mktemp("bad_inputs")
    lines = gpd.GeoDataFrame({"highway": ["trunk", "primary"]}, geometry=LINES, crs=4326)
    lines.to_file(d / "roads.gpkg", layer="roads")
    (d / "corrupt.gpkg").write_bytes((d / "roads.gpkg").read_bytes()[:3000])
    lines.to_file(d / "noprj.shp")
    (d / "noprj.prj").unlink()
    lines.iloc[:0].to_file(d / "nolines.gpkg", layer="roads")
    points = gpd.GeoDataFrame(
        {"highway": ["trunk", "primary"]},
        geometry=[Point(106.6, 20.8), Point(106.7, 20.85)],
        crs=4326,
    )
    points.to_file(d / "points.gpkg", layer="roads")
    (d / "notraster.tif").write_text("this is not a raster\n")
    (d / "empty.tif").write_bytes(b"")
    profile = {
        "driver": "GTiff",
        "width": 10,
        "height": 10,
        "count": 1,
        "dtype": "float32",
        "transform": from_origin(106.5, 21.0, 0.02, 0.02),
    }
    with rasterio.open(d / "nocrs.tif", "w", **profile) as ds:
        ds.write(np.ones((1, 10, 10), "float32"))
    with rasterio.open(d / "nodata.tif", "w", crs="EPSG:4326", nodata=-9999, **profile) as ds:
        ds.write(np.full((1, 10, 10), -9999, "float32"))
    (d / "one_airport.csv").write_text(ONE_AIRPORT, encoding="utf-8")
    return d


def run_small(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``run --types airport -q`` into ``out`` (with one small facility file unless given)."""
    return run_cli("run", "--types", "airport", "--out", str(out), "-q", *args, timeout=180)


# --------------------------------------------------------------------------- road layers


@pytest.mark.parametrize(
    ("fixture", "needles"),
    [
        ("missing.gpkg", ["missing.gpkg", "not found", "--roads"]),
        ("corrupt.gpkg", ["corrupt.gpkg", "corrupt or truncated"]),
        ("noprj.shp", ["noprj.shp", "no CRS", ".prj"]),
        ("nolines.gpkg", ["nolines.gpkg", "no line features"]),
        ("points.gpkg", ["points.gpkg", "2 not a line", "LineString"]),
    ],
)
def test_bad_road_layer_is_refused_with_one_message(fx, tmp_path, fixture, needles):
    out = tmp_path / "out"
    r = run_small(out, "--facilities", str(fx / "one_airport.csv"), "--roads", str(fx / fixture))
    assert_names(single_error(r), *needles)
    assert not out.exists(), "a refused run must not create its output folder"


# --------------------------------------------------------------------------- population rasters


@pytest.mark.parametrize(
    ("fixture", "needles"),
    [
        ("missing.tif", ["missing.tif", "not found", "--population"]),
        ("notraster.tif", ["notraster.tif", "cannot be read as a raster", "GeoTIFF"]),
        ("empty.tif", ["empty.tif", "empty file"]),
        ("nocrs.tif", ["nocrs.tif", "no CRS", "EPSG"]),
        ("nodata.tif", ["nodata.tif", "no people"]),
    ],
)
def test_bad_population_raster_is_refused_with_one_message(fx, tmp_path, fixture, needles):
    out = tmp_path / "out"
    r = run_small(
        out,
        "--facilities",
        str(fx / "one_airport.csv"),
        "--roads",
        str(fx / "roads.gpkg"),
        "--population",
        str(fx / fixture),
    )
    assert_names(single_error(r), *needles)
    assert not out.exists()


# --------------------------------------------------------------------------- configuration files


def config_variant(tmp_path: Path, name: str, pattern: str, replacement: str) -> Path:
    text, n = re.subn(pattern, replacement, CONFIG_TEXT, count=1, flags=re.MULTILINE)
    assert n == 1, f"fixture: pattern {pattern!r} not found in data/vietnam.toml"
    p = tmp_path / f"{name}.toml"
    p.write_text(text, encoding="utf-8")
    return p


CONFIG_CASES = [
    ("invalid_toml", r"^\[region\]$", "[region", ["not valid TOML", "line"]),
    (
        "threshold_zero",
        r"^primary_min = 90$",
        "primary_min = 0",
        ["types.airport.primary_min", "> 0"],
    ),
    (
        "break_negative",
        r"^breaks_min = \[60, 90, 120\]$",
        "breaks_min = [-5, 90, 120]",
        ["types.airport.breaks_min", "> 0"],
    ),
    (
        "break_not_list",
        r"^breaks_min = \[60, 90, 120\]$",
        "breaks_min = 90",
        ["types.airport.breaks_min", "list"],
    ),
    (
        "threshold_text",
        r"^primary_min = 90$",
        'primary_min = "ninety"',
        ["types.airport.primary_min", "number", "ninety"],
    ),
    (
        "unknown_type",
        r"^\[types\.airport\]$",
        "[types.spaceport]",
        ["spaceport", "seaport, airport, industrial_park"],
    ),
    (
        "primary_not_a_break",
        r"^primary_min = 90$",
        "primary_min = 75",
        ["primary_min = 75", "breaks_min", "60, 90, 120"],
    ),
    ("missing_metric_crs", r"^metric_crs = .*$", "", ["missing key 'metric_crs'", "[region]"]),
    (
        "missing_roads_file",
        r'^file = "roads_trunk_osm.gpkg"$',
        "",
        ["missing key 'file'", "[roads]"],
    ),
    (
        "missing_breaks",
        r"^breaks_min = \[60, 90, 120\]$",
        "",
        ["missing key 'breaks_min'", "types.airport"],
    ),
    (
        "geographic_metric_crs",
        r'^metric_crs = "EPSG:3405"',
        'metric_crs = "EPSG:4326"',
        ["metric_crs", "not a projected CRS"],
    ),
    (
        "unknown_metric_crs",
        r'^metric_crs = "EPSG:3405"',
        'metric_crs = "EPSG:99999"',
        ["metric_crs", "unknown CRS"],
    ),
    ("edition_text", r"^edition = 34", 'edition = "x"', ["edition", "34 or 63"]),
    ("bbox_text", r"^bbox = \[102.0,", 'bbox = ["a",', ["bbox", "number"]),
    (
        "exact_work_negative",
        r"^exact_work = \d+",
        "exact_work = -1",
        ["covering.exact_work", "whole number"],
    ),
    (
        "exact_share_above_one",
        r"^exact_shares = .*$",
        "exact_shares = [0.9, 95]",
        ["covering.exact_shares", "(0, 1]"],
    ),
]


@pytest.mark.parametrize(
    ("name", "pattern", "replacement", "needles"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES]
)
def test_bad_configuration_is_refused_with_one_message(
    tmp_path, name, pattern, replacement, needles
):
    cfg = config_variant(tmp_path, name, pattern, replacement)
    r = run_cli("check", "--config", str(cfg), "--out", str(tmp_path / "chk"), "-q", timeout=120)
    assert_names(single_error(r), f"{name}.toml", *needles)


def test_missing_configuration_file(tmp_path):
    r = run_cli(
        "check", "--config", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o"), "-q"
    )
    assert_names(single_error(r), "nope.toml", "not found", "--config")


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("command", ["run", "check"])
def test_unknown_type_in_types_option(tmp_path, command):
    r = run_cli(command, "--types", "airport,spaceport", "--out", str(tmp_path / "o"), "-q")
    assert_names(single_error(r), "spaceport", "seaport", "airport", "industrial_park")
    if command == "run":
        assert not (tmp_path / "o").exists()


def test_empty_types_option(tmp_path):
    r = run_cli("check", "--types", ",", "--out", str(tmp_path / "o"), "-q")
    assert_names(single_error(r), "--types", "no facility type given")


def test_usage_error_is_a_user_error(tmp_path):
    r = run_cli("run", "--edition", "99", "--out", str(tmp_path / "o"))
    assert r.returncode == 1, r.stderr


# --------------------------------------------------------------------------- empty facility sets

ALL_SEAPORTS_REJECTED = (
    "name,lon,lat,type,status\n"
    "Sân bay Cát Bi,106.72,20.82,airport,operating\n"
    "Cảng X,588000,2346000,seaport,operating\n"
    "Cảng Y,106.75,20.84,seaport,abandoned\n"
)


def test_check_type_with_every_row_rejected_is_named_and_usable(tmp_path):
    f = tmp_path / "u.csv"
    f.write_text(ALL_SEAPORTS_REJECTED, encoding="utf-8")
    out = tmp_path / "chk"
    r = run_cli(
        "check", "--facilities", str(f), "--types", "airport,seaport", "--out", str(out), "-q"
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    warn = [line for line in r.stderr.splitlines() if "no usable seaport facility" in line]
    assert len(warn) == 1, f"the empty type must be named once:\n{r.stderr}"
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert sorted(rejects["row"]) == [2, 3] and set(rejects["source"]) == {str(f)}


def test_check_with_no_usable_row_exits_1(tmp_path):
    f = tmp_path / "u.csv"
    f.write_text(
        "name,lon,lat,type,status\nCảng X,588000,2346000,seaport,operating\n", encoding="utf-8"
    )
    r = run_cli("check", "--facilities", str(f), "--out", str(tmp_path / "chk"), "-q")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "0 facilities usable, 1 rows rejected" in r.stdout
    assert "row 1 [lon/lat]" in r.stdout, "the rejected row and its field must be printed"


def test_run_type_with_every_row_rejected_goes_on_and_says_so(fx, tmp_path):
    f = tmp_path / "u.csv"
    f.write_text(ALL_SEAPORTS_REJECTED, encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli(
        "run",
        "--facilities",
        str(f),
        "--types",
        "airport,seaport",
        "--roads",
        str(fx / "roads.gpkg"),
        "--out",
        str(out),
        "-q",
        timeout=180,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    assert "no usable seaport facility" in r.stderr and "seaport has no catchment" in r.stderr, (
        r.stderr
    )
    counts = pd.read_csv(out / "tables" / "facility_counts.csv", encoding="utf-8-sig").set_index(
        "type"
    )
    assert counts.loc["seaport", "loaded"] == 0 and counts.loc["airport", "loaded"] == 1
    assert len(pd.read_csv(out / "tables" / "rejects.csv", encoding="utf-8-sig")) == 2


def test_run_with_no_usable_facility_exits_1(fx, tmp_path):
    f = tmp_path / "u.csv"
    f.write_text(
        "name,lon,lat,type,status\nCảng X,588000,2346000,seaport,operating\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    r = run_cli(
        "run",
        "--facilities",
        str(f),
        "--types",
        "seaport",
        "--roads",
        str(fx / "roads.gpkg"),
        "--out",
        str(out),
        "-q",
        timeout=180,
    )
    assert_names(single_error(r), "no usable facility", "rejected")
    assert not out.exists()


def test_require_usable_states_the_limit(tmp_path):
    from geo.config import load_region_config
    from geo.facilities import RUN_MAX_FACILITIES_PER_TYPE, load_region_facilities

    f = tmp_path / "u.csv"
    f.write_text(
        "name,lon,lat,type,status\nA,105.80,21.20,airport,operating\nB,106.70,10.80,airport,operating\n",
        encoding="utf-8",
    )
    load = load_region_facilities(
        EMBEDDED, load_region_config(), types=("airport",), extra_files=(f,), keep_default=False
    )
    load.require_usable()
    with pytest.raises(Exception, match=r"airport: 2; the limit is 1 per type") as err:
        load.require_usable(max_per_type=1)
    assert type(err.value).__name__ == "InputError"
    assert RUN_MAX_FACILITIES_PER_TYPE >= 1000
    f.write_text("name,lon,lat,type,status\nA,0,0,airport,operating\n", encoding="utf-8")
    empty = load_region_facilities(
        EMBEDDED, load_region_config(), types=("airport",), extra_files=(f,), keep_default=False
    )
    with pytest.raises(
        Exception,
        match=r"no usable facility of the selected type\(s\) airport: 1 row\(s\) rejected",
    ):
        empty.require_usable()


# --------------------------------------------------------------------------- output folder


def test_existing_output_folder_without_overwrite_is_left_alone(tmp_path):
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "map.html").write_text("<html>previous run</html>", encoding="utf-8")
    (out / "tables" / "facilities.csv").write_text("facility_id\na\n", encoding="utf-8")
    before = tree_digest(out)
    r = run_small(out)
    assert_names(single_error(r), str(out), "--overwrite")
    assert tree_digest(out) == before, "the previous outputs must not change"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no temporary folder may be left"


# --------------------------------------------------------------------------- exit codes, -v

BOOM = """
import sys
import geo.facilities

def boom(*args, **kwargs):
    raise RuntimeError("simulated internal failure")

geo.facilities.load_region_facilities = boom
sys.argv = ["cli.py", *sys.argv[1:]]
sys.path.insert(0, {repo!r})
import cli
cli.main()
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_internal_error_exit_2_and_traceback_only_with_v(tmp_path, verbose):
    """A real CLI process whose loader raises an unexpected exception (simulated: no input is
    known to trigger an internal error once the bugs found by these tests are fixed)."""
    args = ["check", "--out", str(tmp_path / "o")] + (["-v"] if verbose else [])
    r = subprocess.run(
        [sys.executable, "-c", BOOM.format(repo=str(REPO)), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert "internal error: RuntimeError: simulated internal failure" in r.stderr
    if verbose:
        assert "Traceback (most recent call last)" in r.stderr and "in boom" in r.stderr
    else:
        assert "Traceback" not in r.stderr and "-v" in r.stderr


def test_data_folder_with_broken_provinces_layer_is_a_user_error(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EMBEDDED, data)
    p = data / "provinces_34.gpkg"
    gpd.read_file(p, layer="provinces_34").drop(columns=["gso_code"]).to_file(
        p, layer="provinces_34"
    )
    r = run_cli("check", "--data", str(data), "--out", str(tmp_path / "o"), "-q")
    assert_names(single_error(r), "provinces_34.gpkg", "gso_code")


# --------------------------------------------------------------------------- very large input

# The peak is read from /proc/self/status (VmHWM, this process's own address space), not from
# getrusage's ru_maxrss: Linux carries ru_maxrss across fork and exec, so a subprocess started
# from a pytest worker that had already grown to 1 GB would report the worker's peak, not its own.
MAXRSS = """
import atexit, re, runpy, sys
def _peak():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s+(\\d+)", f.read()).group(1))
atexit.register(lambda: sys.stderr.write(f"MAXRSS_KB={{_peak()}}\\n"))
sys.argv = ["cli.py", *sys.argv[1:]]
sys.path.insert(0, {repo!r})
runpy.run_path({cli!r}, run_name="__main__")
"""


def test_check_accepts_50000_facilities_with_bounded_memory(tmp_path):
    n = 50_000
    rng = np.random.default_rng(5)
    centres = np.array(
        [(105.80, 21.00), (106.70, 10.80), (108.20, 16.05), (106.68, 20.86), (105.77, 10.03)]
    )
    c = centres[rng.integers(0, len(centres), n)]
    big = tmp_path / "big.csv"
    pd.DataFrame(
        {
            "facility_id": [f"f{i}" for i in range(n)],
            "name": [f"KCN {i}" for i in range(n)],
            "lon": (c[:, 0] + rng.normal(0, 0.15, n)).round(5),
            "lat": (c[:, 1] + rng.normal(0, 0.15, n)).round(5),
            "type": rng.choice(["seaport", "airport", "industrial_park"], n),
            "status": "operating",
        }
    ).to_csv(big, index=False)
    out = tmp_path / "chk"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            MAXRSS.format(repo=str(REPO), cli=str(REPO / "cli.py")),
            "check",
            "--facilities",
            str(big),
            "--out",
            str(out),
            "-q",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rss_mb = int(re.search(r"MAXRSS_KB=(\d+)", r.stderr).group(1)) / 1024
    assert rss_mb < 1024, f"check on {n} rows used {rss_mb:.0f} MB (expected well under 1 GB)"
    usable = len(pd.read_csv(out / "facilities.csv", usecols=["facility_id"], encoding="utf-8-sig"))
    rejected = len(pd.read_csv(out / "rejects.csv", encoding="utf-8-sig"))
    repairs = pd.read_csv(out / "repairs.csv", encoding="utf-8-sig")
    merged = int(repairs["source"].astype(str).str.startswith("duplicates:").sum())
    assert usable + rejected + merged == n, (
        f"rows lost: {usable} usable + {rejected} rejected + {merged} merged != {n}"
    )
