"""The catchment step's block hand-over (analysis.block_store): the kernel's blocks, held in
memory or spilled to disk, are the pairs of ``kernel.travel_times`` in the same order, a pass
can be repeated, and the spilled folder is removed on close. The measures' equality on blocks
is tested in tests/test_blocks.py, test_verdict_blocks.py and test_aggregate_blocks.py."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import kernel
from analysis.block_store import blocks_of, kernel_store
from analysis.blocks import reduce_blocks
from tests.test_blocks import BREAKS_S, LIMIT_S, N_PROV, case  # noqa: F401 (the shared fixture)


@pytest.mark.parametrize("spill_bytes", [0, 60_000, 1 << 40])
def test_stored_blocks_are_the_kernel_pairs(case: dict, spill_bytes: int) -> None:  # noqa: F811
    whole = kernel.travel_times(case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S)
    store = kernel_store(
        case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S, threads=2,
        spill_bytes=spill_bytes,
    )  # fmt: skip
    assert store.spilled == (spill_bytes < 1 << 40)
    for _ in range(2):  # every pass reads the same blocks
        parts = list(blocks_of(store))
        assert len(parts) >= 8 and all(p.n_fac == whole.n_fac for p in parts)
        for name in ("fac", "cell", "time_s"):
            got = np.concatenate([getattr(p, name) for p in parts])
            assert (
                np.array_equal(got, getattr(whole, name))
                and got.dtype == getattr(whole, name).dtype
            )
    assert store.n_pairs == whole.fac.size
    assert np.array_equal(store.to_travel_times().time_s, whole.time_s)
    params = case["params"]
    n = {"n_fac": whole.n_fac, "n_cells": whole.n_cells, "n_prov": N_PROV, "breaks_s": BREAKS_S}
    a = reduce_blocks(blocks_of(store), **n, **params)
    b = reduce_blocks(blocks_of(whole), **n, **params)
    assert np.array_equal(a.count, b.count) and np.array_equal(a.coverage, b.coverage)
    folder = store._dir
    store.close()
    assert folder is None or not folder.exists()
