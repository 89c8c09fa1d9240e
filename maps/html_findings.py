"""The findings panel of map.html: the flagged facilities, ranked, filterable, a click away.

Facilities with the joint redundancy verdict (``verdict``) come first, by ``severity`` (larger =
more redundant) across types, ties by ``verdict_rank`` (which is ranked within a type, so within
one type the order is the verdict's rank); below them, apart, the facilities that carry only the
descriptive overlap flag (``overlap_flag``), by severity. The page numbers the rows it shows. Each row is plain data
(:func:`findings_records`); the page builds the rows with ``textContent`` (never ``innerHTML``),
so a name from data is text whatever it holds, and the filters (type, province, search) and the
map's view are read from and written to the URL fragment (``#z=9&lat=21.0&lon=105.8&type=...``,
see ``maps.html_ui``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from maps import html_layers as hl


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _text(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x)


def _key(rec: Mapping[str, Any]) -> tuple[int, float, float, str, str]:
    sev = -rec["s"] if rec["s"] is not None else math.inf
    rank = rec["r"] if rec["r"] is not None else math.inf
    return (0 if rec["v"] else 1, sev, rank, rec["n"], rec["id"])


def findings_records(fac: gpd.GeoDataFrame, *, edition: Any) -> list[dict[str, Any]]:
    """The rows of the findings panel: verdict first, then overlap-only, each by severity.

    Parameters
    ----------
    fac : GeoDataFrame
        The facilities layer in EPSG:4326 with ``facility_id``, ``name``, ``type`` and
        ``verdict`` (or, from older runs, ``flag``); optional ``overlap_flag``, ``severity``,
        ``verdict_rank``, ``flag_robustness``/``overlap_robustness`` and ``prov<edition>_code``
        / ``_name``.
    edition : int or str
        The province edition whose names are shown.

    Returns
    -------
    list of dict
        Keys ``id``, ``n`` (name), ``t`` (type), ``pc``/``p`` (province code/name), ``s``
        (severity or None), ``r`` (verdict rank or None), ``v`` (1 verdict, 0 overlap only),
        ``rob`` (robust/fragile), ``lat``/``lon`` (5 decimals). Text is raw: the page inserts it
        as text, never as HTML.
    """
    if fac.empty or "type" not in fac.columns:
        return []
    verdict_col = "verdict" if "verdict" in fac.columns else "flag"
    if verdict_col not in fac.columns:
        return []
    verdict = fac[verdict_col].fillna(False).astype(bool).to_numpy()
    overlap = (
        fac["overlap_flag"].fillna(False).astype(bool).to_numpy()
        if "overlap_flag" in fac.columns
        else np.zeros(len(fac), dtype=bool)
    )
    keep = verdict | overlap
    sub = fac[keep]
    geoms = np.asarray(sub.geometry.values, dtype=object)
    pts = np.where(shapely.get_type_id(geoms) != 0, shapely.point_on_surface(geoms), geoms)
    out = []
    for row, is_v, pt in zip(hl.records(sub), verdict[keep], pts, strict=True):
        sev, rank = _num(row.get("severity")), _num(row.get("verdict_rank"))
        rob = row.get("flag_robustness") if is_v else row.get("overlap_robustness")
        out.append(
            {
                "id": _text(row.get("facility_id")),
                "n": _text(row.get("name")),
                "t": _text(row.get("type")),
                "pc": _text(row.get(f"prov{edition}_code", row.get("prov_code"))),
                "p": _text(row.get(f"prov{edition}_name", row.get("prov_name"))),
                "s": round(sev, 4) if math.isfinite(sev) else None,
                "r": int(rank) if is_v and math.isfinite(rank) and rank > 0 else None,
                "v": 1 if is_v else 0,
                "rob": _text(rob),
                "lat": round(float(pt.y), hl.COORD_DECIMALS),
                "lon": round(float(pt.x), hl.COORD_DECIMALS),
            }
        )
    out.sort(key=_key)
    return out


def type_names(types: Mapping[str, Any], present: Sequence[str]) -> dict[str, list[str]]:
    """``{type: [label_vi, label_en]}`` as plain text, for the type filter's options."""
    out = {}
    for t in present:
        spec = types.get(t) or {}
        fallback = t.replace("_", " ")
        out[t] = [
            str(spec.get("label_vi", fallback)),
            str(spec.get("label_en", fallback.capitalize())),
        ]
    return out
