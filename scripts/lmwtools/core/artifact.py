"""Build-once artifacts: reused while their inputs are unchanged, rebuilt when they change.

Each artifact sits next to a ``.key`` file holding the fingerprint of its
inputs (package versions, file contents, settings). A build writes to a
temporary name and renames at the end, so an interrupted build never
leaves a half artifact that looks current. Test sessions run side by
side (scripts/run-tests --jobs): a build holds a lock on its artifact, so
a second session that needs the same one waits and then finds it cached.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import progress


def fingerprint(parts: Iterable[str | Path]) -> str:
    """sha256 over strings and over files' names and contents (directories recursively)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for file in files:
                digest.update(str(file.relative_to(part) if part.is_dir() else file.name).encode())
                digest.update(file.read_bytes())
        else:
            digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a ``.lock`` file next to it) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_once(path: Path, key: str, build: Callable[[Path], object], what: str) -> Path:
    """Return ``path``, building it with ``build(tmp_path)`` unless it is current."""
    with locked(path):
        return _build_once(path, key, build, what)


def _build_once(path: Path, key: str, build: Callable[[Path], object], what: str) -> Path:
    stamp = path.with_name(path.name + ".key")
    if path.exists() and stamp.exists() and stamp.read_text() == key:
        progress.say(f"{what}: cached")
        return path
    tmp = path.with_name(path.name + ".tmp")
    _remove(tmp)
    path.parent.mkdir(parents=True, exist_ok=True)
    with progress.step(what):
        build(tmp)
    _remove(path)
    stamp.unlink(missing_ok=True)
    tmp.rename(path)
    stamp.write_text(key)
    return path
