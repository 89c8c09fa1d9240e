"""Coordinates from text: decimal degrees, decimal commas, degrees-minutes-seconds, and why a
lon/lat pair is not usable (missing, swapped, outside the region)."""

from __future__ import annotations

import numpy as np
import pandas as pd

_DMS = (
    r"^\s*(?P<h1>[NSEWnsew])?\s*(?P<d>\d+(?:[.,]\d+)?)\s*(?:°|º|d|\s)\s*"
    r"(?:(?P<m>\d+(?:[.,]\d+)?)\s*(?:'|′|’|m)?\s*)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)\s*(?:\"|″|”|''|s)?\s*)?(?P<h2>[NSEWnsew])?\s*$"
)


def parse_coordinates(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse coordinate text into decimal degrees.

    Parameters
    ----------
    values
        Numbers or text: ``105.8``, ``105,8`` (decimal comma), ``21°13'17"N`` (degrees, minutes,
        seconds with an optional hemisphere letter before or after).

    Returns
    -------
    (values, how, hemisphere)
        Float degrees (NaN where unparseable), how each was parsed (``number``,
        ``decimal_comma``, ``dms``, ``""``), and the hemisphere letter found (upper case or "").
    """
    text = values.astype(str).str.strip().where(values.notna(), "")
    number = pd.to_numeric(text, errors="coerce")
    how = pd.Series(np.where(number.notna(), "number", ""), index=values.index, dtype=object)
    comma = text.str.fullmatch(r"[-+]?\d+,\d+")
    comma_value = pd.to_numeric(
        text.where(comma).str.replace(",", ".", regex=False), errors="coerce"
    )
    number = number.where(number.notna(), comma_value)
    how = how.where(~(comma & comma_value.notna()), "decimal_comma")
    parts = text.where(number.isna(), "").str.extract(_DMS)
    dms = parts["d"].notna()
    num = {
        k: pd.to_numeric(parts[k].str.replace(",", ".", regex=False), errors="coerce").fillna(0.0)
        for k in ("d", "m", "s")
    }
    ok = (
        dms
        & (num["m"] < 60)
        & (num["s"] < 60)
        & (parts["m"].notna() | parts["h1"].notna() | parts["h2"].notna())
    )
    hemi = parts["h1"].fillna(parts["h2"]).fillna("").str.upper()
    dms_value = (num["d"] + num["m"] / 60 + num["s"] / 3600) * np.where(
        hemi.isin(["S", "W"]), -1.0, 1.0
    )
    number = number.where(~ok, dms_value)
    how = how.where(~ok, "dms")
    return number.astype(float), how, hemi.where(ok, "")


def classify_coordinates(
    lon: pd.Series, lat: pd.Series, bbox: tuple[float, float, float, float] | None
) -> pd.Series:
    """Reason each lon/lat pair is unusable ("" when usable), vectorised.

    Order of checks: projected values (|x| or |y| > 180), swapped (|lat| > 90 with a valid
    longitude, or outside ``bbox`` while the swap is inside), out of range, 0,0, outside ``bbox``.
    """
    reason = pd.Series("", index=lon.index, dtype=object)

    def inside(x: pd.Series, y: pd.Series) -> pd.Series:
        if bbox is None:
            return pd.Series(True, index=x.index)
        return (x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])

    projected = (lon.abs() > 180) | (lat.abs() > 180)
    swapped = ~projected & (
        ((lat.abs() > 90) & (lon.abs() <= 90)) | (~inside(lon, lat) & inside(lat, lon))
    )
    out_of_range = ~projected & ~swapped & ((lat.abs() > 90) | (lon.abs() > 180))
    zero = (lon == 0) & (lat == 0)
    outside = ~inside(lon, lat)
    box = "" if bbox is None else f" [{bbox[0]:g}, {bbox[1]:g}, {bbox[2]:g}, {bbox[3]:g}]"
    reason = reason.mask(
        outside, f"outside the region's bounding box{box} (lon {{lon}}, lat {{lat}})"
    )
    reason = reason.mask(zero, "coordinates are 0,0: a missing location written as zeros")
    reason = reason.mask(out_of_range, "latitude must lie within ±90 and longitude within ±180")
    reason = reason.mask(
        swapped, "latitude and longitude look swapped; put longitude in the lon column"
    )
    reason = reason.mask(
        projected,
        "values look projected (metres, e.g. VN-2000 or UTM), not degrees; convert to EPSG:4326 "
        "longitude/latitude, or give the file as a layer with its CRS declared",
    )
    fmt = reason.str.contains("{lon}", regex=False)
    if fmt.any():
        reason.loc[fmt] = [  # type: ignore[call-overload]
            r.replace("{lon}", f"{x:g}").replace("{lat}", f"{y:g}")
            for r, x, y in zip(reason[fmt], lon[fmt], lat[fmt], strict=True)
        ]
    return reason
