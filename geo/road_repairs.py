"""Repairs of a routable road network: fragments joined to the main network, one-way dead ends.

The generalised road layers (OSM trunk layer simplified at 100 m, ODV national layer) leave two
kinds of hole that the gap joins of :mod:`geo.topology` cannot close:

* **fragments**: pieces of road (a city's ring road, an airport access road) whose link to the
  rest is a lower-class road the layer does not hold, often kilometres long. A fragment is joined
  to the main network by the **shortest connector** between the two (a straight two-way
  ``connector`` edge at the connector speed, standing for the missing local road), when that
  connector is at most ``max_connector_m`` long. Fragments on real islands without a bridge
  (:class:`Island`) keep their own network and are never joined;
* **one-way dead ends**: a one-way edge that leads into (or out of) a part of the network from
  which there is no way back. In a complete network every one-way street lies on a cycle; in the
  generalised layer the opposite carriageway or the return street is missing. Rule: within the
  main (weakly connected) network, every one-way edge with an end outside the largest strongly
  connected component is made two-way. After that the main network is strongly connected.

Between the two, **missing links** (:mod:`geo.road_links`): a road end within a short gap of a
road it reaches only by a long detour is joined to it.

The **main network** is the largest strongly connected component. Every repair is a row of
:attr:`Repairs.table` (geometry in the metric CRS, ``length_m``, ``kind``), and every edge of the
repaired network carries ``repair_id`` (the repair that reconnected it, -1 for none), so that the
analysis can count the facilities and people that each repair reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.edge_split import split_edges
from geo.ferries import Ferry, add_ferries_labelled
from geo.road_links import add_links, missing_links, split_false_junctions
from geo.road_oneway import mend_long_way_back
from geo.topology import label_components

logger = logging.getLogger(__name__)

KIND_FRAGMENT = "fragment_connector"
KIND_ONEWAY = "oneway_dead_end"
REPAIR_COLUMNS = ("repair_id", "kind", "length_m", "component_km", "note")


@dataclass(frozen=True)
class Island:
    """An island without a road bridge to the mainland: its roads keep their own network.

    Attributes
    ----------
    name
        Island name.
    bbox
        (min_lon, min_lat, max_lon, max_lat) that holds the island's roads and no mainland road.
    source
        Where the absence of a bridge is stated (URL or document).
    """

    name: str
    bbox: tuple[float, float, float, float]
    source: str


@dataclass(frozen=True)
class Repairs:
    """The repaired network's edges and nodes, and the list of repairs.

    Attributes
    ----------
    node_xy
        Node coordinates (metric), including nodes inserted where connectors meet edges.
    edges
        The edge table of :class:`geo.roads.RoadNetwork` plus ``repair_id``.
    table
        GeoDataFrame (metric CRS): ``repair_id``, ``kind``, ``length_m``, ``component_km`` (length
        of the fragment or edge reconnected), ``note``; geometry of the connector or mended edge.
    report
        Counts: ``repairs``, ``km`` and ``by_kind``; ``islands`` kept apart (with their source);
        ``fragments_not_joined`` (farther than the maximum), ``largest_scc_share`` before/after.
    """

    node_xy: np.ndarray
    edges: gpd.GeoDataFrame
    table: gpd.GeoDataFrame
    report: dict[str, Any]


def _scc_main(edges: gpd.GeoDataFrame, n_nodes: int) -> tuple[np.ndarray, float]:
    """Boolean per node: in the largest strongly connected component (by road length)."""
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    two = ~edges["oneway"].to_numpy(bool)
    rows, cols = np.concatenate([u, v[two]]), np.concatenate([v, u[two]])
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n_nodes, n_nodes))
    n, label = connected_components(graph.tocsr(), directed=True, connection="strong")
    length = edges["length_m"].to_numpy()
    inside = label[u] == label[v]
    comp_len = np.bincount(label[u][inside], weights=length[inside], minlength=n)
    main = int(np.argmax(comp_len))
    total = float(length.sum())
    return label == main, (float(comp_len[main]) / total if total > 0 else 0.0)


def _island_of(points_ll: np.ndarray, islands: Sequence[Island]) -> np.ndarray:
    """Index of the island whose bbox holds each lon/lat point, -1 for none."""
    out = np.full(len(points_ll), -1)
    for k, isl in enumerate(islands):  # a handful of islands
        x0, y0, x1, y1 = isl.bbox
        inside = (
            (points_ll[:, 0] >= x0)
            & (points_ll[:, 0] <= x1)
            & (points_ll[:, 1] >= y0)
            & (points_ll[:, 1] <= y1)
        )
        out[inside & (out < 0)] = k
    return out


def _join_fragments(
    edges: gpd.GeoDataFrame,
    node_xy: np.ndarray,
    *,
    crs: str,
    islands: Sequence[Island],
    max_connector_m: float,
    connector_speed_kmh: float,
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict[str, Any]], dict[str, Any]]:
    """Join every fragment (component > 0) off an island to component 0 by its shortest connector."""
    comp = edges["component"].to_numpy()
    geoms = np.asarray(edges.geometry.array, dtype=object)
    main_idx = np.flatnonzero(comp == 0)
    frag_idx = np.flatnonzero(comp > 0)
    info: dict[str, Any] = {"islands": {}, "fragments_not_joined": []}
    if len(frag_idx) == 0:
        return edges, node_xy, [], info
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    mid = shapely.get_coordinates(
        shapely.line_interpolate_point(geoms[frag_idx], 0.5, normalized=True)
    )
    lon, lat = to_ll.transform(mid[:, 0], mid[:, 1])
    isl = _island_of(np.column_stack([lon, lat]), islands)
    tree = shapely.STRtree(geoms[main_idx])
    (fi, mi), dist = tree.query_nearest(
        geoms[frag_idx], max_distance=max_connector_m, return_distance=True, all_matches=False
    )
    best_d = np.full(len(frag_idx), np.inf)
    best_m = np.full(len(frag_idx), -1)
    best_d[fi], best_m[fi] = dist, main_idx[mi]
    frame = pd.DataFrame(
        {"edge": frag_idx, "comp": comp[frag_idx], "d": best_d, "m": best_m, "isl": isl}
    )
    comp_km = edges.groupby("component")["length_m"].sum() / 1000.0
    repairs: list[dict[str, Any]] = []
    cuts: list[tuple[int, shapely.Point]] = []
    for c_key, g in frame.groupby("comp", sort=True):  # one iteration per fragment (~a hundred)
        c = int(g["comp"].to_numpy()[0])
        on_island = int(g["isl"].to_numpy().max())
        km = float(comp_km.loc[c_key])
        if on_island >= 0:
            isl_name = islands[int(on_island)].name
            entry = info["islands"].setdefault(
                isl_name, {"fragments": 0, "km": 0.0, "source": islands[int(on_island)].source}
            )
            entry["fragments"] += 1
            entry["km"] = round(entry["km"] + km, 3)
            continue
        k_best = int(np.argmin(g["d"].to_numpy()))
        r_edge, r_main = int(g["edge"].to_numpy()[k_best]), int(g["m"].to_numpy()[k_best])
        if not np.isfinite(g["d"].to_numpy()[k_best]):
            x, y = to_ll.transform(*shapely.get_coordinates(geoms[r_edge])[0])
            info["fragments_not_joined"].append(
                {"component": c, "km": round(km, 3), "lon": round(x, 5), "lat": round(y, 5)}
            )
            continue
        a, b = shapely.get_coordinates(shapely.shortest_line(geoms[r_edge], geoms[r_main]))
        cuts += [(r_edge, shapely.Point(a)), (r_main, shapely.Point(b))]
        repairs.append(
            {
                "kind": KIND_FRAGMENT,
                "component": c,
                "component_km": round(km, 3),
                "a": a,
                "b": b,
                "note": f"fragment of {km:.1f} km joined to the main network",
            }
        )
    edges, node_xy, node_of_cut = split_edges(edges, node_xy, cuts)
    conn_rows = []
    for k, rep in enumerate(repairs):
        na, nb = node_of_cut[2 * k], node_of_cut[2 * k + 1]
        line = shapely.LineString([node_xy[na], node_xy[nb]])
        rep["geometry"], rep["length_m"] = line, float(line.length)
        conn_rows.append(
            {
                "u": na,
                "v": nb,
                "length_m": max(float(line.length), 0.01),
                "speed_kmh": float(connector_speed_kmh),
                "oneway": False,
                "road_class": "connector",
                "edge_kind": "connector",
                "status": "repair",
                "name": None,
                "component": rep["component"],
                "geometry": line,
            }
        )
    if conn_rows:
        edges = gpd.GeoDataFrame(
            pd.concat([edges, gpd.GeoDataFrame(conn_rows, crs=edges.crs)], ignore_index=True),
            crs=edges.crs,
        )
    return edges, node_xy, repairs, info


def _mend_oneway(
    edges: gpd.GeoDataFrame, n_nodes: int
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Make two-way every one-way edge of component 0 with an end outside the largest SCC."""
    in_scc, _ = _scc_main(edges, n_nodes)
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    ow = edges["oneway"].to_numpy(bool)
    mend = ow & (edges["component"].to_numpy() == 0) & ~(in_scc[u] & in_scc[v])
    idx = np.flatnonzero(mend)
    geoms = np.asarray(edges.geometry.array, dtype=object)
    repairs = [
        {
            "kind": KIND_ONEWAY,
            "edge": int(e),
            "component_km": round(float(edges["length_m"].iat[e]) / 1000.0, 3),
            "geometry": geoms[e],
            "length_m": float(edges["length_m"].iat[e]),
            "note": f"one-way {edges['road_class'].iat[e]} edge with no way back, made two-way",
        }
        for e in idx
    ]
    edges = edges.copy()
    edges.loc[edges.index[idx], "oneway"] = False
    return edges, repairs


