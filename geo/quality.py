"""Data quality of a region's data: how complete and how trustworthy are the layers behind a run?

Each measure is a plain function from data to a table (facilities, a road network, population
totals in; a DataFrame out). :func:`region_quality` loads a data folder and runs them all, for
``python cli.py check`` without ``--facilities`` and for the report's data-quality section.
:func:`facility_data_flags` gives each facility a ``doubtful`` flag and a ``data_note`` for the map.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features

from geo.config import RegionConfig, config_tables
from geo.facilities import FacilityLoad, load_region_facilities, normalise_name
from geo.provinces import Provinces, load_provinces, tag_provinces
from geo.roads import RoadNetwork, read_road_layer, road_network_for_region

log = logging.getLogger(__name__)

GENERIC_WORDS = (
    "khu cong nghiep",
    "khu kinh te",
    "kcn",
    "cang",
    "san bay",
    "industrial park",
    "port",
    "airport",
)
# "Đồng Văn II" and "Đồng Văn III", "Bỉm Sơn khu A" and "khu B" are phases, not duplicates.
QUALIFIER = re.compile(r"\d+|[ivx]+|[a-z]|khu [a-z]")
RASTER_NAME = "population_grid.tif"


@dataclass(frozen=True)
class RegionExtras:
    """Region settings used only by the data check (read from the region TOML).

    ``coastal_provinces63``: ``[region] coastal_provinces63``; ``expected_road_km``:
    ``[roads.expected_km]`` (km of roads in use by ``road_class``).
    """

    coastal_provinces63: tuple[str, ...] = ()
    expected_road_km: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityReport:
    """Result of :func:`region_quality`.

    Attributes
    ----------
    tables
        Name -> table; written as ``quality/<name>.csv``.
    findings
        Sentences a planner can quote, most important first.
    flags
        One row per facility: ``facility_id``, ``type``, ``name``, ``doubt_score``, ``doubtful``,
        ``data_note``, ``lon``, ``lat``.
    outline
        Simplified 63-province polygons (EPSG:4326) for a small map.
    """

    tables: dict[str, pd.DataFrame]
    findings: list[str]
    flags: pd.DataFrame
    outline: gpd.GeoSeries


def region_extras(config: RegionConfig) -> RegionExtras:
    """Read ``coastal_provinces63`` and ``[roads.expected_km]`` from the region's TOML file."""
    raw = config_tables(config)
    coastal = tuple(str(c).zfill(2) for c in raw.get("region", {}).get("coastal_provinces63", ()))
    expected = {str(k): float(v) for k, v in raw.get("roads", {}).get("expected_km", {}).items()}
    return RegionExtras(coastal, expected)


# --------------------------------------------------------------------------- facilities


def official_coverage(counts: pd.DataFrame, *, missing: pd.DataFrame | None = None) -> pd.DataFrame:
    """Loaded facilities per type against the official total of the config, with a sentence;
    official units without a mapped site (``missing``, geo.units) are named in it."""
    cols = ["type", "loaded", "official_count", "official_source", "official_source_vi"]
    out = counts[[c for c in cols if c in counts.columns]].copy()
    official = pd.to_numeric(out["official_count"], errors="coerce")
    out["share"] = (out["loaded"] / official).round(3)
    gone = (
        missing.groupby("type")["name"].agg(list).to_dict()
        if missing is not None and len(missing)
        else {}
    )
    out["missing"] = [len(gone.get(t, [])) for t in out["type"]]
    out["sentence"] = [
        _coverage_sentence(t, n, o, s)
        + (
            f"; {len(gone[t])} official {t.replace('_', ' ')}s have no mapped site and are "
            f"listed as missing: {', '.join(gone[t])}"
            if gone.get(t)
            else ""
        )
        for t, n, o, s in zip(
            out["type"], out["loaded"], official, out["official_source"], strict=True
        )
    ]
    return out


def _coverage_sentence(type_name: str, n: int, official: float, source: str) -> str:
    label = type_name.replace("_", " ") + "s"
    if pd.isna(official):
        return f"this run has {n} {label} (no official total in the config)"
    if n <= official:
        return f"this run covers {n} of {int(official)} {label} ({source})"
    return (
        f"this run has {n} {label} against {int(official)} official ({source}): the source counts "
        "another unit (terminals, fields under construction), so the official total is not a ceiling"
    )


