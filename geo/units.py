"""Official units of a facility type and their member sites (multi-site facilities).

A type whose region config has a ``[types.<type>.units]`` table is analysed as the units of an
official list (``file``): the rows loaded from the type's sources become *sites* (terminals),
each joined to one unit, and the units become the type's facilities. A unit's travel time to a
cell is the minimum over its members (``analysis.units``). The rules, all from the config:

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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.config import RegionConfig, config_tables
from geo.errors import ConfigError, InputError
from geo.provinces import Provinces
from geo.tabular import ROW, read_table

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


@dataclass(frozen=True)
class UnitsSpec:
    """The ``[types.<type>.units]`` table of the region config (keys as in the module doc)."""

    file: str
    join: str
    name_field: str = "name_vi"
    id_field: str | None = None
    class_field: str | None = None
    class_map: dict[str, str] = field(default_factory=dict)
    status_field: str | None = None
    status_prefixes: dict[str, str] = field(default_factory=dict)
    province_field: str | None = None
    province_aliases: dict[str, str] = field(default_factory=dict)
    site_province: dict[str, str] = field(default_factory=dict)
    site_key_field: str | None = None
    unlisted: dict[str, str] = field(default_factory=dict)
    lon_field: str | None = None
    lat_field: str | None = None
    exclude_site_classes: dict[str, str] = field(default_factory=dict)
    use_fields: tuple[str, ...] = ()
    use_patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_uses: tuple[str, ...] = ()


def units_specs(config: RegionConfig) -> dict[str, UnitsSpec]:
    """The types of the config that have official units, with their rules."""
    raw = config_tables(config).get("types", {})
    out = {}
    for t, table in raw.items():
        u = table.get("units") if isinstance(table, dict) else None
        if u is None:
            continue
        where = f"types.{t}.units"
        if not isinstance(u, dict) or "file" not in u or u.get("join") not in ("province63", "key"):
            raise ConfigError(
                f'[{where}] needs \'file\' and join = "province63" or "key"', source=config.path
            )
        try:
            out[t] = UnitsSpec(
                **{
                    **u,
                    "use_fields": tuple(u.get("use_fields", ())),
                    "exclude_uses": tuple(u.get("exclude_uses", ())),
                    "use_patterns": {
                        k: tuple(v) for k, v in dict(u.get("use_patterns", {})).items()
                    },
                }
            )
        except TypeError as exc:
            raise ConfigError(f"[{where}] {exc}", source=config.path) from None
        bad = {k: v for k, v in out[t].status_prefixes.items() if v not in ("operating", "planned")}
        if bad:
            raise ConfigError(
                f"[{where}] status_prefixes {bad}: allowed values are operating, planned",
                source=config.path,
                field="status_prefixes",
            )
    return out


def _norm(text: object) -> str:
    from geo.facilities import normalise_name

    return normalise_name(text) if isinstance(text, str) else ""


def classify_use(text: str, patterns: dict[str, tuple[str, ...]]) -> tuple[str, str]:
    """The first use whose pattern occurs as whole words in the normalised ``text``:
    (use, pattern), or ("", "")."""
    padded = f" {_norm(text)} "
    for use, pats in patterns.items():
        for p in pats:
            if f" {_norm(p)} " in padded:
                return use, p
    return "", ""


def raw_site_attributes(
    d: Path, config: RegionConfig, type_name: str, spec: UnitsSpec
) -> pd.DataFrame:
    """Per raw row of the type's sources: ``source``, ``source_row``, ``use``, ``use_evidence``,
    ``key`` and ``harbor_size`` (fields the facility schema does not keep)."""
    parts = []
    for src in config.types[type_name].sources:
        path = d / src.file
        if getattr(src, "optional", False) and not path.is_file():
            continue
        gdf, _ = read_table(path, layer=src.layer, bbox=config.bbox)
        text = pd.Series("", index=gdf.index, dtype=object)
        for f in spec.use_fields:
            if f in gdf:
                text = text + " " + gdf[f].where(gdf[f].notna(), "").astype(str)
        uses = [classify_use(t, spec.use_patterns) for t in text]
        key = spec.site_key_field
        parts.append(
            pd.DataFrame(
                {
                    "source": f"{src.file}:{src.layer}" if src.layer else src.file,
                    "source_row": gdf[ROW].astype("int64").to_numpy(),
                    "use": [u for u, _ in uses],
                    "use_evidence": [e for _, e in uses],
                    "key": (
                        gdf[key].astype(str).str.strip().str.upper() if key and key in gdf else ""
                    ),
                    "harbor_size": gdf.get("harbor_size", None),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            columns=["source", "source_row", "use", "use_evidence", "key", "harbor_size"]
        )
    return pd.concat(parts, ignore_index=True)


def read_units(d: Path, spec: UnitsSpec, type_name: str) -> pd.DataFrame:
    """The official list: ``unit_id``, ``name``, ``key``, ``class``, ``status``, ``data_note``,
    ``province``, ``lon``, ``lat``, ``source_row``."""
    path = d / spec.file
    if not path.is_file():
        raise InputError(
            f"the official list of {type_name} units is missing; rebuild the data folder "
            f"(python -m data.build_default) or remove [types.{type_name}.units] from the config",
            source=str(path),
        )
    tab = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    need = [
        f
        for f in (spec.name_field, spec.id_field, spec.class_field, spec.status_field,
                  spec.province_field, spec.lon_field, spec.lat_field)
        if f
    ]  # fmt: skip
    absent = [f for f in need if f not in tab]
    if absent:
        raise InputError(f"missing column(s) {absent}", source=str(path), field=absent[0])
    name = tab[spec.name_field].str.strip()
    key = tab[spec.id_field].str.strip().str.upper() if spec.id_field else name.map(_norm)
    if key.eq("").any() or key.duplicated().any():
        bad = int(np.flatnonzero(key.eq("") | key.duplicated())[0]) + 1
        raise InputError(
            "empty or repeated unit id",
            source=str(path),
            row=bad,
            field=spec.id_field or spec.name_field,
        )
    raw_status = (
        tab[spec.status_field].str.strip()
        if spec.status_field
        else pd.Series("operating", index=tab.index)
    )
    status, note = [], []
    for i, s in enumerate(raw_status):
        hit = [v for p, v in spec.status_prefixes.items() if s.casefold().startswith(p.casefold())]
        if spec.status_field and not hit:
            allowed = ", ".join(spec.status_prefixes)
            raise InputError(
                f"status {s!r} starts with none of {allowed}",
                source=str(path),
                row=i + 1,
                field=spec.status_field,
            )
        status.append(hit[0] if hit else "operating")
        note.append(s if spec.status_field and s.casefold() not in spec.status_prefixes else "")
    klass = (
        tab[spec.class_field].map(lambda v: spec.class_map.get(v, v)) if spec.class_field else None
    )
    lon = pd.to_numeric(tab[spec.lon_field], errors="coerce") if spec.lon_field else np.nan
    lat = pd.to_numeric(tab[spec.lat_field], errors="coerce") if spec.lat_field else np.nan
    prov = tab[spec.province_field].str.strip() if spec.province_field else ""
    return pd.DataFrame(
        {
            "unit_id": type_name + ":" + key.str.replace(" ", "-"),
            "name": name,
            "key": key,
            "class": klass,
            "status": status,
            "data_note": note,
            "province": prov,
            "lon": lon,
            "lat": lat,
            "source_row": np.arange(1, len(tab) + 1),
        }
    )


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
        raw = raw_site_attributes(d, config, t, spec)
        sites = sites.merge(raw, on=["source", "source_row"], how="left")
        for c in ("use", "use_evidence", "key"):
            sites[c] = sites[c].fillna("").astype(str)
        names = sites["name"].map(_norm)
        for pat, prov in spec.site_province.items():
            hit = names.str.contains(rf"\b{_norm(pat)}\b", regex=True) & (
                sites["prov63_name"] != prov
            )
            if hit.any() and prov in p63.index:
                sites.loc[hit, "prov63_name"] = prov
                sites.loc[hit, "prov63_code"] = p63.loc[prov, "prov_code"]
        sites["unit_id"], sites["excluded_reason"] = _membership(
            sites, units, spec, t, set(p63.index)
        )
        rank = _harbour_rank(sites, sites["harbor_size"], d, config.metric_crs)
        sites["_rank"] = rank
        sites["_area"] = pd.to_numeric(sites["area_ha"], errors="coerce").fillna(0.0)
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