def repair_network(  # noqa: PLR0913 (keyword options of a network repair)
    node_xy: np.ndarray,
    edges: gpd.GeoDataFrame,
    *,
    crs: str,
    islands: Sequence[Island] = (),
    max_connector_m: float = 5000.0,
    connector_speed_kmh: float = 20.0,
    link_radius_m: float = 300.0,
    link_detour_m: float = 5000.0,
    ferries: Sequence[Ferry] = (),
    no_junctions: Sequence[dict[str, Any]] = (),
    oneway_detour_m: float = 0.0,
) -> Repairs:
    """Join fragments to the main network and mend one-way dead ends (see the module docstring).

    Parameters
    ----------
    node_xy, edges
        A labelled network (``component`` 0 = longest, as :func:`geo.topology.label_components`).
    crs
        The metric CRS of both.
    islands
        Islands without a bridge: fragments whose roads lie in their bbox are never joined.
    max_connector_m
        Longest connector that joins a fragment; farther fragments are listed, not joined.
    connector_speed_kmh
        Speed of the connectors (the class of the missing local road is not known).
    link_radius_m, link_detour_m
        Missing links: a line end within ``link_radius_m`` of a road that it reaches only over
        more than ``link_detour_m`` of network is joined to it (0 radius: none).
    ferries
        Car ferries (:mod:`geo.ferries`), added first: a fragment that a ferry reaches is then
        part of the main network, and the people and facilities on it count for the ferry.
    no_junctions
        Crossings where one road passes over another without a junction
        (:func:`geo.road_links.split_false_junctions`), undone before anything else.
    oneway_detour_m
        One-way edges (not expressways or ramps) whose way back is more than this longer than
        themselves are made two-way (:mod:`geo.road_oneway`), after the dead ends; 0: none.

    Returns
    -------
    Repairs
    """
    n0 = len(node_xy)
    _, share_before = _scc_main(edges, n0)
    edges, node_xy, nj_rows = split_false_junctions(
        edges.reset_index(drop=True), node_xy, list(no_junctions), crs=crs
    )
    if nj_rows:
        edges, _ = label_components(edges, len(node_xy))
    edges, node_xy, ferry_rows, ferry_info = add_ferries_labelled(
        edges.reset_index(drop=True), node_xy, ferries, crs, connector_speed_kmh
    )
    ferry_rows = [*nj_rows, *ferry_rows]
    edges, node_xy, frag, info = _join_fragments(
        edges,
        node_xy,
        crs=crs,
        islands=islands,
        max_connector_m=max_connector_m,
        connector_speed_kmh=connector_speed_kmh,
    )
    # Relabelling renumbers the components: keep each edge's fragment for the repair ids.
    edges["_old_component"] = edges["component"].to_numpy()
    edges, _ = label_components(edges, len(node_xy))
    links = missing_links(edges, node_xy, radius_m=link_radius_m, detour_m=link_detour_m)
    edges, node_xy, link_rows = add_links(
        edges, node_xy, links, connector_speed_kmh=connector_speed_kmh
    )
    edges, ow = _mend_oneway(edges, len(node_xy))
    edges, ow_far = mend_long_way_back(edges, len(node_xy), detour_m=oneway_detour_m)
    ow = [*ow, *ow_far]
    n_f = len(ferry_rows)
    frag_of_comp = {rep["component"]: n_f + k for k, rep in enumerate(frag)}
    old = edges["_old_component"].to_numpy()
    repair_id = np.array([frag_of_comp.get(int(c), -1) for c in old], dtype=np.int64)
    ferry_of = edges["_ferry_id"].fillna(-1).to_numpy(np.int64)
    repair_id = np.where(ferry_of >= 0, ferry_of + len(nj_rows), repair_id)
    n_conn = n_f + len(frag) + len(link_rows)
    for k, rep in enumerate(ow):
        repair_id[rep["edge"]] = n_conn + k
    # The link connectors are the last rows (appended after the cut pieces).
    n_links = len(link_rows)
    if n_links:
        repair_id[len(edges) - n_links :] = n_f + len(frag) + np.arange(n_links)
    rows = [*ferry_rows, *frag, *link_rows, *ow]
    table = gpd.GeoDataFrame(
        {
            "repair_id": np.arange(len(rows), dtype=np.int64),
            "kind": [r["kind"] for r in rows],
            "length_m": np.round([r["length_m"] for r in rows], 1),
            "component_km": [r["component_km"] for r in rows],
            "note": [r["note"] for r in rows],
        },
        geometry=[r["geometry"] for r in rows],
        crs=edges.crs,
    )
    edges = edges.assign(repair_id=repair_id).drop(
        columns=["_old_component", "_ferry_id"], errors="ignore"
    )
    _, share_after = _scc_main(edges, len(node_xy))
    by_kind = table.groupby("kind")["length_m"].agg(["size", "sum"])
    report = {
        "repairs": len(table),
        "km": round(float(table["length_m"].sum()) / 1000.0, 3),
        "by_kind": {
            str(k): {"count": int(r["size"]), "km": round(float(r["sum"]) / 1000.0, 3)}
            for k, r in by_kind.iterrows()
        },
        "max_connector_m": float(max_connector_m),
        "largest_scc_share_before": round(share_before, 6),
        "largest_scc_share_after": round(share_after, 6),
        **info,
        **ferry_info,
    }
    logger.info(
        "road repairs: %d fragments joined, %d one-way dead ends and %d long ways back mended; "
        "largest strongly connected share %.1f%% -> %.1f%%",
        len(frag),
        len(ow) - len(ow_far),
        len(ow_far),
        100 * share_before,
        100 * share_after,
    )
    return Repairs(node_xy, edges, table, report)