def counts_by_area(facilities: gpd.GeoDataFrame, provinces: Provinces) -> pd.DataFrame:
    """Facilities per type and area (63 and 34 provinces, 6 regions), zeros included.

    Returns a long table: ``type``, ``level`` (``prov63``, ``prov34``, ``region6``), ``code``,
    ``name``, ``operating``, ``planned``, ``total``.
    """
    areas = [
        ("prov63", "prov63_code", provinces.p63[["prov_code", "prov_name"]]),
        ("prov34", "prov34_code", provinces.p34[["prov_code", "prov_name"]]),
        (
            "region6",
            "region6_code",
            provinces.regions6.assign(
                prov_code=provinces.regions6["region6_code"],
                prov_name=provinces.regions6.get("region6_vi", provinces.regions6["region6_code"]),
            )[["prov_code", "prov_name"]],
        ),
    ]
    rows = []
    types = sorted(facilities["type"].dropna().unique())
    for level, col, table in areas:
        grid = pd.MultiIndex.from_product([types, table["prov_code"]], names=["type", "code"])
        counted = (
            facilities.groupby(["type", col, "status"])
            .size()
            .unstack("status", fill_value=0)
            .rename_axis(index=["type", "code"])
            .reindex(grid, fill_value=0)
        )
        part = pd.DataFrame(
            {
                "operating": counted.get("operating", 0),
                "planned": counted.get("planned", 0),
            },
            index=grid,
        ).reset_index()
        part.insert(1, "level", level)
        part.insert(
            3,
            "name",
            part["code"].map(dict(zip(table["prov_code"], table["prov_name"], strict=True))),
        )
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    out["total"] = out["operating"] + out["planned"]
    return out.astype({"operating": int, "planned": int, "total": int})


def coastal_without_port(
    facilities: gpd.GeoDataFrame,
    provinces: Provinces,
    *,
    coastal63: tuple[str, ...],
    port_class: str | None = "general",
) -> pd.DataFrame:
    """Coastal 63-provinces and their seaports of ``port_class`` (``has_port`` false: none in the
    data); ``port_class`` None counts every seaport (official units, whose class is their rank)."""
    sea = facilities.loc[facilities["type"] == "seaport"]
    is_class = sea["class"] == port_class if port_class else pd.Series(True, index=sea.index)
    general = sea.loc[is_class].groupby("prov63_code").size()
    other = sea.loc[~is_class].groupby("prov63_code").size()
    names = provinces.p63.set_index("prov_code")["prov_name"]
    out = pd.DataFrame({"prov63_code": list(coastal63)})
    out["prov63_name"] = out["prov63_code"].map(names)
    col = f"{port_class}_ports" if port_class else "seaports"
    out[col] = out["prov63_code"].map(general).fillna(0).astype(int)
    out["other_ports"] = out["prov63_code"].map(other).fillna(0).astype(int)
    out["has_port"] = out[col] > 0
    return out


def _core_name(name: object) -> str:
    text = f" {normalise_name(name)} "
    for w in GENERIC_WORDS:
        text = text.replace(f" {w} ", " ")
    return " ".join(text.split())


def _qualifiers(core: str) -> frozenset[str]:
    """Phase markers that make similar names different parks: numbers, roman numerals, letters."""
    return frozenset(w for w in core.split() if QUALIFIER.fullmatch(w)) | (
        frozenset({"mo rong"}) if "mo rong" in core else frozenset()
    )


