"""Where the tool finds the files it ships and where it writes when not told, the same from a
source checkout (``make run``) and from an installed wheel (``pipx install``, a venv).

The wheel installs the top-level packages side by side (``geo/``, ``analysis/``, ``maps/``,
``data/`` and ``cli.py`` in one site-packages), so the shipped data is found beside ``geo/`` in
both cases. What differs: the checkout has METHOD.md at its root (the wheel carries a copy in
``data/``, see ``setup.py``), and an installed tool must never write into site-packages (default
outputs go under the working directory, downloads into the user's cache folder).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["DATA_DIR", "cache_dir", "default_out", "is_checkout", "method_md"]

# the `data` package: region configs, the embedded default data/<region>/, capacity tables
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_ROOT = DATA_DIR.parent  # a checkout's repository; an installed tool's site-packages


def is_checkout() -> bool:
    """True when running from a source tree (its ``pyproject.toml`` beside ``data/``).

    Returns
    -------
    bool
        False for an installed wheel (site-packages has no ``pyproject.toml``).
    """
    return (_ROOT / "pyproject.toml").is_file() and (_ROOT / "METHOD.md").is_file()


def method_md() -> Path | None:
    """The method note the report copies beside ``report.html``.

    Returns
    -------
    Path or None
        The copy shipped in the wheel (``data/METHOD.md``), else the checkout's root
        ``METHOD.md``; None when neither exists.
    """
    for p in (DATA_DIR / "METHOD.md", _ROOT / "METHOD.md"):
        if p.is_file():
            return p
    return None


def default_out(*parts: str) -> Path:
    """Default output folder: ``out/<parts>`` under the current working directory.

    ``make run`` runs from the repository root, so it still writes ``out/vietnam/`` there; an
    installed ``infra-overlap`` writes beside wherever the user runs it, never into
    site-packages.

    Parameters
    ----------
    *parts
        Sub-folders under ``out/`` (e.g. the region name).

    Returns
    -------
    Path
        ``Path.cwd() / "out" / parts...`` (relative parts, not resolved).
    """
    return Path.cwd().joinpath("out", *parts)


def cache_dir() -> Path:
    """Download cache (osmnx responses, rasters) of ``fetch``.

    Returns
    -------
    Path
        ``$INFRA_OVERLAP_CACHE`` when set; in a checkout ``data/cache`` (git-ignored, as before);
        for an installed tool the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache`` on
        Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows) + ``infra-overlap``.
    """
    env = os.environ.get("INFRA_OVERLAP_CACHE")
    if env:
        return Path(env)
    if is_checkout():
        return DATA_DIR / "cache"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "infra-overlap"
