"""The one pipeline (issue 18): typed inputs, an analysis that changes none of them, a typed
meta without HTML, and the data-quality section that ``cli run`` and batch scenarios share.

On the São Paulo region (real OSM roads of the bench PBF, synthetic parks and population built
by data/build_saopaulo.py): small enough to run twice in seconds.
"""

from __future__ import annotations

import copy
import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO

PBF = REPO.parent / "shared" / "data" / "bench" / "sao_paulo.osm.pbf"
pytestmark = pytest.mark.skipif(not PBF.is_file(), reason=f"bench PBF not found: {PBF}")


@pytest.fixture(scope="module")
def sp_inputs(tmp_path_factory: pytest.TempPathFactory):
    import pipeline
    from data.build_saopaulo import build
    from geo.config import load_region_config
    from geo.datasets import DataDir

    data = tmp_path_factory.mktemp("sp_pipeline") / "data"
    build(PBF, data)
    config = load_region_config(REPO / "data" / "saopaulo.toml")
    opts = pipeline.RunOptions(lang="en")
    source = DataDir(data, "--data")
    inputs = pipeline.load_inputs(pipeline.apply_overrides(config, opts), opts, source)
    return config, opts, source, inputs


def test_inputs_are_typed_and_frozen(sp_inputs) -> None:
    from analysis.inputs import Inputs
    from geo.facilities import FacilityLoad
    from geo.roads import RoadNetwork

    _, _, source, inputs = sp_inputs
    assert isinstance(inputs, Inputs)
    assert isinstance(inputs.facilities, FacilityLoad)
    assert isinstance(inputs.network, RoadNetwork)
    assert inputs.types == ("industrial_park",)
    assert inputs.data_dir == str(source.path) and inputs.data_origin == "--data"
    with pytest.raises(FrozenInstanceError):
        inputs.types = ()  # type: ignore[misc]


def test_the_analysis_changes_no_input_and_repeats(sp_inputs) -> None:
    """run_region twice on the same Inputs: the same layers, and the inputs as they were."""
    import pipeline

    config, opts, _, inputs = sp_inputs
    fac = inputs.facilities.facilities.copy()
    pop = inputs.population.polygons.copy()
    edges = inputs.network.edges.copy()
    config_before = copy.deepcopy(config)
    a = pipeline.analyse(config, opts, inputs)
    b = pipeline.analyse(config, opts, inputs)
    pd.testing.assert_frame_equal(inputs.facilities.facilities, fac)
    pd.testing.assert_frame_equal(inputs.population.polygons, pop)
    pd.testing.assert_frame_equal(inputs.network.edges, edges)
    assert config == config_before and dict(config.tables) == dict(config_before.tables)
    assert len(a.layers["facilities"]) == len(fac) > 0
    for name in ("facilities", "overlaps", "province_matrix"):
        pd.testing.assert_frame_equal(a.layers[name], b.layers[name])


def test_no_argument_is_mutated(sp_inputs) -> None:
    """analyse and describe_quality leave every reachable part of their arguments as it was:
    each frame (columns, dtypes, index, values, geometry), array, dict and dataclass field of
    the Inputs, the config and the options (a deep fingerprint before and after)."""
    import pipeline
    from tests.deep_digest import changed, digest

    config, opts, _, inputs = sp_inputs
    before = digest((config, opts, inputs))
    assert len(before) > 200, "the fingerprint must reach into the frames"
    result = pipeline.analyse(config, opts, inputs)
    pipeline.describe_quality(config, opts, inputs, result)
    assert changed(before, digest((config, opts, inputs))) == []


def test_meta_is_typed_plain_data(sp_inputs) -> None:
    """RunMeta: typed attributes only (no mapping interface), no HTML, JSON-ready."""
    import dataclasses

    import pipeline
    from analysis.results import RunMeta

    config, opts, _, inputs = sp_inputs
    meta = pipeline.analyse(config, opts, inputs).meta
    assert isinstance(meta, RunMeta)
    assert set(meta.types) == {"industrial_park"}
    assert not hasattr(meta, "quality_html") and not hasattr(meta, "__getitem__")
    assert meta.data_origin == "--data" and meta.timings["total_s"] > 0
    text = json.dumps(dataclasses.asdict(meta), default=str)
    assert "<div" not in text and "<table" not in text, "meta holds HTML"
    with pytest.raises(TypeError, match="no field"):
        RunMeta.from_dict({"quality_html": "<p>"})


def test_run_describes_quality_and_writes_it(sp_inputs, tmp_path: Path) -> None:
    """pipeline.run sets the data-quality report; pipeline.write puts it in report.html."""
    import pipeline

    config, opts, source, _ = sp_inputs
    result = pipeline.run(config, opts, source=source)
    assert result.quality is not None and result.quality.findings
    assert "road_layer" in result.quality.tables, "the config's own road layer is described"
    out = tmp_path / "out"
    pipeline.write(result, out, config=config, opts=opts)
    report = (out / "report.html").read_text(encoding="utf-8")
    first = result.quality.findings[0].split(":")[0]
    assert first and first in report, "the report lacks the data-quality findings"


def test_a_replaced_road_layer_is_not_read_again(sp_inputs) -> None:
    """With --roads the quality report does not describe (nor read) the config's layer."""
    from geo.quality import region_quality

    config, _, _, inputs = sp_inputs
    q = region_quality(
        inputs.data_dir,
        config,
        load=inputs.facilities,
        network=inputs.network,
        provinces=inputs.provinces,
        population=inputs.population,
        roads_file="elsewhere.gpkg",  # never opened: only says the layer was replaced
    )
    assert "road_layer" not in q.tables and "road_network" in q.tables
    assert any("Road network:" in f for f in q.findings)
