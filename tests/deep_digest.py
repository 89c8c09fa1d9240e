"""A deep fingerprint of an object graph (dataclasses, frames, arrays, dicts): one hash per
reachable leaf, keyed by its path, so a test can say which part of its inputs a call changed."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely


def _h(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _series(s: pd.Series) -> str:
    if isinstance(s.dtype, pd.api.types.CategoricalDtype) or s.dtype != object:
        try:
            values = pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes()
            return _h(str(s.dtype), values)
        except TypeError:
            pass
    if len(s) and all(v is None or isinstance(v, shapely.Geometry) for v in s):
        return _h("geom", b"".join(shapely.to_wkb(v) if v is not None else b"-" for v in s))
    return _h(str(s.dtype), repr(s.tolist()))


def _frame(df: pd.DataFrame) -> dict[str, str]:
    out = {
        "columns": _h(repr(list(df.columns)), repr([str(t) for t in df.dtypes])),
        "index": _h(repr(df.index.tolist())),
        "attrs": _h(repr(df.attrs)),
    }
    crs = getattr(df, "crs", None) if "geometry" in df else None
    if crs is not None:
        out["crs"] = _h(crs.to_string())
    for c in df.columns:
        out[f"[{c}]"] = _series(df[c])
    return out


def digest(obj: Any, path: str = "", seen: set[int] | None = None) -> dict[str, str]:
    """Path -> hash of every leaf reachable from ``obj`` (cycles and repeats visited once)."""
    seen = set() if seen is None else seen
    if isinstance(obj, str | bytes | int | float | bool | complex | type(None) | PurePath):
        return {path: _h(type(obj).__name__, repr(obj))}
    if id(obj) in seen:
        return {}
    seen.add(id(obj))
    if isinstance(obj, pd.DataFrame):
        return {f"{path}.{k}": v for k, v in _frame(obj).items()}
    if isinstance(obj, pd.Series):
        return {path: _h(_series(obj), repr(obj.index.tolist()), str(obj.name))}
    if isinstance(obj, np.ndarray):
        body = repr(obj.tolist()) if obj.dtype == object else obj.tobytes()
        return {path: _h(str(obj.dtype), repr(obj.shape), body)}
    if sp.issparse(obj):
        csr = sp.csr_matrix(obj)
        return {path: _h(repr(csr.shape), csr.data.tobytes(), csr.indices.tobytes())}
    if isinstance(obj, shapely.Geometry):
        return {path: _h(shapely.to_wkb(obj))}
    out: dict[str, str] = {}
    if isinstance(obj, Mapping):
        out[f"{path}#keys"] = _h(repr(sorted(map(repr, obj))))
        for k, v in obj.items():
            out.update(digest(v, f"{path}[{k!r}]", seen))
        return out
    if isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=repr) if isinstance(obj, set | frozenset) else obj
        out[f"{path}#len"] = _h(str(len(items)))
        for i, v in enumerate(items):
            out.update(digest(v, f"{path}[{i}]", seen))
        return out
    names = (
        [f.name for f in dataclasses.fields(obj)] if dataclasses.is_dataclass(obj) else []
    ) + sorted(getattr(obj, "__dict__", {}))
    if not names:
        return {path: _h(type(obj).__qualname__, repr(obj))}
    out[f"{path}#attrs"] = _h(type(obj).__qualname__, repr(sorted(set(names))))
    for name in dict.fromkeys(names):
        out.update(digest(getattr(obj, name), f"{path}.{name}", seen))
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The paths whose hash differs, or that one side lacks."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
