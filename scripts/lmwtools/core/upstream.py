"""Upstream code offline: a directory of git snapshots that the real tools check us with.

bitbake and openembedded-core (oe-check, tests/yocto) and Buildroot
(br-check, tests/buildroot) come from git snapshots laid out as
``<owner>+<name>/repo`` (bare repositories holding the commits and tags that
the kas lock files and the Buildroot tree pin). ``$LMW_UPSTREAM`` names that
directory; nothing is fetched from a git server.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

SNAPSHOTS_ENV = "LMW_UPSTREAM"
LAYOUT_HINT = ("a directory of git snapshots laid out as <owner>+<name>/repo (bare git dirs: "
               "docs/yocto.md, docs/buildroot.md)")


def configured() -> bool:
    """Whether $LMW_UPSTREAM is set (the checks that need it skip otherwise)."""
    return bool(os.environ.get(SNAPSHOTS_ENV))


def snapshot_dir() -> Path:
    """The directory of upstream snapshots that $LMW_UPSTREAM names."""
    value = os.environ.get(SNAPSHOTS_ENV, "")
    if not value:
        raise UserError(f"${SNAPSHOTS_ENV} is not set: no upstream sources (bitbake, "
                        "openembedded-core, Buildroot)",
                        hint=f"export {SNAPSHOTS_ENV}=DIR, {LAYOUT_HINT}")
    snapshots = Path(value)
    if not snapshots.is_dir():
        raise UserError(f"${SNAPSHOTS_ENV}={value} is not a directory", hint=LAYOUT_HINT)
    return snapshots.absolute()


def find(snapshots: Path, owner_name: str) -> Path | None:
    """The bare repository of ``owner/name`` in ``snapshots``: ``<owner>+<name>/repo``
    (or ``<owner>+<name>.git``, ``<owner>+<name>``), if there is one."""
    stem = owner_name.replace("/", "+")
    for candidate in (snapshots / stem / "repo", snapshots / f"{stem}.git", snapshots / stem):
        if (candidate / "objects").is_dir():
            return candidate
    return None


def snapshot(owner_name: str) -> Path:
    """The bare repository of ``owner/name`` under $LMW_UPSTREAM."""
    snapshots = snapshot_dir()
    found = find(snapshots, owner_name)
    if found is None:
        stem = owner_name.replace("/", "+")
        raise UserError(f"no snapshot of {owner_name} in {snapshots}",
                        hint=f"put a bare clone of it at {snapshots}/{stem}/repo")
    return found
