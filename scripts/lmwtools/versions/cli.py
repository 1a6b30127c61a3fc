"""scripts/lint-versions (part of make lint): no component changes without a new version.

    scripts/lint-versions            check (make lint)
    scripts/lint-versions --record   after bumping LMW_VERSION: record the sources

Package feeds, opkg/apt upgrades and Buildroot's per-package rebuilds see a
component change only through its version. meta-lmw keeps one version,
``LMW_VERSION`` in ``meta-lmw/classes-recipe/lmw_source.bbclass`` (the
Yocto recipes' PV; the Buildroot packages' versions through
br2-external/external.mk). ``meta-lmw/conf/lmw-sources.sha256``
records, for that version, a digest of each component's sources (the
``files/`` folder next to its recipe). The check fails, naming the
components, when a digest differs while the version is the recorded one:
bump LMW_VERSION, then ``--record``. A bumped version not yet recorded
fails too, so the record always describes the version in the tree.

Exit status: 0 consistent (or recorded), 2 a component changed under its
version, or the record is missing or stale.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import EXIT_OK, UserError, run_command
from ..core.paths import LAYER, REPO
from ..core.progress import say

VERSION_FILE = LAYER / "classes-recipe" / "lmw_source.bbclass"
RECORD_FILE = LAYER / "conf" / "lmw-sources.sha256"
RECORD_HEADER = """\
# The sources of each component (the files/ folder next to its recipe) as
# of LMW_VERSION below: scripts/lint-versions (make lint) fails when they
# change under the same version. After bumping LMW_VERSION in
# classes-recipe/lmw_source.bbclass: scripts/lint-versions --record.
"""


def version() -> str:
    match = re.search(r'^LMW_VERSION = "([^"]+)"$', VERSION_FILE.read_text(), re.MULTILINE)
    if not match:
        raise UserError(f"{VERSION_FILE}: no LMW_VERSION = \"<version>\" line")
    return match.group(1)


def components() -> dict[str, Path]:
    """Component name -> its sources: every recipe of the layer with a files/ folder."""
    found: dict[str, Path] = {}
    for recipe in sorted(LAYER.glob("recipes-*/*/*.bb")):
        files = recipe.parent / "files"
        if files.is_dir():
            found[recipe.stem.split("_")[0]] = files
    return found


def digest(folder: Path) -> str:
    """sha256 over the names, modes and contents of the folder's files (caches skipped)."""
    sha = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        executable = "x" if path.stat().st_mode & 0o111 else "-"
        sha.update(f"{path.relative_to(folder)}\0{executable}\0".encode())
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()


def read_record() -> tuple[str, dict[str, str]]:
    """(the recorded version, component -> digest)."""
    if not RECORD_FILE.is_file():
        raise UserError(f"{RECORD_FILE.relative_to(REPO)} is missing",
                        hint="scripts/lint-versions --record")
    recorded_version = ""
    digests: dict[str, str] = {}
    for line in RECORD_FILE.read_text().splitlines():
        if match := re.fullmatch(r"LMW_VERSION (\S+)", line):
            recorded_version = match.group(1)
        elif match := re.fullmatch(r"([0-9a-f]{64})  (\S+)", line):
            digests[match.group(2)] = match.group(1)
    return recorded_version, digests


def stale(recorded: dict[str, str]) -> list[str]:
    """The components whose sources differ from the record (or that it lacks)."""
    return [name for name, folder in components().items() if recorded.get(name) != digest(folder)]


def record(current: str) -> None:
    lines = [RECORD_HEADER.rstrip("\n"), f"LMW_VERSION {current}"]
    lines += [f"{digest(folder)}  {name}" for name, folder in components().items()]
    RECORD_FILE.write_text("\n".join(lines) + "\n")
    say(f"recorded the sources of {', '.join(components())} as {current}")


def check(args: argparse.Namespace) -> int:
    current = version()
    if args.record:
        record(current)
        return EXIT_OK
    recorded_version, recorded = read_record()
    changed = stale(recorded)
    if recorded_version == current and changed:
        raise UserError(f"{', '.join(changed)}: sources changed, version still {current}",
                        hint=f"bump LMW_VERSION in {VERSION_FILE.relative_to(REPO)}, "
                             "then scripts/lint-versions --record")
    if recorded_version != current:
        raise UserError(f"LMW_VERSION is {current}, but the sources are recorded for "
                        f"{recorded_version or 'no version'}",
                        hint="scripts/lint-versions --record")
    say(f"{len(recorded)} components at {current}, sources as recorded")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lint-versions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true",
                        help="record the sources under the current LMW_VERSION")
    args = parser.parse_args(argv)
    return run_command("lint-versions", lambda: check(args))
