"""Safe text in tables (issue 20): formula-looking names are neutralised and control characters
removed in the CSV and XLSX files the tool writes (OWASP "CSV injection")."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from maps.batch_report import write_xlsx
from maps.safe_table import safe_cell, write_csv
from tests.conftest import run_cli

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tTab",
    "Cảng\x00 Hải\x07 Phòng",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_cell_neutralises_formulas_and_controls(text):
    got = safe_cell(text)
    assert not got.startswith(("=", "+", "-", "@", "\t", "\r")), got
    assert not any(ord(c) < 32 and c not in "\t\n" for c in got), repr(got)


def test_numbers_and_plain_text_are_untouched():
    assert (
        safe_cell(-5) == -5
        and safe_cell(2.5) == 2.5
        and safe_cell("Cảng Hải Phòng") == "Cảng Hải Phòng"
    )


def test_csv_and_xlsx_cells_are_safe(tmp_path):
    df = pd.DataFrame({"name": HOSTILE, "people": range(len(HOSTILE))})
    write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False, encoding="utf-8-sig")
    assert back["name"].tolist()[:5] == [f"'{h}" for h in HOSTILE[:5]]
    assert back["name"].iloc[5] == "Cảng Hải Phòng" and back["people"].tolist() == list(range(6))
    write_xlsx({"t": df}, tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx")["t"]
    cells = [ws.cell(i, 1) for i in range(2, 2 + len(HOSTILE))]
    assert all(c.data_type == "s" for c in cells), [c.data_type for c in cells]
    assert all(not str(c.value).startswith(("=", "+", "-", "@")) for c in cells)
    assert ws.cell(7, 1).value == "Cảng Hải Phòng"


def test_check_writes_formula_looking_names_neutralised(tmp_path):
    f = tmp_path / "in.csv"
    f.write_text(
        "name,lon,lat,type,status\n\"=cmd|' /C calc'!A0\",106.72,20.82,airport,operating\n",
        encoding="utf-8",
    )
    r = run_cli(
        "check", "--facilities", str(f), "--types", "airport", "--out", str(tmp_path / "o"), "-q"
    )
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "o" / "facilities.csv").read_text(encoding="utf-8")
    assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text, text


def test_implausible_demand_is_a_finding():
    import numpy as np

    from analysis.plausibility import dense_cells_finding

    ok = dense_cells_finding(np.array([10.0, 40_000.0]), cell_size_m=1000, max_density_per_km2=1e5)
    assert ok is None
    line = dense_cells_finding(np.array([10.0, 1e30]), cell_size_m=1000, max_density_per_km2=1e5)
    assert line is not None and "1 grid cell" in line and "max_density_per_km2" in line


def test_csv_opens_in_excel_rounded(tmp_path):
    """A BOM (Excel reads UTF-8), people whole, shares to 4 decimals, minutes to 1 decimal."""
    df = pd.DataFrame(
        {
            "name": ["Cảng Hải Phòng", "Sân bay Nội Bài"],
            "coverage": [17010601.6369007, float("nan")],
            "unique_share": [0.123456789, 1 / 3],
            "removal_penalty_min": [12.3456, 0.04],
            "capacity": [1.23456, 2.5],
        }
    )
    write_csv(df, tmp_path / "t.csv")
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "name,coverage,unique_share,removal_penalty_min,capacity", lines[0]
    assert lines[1] == "Cảng Hải Phòng,17010602,0.1235,12.3,1.23456", lines[1]
    assert lines[2] == "Sân bay Nội Bài,,0.3333,0.0,2.5", lines[2]
    write_xlsx({"t": df}, tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx")["t"]
    assert [ws.cell(2, j).value for j in range(2, 6)] == [17010602, 0.1235, 12.3, 1.23456]
    assert ws.cell(3, 2).value is None, "a missing number stays an empty cell"
