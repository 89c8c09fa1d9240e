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


def _same_pairs(store, want) -> None:  # type: ignore[no-untyped-def]
    parts = list(blocks_of(store))
    for name in ("fac", "cell", "time_s"):
        got = np.concatenate([getattr(p, name) for p in parts])
        assert np.array_equal(got, getattr(want, name)) and got.dtype == getattr(want, name).dtype
    assert (store.n_fac, store.n_cells) == (want.n_fac, want.n_cells)


@pytest.mark.parametrize("spill_mb", ["0", "1024"])
def test_unit_blocks_go_to_the_store(case: dict, spill_mb: str, monkeypatch) -> None:  # noqa: F811
    """Multi-site units: each unit block kept (or spilled) as it comes, never concatenated;
    the blocks in unit order are ``reduce_to_units`` of every pair, each holding whole units."""
    from analysis import units

    monkeypatch.setenv("INFRA_OVERLAP_SPILL_MB", spill_mb)
    rng = np.random.default_rng(8)
    site_unit = rng.integers(-1, 12, case["tt"].n_fac)
    want = units.reduce_to_units(case["tt"], site_unit, 12)
    store = units.unit_store(
        case["graph"], case["fac"], case["cells"], site_unit=site_unit, n_units=12,
        limit_s=LIMIT_S, per_block=4,
    )  # fmt: skip
    assert store.spilled == (spill_mb == "0")
    parts = list(blocks_of(store))
    assert len(parts) >= 3 and want.fac.size > 1_000, "weak fixture"
    seen = [set(np.unique(p.fac).tolist()) for p in parts]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])  # whole units
    _same_pairs(store, want)
    store.close()


@pytest.mark.integration
@pytest.mark.xdist_group("batch")
def test_dask_blocks_go_to_the_store(case: dict, monkeypatch) -> None:  # noqa: F811
    """``run --workers``: the workers' facility blocks kept in block order in a store (spilled
    here), the single-process pairs bit for bit."""
    from analysis import remote, units
    from analysis.block_store import BlockStore
    from batch import dask_client

    monkeypatch.setenv("INFRA_OVERLAP_SPILL_MB", "0")
    whole = kernel.travel_times(case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S)
    rng = np.random.default_rng(9)
    site_unit = rng.integers(-1, 10, case["tt"].n_fac)
    kw = {"site_unit": site_unit, "n_units": 10, "limit_s": LIMIT_S, "per_block": 3}
    with dask_client(n_workers=2) as client:
        store = remote.travel_times_on(
            client, case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S
        )
        ustore = units.unit_store(case["graph"], case["fac"], case["cells"], client=client, **kw)
    assert isinstance(store, BlockStore) and store.spilled and len(list(store.blocks())) >= 2
    _same_pairs(store, whole)
    _same_pairs(ustore, units.reduce_to_units(whole, site_unit, 10))
    store.close()
    ustore.close()
