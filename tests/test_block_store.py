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
from analysis.catchments import TravelTimes
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
            assert np.array_equal(got, getattr(whole, name)) and got.dtype == _read_dtype(name)
        # a pass shares the store's arrays (a spilled block's mapped pages): none is writable
        assert not any(p.cell.flags.writeable or p.time_s.flags.writeable for p in parts)
    assert store.n_pairs == whole.fac.size
    back = store.to_travel_times()  # the kernel's own dtypes
    for name in ("fac", "cell", "time_s"):
        want = getattr(whole, name)
        assert np.array_equal(getattr(back, name), want) and getattr(back, name).dtype == want.dtype
    params = case["params"]
    n = {"n_fac": whole.n_fac, "n_cells": whole.n_cells, "n_prov": N_PROV, "breaks_s": BREAKS_S}
    a = reduce_blocks(blocks_of(store), **n, **params)
    b = reduce_blocks(blocks_of(whole), **n, **params)
    assert np.array_equal(a.count, b.count) and np.array_equal(a.coverage, b.coverage)
    folder = store._dir
    store.close()
    assert folder is None or not folder.exists()


def _read_dtype(name: str) -> np.dtype:
    """A pass reads a store's facilities and cells as int32 (they fit), the exact times."""
    return np.dtype(np.float64 if name == "time_s" else np.int32)


def _same_pairs(store, want) -> None:  # type: ignore[no-untyped-def]
    parts = list(blocks_of(store))
    for name in ("fac", "cell", "time_s"):
        got = np.concatenate([getattr(p, name) for p in parts])
        assert np.array_equal(got, getattr(want, name)) and got.dtype == _read_dtype(name)
    assert (store.n_fac, store.n_cells) == (want.n_fac, want.n_cells)


