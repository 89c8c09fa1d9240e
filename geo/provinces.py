"""Province layers in both editions (63 before, 34 since 1 July 2025) and province tagging of points.

Codes are GSO codes as 2-digit zero-padded strings ('01' Hà Nội, '31' Hải Phòng). The 34-province
tag of a point is derived from its 63-province tag through the crosswalk: every 2025 merger joined
whole old provinces, so this is exact and keeps the two editions consistent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.config import RegionConfig, config_tables
from geo.errors import ConfigError, DataNotFoundError, InputError

log = logging.getLogger(__name__)

TAG_COLUMNS = (
    "prov63_code",
    "prov63_name",
    "prov34_code",
    "prov34_name",
    "region6_code",
    "prov_method",
    "prov_dist_m",
)


@dataclass(frozen=True)
class ProvinceOverride:
    """A documented correction of a boundary defect: points in a box move to another province.

    ``applies_to`` is ``inside`` (points inside the polygon of ``from_code``; ``from_code`` empty
    means any polygon) or ``outside`` (points outside every polygon, tagged by nearest).
    """

    method: str
    bbox: tuple[float, float, float, float]
    to_code: str
    from_code: str = ""
    applies_to: str = "inside"


# The ODV Quảng Ninh polygon covers the Đình Vũ peninsula (PROVENANCE.md, round 3); used when the
# region config has no [[province_overrides]] table at all.
DEFAULT_OVERRIDES = (
    ProvinceOverride(
        "manual_override_dinhvu_odv_defect", (106.70, 20.78, 106.82, 20.85), "31", "22", "inside"
    ),
    ProvinceOverride(
        "nearest_override_haiphong", (106.68, 20.66, 106.98, 20.90), "31", "", "outside"
    ),
)


@dataclass(frozen=True)
class Provinces:
    """Province layers of a region, all in EPSG:4326.

    Attributes
    ----------
    p63, p34
        One row per province: ``prov_code`` (2-digit str), ``prov_name``, ``region6_code``,
        ``key_econ_region_vi``; p63 also ``prov34_code``/``prov34_name``; p34 ``prov63_codes``
        (pipe-separated) and ``region6_code`` only when all members share one region.
    regions6
        ``region6_code``, ``region6_vi``, ``region6_en``, geometry.
    crosswalk
        ``prov63_code``, ``prov63_name``, ``prov34_code``, ``prov34_name``, ``region6_code``,
        ``key_econ_region_vi``.
    overrides
        Boundary-defect corrections applied by :func:`tag_provinces`.
    """

    p63: gpd.GeoDataFrame
    p34: gpd.GeoDataFrame
    regions6: gpd.GeoDataFrame
    crosswalk: pd.DataFrame
    overrides: tuple[ProvinceOverride, ...] = DEFAULT_OVERRIDES


def _code(values: pd.Series) -> pd.Series:
    """GSO codes as 2-digit strings whatever the source wrote (1, 1.0, '1', '01')."""
    text = values.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    return text.where(values.notna() & (text != ""), None).str.zfill(2)


def _read_layer(
    data_dir: Path, file: str, layer: str | None, *, required: tuple[str, ...] = ()
) -> gpd.GeoDataFrame:
    path = data_dir / file
    if not path.is_file():
        raise DataNotFoundError("province layer missing from the data folder", source=str(path))
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for corrupt files
        raise InputError(
            f"cannot read the province layer ({exc}); copy it again or rebuild the data folder",
            source=str(path),
        ) from None
    if gdf.crs is None:
        raise InputError("province layer has no CRS; declare EPSG:4326", source=str(path))
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise InputError(
            f"province layer lacks the column(s) {', '.join(missing)} (found: {', '.join(map(str, gdf.columns))}); "
            "use the layer of the data folder or rebuild it with python -m data.build_default",
            source=str(path),
        )
    return gdf.to_crs("EPSG:4326")


def province_overrides(config: RegionConfig) -> tuple[ProvinceOverride, ...]:
    """Read ``[[province_overrides]]`` from the region's TOML (defaults when the key is absent)."""
    raw = config_tables(config)
    if "province_overrides" not in raw:
        return DEFAULT_OVERRIDES
    out = []
    for i, o in enumerate(raw["province_overrides"], start=1):
        try:
            bbox = tuple(float(v) for v in o["bbox"])
            ov = ProvinceOverride(
                method=str(o["method"]),
                bbox=bbox,  # type: ignore[arg-type]
                to_code=str(o["to_code"]).zfill(2),
                from_code=str(o.get("from_code", "")).zfill(2) if o.get("from_code") else "",
                applies_to=str(o.get("applies_to", "inside")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"[[province_overrides]] entry {i}: {exc}", source=config.path
            ) from None
        if len(ov.bbox) != 4 or ov.applies_to not in ("inside", "outside"):
            raise ConfigError(
                f"[[province_overrides]] entry {i}: bbox needs 4 numbers and applies_to inside|outside",
                source=config.path,
            )
        out.append(ov)
    return tuple(out)


def load_provinces(data_dir: str | Path, config: RegionConfig) -> Provinces:
    """Load both province editions, the 6 regions and the crosswalk with normalised columns.

    Parameters
    ----------
    data_dir
        Data folder holding the files named in ``config.provinces``.
    config
        Region configuration.

    Returns
    -------
    Provinces

    Raises
    ------
    DataNotFoundError
        When a province file is missing.
    """
    d = Path(data_dir)
    names = config.provinces
    cw_path = d / names["crosswalk"]
    if not cw_path.is_file():
        raise DataNotFoundError("crosswalk missing from the data folder", source=str(cw_path))
    raw_cw = pd.read_csv(cw_path, dtype=str, encoding="utf-8-sig")
    need = ("old63_gso_code", "old63_name_vi", "new34_code", "new34_name_vi", "region6_code")
    if missing := [c for c in need if c not in raw_cw.columns]:
        raise InputError(
            f"crosswalk lacks the column(s) {', '.join(missing)} (found: "
            f"{', '.join(map(str, raw_cw.columns))}); use the crosswalk of the data folder",
            source=str(cw_path),
        )
    crosswalk = pd.DataFrame(
        {
            "prov63_code": _code(raw_cw["old63_gso_code"]),
            "prov63_name": raw_cw["old63_name_vi"],
            "prov34_code": _code(raw_cw["new34_code"]),
            "prov34_name": raw_cw["new34_name_vi"],
            "region6_code": raw_cw["region6_code"],
            "key_econ_region_vi": raw_cw.get("key_econ_region_vi"),
        }
    ).sort_values("prov63_code", ignore_index=True)

    g63 = _read_layer(d, names["file63"], names.get("layer63"), required=("gso_code", "name_vi"))
    p63 = gpd.GeoDataFrame(
        {
            "prov_code": _code(g63["gso_code"]),
            "prov_name": g63["name_vi"],
            "region6_code": g63["region6_code"],
            "key_econ_region_vi": g63.get("key_econ_region_vi"),
        },
        geometry=g63.geometry,
        crs="EPSG:4326",
    )
    p63 = p63.merge(
        crosswalk[["prov63_code", "prov34_code", "prov34_name"]],
        how="left",
        left_on="prov_code",
        right_on="prov63_code",
    )
    p63 = p63.drop(columns="prov63_code").sort_values("prov_code", ignore_index=True)
    missing = p63.loc[p63["prov34_code"].isna(), "prov_code"].tolist()
    if missing:
        log.warning("provinces %s are not in the crosswalk: no 34-province tag", missing)

    g34 = _read_layer(d, names["file34"], names.get("layer34"), required=("gso_code", "name_vi"))
    members = crosswalk.groupby("prov34_code")
    p34 = gpd.GeoDataFrame(
        {"prov_code": _code(g34["gso_code"]), "prov_name": g34["name_vi"]},
        geometry=g34.geometry,
        crs="EPSG:4326",
    )
    p34["prov63_codes"] = p34["prov_code"].map(
        members["prov63_code"].agg(lambda s: "|".join(sorted(s)))
    )
    regions = members["region6_code"].agg(lambda s: "|".join(sorted(set(s))))
    p34["region6_code"] = p34["prov_code"].map(
        regions.where(~regions.str.contains("|", regex=False))
    )
    p34["key_econ_region_vi"] = p34["prov_code"].map(
        members["key_econ_region_vi"].agg(lambda s: "|".join(sorted(set(s.dropna()))) or None)  # type: ignore[type-var]
    )
    p34 = p34.sort_values("prov_code", ignore_index=True)

    rpath = d / names.get("regions6_file", "")
    if names.get("regions6_file") and rpath.is_file():
        g6 = _read_layer(d, names["regions6_file"], names.get("regions6_layer"))
        keep = [c for c in ("region6_code", "region6_vi", "region6_en") if c in g6]
        regions6 = gpd.GeoDataFrame(g6[keep], geometry=g6.geometry, crs="EPSG:4326")
    else:
        regions6 = p63.dissolve("region6_code", as_index=False)[["region6_code", "geometry"]]
    regions6 = regions6.sort_values("region6_code", ignore_index=True)
    return Provinces(
        p63=p63,
        p34=p34,
        regions6=regions6,
        crosswalk=crosswalk,
        overrides=province_overrides(config),
    )


def tag_provinces(
    points_gdf: gpd.GeoDataFrame,
    provinces: Provinces,
    *,
    metric_crs: str,
    tolerance_m: float,
) -> gpd.GeoDataFrame:
    """Tag points with their province in both editions and their region.

    Parameters
    ----------
    points_gdf
        Points in any CRS (not modified).
    provinces
        From :func:`load_provinces`.
    metric_crs
        Metric CRS in which containment and distances are computed (e.g. EPSG:3405).
    tolerance_m
        Points outside every polygon take the nearest province within this distance in metres
        (coastal ports, border posts on a coarse boundary).

    Returns
    -------
    GeoDataFrame
        A copy with ``prov63_code``, ``prov63_name``, ``prov34_code``, ``prov34_name``,
        ``region6_code``, ``prov_method`` (``point_in_polygon``, ``nearest_within_<tol>m``, an
        override's method, or ``outside``) and ``prov_dist_m`` (0 inside). For ``outside`` rows
        the codes are those of the nearest province, for the caller's message; they are not a tag.
    """
    pts = points_gdf.reset_index(drop=True)
    geom = gpd.GeoDataFrame(geometry=pts.geometry.to_crs(metric_crs).to_numpy(), crs=metric_crs)
    polys = provinces.p63[["prov_code", "geometry"]].to_crs(metric_crs)
    inside = gpd.sjoin(geom, polys, how="left", predicate="within")
    # A point on a shared boundary matches two polygons: keep the lowest code, deterministically.
    inside = (
        inside.sort_values("prov_code")
        .loc[lambda f: ~f.index.duplicated(keep="first")]
        .sort_index()
    )
    code = inside["prov_code"].reindex(geom.index)
    method = pd.Series(
        np.where(code.notna(), "point_in_polygon", ""), index=geom.index, dtype=object
    )
    dist = pd.Series(np.where(code.notna(), 0.0, np.nan), index=geom.index)
    todo = code.isna()
    if todo.any():
        near = gpd.sjoin_nearest(geom.loc[todo], polys, how="left", distance_col="d")
        near = near.sort_values(["d", "prov_code"]).loc[lambda f: ~f.index.duplicated(keep="first")]
        code.loc[near.index] = near["prov_code"]
        dist.loc[near.index] = near["d"].to_numpy()
        ok = near["d"] <= tolerance_m
        method.loc[near.index] = np.where(ok, f"nearest_within_{tolerance_m:g}m", "outside")
    lon = pts.geometry.to_crs("EPSG:4326").x
    lat = pts.geometry.to_crs("EPSG:4326").y
    for ov in provinces.overrides:
        in_box = (
            (lon >= ov.bbox[0]) & (lon <= ov.bbox[2]) & (lat >= ov.bbox[1]) & (lat <= ov.bbox[3])
        )
        if ov.applies_to == "inside":
            hit = in_box & (method == "point_in_polygon")
            if ov.from_code:
                hit &= code == ov.from_code
        else:
            hit = in_box & method.str.startswith("nearest_within")
        code = code.mask(hit, ov.to_code)
        method = method.mask(hit, ov.method)
    info = provinces.p63.set_index("prov_code")
    out = points_gdf.copy().reset_index(drop=True)
    out["prov63_code"] = code.to_numpy()
    out["prov63_name"] = code.map(info["prov_name"]).to_numpy()
    out["prov34_code"] = code.map(info["prov34_code"]).to_numpy()
    out["prov34_name"] = code.map(info["prov34_name"]).to_numpy()
    out["region6_code"] = code.map(info["region6_code"]).to_numpy()
    out["prov_method"] = method.to_numpy()
    out["prov_dist_m"] = dist.round(1).to_numpy()
    out.index = points_gdf.index
    return out
