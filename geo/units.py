"""Official units of a facility type and their member sites (multi-site facilities).

A type whose region config has a ``[types.<type>.units]`` table is analysed as the units of an
official list (``file``): the rows loaded from the type's sources become *sites* (terminals),
each joined to one unit, and the units become the type's facilities. A unit's travel time to a
cell is the minimum over its members (``analysis.units``). The list and its config table are read
by :mod:`geo.unit_lists`. The rules, all from the config:

- ``join = "province63"``: a site belongs to the unit of its 63-edition province
  (``province_field`` of the list; ``province_aliases`` map the list's names to the province
  layer's; ``site_province`` re-tags sites whose normalised name contains a key);
  ``join = "key"``: a site belongs to the unit whose ``id_field`` equals the site's raw
  ``site_key_field`` (e.g. the IATA code); ``unlisted`` gives the reason for keys not listed.
- sites of a class in ``exclude_site_classes`` and sites whose use (``use_patterns`` matched, as
  whole words, on the normalised text of ``use_fields``) is in ``exclude_uses`` are not members;
  nor are planned sites. Every site left out is listed with its reason (``excluded.csv``).
- a unit's point is its own (``lon_field`` / ``lat_field`` of the list, then also a member) or
  its largest member's: the larger World Port Index harbour size (the site's own, or that of the
  WPI entry within 5 km), then the larger area, then the smaller site id. A unit with neither a
  point nor a member is listed as missing, never dropped silently.

Sites are not merged as duplicates (``geo.facilities`` merges the other facilities): a duplicate
site (the same terminal in OSM and in the WPI) is one more member and leaves the minimum over
members unchanged, while a merge across classes could hide a terminal behind a fishing port of
the same place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.config import RegionConfig
from geo.errors import ConfigError
from geo.provinces import Provinces
from geo.unit_lists import UnitsSpec, norm_text, raw_site_attributes, read_units, units_specs

SITE_COLUMNS = (
    "site_id",
    "name",
    "type",
    "unit_id",
    "kind",
    "class",
    "status",
    "use",
    "prov63_code",
    "prov63_name",
    "member",
    "excluded_reason",
)
MISSING_COLUMNS = ("type", "unit_id", "name", "province", "reason")
HARBOUR_SIZE_RANK = {"very small": 1, "small": 2, "medium": 3, "large": 4}
WPI_FILE, WPI_LAYER, WPI_NEAR_M = "seaports.gpkg", "seaports", 5000.0


def _harbour_rank(sites: gpd.GeoDataFrame, own: pd.Series, d: Path, metric_crs: str) -> np.ndarray:
    """WPI harbour-size rank of each site: its own, or the nearest WPI entry's within 5 km."""
    rank = own.fillna("").astype(str).str.casefold().map(HARBOUR_SIZE_RANK).fillna(0).to_numpy()
    path = d / WPI_FILE
    if path.is_file() and len(sites):
        wpi = gpd.read_file(path, layer=WPI_LAYER, engine="pyogrio").to_crs(metric_crs)
        wpi["r"] = wpi["harbor_size"].fillna("").astype(str).str.casefold().map(HARBOUR_SIZE_RANK)
        pts = gpd.GeoDataFrame(
            geometry=sites.geometry.to_crs(metric_crs).to_numpy(), crs=metric_crs
        )
        near = gpd.sjoin_nearest(pts, wpi[["r", "geometry"]], max_distance=WPI_NEAR_M)
        best = near.groupby(level=0)["r"].max().reindex(range(len(sites))).fillna(0).to_numpy()
        rank = np.maximum(rank, best)
    return rank


def _membership(
    sites: pd.DataFrame,
    units: pd.DataFrame,
    spec: UnitsSpec,
    type_name: str,
    province_names: set[str],
) -> tuple[pd.Series, pd.Series]:
    """(unit_id or "", reason or "") per site."""
    unit = pd.Series("", index=sites.index, dtype=object)
    reason = pd.Series("", index=sites.index, dtype=object)
    if spec.join == "province63":
        by_prov = {
            spec.province_aliases.get(p, p): u
            for p, u in zip(units["province"], units["unit_id"], strict=True)
        }
        unknown = sorted(set(by_prov) - province_names)
        if unknown:
            raise ConfigError(
                f"[types.{type_name}.units] provinces {unknown} of {spec.file} are not names of the "
                "63-province layer; add them to province_aliases",
                field="province_aliases",
            )
        unit = sites["prov63_name"].map(by_prov).fillna("")
        missing_why = (
            "no official " + type_name + " in " + sites["prov63_name"].fillna("?").astype(str)
        )
        missing_why += " (63-edition province): e.g. an inland river port"
    else:
        by_key = dict(zip(units["key"], units["unit_id"], strict=True))
        unit = sites["key"].map(by_key).fillna("")
        default = f"not in the official list {spec.file}"
        missing_why = sites["key"].map(lambda k: spec.unlisted.get(k, default))
    unit_status = dict(zip(units["unit_id"], units["status"], strict=True))
    rules = (
        (
            sites["facility_id"].isin(list(spec.exclude_sites)),
            sites["facility_id"].map(spec.exclude_sites),
        ),
        (
            sites["class"].isin(list(spec.exclude_site_classes)),
            sites["class"].map(spec.exclude_site_classes),
        ),
        (
            sites["use"].isin(spec.exclude_uses),
            sites["use"]
            + " terminal ('"
            + sites["use_evidence"]
            + "' in its name or tags): the people around it are not its users",
        ),
        (
            (sites["status"] != "operating") & unit.map(unit_status).eq("operating"),
            pd.Series("planned terminal (not a member of the operating unit)", index=sites.index),
        ),
        (unit == "", missing_why),
    )
    for bad, why in rules:
        new = bad & (reason == "")
        reason = reason.mask(new, why)
    return unit.where(reason == "", unit), reason


