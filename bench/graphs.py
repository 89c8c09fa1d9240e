"""Benchmark graphs: a real OSM network replicated (tiled) into larger ones.

The base is the São Paulo extract in ``../shared/data/bench`` read with our own reader
(``geo.roads.network_from_pbf``). Copies are joined to their 4 neighbours by 25 two-way
connector roads per shared border (as ``../shared/bench/build_graphs.py``). Two layouts:

- ``tile_grid``: rows x cols copies at the original scale (the harness's sp_tiled graphs);
- ``tile_over_cells``: one copy, scaled to a square tile, on every tile of a grid laid over a
  set of points (the land cells of the Vietnam demand grid), so the replicated graph covers
  the country's real shape and catchments of real drive times cover realistic areas.

Replicated graphs are NOT new data: they repeat one real city's street pattern.
Edges carry straight LineStrings u -> v (enough for snapping) and the copy's real length.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.roads import RoadNetwork

SAO_PAULO_PBF = "/work/shared/data/bench/sao_paulo.osm.pbf"
SAO_PAULO_CRS = "EPSG:31983"  # SIRGAS 2000 / UTM 23S
CONNECTORS = 25
CONNECTOR_KMH = 50.0


@dataclass(frozen=True)
class Base:
    """The base network's arrays (edge rows, not directed arcs)."""

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    speed_kmh: np.ndarray
    oneway: np.ndarray

    @property
    def arcs(self) -> int:
        return int(self.u.size + (~self.oneway).sum())


def load_base(pbf: str = SAO_PAULO_PBF) -> Base:
    from geo.config import load_region_config
    from geo.roads import network_from_pbf

    cfg = load_region_config(region="vietnam")
    net = network_from_pbf(pbf, metric_crs=SAO_PAULO_CRS, speed_kmh=cfg.roads.speed_kmh)
    e = net.edges
    return Base(
        xy=np.asarray(net.node_xy, float),
        u=e["u"].to_numpy(np.int64),
        v=e["v"].to_numpy(np.int64),
        length_m=e["length_m"].to_numpy(float),
        speed_kmh=e["speed_kmh"].to_numpy(float),
        oneway=e["oneway"].to_numpy(bool),
    )


def _border_nodes(xy: np.ndarray) -> dict[str, np.ndarray]:
    x, y = xy[:, 0], xy[:, 1]

    def pick(cands: np.ndarray, key: np.ndarray) -> np.ndarray:
        c = cands[np.argsort(key[cands])]
        return c[np.linspace(0, len(c) - 1, CONNECTORS).astype(int)]

    k = CONNECTORS * 4
    return {
        "east": pick(np.argsort(-x)[:k], y),
        "west": pick(np.argsort(x)[:k], y),
        "north": pick(np.argsort(-y)[:k], x),
        "south": pick(np.argsort(y)[:k], x),
    }


def tile(
    base: Base, ij: np.ndarray, *, tile_m: float, origin: tuple[float, float], crs: str
) -> RoadNetwork:
    """Place one copy of ``base`` (scaled to fit ``tile_m``) on every tile (i = column, j = row)."""
    ij = np.asarray(ij, np.int64)
    lo = base.xy.min(0)
    ext = float((base.xy.max(0) - lo).max())
    scale = tile_m / (ext * 1.02)
    local = (base.xy - lo) * scale
    n, _m, t = base.xy.shape[0], base.u.size, ij.shape[0]
    off = np.arange(t) * n
    xy = (local[None, :, :] + (np.asarray(origin) + ij * tile_m)[:, None, :]).reshape(-1, 2)
    u = (base.u[None, :] + off[:, None]).ravel()
    v = (base.v[None, :] + off[:, None]).ravel()
    length = np.tile(base.length_m * scale, t)
    speed = np.tile(base.speed_kmh, t)
    oneway = np.tile(base.oneway, t)
    kind = np.full(u.size, "road", dtype=object)
    # connectors between 4-neighbour tiles that are both present
    pos = {(int(a), int(b)): k for k, (a, b) in enumerate(ij)}
    bn = _border_nodes(local)
    cu, cv = [], []
    for k, (a, b) in enumerate(ij):
        right = pos.get((int(a) + 1, int(b)))
        up = pos.get((int(a), int(b) + 1))
        if right is not None:
            cu.append(bn["east"] + off[k])
            cv.append(bn["west"] + off[right])
        if up is not None:
            cu.append(bn["north"] + off[k])
            cv.append(bn["south"] + off[up])
    if cu:
        cu_a, cv_a = np.concatenate(cu), np.concatenate(cv)
        cl = np.hypot(*(xy[cu_a] - xy[cv_a]).T) + 1.0
        u = np.concatenate([u, cu_a])
        v = np.concatenate([v, cv_a])
        length = np.concatenate([length, cl])
        speed = np.concatenate([speed, np.full(cl.size, CONNECTOR_KMH)])
        oneway = np.concatenate([oneway, np.zeros(cl.size, bool)])
        kind = np.concatenate([kind, np.full(cl.size, "connector", dtype=object)])
    geom = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    edges = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "u": u,
                "v": v,
                "length_m": length,
                "speed_kmh": speed,
                "oneway": oneway,
                "edge_kind": kind,
            }
        ),
        geometry=geom,
        crs=crs,
    )
    report = {"replicated": f"{t} copies of {SAO_PAULO_PBF.rsplit('/', 1)[-1]} scaled x{scale:.3f}"}
    return RoadNetwork(
        crs=crs, node_xy=xy, edges=edges, report=report, source="REPLICATED real graph"
    )


def tile_grid(base: Base, *, target_arcs: int) -> RoadNetwork:
    """rows x cols copies at the original scale, at least ``target_arcs`` directed arcs."""
    copies = int(np.ceil(target_arcs / base.arcs))
    cols = int(np.ceil(np.sqrt(copies)))
    rows = int(np.ceil(copies / cols))
    ij = np.array([(c, r) for r in range(rows) for c in range(cols)])[:copies]
    ext = float((base.xy.max(0) - base.xy.min(0)).max()) * 1.02
    return tile(base, ij, tile_m=ext, origin=(0.0, 0.0), crs=SAO_PAULO_CRS)


def tile_over_cells(base: Base, cells_xy: np.ndarray, *, target_arcs: int, crs: str) -> RoadNetwork:
    """Copies on the tiles of a square grid that contain at least one of ``cells_xy``; the tile
    size is chosen so the total is about ``target_arcs`` directed arcs."""
    lo = cells_xy.min(0)

    def tiles(s: float) -> np.ndarray:
        ij = np.floor((cells_xy - lo) / s).astype(np.int64)
        key = np.unique(ij[:, 0] * 1_000_000 + ij[:, 1])
        return np.column_stack([key // 1_000_000, key % 1_000_000])

    a, b = 2_000.0, 400_000.0  # tile side in metres: more tiles when smaller
    want = target_arcs / base.arcs
    for _ in range(25):
        mid = (a + b) / 2
        if tiles(mid).shape[0] > want:
            a = mid
        else:
            b = mid
    s = b
    return tile(base, tiles(s), tile_m=s, origin=(float(lo[0]), float(lo[1])), crs=crs)
