"""Buildroot itself: a checkout of the release the tree pins, from the snapshot, and make in it.

The Buildroot tree (br2-external/) is checked against one Buildroot
release, the tag named in br2-external/buildroot.version. The checkout is
made once per release (``git clone --depth 1 --branch <tag>`` from the
bare snapshot in $LMW_UPSTREAM) under a work dir and reused. Each
defconfig is configured in its own output dir (``O=``), as users do.
Used by br-check (brcheck/) and by the bed's Buildroot userland.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import upstream
from .artifact import build_once
from .errors import UserError
from .paths import REPO

TREE = REPO / "br2-external"
# The Buildroot release (a tag of buildroot/buildroot) the tree is checked
# against: the LTS series' current point release.
RELEASE_FILE = TREE / "buildroot.version"
BUILDROOT_REPO = "buildroot/buildroot"

# Variables that Buildroot's make reads from the environment and refuses
# or misreads (support/dependencies/dependencies.sh): a clean environment.
_CLEAN_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR")


@dataclass(frozen=True, slots=True)
class Buildroot:
    source: Path            # the checkout: make -C here
    release: str
    work: Path              # output dirs go below

    def output(self, defconfig: str) -> Path:
        return self.work / "output" / defconfig.removesuffix("_defconfig")


def release() -> str:
    text = RELEASE_FILE.read_text().strip() if RELEASE_FILE.is_file() else ""
    if not re.fullmatch(r"\d{4}\.\d{2}(\.\d+)?", text):
        raise UserError(f"{RELEASE_FILE}: no Buildroot release (YYYY.MM[.N]) in it")
    return text


def checkout(work: Path) -> Buildroot:
    """The pinned Buildroot release, checked out from $LMW_UPSTREAM (cached)."""
    pinned = release()
    snapshot = upstream.snapshot(BUILDROOT_REPO)

    def clone(into: Path) -> None:
        proc = subprocess.run(
            ["git", "-c", "advice.detachedHead=false", "-c", f"safe.directory={snapshot}",
             "clone", "-q", "--depth", "1", "--branch", pinned, f"file://{snapshot}",
             str(into)], text=True, capture_output=True, check=False)
        if proc.returncode != 0:
            raise UserError(f"cannot check out Buildroot {pinned} from {snapshot}: "
                            f"{proc.stderr.strip()}",
                            hint=f"the snapshot needs the tag {pinned} "
                                 f"({RELEASE_FILE.relative_to(REPO)})")

    source = build_once(work / f"buildroot-{pinned}", pinned, clone,
                        f"checking out Buildroot {pinned}")
    return Buildroot(source=source, release=pinned, work=work)


@dataclass(frozen=True, slots=True)
class MakeResult:
    returncode: int
    output: str


def make(buildroot: Buildroot, output: Path, targets: Sequence[str],
         variables: dict[str, str] | None = None) -> MakeResult:
    """make -C <buildroot> O=<output> BR2_EXTERNAL=<tree> <targets>, in a clean environment."""
    output.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k in _CLEAN_ENV_KEEP}
    argv = ["make", "-s", "-C", str(buildroot.source), f"O={output}",
            f"BR2_EXTERNAL={TREE}", *targets]
    argv += [f"{name}={value}" for name, value in (variables or {}).items()]
    proc = subprocess.run(argv, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
    return MakeResult(proc.returncode, proc.stdout)


def make_ok(buildroot: Buildroot, output: Path, targets: Sequence[str],
            variables: dict[str, str] | None = None) -> str:
    result = make(buildroot, output, targets, variables)
    if result.returncode != 0:
        tail = "\n".join(result.output.splitlines()[-20:])
        raise UserError(f"make {' '.join(targets)} failed (exit {result.returncode}) "
                        f"in {output}:\n{tail}")
    return result.output


def parse_printvars(text: str, names: list[str]) -> dict[str, str]:
    """``make printvars VARS=...`` output: name -> value (a multi-line value kept
    whole; other output, such as show-info's JSON before it, ignored)."""
    values: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        match = re.match(r"^([A-Z0-9_]+)=(.*)$", line)
        if match and match.group(1) in names:
            current = match.group(1)
            values[current] = match.group(2)
        elif current:
            values[current] += "\n" + line
    return values