def suspected_duplicates(
    facilities: gpd.GeoDataFrame,
    *,
    metric_crs: str,
    near_m: float,
    name_within_m: float = 20_000.0,
    min_name_ratio: float = 0.9,
) -> pd.DataFrame:
    """Same-type pairs that may be one facility: closer than ``near_m``, or near-identical names.

    Names are compared without accents and generic words ("KCN", "Cảng", "Sân bay") for pairs
    within ``name_within_m``; ``name_ratio`` is difflib's similarity (0..1). Distances in
    ``metric_crs``. Columns: ``type``, ``facility_a``, ``facility_b`` (a < b), ``name_a``,
    ``name_b``, ``distance_m``, ``name_ratio``, ``reason``.
    """
    cols = [
        "type",
        "facility_a",
        "facility_b",
        "name_a",
        "name_b",
        "distance_m",
        "name_ratio",
        "reason",
    ]
    fac = facilities.sort_values("facility_id", ignore_index=True)
    if len(fac) < 2:
        return pd.DataFrame(columns=cols)
    metric = fac.geometry.to_crs(metric_crs)
    left, right = metric.sindex.query(
        metric.to_numpy(), predicate="dwithin", distance=max(near_m, name_within_m)
    )
    keep = (left < right) & (fac["type"].to_numpy()[left] == fac["type"].to_numpy()[right])
    left, right = left[keep], right[keep]
    dist = metric.iloc[left].distance(metric.iloc[right], align=False).to_numpy()
    core = fac["name"].map(_core_name).to_numpy()
    qual = [_qualifiers(c) for c in core]
    ratio = np.array(
        [
            difflib.SequenceMatcher(None, core[a], core[b]).ratio() if qual[a] == qual[b] else 0.0
            for a, b in zip(left, right, strict=True)
        ]
    )
    near, similar = dist <= near_m, ratio >= min_name_ratio
    hit = near | similar
    reason = np.where(
        near & similar,
        "near and same name",
        np.where(near, f"within {near_m:g} m", "near-identical names"),
    )
    out = pd.DataFrame(
        {
            "type": fac["type"].to_numpy()[left[hit]],
            "facility_a": fac["facility_id"].to_numpy()[left[hit]],
            "facility_b": fac["facility_id"].to_numpy()[right[hit]],
            "name_a": fac["name"].to_numpy()[left[hit]],
            "name_b": fac["name"].to_numpy()[right[hit]],
            "distance_m": dist[hit].round(0),
            "name_ratio": ratio[hit].round(3),
            "reason": reason[hit],
        }
    )
    return out.sort_values(["type", "facility_a", "facility_b"], ignore_index=True)


def road_distance(
    facilities: gpd.GeoDataFrame, network: RoadNetwork, *, max_km: float
) -> pd.DataFrame:
    """Distance (km) from each facility to the nearest road edge, and that edge's component.

    ``far`` is true beyond ``max_km`` (the config's ``max_facility_access_km``); component 0 is
    the largest. Distances in the network's metric CRS.
    """
    pts = gpd.GeoDataFrame(
        facilities[["facility_id", "type", "name"]],
        geometry=facilities.geometry.to_crs(network.crs),
    )
    roads = network.edges.loc[network.edges["edge_kind"] == "road", ["component", "geometry"]]
    near = gpd.sjoin_nearest(pts, roads, how="left", distance_col="d")
    near = (
        near.sort_values(["d", "component"])
        .loc[lambda f: ~f.index.duplicated(keep="first")]
        .sort_index()
    )
    out = pd.DataFrame(
        {
            "facility_id": near["facility_id"],
            "type": near["type"],
            "name": near["name"],
            "road_km": (near["d"] / 1000).round(2),
            "nearest_component": near["component"].astype("Int64"),
        }
    )
    out["far"] = out["road_km"] > max_km
    return out.reset_index(drop=True)


