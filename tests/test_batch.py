"""``cli.py batch``: scenarios on a real Dask cluster, resumable, with a comparative report.

The integration tests run airport-only scenarios on the embedded default (data/vietnam) on a
real ``LocalCluster`` of 2 workers, and once on a separately started ``dask scheduler`` +
``dask worker``. The report is opened with openpyxl, converted by headless LibreOffice and
loaded in headless Chromium when those are installed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from batch import read_scenarios
from geo.errors import ConfigError
from tests.conftest import EMBEDDED, REPO, run_cli

CHECK_HTML = Path("/work/shared/tools/check_html.py")
if not CHECK_HTML.is_file():
    CHECK_HTML = REPO.parent / "shared" / "tools" / "check_html.py"
LONG_THANH = "airport:LTH"  # official unit id (geo.units: the IATA code)

SCENARIOS = f"""
[defaults]
config = "vietnam.toml"
types = ["airport"]
lang = "en"

[report]
baseline = "base"
compare = "air60"

[[scenario]]
name = "base"
description = "airports at 90 min"

[[scenario]]
name = "air60"
primary_min = {{ airport = 60 }}

[[scenario]]
name = "swap"
description = "Long Thanh removed, a planned airport at Phan Thiet added"
remove = ["{LONG_THANH}"]
add = ["Sân bay Phan Thiết,108.07,10.95,airport"]

