"""Data-quality measures of the facilities: coverage of the official totals, counts per area,
coastal provinces without a port, suspected duplicates, statuses, and a ``doubtful`` flag with a
``data_note`` per facility (:func:`facility_data_flags`). Each is a plain function from data to a
table; :func:`geo.quality.region_quality` runs them all.
"""

from __future__ import annotations

import difflib
import re

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.config import DEFAULT_LEVELS, AreaLevel
from geo.facility_source import normalise_name
from geo.provinces import Provinces

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


def counts_by_area(
    facilities: gpd.GeoDataFrame,
    provinces: Provinces,
    levels: tuple[AreaLevel, ...] = DEFAULT_LEVELS,
) -> pd.DataFrame:
    """Facilities per type and area (every declared area level, and the 6 regions), zeros included.

    ``levels``: the region's area levels (``RegionConfig.area_levels``; Viet Nam: 63 and 34
    provinces), whose tables are ``provinces.p<edition>``. Returns a long table: ``type``,
    ``level`` (the level's key, e.g. ``prov63``, ``prov34``; ``region6``), ``code``, ``name``,
    ``operating``, ``planned``, ``total``.
    """
    areas = [
        (
            lv.key,
            f"{lv.key}_code",
            getattr(provinces, f"p{lv.edition}")[["prov_code", "prov_name"]],
        )
        for lv in levels
    ]
    areas.append(
        (
            "region6",
            "region6_code",
            provinces.regions6.assign(
                prov_code=provinces.regions6["region6_code"],
                prov_name=provinces.regions6.get("region6_vi", provinces.regions6["region6_code"]),
            )[["prov_code", "prov_name"]],
        )
    )
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


def status_summary(facilities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Facilities per type, status (operating / planned) and status source (source / assumed)."""
    return (
        facilities.groupby(["type", "status", "status_source"], dropna=False)
        .size()
        .rename("count")
        .reset_index()
    )


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