@pytest.mark.parametrize("spill_bytes", [0, 60_000, 1 << 40])
def test_a_pickled_store_keeps_its_pairs_when_the_original_goes(
    case: dict,  # noqa: F811
    spill_bytes: int,
) -> None:
    """A copy of a store (pickled, as a notebook saves the API's ``Catchments`` or a process
    pool sends it) reads every pair after the original is collected and its folder removed;
    the copy spills beyond the same budget into a folder of its own, removed in turn."""
    import gc
    import pickle

    whole = kernel.travel_times(case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S)
    store = kernel_store(
        case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S, threads=2,
        spill_bytes=spill_bytes,
    )  # fmt: skip
    copy = pickle.loads(pickle.dumps(store))
    folder = store._dir
    assert (folder is not None) == (spill_bytes < 1 << 40)
    del store
    gc.collect()
    assert folder is None or not folder.exists(), "the original's folder outlived it"
    _same_pairs(copy, whole)
    assert copy.n_pairs == whole.fac.size and copy.spilled == (folder is not None)
    assert copy._dir != folder or folder is None
    again = copy._dir
    copy.close()
    assert again is None or not again.exists()


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
    # the workers send their blocks packed (12 bytes a pair), kept as they come when they fit
    packed = remote.run_block_packed(kernel.prepare(case["graph"], case["fac"], case["cells"],
                                                    limit_s=LIMIT_S), 0, 4)  # fmt: skip
    assert packed.nbytes < 24 * packed.n_pairs / 1.9 and packed.n_pairs > 100
    small = BlockStore(whole.n_fac, whole.n_cells, LIMIT_S, 10**9, max_pairs=packed.n_pairs // 3)
    small.add(packed)  # too many pairs for one block: cut
    direct = BlockStore(whole.n_fac, whole.n_cells, LIMIT_S, 10**9, max_pairs=packed.n_pairs // 3)
    direct.add(packed.unpack(whole.n_fac, whole.n_cells, LIMIT_S))
    assert len(small._held) >= 3 and small.n_pairs == packed.n_pairs
    for a, b in zip(small.blocks(), direct.blocks(), strict=True):
        assert all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ("fac", "cell", "time_s"))
    _same_pairs(ustore, units.reduce_to_units(whole, site_unit, 10))
    store.close()
    ustore.close()


@pytest.mark.parametrize("max_pairs", [1, 150, 2_000])
def test_blocks_hold_at_most_the_pair_cap(case: dict, max_pairs: int, monkeypatch) -> None:  # noqa: F811
    """Whatever the cap, a block holds whole facilities and at most ``max_pairs`` pairs (one
    facility above it is a block of its own); the kernel's spans follow the pairs seen, and
    the units' spans keep whole units; the pairs are the kernel's in the same order."""
    from analysis import units
    from analysis.block_store import SpanPlan, pair_cuts

    whole = kernel.travel_times(case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S)
    store = kernel_store(
        case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S, threads=2,
        spill_bytes=1 << 40, max_pairs=max_pairs,
    )  # fmt: skip
    _same_pairs(store, whole)
    seen: set[int] = set()
    for p in blocks_of(store):
        facs = set(np.unique(p.fac).tolist())
        assert p.fac.size <= max_pairs or len(facs) == 1
        assert not facs & seen  # whole facilities
        seen |= facs
    monkeypatch.setenv("INFRA_OVERLAP_BLOCK_PAIRS", str(max_pairs))
    site_unit = np.random.default_rng(3).integers(-1, 12, whole.n_fac)
    ustore = units.unit_store(
        case["graph"], case["fac"], case["cells"], site_unit=site_unit, n_units=12,
        limit_s=LIMIT_S,
    )  # fmt: skip
    _same_pairs(ustore, units.reduce_to_units(whole, site_unit, 12))
    for p in blocks_of(ustore):
        assert p.fac.size <= max_pairs or np.unique(p.fac).size == 1
    # the cuts of one block, and spans that grow with the pairs seen
    assert pair_cuts(np.array([0, 0, 0, 1, 2, 2]), 2) == [(0, 3), (3, 4), (4, 6)]
    plan = SpanPlan(100, max_pairs=1_000, per_block=32)
    assert plan.take(2) == [(0, 1), (1, 2)]
    plan.seen(1, 100)
    assert plan.take(1) == [(2, 12)]  # 1,000 pairs at 100 per facility
    plan.seen(10, 5_000)
    assert plan.take(1) == [(12, 14)]  # the highest rate seen: 500 per facility
    assert SpanPlan(10, max_pairs=1, starts=np.array([0, 4, 7])).take(5) == [
        (0, 4),
        (4, 7),
        (7, 10),
    ]


def test_block_pair_cap_from_the_environment(monkeypatch) -> None:
    from analysis.block_store import MAX_BLOCK_PAIRS, max_pairs_default

    monkeypatch.delenv("INFRA_OVERLAP_BLOCK_PAIRS", raising=False)
    assert max_pairs_default() == MAX_BLOCK_PAIRS
    monkeypatch.setenv("INFRA_OVERLAP_BLOCK_PAIRS", "1e6")
    assert max_pairs_default() == 1_000_000
    for bad in ("many", "0"):
        monkeypatch.setenv("INFRA_OVERLAP_BLOCK_PAIRS", bad)
        with pytest.raises(ValueError, match="INFRA_OVERLAP_BLOCK_PAIRS"):
            max_pairs_default()


def test_stored_pairs_are_compact(case: dict, tmp_path) -> None:  # noqa: F811
    """12 bytes a pair held (int32 cell, float64 time, the facilities as runs), the same in the
    spill; read back as int32 facilities and cells (the kernel's int64 by ``to_travel_times``)."""
    whole = kernel.travel_times(case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S)
    held = kernel_store(case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S)
    n_runs = np.unique(whole.fac).size
    assert held._bytes == 12 * whole.fac.size + 8 * n_runs < 24 * whole.fac.size
    spilled = kernel_store(
        case["graph"], case["fac"], case["cells"], limit_s=LIMIT_S, spill_bytes=0
    )
    assert spilled._dir is not None
    on_disk = sum(f.stat().st_size - 128 for f in spilled._dir.iterdir())  # .npy headers
    assert on_disk == held._bytes
    _same_pairs(held, whole)
    _same_pairs(spilled, whole)


@pytest.mark.parametrize("threads", ["1", "3"])
def test_run_pass_gives_each_consumer_every_block_in_order(
    threads: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threaded or not, each consumer sees every block once, in block order (so its result is
    the sequential one), whatever the other consumers take."""
    import time

    from analysis.block_store import run_pass

    monkeypatch.setenv("INFRA_OVERLAP_PASS_THREADS", threads)
    fac = np.repeat(np.arange(40), 5)
    cell = np.tile(np.arange(5), 40)
    tt = TravelTimes(fac, cell, np.arange(fac.size, dtype=float), 40, 5, 1e9)

    class Seen:
        def __init__(self, pause: float) -> None:
            self.pause, self.firsts = pause, []

        def add(self, block: TravelTimes) -> None:
            time.sleep(self.pause)
            self.firsts.append(int(block.fac[0]))

    consumers = [Seen(0.002), Seen(0.0), Seen(0.001)]
    run_pass(tt, consumers)
    for c in consumers:
        assert c.firsts == [0, 32], c.firsts  # split_blocks: 32 facilities a block
