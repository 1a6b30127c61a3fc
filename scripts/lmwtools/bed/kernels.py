"""Debian kernels for guests: resolve, download, unpack, make the headers usable.

One unpacked tree per kernel release holds the image (vmlinuz, modules)
and the headers (arch headers, -common and the host's linux-kbuild), so
that out-of-tree modules build against exactly the kernel that boots.

Debian's 7.x packaging splits the image: ``linux-image-<abi>`` is a small
package that depends on ``linux-binary-<abi>`` (the kernel, in
``/usr/lib/modules/<abi>/vmlinuz``), ``linux-modules-<abi>`` and
``linux-base-<abi>`` (config, System.map); the tree takes every part and
finds the kernel and its config in either layout.

A mirror's index can name a release whose files its pool does not hold
yet: trixie-backports' armhf and riscv64 indexes have moved to a new
series while their pool still answered 404 for it. The bed then takes the
newest release of the same flavour that the pool does serve, and says so:
a run proves what it boots, and the claim check below names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core import progress
from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import run
from ..core.paths import cache_root
from . import kernelbuild
from .apt import AptSuites, NotServed, extract
from .catalog import ARCHES, Arch, KernelSeries, Origin, check_claimed
from .mirrors import debian_mirrors


def modules_dir(root: Path, release: str) -> Path | None:
    """<root>/lib/modules/<release>, or under usr/ (trixie and later are usr-merged)."""
    for base in ("lib", "usr/lib"):
        path = root / base / "modules" / release
        if path.is_dir():
            return path
    return None


@dataclass(frozen=True, slots=True)
class KernelTree:
    """An unpacked Debian kernel: boots from ``vmlinuz``, builds modules from ``headers``."""

    series: KernelSeries
    arch: Arch
    release: str       # uname -r, e.g. 6.1.0-57-amd64
    version: str       # Debian package version, e.g. 6.1.192-3
    root: Path

    def _boot_file(self, name: str) -> Path:
        """boot/<name>-<release> (up to 6.x), or <modules>/<name> (Debian 7.x)."""
        classic = self.root / "boot" / f"{name}-{self.release}"
        modules = modules_dir(self.root, self.release)
        if classic.exists() or modules is None or not (modules / name).exists():
            return classic
        return modules / name

    @property
    def vmlinuz(self) -> Path:
        """The kernel to boot (riscv64's is named vmlinux: a flat Image, not ELF)."""
        image = self._boot_file("vmlinuz")
        return image if image.exists() else self._boot_file("vmlinux")

    @property
    def modules(self) -> Path:
        path = modules_dir(self.root, self.release)
        if path is None:
            raise UserError(f"no modules directory for {self.release} in {self.root}")
        return path

    @property
    def headers(self) -> Path:
        if self.series.source is not None:
            return self.root / "build"      # kernelbuild: the kbuild output directory
        return self.root / "usr" / "src" / f"linux-headers-{self.release}"

    @property
    def config(self) -> Path:
        return self._boot_file("config")

    @property
    def build_env(self) -> str | None:
        """The Debian suite whose root builds modules for this kernel (None: the host)."""
        return self.series.origin(self.arch.key).build_env


def apt_for(series: KernelSeries, arch: Arch) -> AptSuites:
    """apt for the suites that serve ``series`` on ``arch`` (shared by series
    from the same suites)."""
    return apt_for_origin(series.origin(arch.key))


def apt_for_origin(origin: Origin) -> AptSuites:
    debs = tuple(dict.fromkeys(["amd64", *(ARCHES[a].deb for a in origin.arches)]))
    where = "+".join(origin.suites) + "_" + "+".join(debs)
    return AptSuites(cache_root() / "apt" / where, debian_mirrors(),
                     origin.suites, origin.security_suites, debs)


def _qualified(package: str, arch: Arch) -> str:
    """Package name as apt wants it for the guest arch (host arch is amd64)."""
    return package if arch.deb == "amd64" else f"{package}:{arch.deb}"


def _strip_arch(package: str) -> str:
    return package.split(":", 1)[0]


# The parts of Debian 7.x's split image package (see the module docstring).
_IMAGE_PARTS = ("linux-binary-", "linux-modules-", "linux-base-")


def resolve(series: KernelSeries, arch: Arch, *, refresh: bool = False) -> str:
    """The kernel release the suites' meta-package points to today."""
    check_claimed(series, arch.key)
    apt = apt_for(series, arch)
    apt.update(force=refresh)
    meta = _qualified(f"linux-image-{series.flavour}{arch.flavour}", arch)
    images = [d for d in apt.depends(meta) if d.startswith("linux-image-")]
    if not images:
        raise UserError(f"{meta} in {series.note} depends on no linux-image package")
    return _strip_arch(images[0]).removeprefix("linux-image-")


def packages_of(apt: AptSuites, arch: Arch, release: str) -> list[str]:
    """The packages that make up kernel ``release``: image, its parts, headers."""
    image = f"linux-image-{release}"
    if not apt.exists(_qualified(image, arch)):
        image += "-unsigned"
    parts = [_qualified(_strip_arch(d), arch) for d in apt.depends(_qualified(image, arch))
             if _strip_arch(d).startswith(_IMAGE_PARTS) and _strip_arch(d).endswith(release)]
    headers = f"linux-headers-{release}"
    header_deps = [_strip_arch(d) for d in apt.depends(_qualified(headers, arch))]
    # -common, or -common-rt for the rt flavour
    common = [d for d in header_deps if d.startswith("linux-headers-") and "-common" in d]
    kbuild = [d for d in header_deps if d.startswith("linux-kbuild-")]
    if not common or not kbuild:
        raise UserError(f"cannot find -common/linux-kbuild among the depends of {headers}: "
                        f"{header_deps}")
    # kbuild's host programs (fixdep, modpost) run on the build host: host arch.
    return [_qualified(image, arch), *parts, _qualified(headers, arch), common[0], kbuild[0]]


# How many older releases to try when the pool does not serve the newest:
# a pool is behind its index by one upload, not by many.
OLDER_RELEASES_TRIED = 2


def older_releases(names: list[str], flavour: str, release: str) -> list[str]:
    """The releases of ``flavour`` among the index's package ``names`` that
    are older than ``release``, newest first."""
    pattern = re.compile(rf"linux-image-(\d+\.\d+\.\d+\+deb\d+-{re.escape(flavour)})"
                         r"(?:-unsigned)?")
    found = {m.group(1) for name in names if (m := pattern.fullmatch(name))}

    def key(rel: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", rel.split("+", 1)[0]))

    return sorted((r for r in found if key(r) < key(release)), key=key, reverse=True)


def _download_served(series: KernelSeries, arch: Arch,
                     release: str) -> tuple[str, list[str], list[Path]]:
    """Download ``release``, or the newest older one the pool serves."""
    apt = apt_for(series, arch)
    flavour = f"{series.flavour}{arch.flavour}"
    older = older_releases(apt.names("linux-image-"), flavour, release)
    not_served: list[str] = []
    for candidate in (release, *older[:OLDER_RELEASES_TRIED]):
        packages = packages_of(apt, arch, candidate)
        try:
            # The image first, alone: where the pool lacks an arch's build it
            # lacks all of it, and apt-get would fetch the rest (a hundred MB
            # of modules) before it gave up on the one file it cannot get.
            apt.download(packages[:1], cache_root() / "debs")
            debs = apt.download(packages, cache_root() / "debs")
        except NotServed:
            not_served.append(candidate)
            continue
        if not_served:
            progress.say(f"kernel {series.name} on {arch.key}: the index names "
                         f"{', '.join(not_served)}, whose files the mirror does not serve "
                         f"(404); taking {candidate}, the newest it serves")
        return candidate, packages, debs
    raise UserError(f"kernel {series.name} on {arch.key}: the mirror serves none of "
                    f"{', '.join(not_served)} that its index names (404)",
                    hint="the mirror is between two syncs: run again later with --refresh")


def _say_if_beyond_claim(series: KernelSeries, arch: Arch, release: str) -> None:
    """A series that follows its suite (newest) may now serve a version that
    nobody has proven: run it, and say so."""
    claim = series.claim(arch.key)
    if claim == series.name or release.startswith(claim + "."):
        return
    progress.say(f"kernel {series.name} on {arch.key} is now {release}; the claim is {claim}: "
                 f"this run proves {release.split('+', 1)[0].rsplit('.', 1)[0]}, then move the "
                 "claim in catalog.py (KERNELS)")


def fetch(series: KernelSeries, arch: Arch, *, refresh: bool = False) -> KernelTree:
    """Resolve, download and unpack a kernel (or build it: ``series.source``);
    cached until the packages change."""
    if series.source is not None:
        return _built(series, arch, refresh=refresh)
    release, packages, debs = _download_served(series, arch, resolve(series, arch,
                                                                     refresh=refresh))
    _say_if_beyond_claim(series, arch, release)
    version = apt_for(series, arch).candidate(packages[0])
    root = cache_root() / "kernels" / release

    def unpack(dest: Path) -> None:
        extract(debs, dest)
        _fix_headers(dest / "usr" / "src" / f"linux-headers-{release}")
        # The package's postinst would have indexed the modules; do it here.
        modules = modules_dir(dest, release)
        if modules is None:
            raise UserError(f"{packages[0]} holds no modules directory for {release}")
        run(["depmod", "-b", modules.parents[2], release])   # <base>/lib/modules/<release>

    key = fingerprint([Path(__file__), *[d.name for d in debs]])
    build_once(root, key, unpack, f"unpacking kernel {release}")
    tree = KernelTree(series=series, arch=arch, release=release, version=version, root=root)
    if not tree.vmlinuz.is_file():
        raise UserError(f"kernel image {tree.vmlinuz} missing after unpacking {packages[0]}")
    return tree


def _built(series: KernelSeries, arch: Arch, *, refresh: bool) -> KernelTree:
    check_claimed(series, arch.key)
    apt = apt_for(series, arch)
    apt.update(force=refresh)
    package = f"linux-source-{series.source}"
    deb = apt.download([package], cache_root() / "debs")[0]
    root, release = kernelbuild.build(series, arch, deb)
    return KernelTree(series=series, arch=arch, release=release,
                      version=apt.candidate(package), root=root)


# Where the arch headers' Makefile finds the tree's usr/src: make works it
# out from the Makefile's own path as it reads it, so the cache may be
# reached by another path than the one it was unpacked under (a moved
# checkout, LMW_CACHE on a mount seen by two paths).
_HEADERS_SRC = "LMW_BED_SRC := $(realpath $(dir $(lastword $(MAKEFILE_LIST)))..)\n"


def _fix_headers(headers: Path) -> None:
    """Debian's arch headers include the -common Makefile by absolute path
    (and on 7.x name themselves as KBUILD_OUTPUT): point those paths into
    the unpacked tree, wherever it is reached from."""
    makefile = headers / "Makefile"
    text = makefile.read_text()
    fixed = re.sub(r"^(include |KBUILD_OUTPUT=)/usr/src/", r"\g<1>$(LMW_BED_SRC)/", text,
                   flags=re.MULTILINE)
    if fixed == text:
        raise UserError(f"unexpected headers layout: no absolute include in {makefile}")
    makefile.write_text(_HEADERS_SRC + fixed)
