"""Packaging metadata (issue 18 item 5): environment.yml and pyproject.toml agree, and the wheel's
package list covers the repository's top-level packages and modules."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

# PyPI name (with extras) -> conda-forge names; every other name is the same on both
CONDA_NAMES = {"osmium": ("pyosmium",), "dask[distributed]": ("dask", "distributed")}
# conda-only entries with no counterpart among the PyPI dependencies
CONDA_ONLY = {"pip"}


def _lower_bound(spec: str) -> str | None:
    m = re.search(r">=\s*([^,;\s]+)", spec)
    return m.group(1) if m else None


def _pypi(deps: list[str]) -> dict[str, str | None]:
    """PyPI requirement -> lower bound, keyed by its conda-side names (markers dropped: conda
    has none, so a dependency for old Pythons only is listed unconditionally there)."""
    out: dict[str, str | None] = {}
    for d in deps:
        r = Requirement(d)
        key = r.name.lower() + (f"[{','.join(sorted(r.extras))}]" if r.extras else "")
        for name in CONDA_NAMES.get(key, (r.name.lower(),)):
            out[name] = _lower_bound(str(r.specifier))
    return out


def _conda() -> tuple[dict[str, str | None], dict[str, str | None]]:
    """environment.yml -> (conda entries, pip entries), each name -> lower bound."""
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    conda: dict[str, str | None] = {}
    pip: dict[str, str | None] = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):
            for line in item.get("pip", []):
                if not line.startswith("-"):
                    r = Requirement(line)
                    pip[r.name.lower()] = _lower_bound(str(r.specifier))
            continue
        name = re.split(r"[<>=!\s]", item, maxsplit=1)[0].lower()
        conda[name] = _lower_bound(item)
    return conda, pip


def test_environment_yml_lists_the_pyproject_dependencies_with_the_same_lower_bounds():
    conda, pip = _conda()
    listed = {**conda, **pip}
    project = PYPROJECT["project"]
    runtime = _pypi(project["dependencies"])
    runtime["python"] = _lower_bound(project["requires-python"])
    test_extra = _pypi(project["optional-dependencies"]["test"])

    missing = sorted((set(runtime) | set(test_extra)) - set(listed))
    assert not missing, f"environment.yml lacks {missing} (pyproject.toml lists them)"
    extra = sorted(set(listed) - set(runtime) - set(test_extra) - CONDA_ONLY)
    assert not extra, f"environment.yml lists {extra}, which pyproject.toml does not"
    differ = {
        name: (bound, listed[name])
        for name, bound in {**test_extra, **runtime}.items()
        if listed[name] != bound
    }
    assert not differ, f"lower bounds differ (pyproject.toml, environment.yml): {differ}"
    # the project itself comes from pip, editable, with the conda packages already there
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    pip_lines = next(i["pip"] for i in env["dependencies"] if isinstance(i, dict))
    assert "-e ." in pip_lines


def test_the_wheel_lists_every_top_level_package_and_module():
    """A top-level package or module missing from [tool.setuptools] would be left out of the
    wheel, and the installed tool would fail on its import (cli.py imports them lazily)."""
    st = PYPROJECT["tool"]["setuptools"]
    not_shipped = {"tests", "bench", "docs"}
    packages = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in [*REPO.glob("*/__init__.py"), *REPO.glob("*/*/__init__.py")]
        if p.parent.relative_to(REPO).parts[0] not in not_shipped
    }
    assert packages == set(st["packages"]), (
        f"[tool.setuptools] packages {sorted(st['packages'])} != the repository's {sorted(packages)}"
    )
    modules = {p.stem for p in REPO.glob("*.py") if p.name != "setup.py"}
    assert modules == set(st["py-modules"]), (
        f"[tool.setuptools] py-modules {sorted(st['py-modules'])} != the repository's {sorted(modules)}"
    )
    assert PYPROJECT["project"]["scripts"]["infra-overlap"] == "cli:main"
    # every package-data pattern ships at least one file (a renamed folder would ship nothing)
    for package, patterns in st["package-data"].items():
        for pattern in patterns:
            assert any(p.is_file() for p in (REPO / package).glob(pattern)), (
                f"package data {package}/{pattern} matches no file"
            )


def test_default_paths_in_a_checkout(tmp_path: Path, monkeypatch) -> None:
    """From the source tree: outputs under the working directory (``make run`` runs at the
    repository root, so out/vietnam/ stays there), METHOD.md and the fetch cache of the
    checkout; an explicit cache folder wins."""
    from geo import paths

    monkeypatch.chdir(tmp_path)
    assert paths.default_out("vietnam") == tmp_path / "out" / "vietnam"
    assert paths.default_out("batch", "x") == tmp_path / "out" / "batch" / "x"
    monkeypatch.chdir(REPO)
    assert paths.default_out("vietnam") == REPO / "out" / "vietnam"
    assert paths.is_checkout()
    assert paths.method_md() == REPO / "METHOD.md"
    monkeypatch.delenv("INFRA_OVERLAP_CACHE", raising=False)
    assert paths.cache_dir() == REPO / "data" / "cache"
    monkeypatch.setenv("INFRA_OVERLAP_CACHE", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