def _prepare_sites(
    sites: gpd.GeoDataFrame,
    units: pd.DataFrame,
    spec: UnitsSpec,
    type_name: str,
    *,
    d: Path,
    config: RegionConfig,
    p63: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Sites with their raw attributes, name-rule provinces, unit, reason and size."""
    raw = raw_site_attributes(d, config, type_name, spec)
    sites = sites.merge(raw, on=["source", "source_row"], how="left")
    for c in ("use", "use_evidence", "key"):
        sites[c] = sites[c].fillna("").astype(str)
    names = sites["name"].map(norm_text)
    for pat, prov in spec.site_province.items():
        hit = names.str.contains(rf"\b{norm_text(pat)}\b", regex=True) & (
            sites["prov63_name"] != prov
        )
        if hit.any() and prov in p63.index:
            sites.loc[hit, "prov63_name"] = prov
            sites.loc[hit, "prov63_code"] = p63.loc[prov, "prov_code"]
    sites["unit_id"], sites["excluded_reason"] = _membership(
        sites, units, spec, type_name, set(p63.index)
    )
    sites["_rank"] = _harbour_rank(sites, sites["harbor_size"], d, config.metric_crs)
    sites["_area"] = pd.to_numeric(sites["area_ha"], errors="coerce").fillna(0.0)
    return sites


def build_units(
    fac: gpd.GeoDataFrame,
    d: Path,
    config: RegionConfig,
    provinces: Provinces,
    *,
    types: tuple[str, ...],
    default_sources: dict[str, str],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """Replace the sites of each type with official units by the units of that type.

    Parameters
    ----------
    fac
        Loaded, tagged, de-duplicated facilities (schema of ``geo.facilities``).
    d
        The data folder.
    config
        The region configuration (``[types.<type>.units]`` tables).
    provinces
        Province layers (for the units' province fields).
    types
        Types of this load.
    default_sources
        Source label -> type of the region's default sources (users' rows are not sites:
        each of them stays a facility of its own).

    Returns
    -------
    (facilities, sites, missing, excluded)
        Facilities with the units instead of their sites; the sites (``SITE_COLUMNS`` plus
        Point geometry; the member sites have an empty ``excluded_reason``); the units without
        a site (``MISSING_COLUMNS``); excluded rows (``source``, ``row``, ``type``, ``reason``).
    """
    # units replace the region's default sites only: a user's own file (without the defaults)
    # keeps its rows as facilities of their own
    read = set(default_sources.values())
    specs = {t: s for t, s in units_specs(config).items() if t in types and t in read}
    empty_sites = gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in SITE_COLUMNS},
        geometry=gpd.GeoSeries([], crs="EPSG:4326"),
    )
    if not specs:
        return fac, empty_sites, pd.DataFrame(columns=list(MISSING_COLUMNS)), []
    p63 = provinces.p63.set_index("prov_name")
    keep = [fac[~fac["type"].isin(list(specs))]]
    all_sites, missing, excluded = [empty_sites], [], []
    for t, spec in specs.items():
        units = read_units(d, spec, t)
        is_site = (fac["type"] == t) & fac["source"].map(lambda s, t=t: default_sources.get(s) == t)
        keep.append(fac[(fac["type"] == t) & ~is_site])  # users' rows: units of their own
        sites = fac[is_site].reset_index(drop=True)
        sites = _prepare_sites(sites, units, spec, t, d=d, config=config, p63=p63)
        for r in sites[sites["excluded_reason"] != ""].itertuples():
            excluded.append(
                {
                    "source": r.source,
                    "row": int(r.source_row),
                    "type": t,
                    "reason": f"{r.name}: {r.excluded_reason}",
                }
            )
        rows, unit_sites = _unit_rows(units, sites, spec, t, p63)
        keep.append(rows)
        site_gdf = gpd.GeoDataFrame(
            {
                "site_id": sites["facility_id"],
                "name": sites["name"],
                "type": t,
                "unit_id": sites["unit_id"].where(sites["excluded_reason"] == "", ""),
                "kind": sites["source"],
                "class": sites["class"],
                "status": sites["status"],
                "use": sites["use"],
                "prov63_code": sites["prov63_code"],
                "prov63_name": sites["prov63_name"],
                "member": np.where(sites["excluded_reason"] == "", "yes", "no"),
                "excluded_reason": sites["excluded_reason"],
            },
            geometry=sites.geometry.to_numpy(),
            crs="EPSG:4326",
        )
        all_sites += [site_gdf, unit_sites]
        has = set(rows["facility_id"])
        for u in units[~units["unit_id"].isin(has)].itertuples():
            missing.append(
                {
                    "type": t,
                    "unit_id": u.unit_id,
                    "name": u.name,
                    "province": u.province,
                    "reason": f"no mapped site (terminal) of this {t} in the data",
                }
            )
    parts = [k for k in keep if len(k)]
    out = gpd.GeoDataFrame(
        pd.concat(parts, ignore_index=True) if parts else fac.iloc[0:0],
        geometry="geometry",
        crs="EPSG:4326",
    )
    out = out.sort_values(["type", "facility_id"], kind="stable", ignore_index=True)
    sites_all = gpd.GeoDataFrame(
        pd.concat([s for s in all_sites if len(s)] or [empty_sites], ignore_index=True),
        geometry="geometry",
        crs="EPSG:4326",
    )
    sites_all = sites_all.sort_values(
        ["type", "unit_id", "site_id"], kind="stable", ignore_index=True
    )
    return out, sites_all, pd.DataFrame(missing, columns=list(MISSING_COLUMNS)), excluded


def largest_member(mine: pd.DataFrame) -> int:
    """Position of the largest member: larger WPI harbour size rank (``_rank``), then larger
    area (``_area``), then the smaller site id."""
    order = np.lexsort(
        (
            mine["facility_id"].astype(str).to_numpy(),
            -mine["_area"].to_numpy(np.float64),
            -mine["_rank"].to_numpy(np.float64),
        )
    )
    return int(order[0])


def _province_fields(prov: str, p63: pd.DataFrame) -> dict[str, Any]:
    if prov not in p63.index:
        return dict.fromkeys(
            ("prov63_code", "prov63_name", "prov34_code", "prov34_name", "region6_code")
        )
    pr = p63.loc[prov]
    return {
        "prov63_code": pr["prov_code"],
        "prov63_name": prov,
        "prov34_code": pr["prov34_code"],
        "prov34_name": pr["prov34_name"],
        "region6_code": pr["region6_code"],
    }


def _unit_rows(
    units: pd.DataFrame, sites: pd.DataFrame, spec: UnitsSpec, type_name: str, p63: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The units as facility rows (those with a point), and their own points as sites."""
    members = sites[sites["excluded_reason"] == ""]
    rows, own = [], []
    for u in units.to_dict("records"):
        mine = members[members["unit_id"] == u["unit_id"]]
        prov = spec.province_aliases.get(u["province"], u["province"])
        has_own = bool(np.isfinite(u["lon"]) and np.isfinite(u["lat"]))
        if has_own:
            point = shapely.Point(float(u["lon"]), float(u["lat"]))
            own.append(
                {
                    "site_id": f"{u['unit_id']}#official",
                    "name": u["name"],
                    "type": type_name,
                    "unit_id": u["unit_id"],
                    "kind": spec.file,
                    "class": u["class"],
                    "status": u["status"],
                    "use": "",
                    "prov63_code": _province_fields(prov, p63)["prov63_code"],
                    "prov63_name": prov,
                    "member": "yes",
                    "excluded_reason": "",
                    "geometry": point,
                }
            )
        elif len(mine):
            point = mine.geometry.iat[largest_member(mine)]
        else:
            continue
        rows.append(
            {
                "facility_id": u["unit_id"],
                "name": u["name"],
                "type": type_name,
                "status": u["status"],
                "status_source": "source",
                "class": u["class"],
                "capacity": np.nan,
                "capacity_unit": None,
                **_province_fields(prov, p63),
                "prov_method": "official_list",
                "area_ha": np.nan,
                "source": spec.file,
                "source_row": int(u["source_row"]),
                "data_note": u["data_note"] or None,
                "area_wkb": None,
                "members": "; ".join(mine["name"].astype(str)),
                "n_members": len(mine) + int(has_own),
                "geometry": point,
            }
        )
    own_gdf = (
        gpd.GeoDataFrame(own, geometry="geometry", crs="EPSG:4326") if own else gpd.GeoDataFrame()
    )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"), own_gdf


def unit_counts(counts: pd.DataFrame, sites: pd.DataFrame, missing: pd.DataFrame) -> pd.DataFrame:
    """Add ``member_sites`` (rows of the sources that are members of a unit) and ``missing``
    (official units without a site) to the per-type counts. For a type with units,
    member_sites + excluded + rejected + merged_duplicates = input_rows."""
    real = sites[
        (sites["member"] == "yes") & ~sites["site_id"].astype(str).str.endswith("#official")
    ]
    out = counts.copy()
    out["member_sites"] = out["type"].map(real["type"].value_counts()).fillna(0).astype(int)
    out["missing"] = out["type"].map(missing["type"].value_counts()).fillna(0).astype(int)
    return out
