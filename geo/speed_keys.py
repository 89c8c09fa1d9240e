"""Which ``[roads.speed_kmh]`` key set each road edge's speed (for the speed calibration).

The road readers resolve a speed per line (``maxspeed`` tag, else the highway tag, else the
class, else ``default``) and keep only the number. To know which key each edge's number came
from, the network is built once with a probe table in which every key has a distinct speed
above any real one (1000 + its position); a probe value names the key, any other value is a
``maxspeed`` tag. The edges then get their real speeds from the region's table, so the result
is the region's network as :func:`geo.roads.road_network_for_region` builds it, plus the keys.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from geo.config import RegionConfig
from geo.errors import NetworkError
from geo.roads import RoadNetwork, road_network_for_region

PROBE_BASE_KMH = 1000.0


def road_network_with_speed_keys(
    data_dir: str | Path, config: RegionConfig, *, roads_file: str | Path | None = None
) -> tuple[RoadNetwork, np.ndarray]:
    """The region's road network and, per edge, the speed-table key that set its speed.

    Parameters
    ----------
    data_dir, config, roads_file
        As for :func:`geo.roads.road_network_for_region`.

    Returns
    -------
    (RoadNetwork, numpy.ndarray)
        The network with the config's speeds, and an object array of keys ("" where the
        speed came from a ``maxspeed`` tag).
    """
    table = config.roads.speed_kmh
    keys = list(table)
    probe = {k: PROBE_BASE_KMH + i for i, k in enumerate(keys)}
    # the urban factor (geo.urban) rescales speeds: probe without it, apply it after
    probed = replace(config, roads=replace(config.roads, speed_kmh=probe, urban_speed_factor=1.0))
    net = road_network_for_region(data_dir, probed, roads_file=roads_file)
    speed = net.edges["speed_kmh"].to_numpy(np.float64)
    is_key = speed >= PROBE_BASE_KMH
    offset = np.where(is_key, speed - PROBE_BASE_KMH, 0.0)
    pos = offset.round().astype(np.int64)
    if np.any(np.abs(offset - pos) > 1e-6) or np.any(pos >= len(keys)):
        # a reader that rescales table speeds would make the probe unreadable: say so
        raise NetworkError(
            "cannot tell which [roads.speed_kmh] key set each road's speed (the road reader "
            "changed the table's speeds); the calibration needs geo.roads to use them as given"
        )
    edge_key = np.where(is_key, np.asarray(keys, dtype=object)[pos], "").astype(object)
    real = np.where(is_key, np.array([float(table[k]) for k in keys])[pos], speed)
    if "urban" in net.edges:
        f = float(config.roads.urban_speed_factor)
        real = np.where(net.edges["urban"].to_numpy(bool), real * f, real)
    edges = net.edges.assign(speed_kmh=real)
    return replace(net, edges=edges), edge_key
