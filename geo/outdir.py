"""Output folders that cannot destroy anything: a lock per folder, a verifiable run marker,
temporary and previous folders with exact names, inputs never overwritten.

A run writes into ``.<name>.infra-overlap-tmp`` beside ``<name>`` and moves it in whole; the
previous folder sits in ``.<name>.infra-overlap-old`` for the instant of the swap. Both names are
exact (no process id or number is parsed out of a folder name, so a run to ``X`` never touches the
folders of a run to ``X-2024``), and they are only cleaned up by a process holding the folder's
lock, so a live writer's folders are never removed.

``--overwrite`` replaces only a folder that a previous run wrote: one holding the marker file
:data:`MARKER`, whose recorded SHA-256 matches ``manifest.json``, and no file the manifest does not
list. Any other non-empty folder (a thesis, a data folder) is refused with a message.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from geo.errors import InputError
from geo.files import sha256_file, write_text_atomic

log = logging.getLogger(__name__)

MARKER = ".infra-overlap-run"
MANIFEST = "manifest.json"
TMP_SUFFIX = ".infra-overlap-tmp"
OLD_SUFFIX = ".infra-overlap-old"
PARTIAL_SUFFIX = ".partial"
# longest relative path a run writes (rasters/<type> overviews, quality tables) plus a margin
LONGEST_OUTPUT_NAME = 96
DEFAULT_WAIT_S = 5.0
_HELD: dict[str, FileLock] = {}
# files that programs create beside outputs they only read (GDAL statistics, SQLite journals of
# an open GeoPackage, editor and office lock files, desktop metadata): not a user's work
SIDE_FILES = (
    "*.aux.xml",
    "*.gpkg-wal",
    "*.gpkg-shm",
    "*.gpkg-journal",
    "*~",
    ".~lock.*#",
    "~$*",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
)


def tmp_dir_of(out: Path) -> Path:
    """The exact temporary folder of ``out``: ``.<name>.infra-overlap-tmp`` beside it."""
    return out.with_name(f".{out.name}{TMP_SUFFIX}")


def old_dir_of(out: Path) -> Path:
    """Where the previous ``out`` waits during the swap: ``.<name>.infra-overlap-old``."""
    return out.with_name(f".{out.name}{OLD_SUFFIX}")


def partial_dir_of(out: Path) -> Path:
    """The resumable download folder of a fetch to ``out``: ``<name>.partial`` beside it."""
    return out.with_name(f"{out.name}{PARTIAL_SUFFIX}")


def lock_dir() -> Path:
    """Folder of the lock files ($INFRA_OVERLAP_LOCK_DIR, else the system temporary folder).

    Locks live outside the output's parent so that nothing but the outputs appears there and a
    lock file is never deleted while another process waits on it.
    """
    d = Path(
        os.environ.get("INFRA_OVERLAP_LOCK_DIR")
        or Path(tempfile.gettempdir()) / "infra-overlap-locks"
    )
    d.mkdir(parents=True, exist_ok=True)
    return d


def _lock_paths(folder: Path) -> tuple[Path, Path]:
    key = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:32]
    base = lock_dir() / key
    return base.with_suffix(".lock"), base.with_suffix(".holder.json")


def _holder_text(holder: Path) -> str:
    try:
        h = json.loads(holder.read_text(encoding="utf-8"))
        return f"process {h['pid']} on {h['host']} since {h['since']} ({h['command']})"
    except (OSError, ValueError, KeyError):
        return "another process (holder unknown)"


@contextlib.contextmanager
def folder_lock(folder: str | Path, *, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold the lock of ``folder`` (re-entrant in one process).

    Parameters
    ----------
    folder
        The output folder (need not exist).
    wait_s
        How long to wait for another run holding it, in seconds; then :class:`InputError`
        naming the holder.
    """
    folder = Path(folder)
    path, holder = _lock_paths(folder)
    lock = _HELD.setdefault(str(path), FileLock(str(path)))
    try:
        lock.acquire(timeout=max(wait_s, 0.0))
    except Timeout:
        raise InputError(
            f"another run is writing this folder: {_holder_text(holder)}; wait for it to finish, "
            f"or choose another --out (waited {wait_s:g} s)",
            source=str(folder),
        ) from None
    try:
        if lock.lock_counter == 1:
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join(sys.argv[:6])[:200],
                "folder": str(folder.resolve()),
            }
            write_text_atomic(holder, json.dumps(info) + "\n")
        yield
    finally:
        lock.release()


def recover(out: Path) -> None:
    """Clean up after a run killed while replacing ``out`` (call while holding its lock)."""
    tmp, old = tmp_dir_of(out), old_dir_of(out)
    if old.is_dir():
        if not out.exists():
            os.replace(old, out)
            log.warning("%s: restored the previous outputs left by an interrupted run", out)
        else:
            shutil.rmtree(old, ignore_errors=True)
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("removed %s, left by an interrupted run", tmp)