def apply_repairs(network: Any, **options: Any) -> Any:
    """A :class:`geo.roads.RoadNetwork` repaired by :func:`repair_network` (report extended)."""
    rep = repair_network(network.node_xy, network.edges, crs=network.crs, **options)
    edges, comp_report = label_components(rep.edges, len(rep.node_xy))
    report = {**network.report, **comp_report, "road_repairs": rep.report}
    return replace(network, node_xy=rep.node_xy, edges=edges, report=report, repairs=rep.table)


def repairs_table(
    network: Any, facilities: gpd.GeoDataFrame, *, max_m: float | None = None
) -> pd.DataFrame:
    """The network's repairs with the facilities whose nearest road each one reconnected.

    For ``cli.py check`` (no population there: the run's ``road_repairs`` layer adds the people).
    Columns: ``repair_id``, ``kind``, ``length_m``, ``component_km``, ``facilities_reconnected``
    (names, ``; ``-joined; a facility farther than ``max_m`` from every road counts for none),
    ``lon``, ``lat`` (the repair's first point), ``note``.
    """
    rep = getattr(network, "repairs", None)
    cols = ["repair_id", "kind", "length_m", "component_km", "facilities_reconnected", "note"]
    if rep is None or len(rep) == 0:
        return pd.DataFrame(columns=[*cols, "lon", "lat"])
    edges = network.edges
    pts = gpd.GeoDataFrame(facilities[["name"]], geometry=facilities.geometry.to_crs(network.crs))
    near = gpd.sjoin_nearest(
        pts, edges[["geometry"]].assign(rid=edges["repair_id"]), how="inner", max_distance=max_m
    )
    near = near.loc[~near.index.duplicated(keep="first")]
    names = (
        near.loc[near["rid"] >= 0]
        .groupby("rid")["name"]
        .agg(lambda s: "; ".join(sorted(map(str, s))))
    )
    out = pd.DataFrame(rep.drop(columns="geometry"))
    out["facilities_reconnected"] = out["repair_id"].map(names).fillna("")
    first = shapely.get_coordinates(
        gpd.GeoSeries(shapely.line_interpolate_point(rep.geometry.to_numpy(), 0.0), crs=rep.crs)
        .to_crs("EPSG:4326")
        .to_numpy()
    )
    out["lon"], out["lat"] = first[:, 0].round(5), first[:, 1].round(5)
    return out[[*cols, "lon", "lat"]]
