"""A private apt configuration per set of suites, and a download cache.

The host's apt state is never touched: each suite set gets its own lists,
status and cache under the bed's cache folder (APT_CONFIG), and packages
are fetched with ``apt-get download`` and unpacked with ``dpkg-deb``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..core import progress
from ..core.artifact import locked
from ..core.errors import UserError
from ..core.host import run
from .mirrors import Mirrors

# Index lists older than this are refreshed, so that a new ABI (security
# update) is seen within a day; `--refresh` forces it.
LISTS_MAX_AGE_S = 24 * 3600
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class NotServed(UserError):
    """The index names a package whose file the mirror's pool does not hold
    (HTTP 404): a mirror between two syncs, or an archive whose index moved
    before its pool did."""


class AptSuites:
    """apt for a fixed set of suites, e.g. bookworm + bookworm-security."""

    def __init__(self, root: Path, mirrors: Mirrors, suites: tuple[str, ...],
                 security_suites: tuple[str, ...], arches: tuple[str, ...]) -> None:
        self.root = root
        self.mirrors = mirrors
        self.suites = suites
        self.security_suites = security_suites
        self.arches = arches
        self.conf = root / "apt.conf"

    def _write_config(self) -> None:
        if not Path(KEYRING).is_file():
            raise UserError(f"Debian archive keyring {KEYRING} missing",
                            hint="apt-get install debian-archive-keyring")
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "status").touch()
        lines = [f"deb [signed-by={KEYRING}] {self.mirrors.main} {s} main" for s in self.suites]
        lines += [f"deb [signed-by={KEYRING}] {self.mirrors.security} {s} main"
                  for s in self.security_suites]
        (self.root / "sources.list").write_text("\n".join(lines) + "\n")
        arch_list = " ".join(f'"{a}";' for a in self.arches)
        self.conf.write_text(
            f'Dir::Etc::sourcelist "{self.root}/sources.list";\n'
            'Dir::Etc::sourceparts "-";\n'
            f'Dir::State::Lists "{self.root}/lists";\n'
            f'Dir::State::status "{self.root}/status";\n'
            f'Dir::Cache "{self.root}/cache";\n'
            f"APT::Architectures {{ {arch_list} }};\n"
            # Downloads land in our cache folder, which the _apt user may not
            # be able to write; we are root (or the owner) anyway.
            'APT::Sandbox::User "root";\n'
            # Backports are NotAutomatic (priority 100): a suite set that
            # names one means its versions, the highest, as candidates.
            + "".join(f'APT::Default-Release "{s}";\n' for s in self.suites
                      if s.endswith("-backports"))
        )

    def _apt(self, *args: str) -> str:
        return run(["apt-get" if args[0] in ("update", "download") else "apt-cache", *args],
                   env={"APT_CONFIG": str(self.conf)})

    def _query(self, *args: str) -> str:
        """apt-cache ``args``, remembered until the lists are next refreshed
        (each call parses every list: about a second)."""
        memo_file = self.root / "queries.json"
        with locked(self.root):
            stamp = str((self.root / "lists.stamp").stat().st_mtime_ns)
            memo: dict[str, str] = {}
            if memo_file.exists():
                memo = json.loads(memo_file.read_text())
                if memo.get("\0stamp") != stamp:
                    memo = {}
            key = " ".join(args)
            if key not in memo:
                memo[key] = self._apt(*args)
                memo["\0stamp"] = stamp
                memo_file.write_text(json.dumps(memo))
            return memo[key]

    def update(self, *, force: bool = False) -> None:
        """Refresh the index lists when missing, stale or forced."""
        with locked(self.root):
            self._update(force=force)

    def _update(self, *, force: bool) -> None:
        sources_before = (self.root / "sources.list").read_text() \
            if (self.root / "sources.list").exists() else ""
        self._write_config()
        stamp = self.root / "lists.stamp"
        fresh = (stamp.exists() and time.time() - stamp.stat().st_mtime < LISTS_MAX_AGE_S
                 and sources_before == (self.root / "sources.list").read_text())
        if fresh and not force:
            return
        with progress.step(f"apt-get update for {' '.join(self.suites + self.security_suites)}"):
            self._apt("update", "-q")
        stamp.touch()

    def depends(self, package: str) -> list[str]:
        """The first alternative of each Depends of ``package``'s candidate."""
        out = self._query("depends", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces",
                        "--no-enhances", package)
        deps: list[str] = []
        for line in out.splitlines():
            match = re.match(r"^\s+\|?(?:Pre)?Depends: <?([^>\s]+)>?", line)
            if match:
                deps.append(match.group(1))
        return deps

    def exists(self, package: str) -> bool:
        out = self._query("policy", package)
        return "Candidate:" in out and "Candidate: (none)" not in out

    def download(self, packages: list[str], debs: Path) -> list[Path]:
        """Download into ``debs`` (a shared cache); reuse files already there."""
        debs.mkdir(parents=True, exist_ok=True)
        wanted: list[Path] = []
        missing: list[str] = []
        for package in packages:
            name, _, arch = package.partition(":")
            version = self.candidate(package)
            arch = arch or self._package_arch(package)
            filename = f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
            wanted.append(debs / filename)
            if not (debs / filename).exists():
                missing.append(package)
        if missing:
            # one download at a time into the shared folder (two suite sets
            # may want the same file)
            with locked(debs), progress.step(f"downloading {', '.join(missing)}"):
                missing = [p for p, f in zip(packages, wanted, strict=True) if not f.exists()]
                if missing:
                    try:
                        # under the lists' lock too: update() rewrites the
                        # configuration that apt-get reads
                        with locked(self.root):
                            run(["apt-get", "download", "-q", *missing], cwd=debs,
                                env={"APT_CONFIG": str(self.conf)})
                    except UserError as err:
                        if "404" not in str(err):
                            raise
                        raise NotServed(err.args[0], hint=err.hint) from err
        absent = [str(p) for p in wanted if not p.exists()]
        if absent:
            raise UserError(f"apt-get download did not produce {', '.join(absent)}")
        return wanted

    def names(self, prefix: str) -> list[str]:
        """Every package name in the index that starts with ``prefix``."""
        return self._query("pkgnames", prefix).split()

    def candidate(self, package: str) -> str:
        out = self._query("policy", package)
        match = re.search(r"Candidate: (\S+)", out)
        if not match or match.group(1) == "(none)":
            raise UserError(f"package {package} has no candidate in "
                            f"{' '.join(self.suites + self.security_suites)}",
                            hint="run with --refresh, or check the mirror")
        return match.group(1)

    def _package_arch(self, package: str) -> str:
        out = self._query("show", "--no-all-versions", package)
        match = re.search(r"^Architecture: (\S+)", out, re.MULTILINE)
        return match.group(1) if match else "all"


def extract(debs: list[Path], dest: Path) -> None:
    """Unpack ``debs`` into ``dest`` (the equivalent of dpkg -x)."""
    dest.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        run(["dpkg-deb", "-x", deb, dest])