def status_summary(facilities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Facilities per type, status (operating / planned) and status source (source / assumed)."""
    return (
        facilities.groupby(["type", "status", "status_source"], dropna=False)
        .size()
        .rename("count")
        .reset_index()
    )


# --------------------------------------------------------------------------- roads


def road_length_by_class(network: RoadNetwork, expected_km: dict[str, float]) -> pd.DataFrame:
    """Length (km) of the network's roads by class against the configured expectation.

    Connectors added by topology repair are listed as their own class. ``ratio`` = km / expected.
    """
    e = network.edges
    cls = e["road_class"].where(e["edge_kind"] == "road", "connector (repair)")
    km = (e["length_m"].groupby(cls).sum() / 1000).round(1)
    out = km.rename("km").rename_axis("road_class").reset_index()
    out["expected_km"] = out["road_class"].map(expected_km)
    missing = [c for c in expected_km if c not in set(out["road_class"])]
    if missing:
        out = pd.concat(
            [
                out,
                pd.DataFrame(
                    {
                        "road_class": missing,
                        "km": 0.0,
                        "expected_km": [expected_km[c] for c in missing],
                    }
                ),
            ]
        )
    out["ratio"] = (out["km"] / out["expected_km"]).round(3)
    return out.sort_values("km", ascending=False, ignore_index=True)


def road_layer_summary(
    layer: gpd.GeoDataFrame,
    *,
    class_field: str,
    status_field: str | None,
    maxspeed_field: str | None,
    metric_crs: str,
) -> pd.DataFrame:
    """The raw line layer: km by class and status, and the share of length without ``maxspeed``."""
    km = layer.geometry.to_crs(metric_crs).length / 1000
    status = (
        layer[status_field].fillna("")
        if status_field in layer
        else pd.Series("", index=layer.index)
    )
    speed = layer[maxspeed_field] if maxspeed_field in layer else pd.Series(None, index=layer.index)
    frame = pd.DataFrame(
        {
            "road_class": layer[class_field].fillna(""),
            "status": status,
            "km": km,
            "km_without_maxspeed": km.where(
                speed.isna() | (speed.astype(str).str.strip() == ""), 0.0
            ),
        }
    )
    out = frame.groupby(["road_class", "status"]).sum().round(1).reset_index()
    out["share_without_maxspeed"] = (out["km_without_maxspeed"] / out["km"]).round(3)
    return out


def network_summary(network: RoadNetwork) -> pd.DataFrame:
    """Components, dangling ends and repairs of the network (from its report), as metric/value rows."""
    r = network.report
    before, after = r.get("before", {}), r.get("after", {})
    e = network.edges
    rows = {
        "road_km": r.get("road_km", round(float(e["length_m"].sum()) / 1000, 1)),
        "components": after.get("components", int(e["component"].nunique())),
        "largest_component_share": r.get("largest_share"),
        "dangling_ends_before_repair": before.get("dangling_ends"),
        "dangling_ends_after_repair": after.get("dangling_ends"),
        "connectors_added": r.get("connectors_added"),
        "connector_km": r.get("connector_km"),
        "edges": len(e),
    }
    return pd.DataFrame({"metric": list(rows), "value": list(rows.values())})


# --------------------------------------------------------------------------- population


def raster_province_totals(path: str | Path, provinces: Provinces) -> pd.Series:
    """People of a raster per 63-province (cells assigned by their centre), indexed by code."""
    with rasterio.open(path) as ds:
        values = ds.read(1).astype("float64")
        if ds.nodata is not None:
            values[values == ds.nodata] = 0.0
        values[~np.isfinite(values) | (values < 0)] = 0.0
        p63 = provinces.p63.to_crs(ds.crs)
        codes = np.arange(1, len(p63) + 1)
        zones = rasterio.features.rasterize(
            zip(p63.geometry, codes, strict=True),
            out_shape=values.shape,
            transform=ds.transform,
            fill=0,
        )
    sums = np.bincount(zones.ravel(), weights=values.ravel(), minlength=len(p63) + 1)
    return pd.Series(sums[1:], index=p63["prov_code"].to_numpy(), name="population")


def population_vs_census(
    layer_totals: pd.Series, census: pd.Series, *, names: pd.Series
) -> pd.DataFrame:
    """Population per 63-province from a source against the official total (``ratio`` = source / census)."""
    out = pd.DataFrame({"census": census.astype(float)})
    out["source"] = layer_totals.reindex(out.index).fillna(0.0).round(0)
    out["difference"] = (out["source"] - out["census"]).round(0)
    out["ratio"] = (out["source"] / out["census"]).round(4)
    out.insert(0, "prov63_name", names.reindex(out.index))
    return out.rename_axis("prov63_code").reset_index()


# --------------------------------------------------------------------------- per facility


def facility_data_flags(
    facilities: gpd.GeoDataFrame,
    *,
    duplicates: pd.DataFrame | None = None,
    road: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A ``doubtful`` flag and a ``data_note`` per facility, for the map and the layers.

    Each doubt adds one to ``doubt_score``: a suspected duplicate, no road within the access
    distance, a province decided by the tolerance rule or an override (not point in polygon), an
    existing ``data_note`` of the loader (IATA not in the reference list). An assumed status
    (``status_source = assumed``) is noted but not counted: it is true of most parks.

    Returns
    -------
    DataFrame
        ``facility_id``, ``type``, ``name``, ``doubt_score`` (int), ``doubtful`` (bool),
        ``data_note`` (str, '' when nothing to say), ``lon``, ``lat``; rows in input order.
    """
    ids = facilities["facility_id"].astype(str)
    notes: list[pd.Series] = []
    score = pd.Series(0, index=facilities.index)

    def add(mask: pd.Series, text: pd.Series | str, *, counts: bool = True) -> None:
        nonlocal score
        mask = mask.fillna(False).astype(bool)
        t = text if isinstance(text, pd.Series) else pd.Series(text, index=facilities.index)
        notes.append(t.where(mask, ""))
        if counts:
            score = score + mask.astype(int)

    if duplicates is not None and len(duplicates):
        pairs = pd.concat(
            [
                duplicates.rename(columns={"facility_a": "id", "name_b": "other"})[
                    ["id", "other", "reason"]
                ],
                duplicates.rename(columns={"facility_b": "id", "name_a": "other"})[
                    ["id", "other", "reason"]
                ],
            ]
        )
        tagged = pairs.assign(
            t="possible duplicate of " + pairs["other"].astype(str) + " (" + pairs["reason"] + ")"
        )
        joined = tagged.groupby("id")["t"].agg("; ".join)
        add(ids.isin(joined.index), ids.map(joined).fillna(""))
    if road is not None and len(road):
        r = road.set_index("facility_id")
        km = ids.map(r["road_km"])
        add(ids.map(r["far"]).fillna(False), "nearest road " + km.round(1).astype(str) + " km away")
    method = facilities.get(
        "prov_method", pd.Series("point_in_polygon", index=facilities.index)
    ).fillna("")
    add(method != "point_in_polygon", "province by rule " + method)
    prior = facilities.get("data_note", pd.Series(None, index=facilities.index))
    add(
        prior.astype(str).str.contains("not in", regex=False) & prior.notna(),
        prior.fillna("").astype(str),
    )
    add(
        facilities.get("status_source", pd.Series("", index=facilities.index)) == "assumed",
        "status assumed (none in source)",
        counts=False,
    )
    text = (
        pd.concat(notes, axis=1).apply(lambda row: "; ".join(v for v in row if v), axis=1)
        if notes
        else ""
    )
    return pd.DataFrame(
        {
            "facility_id": ids,
            "type": facilities["type"],
            "name": facilities["name"],
            "doubt_score": score.astype(int),
            "doubtful": score > 0,
            "data_note": text,
            "lon": facilities.geometry.x.round(6),
            "lat": facilities.geometry.y.round(6),
        }
    ).reset_index(drop=True)


# --------------------------------------------------------------------------- all together


def region_quality(
    data_dir: str | Path,
    config: RegionConfig,
    *,
    load: FacilityLoad | None = None,
    network: RoadNetwork | None = None,
    provinces: Provinces | None = None,
    population: Any = None,
    population_raster: str | Path | None = None,
    roads_file: str | Path | None = None,
) -> QualityReport:
    """Run every measure on a data folder (loading what is not given).

    Parameters
    ----------
    data_dir
        The data folder (mirror, fetched folder or embedded default).
    config
        Region configuration (official totals, thresholds, metric CRS; extras from its TOML).
    load, network, provinces, population
        Already loaded facilities / road network / provinces / the config's population layer
        (``geo.population.population_from_config``); what is not given is loaded from
        ``data_dir``.
    population_raster
        A people-per-cell GeoTIFF to compare with the census (default: ``population_grid.tif``
        of ``data_dir`` if present).
    roads_file
        The road file that replaced the config's layer (``run --roads``): the config's layer is
        then not read again (it is not what the run used), and ``road_layer`` is left out.
    """
    from geo.population import population_from_config, province_totals

    d = Path(data_dir)
    extras = region_extras(config)
    provinces = provinces or load_provinces(d, config)
    load = load or load_region_facilities(d, config)
    network = network or road_network_for_region(d, config)
    fac = load.facilities
    tables: dict[str, pd.DataFrame] = {}
    tables["official_coverage"] = official_coverage(load.counts, missing=load.missing)
    tables["counts_by_area"] = counts_by_area(fac, provinces)
    from geo.units import units_specs

    tables["coastal_ports"] = coastal_without_port(
        fac,
        provinces,
        coastal63=extras.coastal_provinces63,
        port_class=None if "seaport" in units_specs(config) else "general",
    )
    if load.missing is not None:
        tables["missing_units"] = load.missing
    tables["suspected_duplicates"] = suspected_duplicates(
        fac, metric_crs=config.metric_crs, near_m=2 * config.duplicate_distance_m
    )
    tables["merged_duplicates"] = load.merged
    tables["road_distance"] = road_distance(fac, network, max_km=config.max_facility_access_km)
    if getattr(network, "repairs", None) is not None:
        from geo.road_repairs import repairs_table

        tables["road_repairs"] = repairs_table(
            network, fac, max_m=config.max_facility_access_km * 1000
        )
    tables["province_by_rule"] = fac.loc[
        ~fac["prov_method"].isin(["point_in_polygon", "official_list"]),
        ["facility_id", "type", "name", "prov63_name", "prov_method"],
    ].reset_index(drop=True)
    rejects = load.issues.rejects_frame()
    tables["missing_names"] = rejects.loc[rejects["reason"].str.startswith("no name")].reset_index(
        drop=True
    )
    tables["status"] = status_summary(fac)
    r = config.roads
    if roads_file is None:
        tables["road_layer"] = road_layer_summary(
            read_road_layer(d / r.file, layer=r.layer),
            class_field=r.class_field,
            status_field=r.status_field,
            maxspeed_field=r.maxspeed_field,
            metric_crs=config.metric_crs,
        )
    tables["road_length"] = road_length_by_class(network, extras.expected_road_km)
    tables["road_network"] = network_summary(network)
    census = province_totals(d, config)
    names = provinces.p63.set_index("prov_code")["prov_name"]
    pop = population or population_from_config(d, config)
    rep = pop.polygons.representative_point()
    located = tag_provinces(
        gpd.GeoDataFrame(pop.polygons[["population"]], geometry=rep),
        provinces,
        metric_crs=config.metric_crs,
        tolerance_m=config.province_tolerance_m,
    )
    tables["population"] = population_vs_census(
        located.groupby("prov63_code")["population"].sum(), census, names=names
    )
    raster = Path(population_raster) if population_raster else d / RASTER_NAME
    if raster.is_file():
        tables["population_raster"] = population_vs_census(
            raster_province_totals(raster, provinces), census, names=names
        )
    flags = facility_data_flags(
        fac, duplicates=tables["suspected_duplicates"], road=tables["road_distance"]
    )
    tables["facility_flags"] = flags
    findings = _findings(tables, extras, pop.source, raster if raster.is_file() else None)
    outline = provinces.p63.geometry.simplify(0.02)
    return QualityReport(tables=tables, findings=findings, flags=flags, outline=outline)


def _findings(
    t: dict[str, pd.DataFrame], extras: RegionExtras, pop_source: str, raster: Path | None
) -> list[str]:
    out = [s[0].upper() + s[1:] + "." for s in t["official_coverage"]["sentence"]]
    c = t["coastal_ports"]
    if len(c):
        missing = c.loc[~c["has_port"], "prov63_name"].tolist()
        out.append(
            f"{len(missing)} of {len(c)} coastal provinces have "
            + ("no general port" if "general_ports" in c else "no seaport with a mapped terminal")
            + " in the data"
            + (f": {', '.join(missing)}." if missing else ".")
        )
    d, m = t["suspected_duplicates"], t["merged_duplicates"]
    out.append(
        f"{len(m)} duplicates were merged on loading; {len(d)} more pairs are suspected "
        f"({', '.join(f'{k}: {v}' for k, v in d['type'].value_counts().sort_index().items()) or 'none'})."
    )
    far = t["road_distance"]
    out.append(
        f"{int(far['far'].sum())} facilities are farther than the access distance from any road; "
        f"{int((far['nearest_component'].fillna(0) > 0).sum())} are nearest to a road off the main component."
    )
    out.append(
        f"{len(t['province_by_rule'])} facilities took their province by the tolerance rule or an override; "
        f"{len(t['missing_names'])} input rows were rejected for a missing name."
    )
    s = t["status"]
    assumed = int(s.loc[s["status_source"] == "assumed", "count"].sum())
    planned = int(s.loc[s["status"] == "planned", "count"].sum())
    out.append(
        f"Status: {planned} planned, {int(s['count'].sum()) - planned} operating, of which {assumed} assumed (no status in the source)."
    )
    rl = t["road_length"].dropna(subset=["expected_km"])
    for row in rl.itertuples():
        out.append(
            f"Roads {row.road_class}: {row.km:,.0f} km in the network vs {row.expected_km:,.0f} km expected ({row.ratio:.0%})."
        )
    net = t["road_network"].set_index("metric")["value"]
    lay = t.get("road_layer")
    no_speed = (
        float(lay["km_without_maxspeed"].sum() / lay["km"].sum())
        if lay is not None and lay["km"].sum()
        else float("nan")
    )
    dangling = net.get("dangling_ends_after_repair")
    out.append(
        f"Road network: {int(net['components'])} components (largest {net['largest_component_share']}), "
        f"{'?' if pd.isna(dangling) else int(dangling)} dangling ends after repair; "
        f"{no_speed:.0%} of the road layer has no maxspeed."
    )
    p = t["population"]
    worst = p.assign(dev=(p["ratio"] - 1).abs()).sort_values("dev", ascending=False).iloc[0]
    out.append(
        f"Population ({pop_source}): {p['source'].sum():,.0f} vs census {p['census'].sum():,.0f}; "
        f"largest provincial deviation {worst['prov63_name']} ({worst['ratio']:.3f})."
    )
    if raster is not None:
        pr = t["population_raster"]
        out.append(
            f"Population grid {raster.name}: {pr['source'].sum():,.0f} vs census {pr['census'].sum():,.0f}."
        )
    return out


def tolerance_sensitivity(
    data_dir: str | Path,
    config: RegionConfig,
    facilities: gpd.GeoDataFrame,
    *,
    tolerances_m: tuple[float, ...] = (25.0, 50.0, 100.0, 250.0),
) -> pd.DataFrame:
    """How the repaired road network, and which facilities it strands, change with the snap tolerance.

    For each tolerance the region's road network is rebuilt with that snapping tolerance
    (everything else as configured); a facility is *on the main network* when its nearest road
    (metric CRS) belongs to the largest component and lies within ``max_facility_access_km``.

    Returns
    -------
    DataFrame
        ``tolerance_m``, ``components``, ``largest_share`` (of road length), ``km_joined``,
        ``facilities_on_main``, ``facilities_stranded`` and ``stranded`` (names, ``; ``-joined,
        first 30).
    """
    from dataclasses import replace

    rows = []
    for tol in tolerances_m:  # a few full repairs, each vectorised
        cfg = replace(config, roads=replace(config.roads, snap_tolerance_m=float(tol)))
        net = road_network_for_region(data_dir, cfg)
        rd = road_distance(facilities, net, max_km=config.max_facility_access_km)
        main = (rd["nearest_component"] == 0).fillna(False).astype(bool) & ~rd["far"]
        names = (
            facilities.set_index("facility_id")
            .loc[rd.loc[~main, "facility_id"], "name"]
            .astype(str)
        )
        comp_km = net.edges.groupby("component")["length_m"].sum() / 1000
        rows.append(
            {
                "tolerance_m": tol,
                "components": int(comp_km.size),
                "largest_share": round(float(comp_km.max() / comp_km.sum()), 4),
                "km_joined": round(float(net.report.get("connector_km", 0.0)), 1),
                "facilities_on_main": int(main.sum()),
                "facilities_stranded": int((~main).sum()),
                "stranded": "; ".join(sorted(names)[:30]),
            }
        )
    return pd.DataFrame(rows)
