"""Data-quality measures of the road layer and network: distance from each facility to the
nearest road, length by class against the expectation, the raw layer's classes and missing
``maxspeed``, and the network's components and repairs.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geo.roads import RoadNetwork


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