[[scenario]]
name = "broken"
facilities = ["no_such_file.csv"]
"""


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "s.toml").write_text(text, encoding="utf-8")
    return folder / "s.toml"


@pytest.fixture(scope="module")
def batch(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """The scenario file, its batch folder and the first invocation (LocalCluster, 2 workers)."""
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    root = tmp_path_factory.mktemp("batch")
    # a copy of the region config, so that an edit of data/vietnam.toml during the test does not
    # change the scenarios' hashes between the two invocations
    shutil.copy(REPO / "data" / "vietnam.toml", root / "vietnam.toml")
    toml = _write(root, SCENARIOS)
    out = root / "out"
    r = run_cli("batch", str(toml), "--out", str(out), "--workers", "2")
    return toml, out, r


def _folders(out: Path) -> dict[str, Path]:
    return {
        p.name.rsplit("-", 1)[0]: p
        for p in (out / "scenarios").iterdir()
        if p.is_dir() and not p.name.startswith(".")
    }


# --------------------------------------------------------------------------- units


def test_unknown_key_is_rejected_naming_file_scenario_key(tmp_path: Path) -> None:
    toml = _write(tmp_path, '[[scenario]]\nname = "a"\nthreshold = 60\n')
    with pytest.raises(ConfigError) as e:
        read_scenarios(toml)
    msg = str(e.value)
    for part in (str(toml), "scenario 'a'", "threshold", "allowed:", "primary_min"):
        assert part in msg, f"the message should name {part!r}: {msg}"


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        ('[[scenario]]\nname = "a"\nspeed_factor = "fast"\n', "must be a number"),
        ('[[scenario]]\nname = "a"\n[[scenario]]\nname = "a"\n', "used twice"),
        ('[[scenario]]\nname = "a b"\n', "'name' must be"),
        ('[[scenario]]\nname = "a"\nedition = 50\n', "34 or 63"),
        (
            '[[scenario]]\nname = "a"\nregion6 = ["DBSCL"]\npopulation = "pop.tif"\n',
            "population raster",
        ),
        ('[report]\nbaseline = "zz"\n[[scenario]]\nname = "a"\n', "not a scenario"),
        ("[defaults]\n", "no scenarios"),
    ],
)
def test_invalid_scenario_files_say_what_is_wrong(tmp_path: Path, body: str, expect: str) -> None:
    with pytest.raises(ConfigError, match=expect):
        read_scenarios(_write(tmp_path, body))


def test_defaults_merge_per_type_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    body = '[defaults]\nprimary_min = { airport = 90, seaport = 120 }\nfacilities = ["f.csv"]\n[[scenario]]\nname = "a"\nprimary_min = { airport = 60 }\n'
    spec = read_scenarios(_write(tmp_path, body))
    p = spec.scenarios[0].params
    assert p["primary_min"] == {"airport": 60.0, "seaport": 120.0}
    assert p["facilities"] == (str((tmp_path / "f.csv").resolve()),)


def test_example_scenario_file_is_valid() -> None:
    spec = read_scenarios(REPO / "data" / "scenarios_vietnam.toml")
    assert len(spec.scenarios) >= 8, "the example should hold at least 8 scenarios"
    assert spec.baseline == "baseline"


def test_cli_refuses_a_bad_file_without_traceback(tmp_path: Path) -> None:
    r = run_cli(
        "batch",
        str(_write(tmp_path, '[[scenario]]\nname = "a"\ntypo = 1\n')),
        "--out",
        str(tmp_path / "o"),
    )
    assert r.returncode == 1, r.stderr
    assert "unknown key 'typo'" in r.stderr and "Traceback" not in r.stderr, r.stderr


# --------------------------------------------------------------------------- integration


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_batch_runs_all_and_reports_the_failing_scenario(
    batch: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    _, out, r = batch
    assert r.returncode == 1, (
        f"a failed scenario must give exit code 1, got {r.returncode}:\n{r.stderr[-3000:]}"
    )
    folders = _folders(out)
    assert set(folders) == {"base", "air60", "swap"}, (
        f"the three good scenarios should finish: {sorted(folders)}"
    )
    for name, f in folders.items():
        for file in ("manifest.json", "map.html", "infra_overlap.gpkg", "report.html"):
            assert (f / file).is_file(), f"{name}: {file} missing"
        # a scenario goes through pipeline.py as `cli run` does: same data-quality section
        assert "<section class='data-quality'>" in (f / "report.html").read_text("utf-8"), (
            f"{name}: the scenario's report lacks the data-quality section"
        )
        assert f"scenario {name}: done in" in r.stderr, (
            f"no log line for {name}:\n{r.stderr[-2000:]}"
        )
    assert "scenario broken: FAILED" in r.stderr and "no_such_file.csv" in r.stderr, r.stderr[
        -2000:
    ]
    sc = pd.read_csv(out / "tables" / "scenarios.csv", encoding="utf-8-sig")
    assert dict(zip(sc["scenario"], sc["status"], strict=True)) == {
        "base": "done",
        "air60": "done",
        "swap": "done",
        "broken": "failed",
    }
    assert "no_such_file.csv" in (out / "report.html").read_text(encoding="utf-8"), (
        "the report should show the error"
    )


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_numbers_trace_to_each_scenario_manifest(
    batch: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    _, out, _ = batch
    summary = pd.read_csv(out / "tables" / "summary.csv", encoding="utf-8-sig")
    for row in summary.itertuples(index=False):
        man = json.loads((out / row.folder / "manifest.json").read_text(encoding="utf-8"))
        assert man["scenario"]["hash"] == row.hash and man["scenario"]["name"] == row.scenario
        assert row.facilities_count == man["counts"]["facilities"]["airport"], (
            f"{row.scenario}: facility count differs from its manifest"
        )
    prim = dict(zip(summary["scenario"], summary["primary_min"], strict=True))
    assert prim == {"base": 90, "air60": 60, "swap": 90}
    cov = dict(zip(summary["scenario"], summary["covered_people"], strict=True))
    assert cov["air60"] < cov["base"], (
        "60-minute catchments should cover fewer people than 90-minute ones"
    )
    ch = pd.read_csv(out / "tables" / "changes.csv", encoding="utf-8-sig")
    swap = ch[ch["scenario"] == "swap"]
    assert LONG_THANH in set(swap.loc[swap["change"] == "facility removed", "facility_id"]), (
        swap.to_string()
    )
    assert "Sân bay Phan Thiết" in set(swap.loc[swap["change"] == "facility added", "name"]), (
        swap.to_string()
    )
    diff = pd.read_csv(
        out / "tables" / "matrix_diff.csv",
        dtype={"province_a": str, "province_b": str},
        encoding="utf-8-sig",
    )
    assert len(diff) and (diff["difference_people"] <= 0).all(), (
        "shorter catchments cannot duplicate more people"
    )
    assert set(diff["baseline"]) == {"base"} and set(diff["compare"]) == {"air60"}


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_second_invocation_skips_finished_scenarios(
    batch: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    toml, out, _ = batch
    before = {n: (f / "manifest.json").stat().st_mtime_ns for n, f in _folders(out).items()}
    t = time.perf_counter()
    r = run_cli("batch", str(toml), "--out", str(out), "--workers", "2")
    took = time.perf_counter() - t
    assert r.returncode == 1, "the broken scenario still fails"
    for name in before:
        assert f"scenario {name}: finished earlier, skipped" in r.stderr, r.stderr[-2000:]
    after = {n: (f / "manifest.json").stat().st_mtime_ns for n, f in _folders(out).items()}
    assert after == before, "finished scenario folders must not be rewritten"
    assert "0 run, 3 skipped" in r.stdout, r.stdout
    assert took < 60, f"a batch with nothing to run took {took:.0f} s"


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_report_xlsx_opens_in_openpyxl_and_libreoffice(
    batch: tuple[Path, Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    _, out, _ = batch
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames == ["scenarios", "summary", "changes", "flags", "matrix_diff"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", f"{ws.title}: header row not frozen"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), (
            f"{ws.title}: no autofilter"
        )
    ws = wb["summary"]
    head = [c.value for c in ws[1]]
    assert ws.cell(2, head.index("covered_people") + 1).number_format.endswith('" people"')
    assert ws.cell(2, head.index("covered_share") + 1).number_format == "0.0%"
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed (apt-get install libreoffice-calc)")
    r = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out / "report.xlsx")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    pdf = tmp_path / "report.pdf"
    assert r.returncode == 0 and pdf.is_file() and pdf.stat().st_size > 1000, (
        f"LibreOffice could not convert:\n{r.stdout}\n{r.stderr}"
    )


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_report_html_is_offline_and_error_free_in_chromium(
    batch: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    _, out, _ = batch
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (
        "<svg" in html
        and "<script" not in html
        and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    )
    if not Path("/usr/bin/chromium").exists() or not CHECK_HTML.is_file():
        pytest.skip("headless Chromium or check_html.py not available")
    r = subprocess.run(
        [sys.executable, str(CHECK_HTML), str(out / "report.html"), "--no-map", "--json", "-"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, f"check_html failed:\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_batch_on_a_separately_started_scheduler(tmp_path: Path) -> None:
    if not (EMBEDDED / "MANIFEST.json").exists():
        pytest.skip("the embedded default data/vietnam is not built")
    dask = Path(sys.executable).parent / "dask"
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "INFRA_OVERLAP_DATA"}
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        time.sleep(3)
        procs.append(subprocess.Popen([str(dask), "worker", addr, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"], cwd=REPO, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        toml = _write(
            tmp_path,
            '[defaults]\ntypes = ["airport"]\n[[scenario]]\nname = "remote"\nspeed_factor = 1.2\n',
        )
        r = run_cli("batch", str(toml), "--out", str(tmp_path / "out"), "--scheduler", addr)
        assert r.returncode == 0, f"batch on {addr} failed:\n{r.stdout}\n{r.stderr[-3000:]}"
        assert "on " + addr in r.stderr and "scenario remote: done in" in r.stderr, r.stderr[-2000:]
        assert len(list((tmp_path / "out" / "scenarios").glob("remote-*/manifest.json"))) == 1
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.integration
def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    toml = _write(tmp_path, '[[scenario]]\nname = "a"\n')
    r = run_cli(
        "batch",
        str(toml),
        "--out",
        str(tmp_path / "o"),
        "--scheduler",
        f"tcp://127.0.0.1:{_free_port()}",
        timeout=120,
    )
    assert r.returncode == 1 and "nothing listens on 127.0.0.1" in r.stderr, r.stderr[-2000:]
