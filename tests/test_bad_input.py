"""One test per kind of bad input a user may give: each must be repaired (and listed) or rejected
with a reason naming the row and field, never silently dropped or turned into a traceback."""

from __future__ import annotations

import unicodedata
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from geo.config import load_region_config
from geo.errors import InputError
from geo.facility_user import facilities_from_user_file
from geo.tabular import read_table

CONFIG = load_region_config()
BBOX = CONFIG.bbox
HEADER = "name,lon,lat,type,status\n"
GOOD = "Cảng Đình Vũ,106.75,20.84,seaport,operating\nSân bay quốc tế Nội Bài,105.80,21.22,airport,operating\n"
TONES = "\u0300\u0301\u0303\u0309\u0323"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def cp1258(text: str) -> bytes:
    """Encode as Windows-1258 the way Vietnamese Windows software does (tones as combining marks)."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in d if c not in TONES))
            out += (base + "".join(c for c in d if c in TONES)).encode("cp1258")
    return out


def reasons(issues) -> list[tuple[int, str, str]]:
    return [(r["row"], r["field"], r["reason"]) for r in issues.rejects]


@pytest.mark.parametrize(
    ("label", "payload"),
    [
        ("utf8", (HEADER + GOOD).encode("utf-8")),
        ("utf8_bom", b"\xef\xbb\xbf" + (HEADER + GOOD).encode("utf-8")),
        ("cp1258", cp1258(HEADER + GOOD)),
    ],
)
def test_encodings_give_vietnamese_names_without_mojibake(tmp_path, label, payload):
    gdf, issues = read_table(write(tmp_path, f"{label}.csv", payload), bbox=BBOX)
    assert list(gdf["name"]) == ["Cảng Đình Vũ", "Sân bay quốc tế Nội Bài"], (
        f"{label}: names garbled: {list(gdf['name'])}"
    )
    assert list(gdf.columns[:3]) == ["name", "lon", "lat"], (
        f"{label}: header not clean: {list(gdf.columns)}"
    )
    assert not issues.rejects
    repairs = " ".join(r["repair"] for r in issues.repairs)
    if label == "utf8_bom":
        assert "byte-order mark" in repairs
    if label == "cp1258":
        assert "1258" in repairs, (
            f"the detected encoding should be listed as a repair, got {repairs!r}"
        )


def test_encoding_override(tmp_path):
    p = write(tmp_path, "x.csv", cp1258(HEADER + GOOD))
    gdf, _ = read_table(p, encoding="cp1258")
    assert gdf["name"].iloc[0] == "Cảng Đình Vũ"


def test_decimal_commas_are_repaired_and_listed(tmp_path):
    p = write(tmp_path, "c.csv", "name;lon;lat\nCảng A;106,75;20,84\n")
    gdf, issues = read_table(p, bbox=BBOX)
    assert gdf.geometry.iloc[0].equals(Point(106.75, 20.84))
    assert [r["field"] for r in issues.repairs] == ["lon", "lat"], issues.repairs
    assert all("decimal comma" in r["repair"] for r in issues.repairs)


def test_dms_strings_are_converted(tmp_path):
    p = write(
        tmp_path, "d.csv", 'name,longitude,latitude\nNội Bài,"105°48\'25""E","21°13\'17""N"\n'
    )
    gdf, issues = read_table(p, bbox=BBOX)
    pt = gdf.geometry.iloc[0]
    assert pt.x == pytest.approx(105 + 48 / 60 + 25 / 3600) and pt.y == pytest.approx(
        21 + 13 / 60 + 17 / 3600
    )
    assert any("degrees-minutes-seconds" in r["repair"] for r in issues.repairs)


def test_swapped_coordinates_are_rejected_not_fixed(tmp_path):
    p = write(tmp_path, "s.csv", "name,lon,lat\nA,21.22,105.80\nB,20.84,106.75\nC,105.8,21.2\n")
    gdf, issues = read_table(p, bbox=BBOX)
    assert list(gdf["name"]) == ["C"]
    rej = reasons(issues)
    assert [r[0] for r in rej] == [1, 2]
    assert all("latitude and longitude look swapped" in r[2] for r in rej), rej


def test_projected_coordinates_are_rejected_with_advice(tmp_path):
    p = write(tmp_path, "p.csv", "name,x,y\nA,588000,2346000\n")
    gdf, issues = read_table(p, bbox=BBOX)
    assert gdf.empty
    ((row, _, reason),) = reasons(issues)
    assert row == 1 and "projected" in reason and "EPSG:4326" in reason


def test_zero_zero_and_outside_region_rejected(tmp_path):
    p = write(tmp_path, "z.csv", "name,lon,lat\nzero,0,0\nparis,2.35,48.85\nok,105.8,21.2\n")
    gdf, issues = read_table(p, bbox=BBOX)
    assert list(gdf["name"]) == ["ok"]
    rej = reasons(issues)
    assert "0,0" in rej[0][2]
    assert "outside the region" in rej[1][2] and rej[1][0] == 2


def test_missing_and_unparseable_coordinates(tmp_path):
    p = write(tmp_path, "m.csv", "name,lon,lat\nA,,21\nB,abc,21\nC,105.8,21.2\n")
    gdf, issues = read_table(p, bbox=BBOX)
    assert list(gdf["name"]) == ["C"]
    assert reasons(issues) == [
        (1, "lon", "no lon value"),
        (2, "lon", "cannot read lon value 'abc'"),
    ]


def test_header_only_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="no data rows"):
        read_table(write(tmp_path, "h.csv", HEADER))
    with pytest.raises(InputError, match="empty") as err:
        read_table(write(tmp_path, "e.csv", b""))
    assert "e.csv" in str(err.value)


def test_blank_lines_skipped_and_not_counted(tmp_path):
    p = write(tmp_path, "b.csv", "name,lon,lat\n\nA,105.8,21.2\n\n\nB,999,21\n\n")
    gdf, issues = read_table(p, bbox=BBOX)
    assert list(gdf["source_row"]) == [1]
    assert [r["row"] for r in issues.rejects] == [2], "row numbers must ignore blank lines"


def test_stray_header_spaces(tmp_path):
    p = write(tmp_path, "sp.csv", " name , lon ,lat \nA,105.8,21.2\n")
    gdf, issues = read_table(p, bbox=BBOX)
    assert {"name", "lon", "lat"} <= set(gdf.columns)
    assert any("stripped spaces" in r["repair"] for r in issues.repairs)


def test_corrupt_gpkg(tmp_path):
    good = tmp_path / "g.gpkg"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(105.8, 21.2)], crs=4326).to_file(good)
    bad = write(tmp_path, "bad.gpkg", good.read_bytes()[:2000])
    with pytest.raises(InputError) as err:
        read_table(bad)
    assert "bad.gpkg" in str(err.value)


def test_zip_shapefile_without_prj(tmp_path):
    shp = tmp_path / "shp"
    shp.mkdir()
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(105.8, 21.2)], crs=4326).to_file(
        shp / "f.shp"
    )
    z = tmp_path / "f.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp.iterdir():
            if f.suffix != ".prj":
                zf.write(f, f.name)
    with pytest.raises(InputError, match=r"\.prj") as err:
        read_table(z)
    assert "EPSG:4326" in str(err.value)


def test_zip_shapefile_with_prj_reads(tmp_path):
    shp = tmp_path / "shp"
    shp.mkdir()
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(105.8, 21.2)], crs=4326).to_file(
        shp / "f.shp"
    )
    z = tmp_path / "f.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    gdf, _ = read_table(z, bbox=BBOX)
    assert list(gdf["name"]) == ["A"]


def test_geojson_in_epsg3405_is_reprojected(tmp_path):
    pt = gpd.GeoSeries([Point(105.8, 21.2)], crs=4326).to_crs(3405)
    p = tmp_path / "vn2000.geojson"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=pt, crs=3405).to_file(p, driver="GeoJSON")
    assert "3405" in p.read_text(), "fixture must declare its CRS"
    gdf, issues = read_table(p, bbox=BBOX)
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].x == pytest.approx(105.8, abs=1e-6)
    assert any("reprojected" in r["repair"] for r in issues.repairs)


def test_mixed_geometries_polygons_kept_lines_and_invalid_rejected(tmp_path):
    park = Polygon([(105.8, 21.0), (105.81, 21.0), (105.81, 21.01), (105.8, 21.01)])
    bowtie = Polygon([(105.8, 21.0), (105.81, 21.01), (105.81, 21.0), (105.8, 21.01)])
    gdf = gpd.GeoDataFrame(
        {
            "name": ["pt", "park", "road", "bow", "none"],
            "type": "industrial_park",
            "status": "operating",
        },
        geometry=[Point(105.8, 21.2), park, LineString([(105.8, 21), (105.9, 21)]), bowtie, None],
        crs=4326,
    )
    p = tmp_path / "mixed.gpkg"
    gdf.to_file(p)
    fac, issues = facilities_from_user_file(p, config=CONFIG)
    assert sorted(fac["name"]) == ["park", "pt"]
    parkrow = fac.loc[fac["name"] == "park"].iloc[0]
    assert parkrow.geometry.within(park), "a park's point must lie inside its polygon"
    assert parkrow["area_wkb"] is not None and parkrow["area_ha"] == pytest.approx(120, rel=0.05)
    rej = {r[0]: r[2] for r in reasons(issues)}
    assert "line" in rej[3] and "Self-intersection" in rej[4] and "no geometry" in rej[5], rej


def test_duplicate_ids_missing_column_unknown_values_whitespace_html(tmp_path):
    text = (
        "facility_id,name,type,status,lon,lat\n"
        "p1,Cảng A,seaport,operating,106.75,20.84\n"
        "p1,Cảng B,seaport,operating,106.60,20.86\n"
        "p3,Cảng C,spaceport,operating,106.5,20.8\n"
        "p4,Cảng D,seaport,abandoned,106.4,20.8\n"
        "p5,   ,seaport,operating,106.3,20.8\n"
        "p6,<script>alert(1)</script> & <b>KCN</b>,industrial_park,planned,106.2,20.9\n"
    )
    fac, issues = facilities_from_user_file(write(tmp_path, "u.csv", text), config=CONFIG)
    rej = {r[0]: (r[1], r[2]) for r in reasons(issues)}
    assert rej[2][0] == "facility_id" and "duplicate" in rej[2][1] and "row 1" in rej[2][1]
    assert rej[3][0] == "type" and "seaport" in rej[3][1] and "airport" in rej[3][1]
    assert rej[4][0] == "status" and "'planned'" in rej[4][1]
    assert rej[5][0] == "name"
    assert sorted(fac["facility_id"]) == ["p1", "p6"]
    assert (
        fac.loc[fac["facility_id"] == "p6", "name"].item()
        == "<script>alert(1)</script> & <b>KCN</b>"
    )


def test_missing_required_column(tmp_path):
    p = write(tmp_path, "nc.csv", "name,lon,lat,type\nA,105.8,21.2,seaport\n")
    with pytest.raises(InputError) as err:
        facilities_from_user_file(p, config=CONFIG)
    msg = str(err.value)
    assert "'status'" in msg and "nc.csv" in msg and "name, lon, lat, type" in msg, msg


def test_xlsx_and_parquet(tmp_path):
    frame = pd.DataFrame(
        {
            "name": ["A", None, "B"],
            "Longitude": [105.8, None, 106.0],
            "Latitude": [21.2, None, 21.0],
        }
    )
    p = tmp_path / "t.xlsx"
    frame.to_excel(p, index=False)
    gdf, _issues = read_table(p, bbox=BBOX)
    assert list(gdf["name"]) == ["A", "B"] and list(gdf["source_row"]) == [1, 2]
    q = tmp_path / "t.parquet"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(105.8, 21.2)], crs=4326).to_parquet(q)
    gdf, _ = read_table(q, bbox=BBOX)
    assert gdf.geometry.iloc[0].equals(Point(105.8, 21.2))
