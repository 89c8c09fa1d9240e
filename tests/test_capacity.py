"""The capacity / throughput tables: bad rows are listed with a reason and left out, the shipped
tables load clean and cover the official facilities they claim to."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.capacity import (
    AIRPORTS,
    DEFAULT_DIR,
    SEAPORTS,
    TERMINALS,
    coverage,
    load_airports_traffic,
    load_capacity,
    load_seaports_throughput,
    load_terminals_throughput,
    official_keys,
)
from geo.errors import InputError
from geo.tabular import read_rows

from .conftest import MIRROR, REPO

HERE = Path(__file__).parent / "data" / "capacity"
SHIPPED = REPO / "data" / "capacity"
SEAPORT_NAMES = {
    n: n
    for n in (
        "Cảng biển Hải Phòng",
        "Cảng biển Quảng Ninh",
        "Cảng biển Đà Nẵng",
        "Cảng biển Bình Định",
        "Cảng biển Nghệ An",
        "Cảng biển Thanh Hóa",
        "Cảng biển Hà Tĩnh",
        "Cảng biển Cần Thơ",
        "Cảng biển Khánh Hòa",
        "Cảng biển Quảng Ngãi",
        "Cảng biển Đồng Nai",
    )
}
AIRPORT_NAMES = {
    "SGN": "Cảng hàng không quốc tế Tân Sơn Nhất",
    "HAN": "Cảng hàng không quốc tế Nội Bài",
    "DAD": "Cảng hàng không quốc tế Đà Nẵng",
    "CXR": "Cảng hàng không quốc tế Cam Ranh",
    "VCL": "Cảng hàng không Chu Lai",
    "PQC": "Cảng hàng không quốc tế Phú Quốc",
    "HPH": "Cảng hàng không quốc tế Cát Bi",
}
# The shipped tables: how many official facilities they give a figure for (raise as data grows).
MIN_SEAPORTS = 4
MIN_AIRPORTS = 22  # every operating airport has passengers or a design capacity
MIN_AIRPORT_PASSENGERS = 14


def by_row(issues) -> dict[int, tuple[str, str]]:
    return {r["row"]: (r["field"], r["reason"]) for r in issues.rejects}


def test_bad_seaport_rows_are_listed_with_field_and_reason():
    table, issues = load_seaports_throughput(HERE / "seaports_bad.csv", official=SEAPORT_NAMES)
    rejects = by_row(issues)
    assert {row: field for row, (field, _) in rejects.items()} == {
        2: "name_vi",
        3: "tonnes",
        4: "tonnes",
        5: "tonnes",
        6: "tonnes",
        7: "year",
        8: "source_url",
        9: "source_date",
        10: "name_vi",
        11: "name_vi",
        12: "teu",
        14: "teu_source_url",
    }
    assert "did you mean 'Cảng biển Hải Phòng'" in rejects[2][1]
    assert "negative" in rejects[3][1]
    assert "no tonnes and no teu" in rejects[4][1]
    assert "unit or scale word" in rejects[5][1]
    assert "thousands or millions" in rejects[6][1]
    assert "duplicate of row 1" in rejects[10][1] and "a repeat" in rejects[10][1]
    assert "in conflict" in rejects[11][1]
    # The analysis goes on with the rest: the good row and the repaired one, nothing else.
    assert list(table["name_vi"]) == ["Cảng biển Hải Phòng", "Cảng biển Quảng Ngãi"]
    assert list(table["source_row"]) == [1, 13]
    assert table.loc[1, "tonnes"] == 45_000_000
    repairs = [(r["row"], r["field"]) for r in issues.repairs]
    assert repairs == [(13, "tonnes")]  # row 12's repair is not listed: the row is rejected
    assert all(r["source"].endswith("seaports_bad.csv") for r in issues.rejects)


def test_bad_airport_rows_are_listed_and_capacity_alone_needs_no_year():
    table, issues = load_airports_traffic(HERE / "airports_bad.csv", official=AIRPORT_NAMES)
    rejects = by_row(issues)
    assert {row: field for row, (field, _) in rejects.items()} == {
        2: "iata",
        3: "name_vi",
        4: "passengers",
        5: "year",
        7: "capacity_source_url",
        8: "passengers",
    }
    assert "not the official name of HAN" in rejects[3][1]
    assert list(table["iata"]) == ["SGN", "VCL"]
    vcl = table.set_index("iata").loc["VCL"]
    assert vcl["design_capacity_pax"] == 1_700_000 and str(vcl["year"]) == "<NA>"


def test_missing_column_is_an_input_error_naming_it(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("name_vi,year,tonnes\nCảng biển Hải Phòng,2024,1000000\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing column.*teu") as err:
        load_seaports_throughput(p, official=SEAPORT_NAMES)
    assert str(p) in str(err.value)


def test_terminal_rows_need_a_terminal_name(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        "terminal,name_vi,year,tonnes,teu,source_url,source_date,note\n"
        ",Cảng biển Hải Phòng,2024,,1000000,https://example.org/a,2024,\n"
        "Tân Vũ,Cảng biển Hải Phòng,2024,,1000000,https://example.org/a,2024,\n",
        encoding="utf-8",
    )
    table, issues = load_terminals_throughput(p, official=SEAPORT_NAMES)
    assert [(r["row"], r["field"]) for r in issues.rejects] == [(1, "terminal")]
    assert list(table["terminal"]) == ["Tân Vũ"]


def test_coverage_counts_only_rows_with_a_figure():
    table, _ = load_airports_traffic(HERE / "airports_bad.csv", official=AIRPORT_NAMES)
    assert coverage(table, AIRPORTS, AIRPORT_NAMES) == ["SGN", "VCL"]


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no data mirror with the official lists")
def test_shipped_tables_load_clean_and_cover_the_official_facilities():
    seaports = official_keys(MIRROR, SEAPORTS)
    airports = official_keys(MIRROR, AIRPORTS)
    ports, p_issues = load_seaports_throughput(
        SHIPPED / "seaports_throughput.csv", official=seaports
    )
    terms, t_issues = load_terminals_throughput(
        SHIPPED / "seaport_terminals_throughput.csv", official=official_keys(MIRROR, TERMINALS)
    )
    air, a_issues = load_airports_traffic(SHIPPED / "airports_traffic.csv", official=airports)
    assert p_issues.rejects == [] and t_issues.rejects == [] and a_issues.rejects == []
    assert len(coverage(ports, SEAPORTS, seaports)) >= MIN_SEAPORTS
    assert len(terms) >= 1
    official, _ = read_rows(MIRROR / "airports_official_caav.csv")
    operating = set(official.loc[official["status"].str.startswith("operating"), "iata"])
    assert len(operating) == 22
    covered = set(coverage(air, AIRPORTS, airports))
    assert len(operating & covered) >= MIN_AIRPORTS, sorted(operating - covered)
    assert air["passengers"].notna().sum() >= MIN_AIRPORT_PASSENGERS
    # Every figure has its source on the row: an address and a date.
    for frame, pairs in (
        (ports, (("tonnes", "source"), ("teu", "teu_source"))),
        (air, (("passengers", "source"), ("design_capacity_pax", "capacity_source"))),
        (terms, (("tonnes", "source"), ("teu", "source"))),
    ):
        for measure, prefix in pairs:
            given = frame[frame[measure].notna()]
            assert given[f"{prefix}_url"].str.match(r"https?://\S+$").all()
            assert given[f"{prefix}_date"].str.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?").all()


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no data mirror with the official lists")
def test_load_capacity_gathers_the_three_tables_and_an_absent_file_is_empty(tmp_path):
    shipped = load_capacity(DEFAULT_DIR, official=MIRROR)
    assert shipped.issues.rejects == []
    assert (len(shipped.seaports), len(shipped.airports)) == (
        len(load_seaports_throughput(SHIPPED / "seaports_throughput.csv", official=MIRROR)[0]),
        len(load_airports_traffic(SHIPPED / "airports_traffic.csv", official=MIRROR)[0]),
    )
    (tmp_path / "airports_traffic.csv").write_bytes((HERE / "airports_bad.csv").read_bytes())
    partial = load_capacity(tmp_path, official=MIRROR)
    assert partial.seaports.empty and partial.terminals.empty
    assert list(partial.seaports.columns[:4]) == ["name_vi", "year", "tonnes", "teu"]
    # The bad airport file against the real official list: XXX unknown, the rest as before.
    assert {r["row"] for r in partial.issues.rejects} == {2, 3, 4, 5, 7, 8}
    assert list(partial.airports["iata"]) == ["SGN", "VCL"]
    with pytest.raises(InputError, match="no capacity folder"):
        load_capacity(tmp_path / "nowhere", official=MIRROR)
