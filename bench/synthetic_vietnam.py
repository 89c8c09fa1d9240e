"""Synthetic Viet Nam road data of the real size: a jittered road grid over the country's land
and building ways, written as a PBF (bench/full_resolution.py's ``pbf_write`` stage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "vietnam"
METRIC = "EPSG:3405"
ROAD_SPACING_M = 550.0  # ~1.1 M junctions over 331,000 km2 of land: ~2.2 M edges, ~4.4 M arcs
WAY_SEGMENTS = 8


def land():  # the country's land as one metric (multi)polygon
    import geopandas as gpd
    import shapely

    from geo.config import load_region_config
    from geo.provinces import load_provinces

    cfg = load_region_config(region="vietnam")
    p63 = load_provinces(DATA, cfg).p63.to_crs(METRIC)
    return shapely.union_all(np.asarray(p63.geometry.array)), gpd.GeoSeries(p63.geometry)


# --------------------------------------------------------------------------- synthetic PBF


def road_grid(seed: int = 19) -> dict[str, np.ndarray]:
    """Jittered grid junctions on land and the row / column segments between land neighbours."""
    import shapely
    from pyproj import Transformer

    poly, _ = land()
    shapely.prepare(poly)
    x0, y0, x1, y1 = poly.bounds
    xs = np.arange(x0, x1, ROAD_SPACING_M)
    ys = np.arange(y0, y1, ROAD_SPACING_M)
    gx, gy = np.meshgrid(xs, ys)
    rng = np.random.default_rng(seed)
    jx = gx + rng.uniform(-0.3, 0.3, gx.shape) * ROAD_SPACING_M
    jy = gy + rng.uniform(-0.3, 0.3, gy.shape) * ROAD_SPACING_M
    on = np.zeros(gx.shape, bool)
    for r in range(0, gx.shape[0], 200):  # in row blocks: bounded memory for contains_xy
        on[r : r + 200] = shapely.contains_xy(poly, jx[r : r + 200], jy[r : r + 200])
    node_id = np.full(gx.shape, -1, np.int64)
    node_id[on] = np.arange(int(on.sum()))
    to_ll = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(jx[on], jy[on])
    # segments along rows (dir 0) and columns (dir 1): both ends on land
    a_row, b_row = node_id[:, :-1], node_id[:, 1:]
    a_col, b_col = node_id[:-1, :], node_id[1:, :]
    keep_r, keep_c = (a_row >= 0) & (b_row >= 0), (a_col >= 0) & (b_col >= 0)
    line_r = np.broadcast_to(np.arange(gx.shape[0])[:, None], a_row.shape)[keep_r]
    line_c = np.broadcast_to(np.arange(gx.shape[1])[:, None], a_col.T.shape)[keep_c.T]
    a = np.concatenate([a_row[keep_r], a_col.T[keep_c.T]])
    b = np.concatenate([b_row[keep_r], b_col.T[keep_c.T]])
    line = np.concatenate([line_r, gx.shape[0] + line_c])
    return {"lon": np.asarray(lon), "lat": np.asarray(lat), "a": a, "b": b, "line": line}


def _highway(line: np.ndarray) -> np.ndarray:
    cls = np.full(line.size, "residential", dtype=object)
    cls[line % 5 == 0] = "tertiary"
    cls[line % 10 == 0] = "secondary"
    cls[line % 40 == 0] = "primary"
    cls[line % 160 == 0] = "trunk"
    return cls


def _buildings(g: dict[str, np.ndarray], k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Corners of ``k`` ~10 m buildings near random junctions, in junction order (the node ids
    then run through space as in a real extract, which keeps the deltas small)."""
    rng = np.random.default_rng(seed)
    at = np.sort(rng.integers(0, g["lon"].size, k))
    cx = g["lon"][at] + rng.uniform(-2e-3, 2e-3, k)
    cy = g["lat"][at] + rng.uniform(-2e-3, 2e-3, k)
    d = 5e-5
    xs = np.column_stack([cx - d, cx + d, cx + d, cx - d]).ravel()
    ys = np.column_stack([cy - d, cy - d, cy + d, cy + d]).ravel()
    return xs, ys


def write_pbf(path: Path, g: dict[str, np.ndarray], n_bld: int) -> dict[str, int]:
    from synthetic_pbf import PbfWriter

    n_junction, n_seg = g["lon"].size, g["a"].size
    rng = np.random.default_rng(7)
    # one shape node per segment, slightly off the straight line (roads are not straight)
    mid_lon = (g["lon"][g["a"]] + g["lon"][g["b"]]) / 2 + rng.normal(0, 4e-4, n_seg)
    mid_lat = (g["lat"][g["a"]] + g["lat"][g["b"]]) / 2 + rng.normal(0, 4e-4, n_seg)
    road_nodes = n_junction + n_seg
    hw = _highway(g["line"])
    strings = [*sorted(set(hw)), "highway", "oneway", "yes", "maxspeed", "60", "building"]
    w = PbfWriter(path, strings)
    w.nodes(
        np.arange(1, road_nodes + 1),
        np.concatenate([g["lon"], mid_lon]),
        np.concatenate([g["lat"], mid_lat]),
    )
    nid = road_nodes + 1
    for start in range(0, n_bld, 2_000_000):
        k = min(2_000_000, n_bld - start)
        xs, ys = _buildings(g, k, seed=start)
        w.nodes(np.arange(nid, nid + 4 * k), xs, ys)
        nid += 4 * k
    # road ways: runs of up to WAY_SEGMENTS consecutive segments of one grid line
    cut = np.flatnonzero((g["line"][1:] != g["line"][:-1]) | (g["a"][1:] != g["b"][:-1]))
    starts = np.concatenate([[0], cut + 1]).tolist()
    ends = np.concatenate([cut + 1, [n_seg]]).tolist()
    a, b, line = g["a"] + 1, g["b"] + 1, g["line"].tolist()
    mids = np.arange(n_junction + 1, road_nodes + 1)

    def road_ways():
        wid = 1
        for s0, e0 in zip(starts, ends, strict=True):
            for s in range(s0, e0, WAY_SEGMENTS):
                e = min(e0, s + WAY_SEGMENTS)
                refs = np.empty(2 * (e - s) + 1, np.int64)
                refs[0] = a[s]
                refs[1::2] = mids[s:e]
                refs[2::2] = b[s:e]
                tags = {"highway": hw[s]}
                if line[s] % 7 == 3 and hw[s] == "residential":
                    tags["oneway"] = "yes"
                if hw[s] in ("trunk", "primary"):
                    tags["maxspeed"] = "60"
                yield wid, refs, tags
                wid += 1

    w.ways(road_ways())
    n_road_ways = sum(-(-(e - s) // WAY_SEGMENTS) for s, e in zip(starts, ends, strict=True))
    first = road_nodes + 1 + 4 * np.arange(n_bld, dtype=np.int64)
    w.closed_squares(n_road_ways + 1, first, {"building": "yes"})
    w.close()
    return {
        "nodes": road_nodes + 4 * n_bld,
        "road_nodes": road_nodes,
        "road_ways": n_road_ways,
        "road_segments": n_seg,
        "buildings": n_bld,
    }
