"""Population layers: province totals kept, urban/rural split by hand, rasters summed onto a grid."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from shapely.geometry import box

from geo.config import load_region_config
from geo.errors import DataNotFoundError, InputError
from geo.population import (
    population_from_communes,
    population_from_config,
    population_from_districts,
    population_from_raster,
    raster_to_grid,
    spread_by_area,
)

CONFIG = load_region_config()
METRIC = CONFIG.metric_crs
DATA = Path(os.environ.get("INFRA_OVERLAP_DATA", "/work/shared/data/vietnam"))
EMBEDDED = Path(__file__).resolve().parent.parent / "data" / "vietnam"
NATIONAL_TOTAL = 101_343_900


def km_box(x_km: float, y_km: float, w_km: float, h_km: float = 1.0):
    """A rectangle in EPSG:3405 (metres), near Hà Nội."""
    x, y = 580_000 + x_km * 1000, 2_300_000 + y_km * 1000
    return box(x, y, x + w_km * 1000, y + h_km * 1000)


# --------------------------------------------------------------------------- spread_by_area


def test_spread_by_area_splits_urban_and_rural_as_computed_by_hand():
    units = gpd.GeoDataFrame(
        {
            "prov63_code": ["01", "01", "01", "02", "02", "03"],
            "is_urban": [True, False, False, False, False, True],
        },
        geometry=[
            km_box(0, 0, 1),
            km_box(1, 0, 1),
            km_box(2, 0, 3),
            km_box(0, 5, 1),
            km_box(1, 5, 1),
            km_box(0, 9, 2),
        ],
        crs=METRIC,
    )
    totals = pd.Series({"01": 1000.0, "02": 500.0, "03": 70.0})
    share = pd.Series({"01": 0.4, "02": 0.3, "03": 0.5})
    out = spread_by_area(units, totals, share, metric_crs=METRIC)
    # 01: 400 urban on the ward; 600 rural over 1 km² and 3 km². 02 has no ward: all 500 on
    # its communes by area. 03 has only a ward: all 70 on it.
    expected = [400.0, 150.0, 450.0, 250.0, 250.0, 70.0]
    np.testing.assert_allclose(
        out["population"], expected, rtol=1e-12, err_msg="hand-computed split differs"
    )
    assert list(out["prov63_code"]) == ["01", "01", "01", "02", "02", "03"]
    assert out.crs == units.crs, "the input CRS must be kept"
    assert "population" not in units.columns, "the input frame must not be modified"


def test_spread_by_area_refuses_a_province_without_units():
    units = gpd.GeoDataFrame(
        {"prov63_code": ["01"], "is_urban": [True]}, geometry=[km_box(0, 0, 1)], crs=METRIC
    )
    with pytest.raises(InputError, match="02"):
        spread_by_area(
            units, pd.Series({"01": 10.0, "02": 5.0}), pd.Series(dtype=float), metric_crs=METRIC
        )


# --------------------------------------------------------------------------- tiny data folders


def _write_tables(folder: Path, totals: dict[str, int], census: dict[str, tuple[int, int]]) -> None:
    pd.DataFrame({"gso_code": list(totals), "pop2024": list(totals.values())}).to_csv(
        folder / CONFIG.population["province_totals_file"], index=False
    )
    pd.DataFrame(
        {
            "gso_code": list(census),
            "pop2019_total": [t for t, _ in census.values()],
            "pop2019_urban": [u for _, u in census.values()],
        }
    ).to_csv(folder / CONFIG.population["census2019_file"], index=False)
    pd.DataFrame({"old63_gso_code": ["56", "58"], "new34_code": ["56", "56"]}).to_csv(
        folder / CONFIG.provinces["crosswalk"], index=False
    )


def _write_communes(folder: Path) -> None:
    communes = gpd.GeoDataFrame(
        {
            "commune_code": ["1", "2", "3", "4", "5"],
            "unit_type": ["ward", "commune", "commune", "special_zone", "commune"],
            "code_name": ["a", "b", "c", "truong_sa", "d"],
            "prov34_code": ["56", "56", "56", "56", "56"],
            # province 58 merged into 56 in 2025; the sea zone has no representative-point code
            "prov63_code_rep": ["56", "56", "58", None, "58"],
        },
        geometry=[
            km_box(0, 0, 2),
            km_box(2, 0, 2),
            km_box(0, 3, 1),
            km_box(20, 20, 60, 60),
            km_box(1, 3, 3),
        ],
        crs=METRIC,
    ).to_crs("EPSG:4326")
    communes.to_file(
        folder / CONFIG.population["communes_file"], layer=CONFIG.population["communes_layer"]
    )


def test_communes_keep_province_totals_and_shrink_the_sea_zone(tmp_path):
    _write_tables(tmp_path, {"56": 1000, "58": 400}, {"56": (900, 450), "58": (100, 0)})
    _write_communes(tmp_path)
    layer = population_from_communes(tmp_path, CONFIG)
    pop = layer.polygons["population"].to_numpy()
    assert layer.source == "communes_dasymetric_nso2024"
    assert layer.polygons.crs.to_epsg() == 4326
    sums = layer.polygons.groupby("prov63_code")["population"].sum()
    assert sums.to_dict() == pytest.approx({"56": 1000.0, "58": 400.0}, rel=1e-12), (
        "province totals not kept"
    )
    # 56: urban share 0.5 -> 500 on the ward; 500 rural over a 2 km² commune and the sea zone
    # shrunk to a 1 km² stand-in (instead of 3,600 km²).
    assert pop[0] == pytest.approx(500.0)
    # (the stand-in disc is a 64-gon: its area is 0.6 % under 1 km²)
    assert pop[1] == pytest.approx(500 * 2 / 3, rel=1e-2), (
        "sea zone was not shrunk before area weighting"
    )
    assert pop[3] == pytest.approx(500 * 1 / 3, rel=1e-2)
    # 58: no urban people, two communes of 1 and 3 km²
    assert pop[2] == pytest.approx(100.0) and pop[4] == pytest.approx(300.0)
    assert layer.total == pytest.approx(1400.0)
    assert "5 commune polygons" in layer.description


def test_districts_are_scaled_to_the_2024_totals(tmp_path):
    _write_tables(tmp_path, {"01": 300, "02": 50}, {"01": (200, 100), "02": (10, 0)})
    gpd.GeoDataFrame(
        {"prov63_code": ["01", "01", "02"], "pop2019_total": [100, 100, 10]},
        geometry=[km_box(0, 0, 1), km_box(1, 0, 1), km_box(0, 2, 1)],
        crs=METRIC,
    ).to_crs("EPSG:4326").to_file(tmp_path / CONFIG.population["districts_file"], layer="districts")
    layer = population_from_districts(tmp_path, CONFIG)
    np.testing.assert_allclose(layer.polygons["population"], [150.0, 150.0, 50.0])
    assert layer.source == "districts_census2019_scaled_nso2024"


def test_config_prefers_districts_then_communes_then_fails(tmp_path):
    _write_tables(tmp_path, {"56": 1000, "58": 400}, {"56": (900, 450), "58": (100, 0)})
    with pytest.raises(DataNotFoundError, match="communes"):
        population_from_config(tmp_path, CONFIG)
    _write_communes(tmp_path)
    assert population_from_config(tmp_path, CONFIG).source == "communes_dasymetric_nso2024"
    gpd.GeoDataFrame(
        {"prov63_code": ["56", "58"], "pop2019_total": [1, 1]},
        geometry=[km_box(0, 0, 1), km_box(0, 3, 1)],
        crs=METRIC,
    ).to_file(tmp_path / CONFIG.population["districts_file"], layer="districts")
    assert population_from_config(tmp_path, CONFIG).source == "districts_census2019_scaled_nso2024"


def test_bad_province_table_names_file_and_row(tmp_path):
    _write_tables(tmp_path, {"56": 1000, "58": -4}, {"56": (900, 450), "58": (100, 0)})
    _write_communes(tmp_path)
    with pytest.raises(InputError, match=r"population_63_nso2024.csv, row 2, field 'pop2024'"):
        population_from_communes(tmp_path, CONFIG)


# --------------------------------------------------------------------------- rasters

RES_DEG = 1 / 1080  # about 100 m


def _write_raster(path: Path, *, crs: str | None = "EPSG:4326") -> np.ndarray:
    rng = np.random.default_rng(42)
    people = rng.gamma(2.0, 5.0, size=(180, 240)).astype("float32")
    people[10:20, 10:20] = -99999.0  # nodata
    people[30, 30] = -5.0  # stray negative value
    people[40, 40] = np.nan
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=people.shape[1],
        height=people.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(105.60, 21.10, RES_DEG, RES_DEG),
        nodata=-99999.0,
    ) as ds:
        ds.write(people, 1)
    valid = np.where(np.isfinite(people) & (people >= 0), people, 0)
    return valid.astype("float64")


def _grid_over(bounds_4326: tuple[float, float, float, float], cell: float = 1000.0):
    left, bottom, right, top = transform_bounds("EPSG:4326", METRIC, *bounds_4326)
    x0, y0 = np.floor(left / cell) * cell - cell, np.ceil(top / cell) * cell + cell
    shape = (int(np.ceil((y0 - bottom) / cell)) + 1, int(np.ceil((right - x0) / cell)) + 1)
    return x0, y0, shape


def test_raster_total_ignores_nodata_nan_and_negatives(tmp_path):
    expected = _write_raster(tmp_path / "pop.tif").sum()
    layer = population_from_raster(tmp_path / "pop.tif")
    assert layer.total == pytest.approx(expected, rel=1e-9)
    assert layer.source == "raster:pop.tif" and layer.raster == tmp_path / "pop.tif"
    assert layer.polygons.empty


def test_raster_to_grid_keeps_the_total_on_a_1km_metric_grid(tmp_path):
    expected = _write_raster(tmp_path / "pop.tif").sum()
    bounds = (105.60, 21.10 - 180 * RES_DEG, 105.60 + 240 * RES_DEG, 21.10)
    x0, y0, shape = _grid_over(bounds)
    grid = raster_to_grid(
        tmp_path / "pop.tif", crs=METRIC, x0=x0, y0=y0, cell_size_m=1000.0, shape=shape
    )
    assert grid.shape == shape
    assert grid.sum() == pytest.approx(expected, rel=0.01), "people lost or gained on the grid"
    assert (grid >= 0).all()
    # the grid holds about 100 source cells per grid cell: no cell may carry a whole raster's worth
    assert grid.max() < 0.05 * expected


def test_raster_to_grid_drops_people_outside_the_grid(tmp_path):
    _write_raster(tmp_path / "pop.tif")
    x0, y0, shape = _grid_over((105.60, 21.10 - 180 * RES_DEG, 105.60 + 240 * RES_DEG, 21.10))
    full = raster_to_grid(
        tmp_path / "pop.tif", crs=METRIC, x0=x0, y0=y0, cell_size_m=1000.0, shape=shape
    )
    half = raster_to_grid(
        tmp_path / "pop.tif",
        crs=METRIC,
        x0=x0,
        y0=y0,
        cell_size_m=1000.0,
        shape=(shape[0], shape[1] // 2),
    )
    kept = full[:, : shape[1] // 2].sum()
    assert half.sum() == pytest.approx(kept, rel=0.01), (
        "the western half should keep the western half's people"
    )
    assert half.sum() < 0.8 * full.sum(), "people east of the grid were not dropped"


def test_unreadable_raster_names_the_file(tmp_path):
    bad = tmp_path / "not_a_raster.tif"
    bad.write_text("hello")
    with pytest.raises(InputError, match=r"not_a_raster\.tif"):
        population_from_raster(bad)
    with pytest.raises(InputError, match=r"missing\.tif"):
        population_from_raster(tmp_path / "missing.tif")


def test_raster_without_crs_is_refused(tmp_path):
    _write_raster(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(InputError, match="no CRS"):
        population_from_raster(tmp_path / "nocrs.tif")


# --------------------------------------------------------------------------- real data


def _nso_totals(folder: Path) -> pd.Series:
    table = pd.read_csv(folder / CONFIG.population["province_totals_file"], dtype={"gso_code": str})
    return table.set_index("gso_code")["pop2024"].astype(float)


def _check_63(layer, folder: Path) -> None:
    nso = _nso_totals(folder)
    assert len(nso) == 63 and nso.sum() == NATIONAL_TOTAL
    sums = layer.polygons.groupby("prov63_code")["population"].sum().reindex(nso.index)
    worst = (sums - nso).abs()
    assert worst.max() < 1e-3, (
        f"{layer.source}: province {worst.idxmax()} differs from NSO 2024 by {worst.max():.3g}"
    )
    assert layer.total == pytest.approx(NATIONAL_TOTAL, abs=1e-2)


@pytest.mark.integration
@pytest.mark.parametrize("build", [population_from_districts, population_from_communes])
def test_mirror_layers_match_the_63_nso_totals(build):
    if not (DATA / CONFIG.population["province_totals_file"]).is_file():
        pytest.skip(f"no data folder at {DATA} (set INFRA_OVERLAP_DATA)")
    if (
        build is population_from_districts
        and not (DATA / CONFIG.population["districts_file"]).is_file()
    ):
        pytest.skip(f"{DATA} has no district layer (embedded folders never do)")
    _check_63(build(DATA, CONFIG), DATA)


@pytest.mark.integration
def test_embedded_default_matches_the_63_nso_totals():
    if not (EMBEDDED / "MANIFEST.json").is_file():
        pytest.skip("embedded default not built (python -m data.build_default --mirror DIR)")
    layer = population_from_config(EMBEDDED, CONFIG)
    assert layer.source == "communes_census2019_scaled_nso2024", (
        "the embedded folder must use the census per commune"
    )
    _check_63(layer, EMBEDDED)


def test_a_population_grid_in_the_data_folder_is_used_before_the_communes(tmp_path):
    """A fetched folder (with population_grid.tif) uses the grid; the embedded one the communes."""
    import shutil

    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from geo.config import load_region_config
    from geo.population import population_from_config

    cfg = load_region_config()
    embedded = Path(__file__).resolve().parent.parent / "data" / "vietnam"
    for f in ("population_63_nso2024.csv", "population_63_census2019.csv", "communes_2025.gpkg"):
        shutil.copy(embedded / f, tmp_path)
    assert population_from_config(tmp_path, cfg).source == "communes_dasymetric_nso2024"
    with rasterio.open(
        tmp_path / "population_grid.tif",
        "w",
        driver="GTiff",
        height=10,
        width=10,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(105.5, 21.2, 0.01, 0.01),
    ) as w:
        w.write(np.full((1, 10, 10), 5.0, dtype="float32"))
    layer = population_from_config(tmp_path, cfg)
    assert layer.source == "raster:population_grid.tif" and layer.total == pytest.approx(500.0)


def test_raster_total_is_read_only_over_the_region(tmp_path):
    """A raster wider than the region is read only over the region's window (issue 20)."""
    import rasterio
    from rasterio.transform import from_origin

    from geo.errors import InputError

    path = tmp_path / "wide.tif"
    data = np.ones((30, 20), dtype="float32")  # 1 person per 1° cell, lon 100-120, lat 0-30
    with rasterio.open(
        path, "w", driver="GTiff", width=20, height=30, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(100, 30, 1, 1),
    ) as ds:  # fmt: skip
        ds.write(data, 1)
    assert population_from_raster(path).total == 600.0
    region = population_from_raster(path, bbox=(102.0, 6.0, 118.0, 24.0))
    assert region.total == 16 * 18, "only the 16 x 18 cells over the region are counted"
    with pytest.raises(InputError, match="does not cover the region"):
        population_from_raster(path, bbox=(140.0, 40.0, 150.0, 50.0))
