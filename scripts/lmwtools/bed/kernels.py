"""Debian kernels for guests: resolve, download, unpack, make the headers usable.

One unpacked tree per kernel release holds the image (vmlinuz, modules)
and the headers (arch headers, -common and the host's linux-kbuild), so
that out-of-tree modules build against exactly the kernel that boots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import run
from ..core.paths import cache_root
from . import kernelbuild
from .apt import AptSuites, extract
from .catalog import Arch, KernelSeries, check_claimed
from .mirrors import debian_mirrors


@dataclass(frozen=True, slots=True)
class KernelTree:
    """An unpacked Debian kernel: boots from ``vmlinuz``, builds modules from ``headers``."""

    series: KernelSeries
    arch: Arch
    release: str       # uname -r, e.g. 6.1.0-57-amd64
    version: str       # Debian package version, e.g. 6.1.192-3
    root: Path

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules(self) -> Path:
        # trixie and later are usr-merged
        for base in ("lib", "usr/lib"):
            path = self.root / base / "modules" / self.release
            if path.is_dir():
                return path
        raise UserError(f"no modules directory for {self.release} in {self.root}")

    @property
    def headers(self) -> Path:
        if self.series.source is not None:
            return self.root / "build"      # kernelbuild: the kbuild output directory
        return self.root / "usr" / "src" / f"linux-headers-{self.release}"

    @property
    def config(self) -> Path:
        return self.root / "boot" / f"config-{self.release}"


def apt_for(series: KernelSeries) -> AptSuites:
    return AptSuites(cache_root() / "apt" / series.name, debian_mirrors(),
                     series.suites, series.security_suites, ("amd64", "arm64"))


def _qualified(package: str, arch: Arch) -> str:
    """Package name as apt wants it for the guest arch (host arch is amd64)."""
    return package if arch.deb == "amd64" else f"{package}:{arch.deb}"


def _strip_arch(package: str) -> str:
    return package.split(":", 1)[0]


def resolve(series: KernelSeries, arch: Arch, *, refresh: bool = False) -> tuple[str, list[str]]:
    """The kernel release the suites offer today and the packages that make it up."""
    check_claimed(series, arch.key)
    apt = apt_for(series)
    apt.update(force=refresh)
    meta = _qualified(f"linux-image-{arch.deb}", arch)
    images = [d for d in apt.depends(meta) if d.startswith("linux-image-")]
    if not images:
        raise UserError(f"{meta} in {series.note} depends on no linux-image package")
    release = _strip_arch(images[0]).removeprefix("linux-image-")
    image = f"linux-image-{release}"
    if not apt.exists(_qualified(image, arch)):
        image += "-unsigned"
    headers = f"linux-headers-{release}"
    header_deps = [_strip_arch(d) for d in apt.depends(_qualified(headers, arch))]
    common = [d for d in header_deps if d.startswith("linux-headers-") and d.endswith("-common")]
    kbuild = [d for d in header_deps if d.startswith("linux-kbuild-")]
    if not common or not kbuild:
        raise UserError(f"cannot find -common/linux-kbuild among the depends of {headers}: "
                        f"{header_deps}")
    # kbuild's host programs (fixdep, modpost) run on the build host: host arch.
    packages = [_qualified(image, arch), _qualified(headers, arch), common[0], kbuild[0]]
    return release, packages


def fetch(series: KernelSeries, arch: Arch, *, refresh: bool = False) -> KernelTree:
    """Resolve, download and unpack a kernel (or build it: ``series.source``);
    cached until the packages change."""
    if series.source is not None:
        return _built(series, arch, refresh=refresh)
    release, packages = resolve(series, arch, refresh=refresh)
    apt = apt_for(series)
    debs = apt.download(packages, cache_root() / "debs")
    version = apt.candidate(packages[0])
    root = cache_root() / "kernels" / release

    def unpack(dest: Path) -> None:
        extract(debs, dest)
        _fix_headers(dest / "usr" / "src" / f"linux-headers-{release}", final=root)
        # The package's postinst would have indexed the modules; do it here.
        run(["depmod", "-b", dest, release])

    key = fingerprint([Path(__file__), *[d.name for d in debs]])
    build_once(root, key, unpack, f"unpacking kernel {release}")
    tree = KernelTree(series=series, arch=arch, release=release, version=version, root=root)
    if not tree.vmlinuz.is_file():
        raise UserError(f"kernel image {tree.vmlinuz} missing after unpacking {packages[0]}")
    return tree


def _built(series: KernelSeries, arch: Arch, *, refresh: bool) -> KernelTree:
    check_claimed(series, arch.key)
    apt = apt_for(series)
    apt.update(force=refresh)
    package = f"linux-source-{series.source}"
    deb = apt.download([package], cache_root() / "debs")[0]
    root, release = kernelbuild.build(series, arch, deb)
    return KernelTree(series=series, arch=arch, release=release,
                      version=apt.candidate(package), root=root)


def _fix_headers(headers: Path, *, final: Path) -> None:
    """Debian's arch headers include the -common Makefile by absolute path:
    point that include into the unpacked tree (at its ``final`` place)."""
    makefile = headers / "Makefile"
    text = makefile.read_text()
    fixed = re.sub(r"^include /usr/src/", f"include {final}/usr/src/", text, flags=re.MULTILINE)
    if fixed == text:
        raise UserError(f"unexpected headers layout: no absolute include in {makefile}")
    makefile.write_text(fixed)