def _files(folder: Path) -> set[str]:
    """Files of ``folder`` (relative, POSIX) except the side files of :data:`SIDE_FILES`."""
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(fnmatch.fnmatch(p.name, pat) for pat in SIDE_FILES)
    }


def is_run_folder(folder: Path) -> bool:
    """True when ``folder`` was written whole by a run: a valid marker, a matching manifest,
    and no file that the manifest does not list."""
    marker, manifest = folder / MARKER, folder / MANIFEST
    try:
        mark = json.loads(marker.read_text(encoding="utf-8"))
        listed = set(json.loads(manifest.read_text(encoding="utf-8"))["outputs"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if mark.get("tool") != "infra-overlap" or mark.get("manifest_sha256") != sha256_file(manifest):
        return False
    return _files(folder) <= listed | {MARKER, MANIFEST}


def write_marker(folder: Path) -> None:
    """Write the run marker of ``folder`` (after its manifest.json)."""
    mark = {"tool": "infra-overlap", "manifest_sha256": sha256_file(folder / MANIFEST)}
    write_text_atomic(folder / MARKER, json.dumps(mark, sort_keys=True) + "\n")


def check_replaceable(out: Path, *, overwrite: bool) -> None:
    """Refuse a non-empty ``out`` unless ``overwrite`` and it is a previous run's folder."""
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder; choose another --out", source=str(out))
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise InputError(
            "the output folder already holds files; pass --overwrite to replace a previous run "
            "or choose another --out",
            source=str(out),
        )
    if not is_run_folder(out):
        raise InputError(
            f"--overwrite replaces only a folder written by a previous run (with its {MANIFEST} "
            f"and {MARKER}), and this folder holds other files; nothing was changed. Choose an "
            "empty or new --out, or move its files away yourself",
            source=str(out),
        )


def check_not_inputs(out: Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse when any input file or folder lies inside ``out`` (replacing ``out`` would
    destroy it), or ``out`` lies inside an input file's place."""
    o = out.resolve()
    for p in inputs:
        if not p:
            continue
        q = Path(p).resolve()
        if q == o or o in q.parents:
            raise InputError(
                f"the output folder contains the input {q}; writing there could destroy it. "
                "Choose another --out",
                source=str(out),
            )


def check_output_files(outputs: Iterable[Path], inputs: Iterable[str | Path | None]) -> None:
    """Refuse when an output file is an input file (resolved paths compared)."""
    ins = {Path(p).resolve() for p in inputs if p}
    for f in outputs:
        if f.resolve() in ins:
            raise InputError(
                "this output file is also an input: writing it would overwrite your data. "
                "Choose another --out",
                source=str(f),
            )


def check_path_length(out: Path) -> None:
    """Refuse an ``out`` whose own name or whose files' paths exceed the file system's limits."""
    parent = out.resolve().parent
    try:
        name_max = os.pathconf(parent if parent.exists() else "/", "PC_NAME_MAX")
        path_max = os.pathconf(parent if parent.exists() else "/", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover (Windows)
        name_max, path_max = 255, 4096
    longest = len(f".{out.name}{max(TMP_SUFFIX, OLD_SUFFIX, key=len)}")
    if longest > name_max:
        raise InputError(
            f"folder name too long ({len(out.name)} characters; at most {name_max - longest + len(out.name)}); "
            "choose a shorter --out",
            source=str(out),
        )
    if len(str(out.resolve())) + LONGEST_OUTPUT_NAME > path_max:
        raise InputError(
            f"path too long for the files a run writes (limit {path_max} characters); choose a "
            "shorter --out",
            source=str(out),
        )


def check_writable(out: Path) -> None:
    """Fail before any computation when ``out`` cannot be written or its paths are too long."""
    check_path_length(out)
    probe = tmp_dir_of(out)
    try:
        probe.mkdir(parents=True, exist_ok=True)
        (probe / ".write-probe").write_bytes(b"ok")
        (probe / ".write-probe").unlink()
    except OSError as exc:
        raise InputError(
            f"cannot write the output folder ({exc.strerror or exc}); check its permissions and "
            "free space, or choose another --out",
            source=str(out),
        ) from None
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def prepare(out: Path, *, overwrite: bool, inputs: Iterable[str | Path | None] = ()) -> None:
    """Every check before a computation that will write ``out`` (call while holding its lock)."""
    check_path_length(out)
    recover(out)
    check_replaceable(out, overwrite=overwrite)
    check_not_inputs(out, inputs)
    check_writable(out)


def swap_in(tmp: Path, out: Path) -> None:
    """Move the complete folder ``tmp`` onto ``out`` (the previous one kept until then)."""
    old = old_dir_of(out)
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
