"""Scratch files of ``analysis/``: arrays set aside on disk while a run no longer needs them
in memory (issue 19: memory bounded by the grid, not the pairs). The one module of
``analysis/`` that writes files; everything it writes is removed with its owner."""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ScratchArrays"]


class ScratchArrays:
    """Arrays set aside on disk by key, one NumPy ``.npy`` file an array (the exact arrays:
    not Parquet, which would add a dependency for no gain here), in a temporary folder of
    their own, made when first needed and removed with this object or by :meth:`close`: the
    one place of ``analysis/`` that writes scratch files (issue 19: memory bounded by the
    grid). :class:`BlockStore` spills its blocks here; ``block_sets.SetSource.park`` holds a
    type's primary break's lists here while the verdict's passes run."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.dir: Path | None = None
        self.paths: dict[Any, dict[str, Path]] = {}
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._n = 0

    def __contains__(self, key: Any) -> bool:
        return key in self.paths

    def put(self, key: Any, **arrays: np.ndarray) -> None:
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix=self.prefix))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self.dir, True)
        self.drop(key)
        self._n += 1
        paths = {name: self.dir / f"{self._n}_{os.getpid()}_{name}.npy" for name in arrays}
        for name, a in arrays.items():
            np.save(paths[name], a)
        self.paths[key] = paths

    def read(self, key: Any, *, mmap: bool = False) -> dict[str, np.ndarray]:
        """The arrays of ``key``, read back (the files stay); ``mmap``: the files' pages mapped
        read-only, no copy (a plain ``ndarray`` view of each ``np.memmap``)."""
        return {name: np.asarray(np.load(path, mmap_mode="r" if mmap else None))
                for name, path in self.paths[key].items()}  # fmt: skip

    def take(self, key: Any) -> dict[str, np.ndarray]:
        """The arrays of ``key``, read back; the files are removed."""
        out = self.read(key)
        self.drop(key)
        return out

    def drop(self, key: Any) -> None:
        for path in self.paths.pop(key, {}).values():
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the folder and every file now."""
        self.paths = {}
        if self._finalizer is not None:
            self._finalizer()
        self.dir = None
