"""Build hook only (the configuration is in pyproject.toml): the wheel carries a copy of the
repository's METHOD.md in its ``data`` package, where ``geo.paths.method_md`` finds it once
installed (package data cannot name a file outside the package's folder)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithMethod(build_py):
    """``build_py`` that also copies METHOD.md into ``data/`` of the build."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "data" / "METHOD.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(ROOT / "METHOD.md"), str(target))


setup(cmdclass={"build_py": BuildPyWithMethod})
