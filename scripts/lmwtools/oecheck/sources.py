"""Upstream sources offline: git snapshots for kas's URLs, and the commits the lock files pin."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..core import upstream
from ..core.errors import UserError
from ..core.paths import REPO

# The directory of git snapshots ($LMW_UPSTREAM): core.upstream.
SNAPSHOTS_ENV = upstream.SNAPSHOTS_ENV
snapshot_dir = upstream.snapshot_dir


_GITHUB_URL = re.compile(r"^https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$")
_KAS_URL = re.compile(r"^\s*url:\s*[\"']?([^\"'\s#]+)", re.MULTILINE)


def kas_urls(repo: Path = REPO) -> list[str]:
    """Every repository URL named in kas/ (release files and optional BSPs)."""
    urls: set[str] = set()
    for kas_file in sorted((repo / "kas").rglob("*.yml")):
        urls.update(_KAS_URL.findall(kas_file.read_text()))
    return sorted(urls)


def snapshot_for(snapshots: Path, url: str) -> Path | None:
    """The git snapshot of ``url`` under ``snapshots``, if there is one."""
    match = _GITHUB_URL.match(url)
    if not match:
        return None
    return upstream.find(snapshots, f"{match.group(1)}/{match.group(2)}")


def release_urls(repo: Path, release: str) -> list[str]:
    """URLs a release cannot do without (its release file's repos)."""
    text = (repo / "kas" / "release" / f"{release}.yml").read_text()
    return sorted(set(_KAS_URL.findall(text)))


def gitconfig_text(repo: Path, snapshots: Path, releases: Sequence[str]) -> str:
    """A private git config: our URLs -> local snapshots, and the directories git may trust."""
    for release in releases:
        missing = [u for u in release_urls(repo, release) if snapshot_for(snapshots, u) is None]
        if missing:
            raise UserError(f"no snapshot in {snapshots} for {', '.join(missing)} ({release})",
                            hint="put a bare clone of each at "
                                f"{snapshots}/<owner>+<name>/repo")
    lines = ["[safe]", f"\tdirectory = {repo}"]
    rewrites: list[str] = []
    for url in kas_urls(repo):
        snapshot = snapshot_for(snapshots, url)
        if snapshot is None:
            continue  # an optional repo (a BSP) without a snapshot: unused here
        # The snapshots belong to another user (root): let git read them.
        lines.append(f"\tdirectory = {snapshot}")
        # file:// makes git use upload-pack, which reads the snapshot without
        # copying its files (they may be unreadable; partial clones are).
        rewrites += [f'[url "file://{snapshot}"]', f"\tinsteadOf = {url}"]
    # kas clones with depth 1 (KAS_CLONE_DEPTH); a locked commit that is not
    # a branch tip is then fetched by its hash, which upload-pack must allow.
    tail = ["[uploadpack]", "\tallowAnySHA1InWant = true"]
    return "\n".join([*lines, *rewrites, *tail]) + "\n"


def locked_commits(repo: Path, release: str) -> dict[str, str]:
    """repo name -> commit, from kas/release/<release>.lock.yml (the format kas lock writes)."""
    text = (repo / "kas" / "release" / f"{release}.lock.yml").read_text()
    pairs = re.findall(r"^\s{4}([\w.-]+):\s*\n\s{6}commit:\s*([0-9a-f]{40})\s*$", text,
                       re.MULTILINE)
    return dict(pairs)
