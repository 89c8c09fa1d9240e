"""The layout's rules, read from the source: geo -> analysis -> maps -> the top floor (cli*,
pipeline, batch*), no import back up, no import cycle, and no file I/O in analysis/.

Every ``import`` counts, at module level or inside a function (a lazy import is still a
dependency); imports under ``if TYPE_CHECKING:`` count too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "analysis", "maps")
TOP = ("cli", "pipeline", "batch")  # top-level modules: cli.py, cli_*.py, pipeline.py, batch*.py
# floor of each part of the project; a module may import only its own floor or lower ones
FLOOR = {"geo": 0, "analysis": 1, "maps": 2, "top": 3}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in sorted((REPO / pkg).rglob("*.py")):
            parts = p.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = p
    for p in sorted(REPO.glob("*.py")):
        if p.stem.split("_")[0] in TOP:
            out[p.stem] = p
    return out


def _floor(module: str) -> int:
    head = module.split(".")[0]
    return FLOOR.get(head, FLOOR["top"])


def _imports(path: Path, package: str, known: set[str]) -> set[str]:
    """The project modules a file imports (``from x import y`` counts ``x.y`` when that is a
    module, else ``x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for name in names:
            # the longest known module the name starts with
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                cand = ".".join(parts[:i])
                if cand in known:
                    found.add(cand)
                    break
    return found


def import_graph() -> nx.DiGraph:
    """Project modules and the imports between them (package ``__init__`` edges left out)."""
    mods = _modules()
    known = set(mods)
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for target in _imports(path, package, known):
            if target != name and target not in PACKAGES:
                g.add_edge(name, target)
    return g


def test_the_graph_sees_the_project():
    """The graph holds every floor and the chain's known edges (else the checks below are
    vacuous)."""
    g = import_graph()
    floors = {_floor(m) for m in g}
    assert floors == set(FLOOR.values())
    assert g.has_edge("pipeline", "analysis.run")
    assert g.has_edge("analysis.run", "geo.config")
    assert g.has_edge("batch", "pipeline")
    assert g.number_of_edges() > 200


def test_no_upward_import():
    """geo imports no analysis/maps/top module; analysis no maps/top; maps no top module."""
    g = import_graph()
    upward = sorted(f"{a} -> {b}" for a, b in g.edges if _floor(b) > _floor(a))
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


# Cycles there were when this test was written (issue 18), each broken through a lazy import
# inside a function; remove a line when its cycle is gone (the test then says so).
# None left: a cycle that must stay (say why) is listed here as a frozenset of module names.
KNOWN_CYCLES: set[frozenset[str]] = set()


def test_no_import_cycle():
    """No two modules import each other, directly or through others (beyond the known ones,
    each of which must still exist: a fixed cycle leaves the list)."""
    g = import_graph()
    cycles = {frozenset(c): c for c in nx.simple_cycles(g)}
    new = sorted(" -> ".join([*c, c[0]]) for k, c in cycles.items() if k not in KNOWN_CYCLES)
    assert not new, "import cycles:\n" + "\n".join(new[:20])
    gone = sorted(", ".join(sorted(k)) for k in KNOWN_CYCLES if k not in cycles)
    assert not gone, "no longer a cycle, remove it from KNOWN_CYCLES: " + "; ".join(gone)


# --------------------------------------------------------------------------- no I/O in analysis

IO_CALLS = re.compile(
    r"\bopen\(|\.read_text\(|\.write_text\(|\.read_bytes\(|\.write_bytes\(|\bread_file\(|"
    r"\.to_file\(|\bread_csv\(|\.to_csv\(|\bread_excel\(|\.to_excel\(|\bread_parquet\(|"
    r"\.to_parquet\(|\brasterio\.open\(|\bpyogrio\.|\btomllib\.load|\bjson\.load\(|"
    r"\bjson\.dump\(|\.mkdir\(|\.unlink\(|\bshutil\.|\.rglob\(|\.glob\(|\.is_file\(|"
    r"\.exists\(|\.iterdir\("
)
# analysis/ modules allowed an I/O call, and why
IO_ALLOWED: dict[str, str] = {
    "api_inputs.py": "__version__ of a checkout that is not installed: pyproject.toml's version",
    "scratch.py": "scratch only (ScratchArrays): catchment blocks beyond INFRA_OVERLAP_SPILL_MB "
    "and a type's parked cell sets, in a temporary folder deleted with their owner (issue 19: "
    "memory bounded by the grid)",
}


@pytest.mark.parametrize("path", sorted((REPO / "analysis").rglob("*.py")), ids=lambda p: p.name)
def test_analysis_does_no_file_io(path):
    """analysis/ computes on loaded data: ``pipeline`` and ``geo`` read, ``maps`` writes."""
    if path.name in IO_ALLOWED:
        pytest.skip(IO_ALLOWED[path.name])
    hits = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0]
        if IO_CALLS.search(code) and not code.lstrip().startswith(('"', "'", "``")):
            hits.append(f"{path.name}:{i}: {line.strip()}")
    assert not hits, "file I/O in analysis/:\n" + "\n".join(hits)


def test_the_io_pattern_catches_io():
    """The pattern above finds the calls it is meant to find (else the test is vacuous)."""
    for code in ("open(p)", "df.to_csv(p)", "gpd.read_file(p)", "p.read_text()", "x.to_file(p)"):
        assert IO_CALLS.search(code), code
    assert not IO_CALLS.search("reopen_count = 1")


MAX_MODULE_LINES = 450  # issue 18: modules by concept, none over 450 lines


def test_no_module_is_over_450_lines() -> None:
    """Every module of the project (geo/, analysis/, maps/, the top floor, bench/, data/) has at
    most 450 lines; tests are exempt."""
    files = [*_modules().values(), *sorted((REPO / "bench").glob("*.py"))]
    files += sorted((REPO / "data").glob("*.py"))
    assert len(files) > 100, "weak check: the module list is short"
    long = {
        str(p.relative_to(REPO)): n
        for p in files
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
