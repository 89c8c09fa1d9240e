"""The embedded default dataset: reproducible, small, redistributable, attributed; data lookup order."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

import geo.datasets as datasets
from data.build_default import FORBIDDEN, build_default
from geo.config import load_region_config
from geo.datasets import DataDir, data_attribution, required_files, resolve_data_dir
from geo.errors import DataNotFoundError
from geo.files import sha256_file

CONFIG = load_region_config()
MIRROR = Path(os.environ.get("INFRA_OVERLAP_DATA", "/work/shared/data/vietnam"))
EMBEDDED = Path(__file__).resolve().parent.parent / "data" / "vietnam"
MAX_BYTES = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not (MIRROR / "provinces_63.gpkg").is_file():
        pytest.skip(f"no mirror at {MIRROR} (set INFRA_OVERLAP_DATA)")
    first = tmp_path_factory.mktemp("build1") / "vietnam"
    second = tmp_path_factory.mktemp("build2") / "vietnam"
    build_default(MIRROR, first)
    build_default(MIRROR, second)
    return first, second


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _rel(folder: Path, path: Path) -> str:
    """The path inside the data folder, as the manifest names it (``roads_extra/x.gpkg``)."""
    return path.relative_to(folder).as_posix()


@pytest.mark.integration
def test_two_builds_are_byte_identical(two_builds):
    first, second = two_builds
    names = [_rel(first, p) for p in _files(first)]
    assert names == [_rel(second, p) for p in _files(second)], "the two builds hold different files"
    differ = [n for n in names if sha256_file(first / n) != sha256_file(second / n)]
    assert not differ, f"same mirror, different bytes: {differ}"
    assert not [p.name for p in first.parent.iterdir() if p.name.startswith(".tmp-")], (
        "temporary folder left behind"
    )


@pytest.mark.integration
def test_build_is_small_and_the_manifest_matches(two_builds):
    folder = two_builds[0]
    sizes = {_rel(folder, p): p.stat().st_size for p in _files(folder)}
    assert sum(sizes.values()) < MAX_BYTES, (
        f"embedded data is {sum(sizes.values()) / 1e6:.1f} MB: {sizes}"
    )
    manifest = json.loads((folder / datasets.MANIFEST).read_text(encoding="utf-8"))["files"]
    data_files = set(sizes) - {datasets.MANIFEST, datasets.LICENSES}
    assert set(manifest) == data_files, "MANIFEST.json does not list exactly the data files"
    for name, entry in manifest.items():
        assert entry["sha256"] == sha256_file(folder / name), f"{name}: MANIFEST hash is stale"
        assert entry["bytes"] == sizes[name]
        assert entry["licence"] and entry["attribution"] and entry["redistributable"] is True


def _columns(path: Path) -> dict[str, list[str]]:
    if path.suffix == ".csv":
        return {"table": list(pd.read_csv(path, nrows=0).columns)}
    if path.suffix != ".gpkg":
        return {}
    return {
        layer: list(pyogrio.read_info(path, layer=layer)["fields"])
        for layer, _ in pyogrio.list_layers(path)
    }


@pytest.mark.integration
@pytest.mark.parametrize("which", ["fresh build", "committed data/vietnam"])
def test_nothing_derived_from_gadm(two_builds, which):
    folder = two_builds[0] if which == "fresh build" else EMBEDDED
    if not (folder / datasets.MANIFEST).is_file():
        pytest.skip(f"{folder} not built")
    names = {p.name for p in _files(folder)}
    assert not names & set(FORBIDDEN), (
        f"non-redistributable files present: {names & set(FORBIDDEN)}"
    )
    assert not [n for n in names if "district" in n or "gadm" in n.lower()], (
        "a district / GADM file is embedded"
    )
    for path in _files(folder):
        for layer, columns in _columns(path).items():
            bad = [
                c
                for c in columns
                if c.upper().startswith(("GID_", "NAME_1", "NAME_2", "VARNAME_", "TYPE_2"))
            ]
            assert not bad, f"{path.name}:{layer} has GADM columns {bad}"
            assert layer != "districts", f"{path.name} holds a districts layer"


@pytest.mark.integration
@pytest.mark.parametrize("which", ["fresh build", "committed data/vietnam"])
def test_every_file_is_in_licenses_md(two_builds, which):
    folder = two_builds[0] if which == "fresh build" else EMBEDDED
    if not (folder / datasets.LICENSES).is_file():
        pytest.skip(f"{folder} not built")
    text = (folder / datasets.LICENSES).read_text(encoding="utf-8")
    missing = [
        p.name
        for p in _files(folder)
        if p.name not in (datasets.LICENSES, datasets.MANIFEST) and p.name not in text
    ]
    assert not missing, f"LICENSES.md does not describe {missing}"
    assert "© OpenStreetMap contributors, ODbL 1.0" in text
    assert "CC BY-SA 4.0" in text and "public domain" in text


@pytest.mark.integration
def test_embedded_layers_keep_the_mirror_names(two_builds):
    folder = two_builds[0]
    for path in _files(folder):
        if path.suffix == ".gpkg":
            mirror_layers = {name for name, _ in pyogrio.list_layers(MIRROR / _rel(folder, path))}
            layers = {name for name, _ in pyogrio.list_layers(path)}
            assert layers <= mirror_layers, (
                f"{path.name}: layers {layers - mirror_layers} not in the mirror"
            )
    roads = pyogrio.read_info(folder / "roads_trunk_osm.gpkg", layer="roads")
    assert (
        roads["features"]
        == pyogrio.read_info(MIRROR / "roads_trunk_osm.gpkg", layer="roads")["features"]
    ), "every road status must be kept (construction scenarios)"
    assert resolve_data_dir(str(folder)).path == folder, (
        "the built folder must satisfy the data lookup"
    )


def test_attribution_of_an_embedded_folder_comes_from_its_manifest(tmp_path):
    entry = {
        "sha256": "x",
        "bytes": 1,
        "rows": 1,
        "source": "s",
        "licence": "ODbL 1.0",
        "attribution": "© OSM",
    }
    (tmp_path / datasets.MANIFEST).write_text(
        json.dumps({"files": {"roads.gpkg": entry}}), encoding="utf-8"
    )
    assert data_attribution(tmp_path) == [
        {"file": "roads.gpkg", "source": "s", "licence": "ODbL 1.0", "attribution": "© OSM"}
    ]


def test_attribution_of_a_mirror_lists_present_files_and_flags_gadm(tmp_path):
    (tmp_path / "roads_trunk_osm.gpkg").write_bytes(b"")
    (tmp_path / "population_districts_gadm.gpkg").write_bytes(b"")
    entries = {e["file"]: e for e in data_attribution(tmp_path)}
    assert set(entries) == {"roads_trunk_osm.gpkg", "population_districts_gadm.gpkg"}
    assert (
        "© OpenStreetMap contributors, ODbL 1.0" in entries["roads_trunk_osm.gpkg"]["attribution"]
    )
    assert entries["population_districts_gadm.gpkg"]["redistributable"] is False


# --------------------------------------------------------------------------- data lookup


def _complete(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files, alternatives = required_files(CONFIG)
    for name in [*files, *alternatives[-1]]:
        (folder / name).write_bytes(b"")
    return folder


def test_lookup_order_data_then_env_then_embedded(tmp_path, monkeypatch):
    arg, env_dir = _complete(tmp_path / "arg"), _complete(tmp_path / "env")
    monkeypatch.setattr(datasets, "REPO_DATA", tmp_path / "repo_data")
    embedded = _complete(tmp_path / "repo_data" / "vietnam")
    env = {datasets.ENV_VAR: str(env_dir)}
    assert resolve_data_dir(str(arg), env=env) == DataDir(arg, "--data")
    assert resolve_data_dir(None, env=env) == DataDir(env_dir, "INFRA_OVERLAP_DATA")
    assert resolve_data_dir(None, env={}) == DataDir(embedded, "embedded")
    assert resolve_data_dir(None, env={datasets.ENV_VAR: ""}).origin == "embedded", (
        "an empty variable is unset"
    )


def test_missing_folder_says_fetch_and_data(tmp_path):
    gone = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError) as info:
        resolve_data_dir(None, env={datasets.ENV_VAR: str(gone)})
    message = str(info.value)
    assert str(gone) in message and "INFRA_OVERLAP_DATA" in message
    assert "python cli.py fetch --out DIR" in message and "--data DIR" in message


def test_folder_missing_a_layer_names_it(tmp_path):
    folder = _complete(tmp_path / "partial")
    (folder / CONFIG.roads.file).unlink()
    (folder / CONFIG.population["communes_file"]).unlink()
    with pytest.raises(DataNotFoundError) as info:
        resolve_data_dir(str(folder), env={})
    message = str(info.value)
    assert CONFIG.roads.file in message, "the missing road layer is not named"
    assert CONFIG.population["communes_file"] in message, (
        "the missing population source is not named"
    )
    assert "python cli.py fetch --out DIR" in message and "--data DIR" in message
