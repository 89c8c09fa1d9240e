"""Our kernel as a contender of the shared service-area harness (../shared/bench/peers.py).

    python ../shared/bench/peers.py --plugin bench/peers_plugin.py \\
        --graph G.npz --facilities 100 --cutoff-min 30 --peers scipy,nx,infra_overlap

``infra_overlap`` is the node form of ``analysis.kernel`` (the compiled bounded Dijkstra that
``analysis.kernel.travel_times`` runs for the chain): all facilities in one call, blocks of
facilities on a thread pool, no per-facility Python work. Setup (timed apart) loads the
compiled code from numba's cache.
"""

import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from peers import contender  # noqa: E402  (the harness puts itself in sys.modules)


def _setup(g):
    from analysis.kernel import reachable_nodes

    state = (
        np.asarray(g.indptr, np.int64),
        np.asarray(g.indices, np.int64),
        np.asarray(g.weights, np.float64),
    )
    reachable_nodes(*state, np.array([0]), limit_s=1.0)  # compile or load from cache
    return state


@contender("infra_overlap", setup=_setup, batch=True)
def run_infra_overlap(state, facilities, cutoff):
    from analysis.kernel import reachable_nodes

    return reachable_nodes(*state, np.asarray(facilities, np.int64), limit_s=float(cutoff))
