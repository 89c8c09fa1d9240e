"""Facility blocks of a whole run (issue 19): the pairs per block are bounded whatever the cell
size (``INFRA_OVERLAP_BLOCK_PAIRS``), a tiny cap changes no output, and the passes over each
type's blocks are counted so that their number cannot silently grow.

On the São Paulo region (real OSM roads of the bench PBF, synthetic parks and population, as
tests/test_pipeline.py): every layer of the run with blocks of a few hundred pairs, spilled to
disk, equals the default run's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.test_pipeline import PBF, sp_inputs  # noqa: F401 (the shared fixture)

pytestmark = pytest.mark.skipif(not PBF.is_file(), reason=f"bench PBF not found: {PBF}")

#: passes over a type's blocks in a run (a type's own demand shares the first two; 34 before fusing)
PASSES_PER_TYPE = 3


def _analyse(inputs: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[Any]]:
    """The run, with every BlockStore it makes."""
    import pipeline
    from analysis import block_store

    config, opts, _, data = inputs
    stores: list[Any] = []
    init = block_store.BlockStore.__init__

    def record(self: Any, *a: Any, **k: Any) -> None:
        init(self, *a, **k)
        stores.append(self)

    monkeypatch.setattr(block_store.BlockStore, "__init__", record)
    result = pipeline.analyse(config, opts, data)
    monkeypatch.setattr(block_store.BlockStore, "__init__", init)
    return result, stores


@pytest.fixture(scope="module")
def default_run(sp_inputs: Any) -> tuple[Any, list[Any]]:  # noqa: F811
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("INFRA_OVERLAP_BLOCK_PAIRS", raising=False)
        return _analyse(sp_inputs, mp)


def test_passes_per_type_are_counted(default_run: Any) -> None:
    _, stores = default_run
    assert stores, "the run made no block store"
    for s in stores:
        n_blocks = sum(1 for _ in s._held)
        assert s.passes == PASSES_PER_TYPE, s.passes
        assert s.blocks_read == s.passes * n_blocks


def test_tiny_blocks_change_no_output(
    sp_inputs: Any,  # noqa: F811
    default_run: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocks of at most 200 pairs (a facility above it on its own), all spilled to disk, and
    nothing held for the shared pass (every cell set and verdict threshold in passes of its
    own)."""
    cap = 200
    monkeypatch.setenv("INFRA_OVERLAP_BLOCK_PAIRS", str(cap))
    monkeypatch.setenv("INFRA_OVERLAP_SPILL_MB", "0")
    monkeypatch.setenv("INFRA_OVERLAP_FUSE_MB", "0")  # nothing held: more passes
    tiny, stores = _analyse(sp_inputs, monkeypatch)
    want, _ = default_run
    assert stores and all(s.spilled for s in stores)
    for s in stores:
        parts = list(s.blocks())
        for p in parts:  # every park reaches more than 200 cells: one a block
            assert p.fac.size > cap and np.unique(p.fac).size == 1, p.fac.size
    for got, expected in ((tiny.layers, want.layers), (tiny.tables, want.tables)):
        assert set(got) == set(expected)
        for name, frame in expected.items():
            pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)
    for name, raster in want.rasters.items():
        a, b = tiny.rasters[name].array, raster.array
        for part in ("row", "col", "values") if hasattr(b, "values") else ("base",):
            x, y = (a, b) if part == "base" else (getattr(a, part), getattr(b, part))
            assert np.array_equal(x, y, equal_nan=True), (name, part)


def test_a_types_own_demand_shares_the_first_two_passes(
    sp_inputs: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parks' labour demand (E2SFCA and the shared pool, ``type_demand_passes.TypeDemandPasses``)
    is read in the type's first two passes: still three passes, the demand columns filled."""
    import dataclasses

    config, opts, source, data = sp_inputs
    labour = {"kind": "labour", "decay": "steps", "step_weights": [1.0, 0.68, 0.22]}
    population = {**config.population, "demand": {"industrial_park": labour}}
    demand_config = dataclasses.replace(config, population=population)
    result, stores = _analyse((demand_config, opts, source, data), monkeypatch)
    assert stores and all(s.passes == PASSES_PER_TYPE for s in stores), [s.passes for s in stores]
    parks = result.layers["facilities"]
    assert parks["demand_workers"].notna().sum() > 5, "weak fixture: no labour pool"
