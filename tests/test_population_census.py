"""Population source ``communes_census``: census per commune scaled to province totals."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.config import load_region_config
from geo.errors import InputError
from geo.population import population_from_config, province_totals
from geo.population_census import (
    SOURCE_ID,
    commune_census_frame,
    read_commune_census,
    scale_commune_census,
)

CONFIG = load_region_config()
METRIC = CONFIG.metric_crs
EMBEDDED = Path(__file__).resolve().parent.parent / "data" / "vietnam"


def _units(codes: list[str], provs: list[str]) -> gpd.GeoDataFrame:
    geoms = [
        box(580_000 + 2000 * i, 2_300_000, 581_000 + 2000 * i, 2_301_000) for i in range(len(codes))
    ]
    return gpd.GeoDataFrame(
        {"commune_code": codes, "prov63_code": provs}, geometry=geoms, crs=METRIC
    )


def _write_census(tmp_path: Path, rows: list[tuple[str, int, int, int]]) -> Path:
    path = tmp_path / "census.csv"
    frame = pd.DataFrame(
        rows, columns=["commune_code", "pop2019_total", "pop2019_urban", "pop2019_rural"]
    )
    frame.to_csv(path, index=False)
    return path


def test_scale_keeps_province_totals_and_each_communes_urban_people(tmp_path):
    path = _write_census(
        tmp_path,
        [("00001", 1000, 1000, 0), ("00002", 3000, 600, 2400), ("00003", 500, 0, 500)],
    )
    census = read_commune_census(path)
    units = _units(["00001", "00002", "00003"], ["01", "01", "02"])
    totals = pd.Series({"01": 4400.0, "02": 400.0})
    out = scale_commune_census(units, census, totals)
    # province 01: factor 4400 / 4000 = 1.1; province 02: 400 / 500 = 0.8 (by hand)
    np.testing.assert_allclose(out["population"], [1100.0, 3300.0, 400.0], rtol=1e-12)
    np.testing.assert_allclose(out["population_urban"], [1100.0, 660.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out["population_rural"], [0.0, 2640.0, 400.0], rtol=1e-12)
    sums = out.groupby("prov63_code")["population"].sum()
    np.testing.assert_allclose(sums.reindex(totals.index), totals, rtol=1e-12)


def test_census_row_whose_parts_do_not_add_up_is_named(tmp_path):
    path = _write_census(tmp_path, [("00001", 1000, 1000, 0), ("00002", 3000, 600, 2300)])
    with pytest.raises(InputError, match=r"differs from pop2019_total in 1 row\(s\): 2"):
        read_commune_census(path)


def test_census_negative_count_is_named(tmp_path):
    path = _write_census(tmp_path, [("00001", 1000, 1000, 0), ("00002", -5, 0, -5)])
    with pytest.raises(InputError, match="not a non-negative number"):
        read_commune_census(path)


def test_codes_that_do_not_match_the_polygons_are_listed(tmp_path):
    census = read_commune_census(_write_census(tmp_path, [("00001", 10, 5, 5), ("00009", 1, 0, 1)]))
    with pytest.raises(InputError, match=r"00002.*00009"):
        scale_commune_census(
            _units(["00001", "00002"], ["01", "01"]), census, pd.Series({"01": 11.0})
        )


def test_embedded_default_uses_the_census_and_keeps_every_province_total():
    layer = population_from_config(EMBEDDED, CONFIG)
    assert layer.source == SOURCE_ID, (
        f"the embedded default should use the census, got {layer.source}"
    )
    totals = province_totals(EMBEDDED, CONFIG)
    sums = layer.polygons.groupby("prov63_code")["population"].sum().reindex(totals.index)
    np.testing.assert_allclose(sums, totals, rtol=1e-9)


def test_embedded_inner_wards_get_the_census_people():
    """Hoàn Kiếm (Hà Nội, 00070): its census people times Hà Nội's factor, all urban."""
    frame = commune_census_frame(EMBEDDED, CONFIG).set_index("commune_code")
    census = read_commune_census(EMBEDDED / CONFIG.population["communes_census_file"])
    totals = province_totals(EMBEDDED, CONFIG)
    hanoi = frame["prov63_code"] == "01"
    factor = totals["01"] / census.loc[frame.index[hanoi], "pop2019_total"].sum()
    ward = frame.loc["00070"]
    assert ward["population"] == pytest.approx(census.loc["00070", "pop2019_total"] * factor)
    assert ward["population_urban"] == pytest.approx(ward["population"])
    # the urban people of every commune are where the census puts them (scaled)
    scale = (
        frame["population"] / census.loc[frame.index, "pop2019_total"].where(lambda s: s > 0)
    ).dropna()
    urban = frame.loc[scale.index, "population_urban"] / scale
    np.testing.assert_allclose(urban, census.loc[scale.index, "pop2019_urban"], rtol=1e-9)
