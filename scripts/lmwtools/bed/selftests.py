"""The kernel's own mm selftests, built for a guest from the source of its very kernel.

``tools/testing/selftests/mm`` of the ``linux-source-<series>`` package
whose version is the guest kernel's: a test suite that the kernel's own
developers wrote, which tells whether lmw.ko changes anything below its
lines. Built on the host, statically (the initramfs has no C library),
against the uapi headers of that source (``make headers``), into a tar
archive that a guest reads from a raw virtio disk (``tar -xf /dev/vda``):
no filesystem driver, no network, nothing in the initramfs that every
other test boots.

The source tree is shared with the debug kernel's build and is never
written to: the selftests' Makefile writes its probe results next to
itself, so the few directories it reads are copied to a work folder.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import require_tool, run
from ..core.paths import cache_root
from . import kernelbuild
from .kernels import KernelTree, apt_for

# What the selftests read from the kernel tree, besides their own folder
# and the uapi headers that ``make headers`` exports.
SOURCE_PARTS = ("tools/testing/selftests", "tools/include", "mm/gup_test.h",
                "lib/test_hmm_uapi.h", "include/vdso/time64.h")
# Static libraries the tests link (libnuma: ksm_tests, migration; libcap:
# mlock-random-test, memfd_secret; liburing: cow's and gup_longterm's
# io_uring cases, which skip without it).
STATIC_LIBS = ("libnuma.a", "libcap.a", "liburing.a")
LIB_DIR = Path("/usr/lib/x86_64-linux-gnu")
ARCHIVE = "mm-selftests.tar"
# where a guest unpacks them
GUEST_DIR = "/tmp/mm"


def _source_deb(tree: KernelTree) -> Path:
    """linux-source-<series> at exactly the guest kernel's version."""
    series = tree.series.source or tree.series.name
    package = f"linux-source-{series}"
    apt = apt_for(tree.series, tree.arch)
    apt.update()
    if not apt.exists(package):
        raise UserError(f"{tree.series.note} serves no {package}",
                        hint="the mm selftests are built from the guest kernel's own source")
    version = apt.candidate(package)
    if version != tree.version:
        raise UserError(f"{package} is {version}, the guest kernel is {tree.version}",
                        hint="the suites serve them in step; refresh with "
                             "scripts/testbed build --refresh")
    return apt.download([package], cache_root() / "debs")[0]


def build(tree: KernelTree) -> Path:
    """The tar archive of the mm selftests for ``tree``'s kernel (cached)."""
    if tree.arch.key != "x86_64":
        raise UserError(f"the mm selftests are built for x86_64 guests only, not {tree.arch.key}",
                        hint="their static libraries come from the host's own packages")
    for tool in ("make", "gcc-12", "strip"):
        require_tool(tool)
    missing = [lib for lib in STATIC_LIBS if not (LIB_DIR / lib).is_file()]
    if missing:
        raise UserError(f"static libraries missing: {', '.join(missing)}",
                        hint="make deps (libnuma-dev libcap-dev liburing-dev)")
    deb = _source_deb(tree)
    source = kernelbuild.unpacked_source(deb)
    out = cache_root() / "selftests" / f"{tree.arch.key}-{tree.release}" / ARCHIVE

    def compile_tests(dest: Path) -> None:
        work = dest.with_name("work")
        if work.exists():
            shutil.rmtree(work)
        for part in SOURCE_PARTS:
            (work / "src" / part).parent.mkdir(parents=True, exist_ok=True)
            if (source / part).is_dir():
                shutil.copytree(source / part, work / "src" / part, symlinks=True)
            else:
                shutil.copy2(source / part, work / "src" / part)
        run(["make", "-C", source, f"O={work / 'headers'}", f"ARCH={tree.arch.kernel_arch}",
             "HOSTCC=gcc-12", "-s", "headers"])
        binaries = work / "bin"
        binaries.mkdir()
        # the Makefile's check_config.sh leaves the file of its mktemp behind:
        # in the work folder, it goes with the rest
        scratch = work / "tmp"
        scratch.mkdir()
        run(["make", "-C", work / "src" / "tools" / "testing" / "selftests" / "mm",
             "CC=gcc-12", f"ARCH={tree.arch.key}", f"-j{os.cpu_count() or 1}",
             f"OUTPUT={binaries}", "EXTRA_CFLAGS=-static -w",
             f"KHDR_INCLUDES=-isystem {work / 'headers' / 'usr' / 'include'}"],
            env={"TMPDIR": str(scratch)})
        with tarfile.open(dest, "w", format=tarfile.USTAR_FORMAT) as archive:
            for binary in sorted(binaries.iterdir()):
                if binary.is_file() and os.access(binary, os.X_OK):
                    run(["strip", binary])
                    info = archive.gettarinfo(binary, arcname=binary.name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    with open(binary, "rb") as stream:
                        archive.addfile(info, stream)
        shutil.rmtree(work)

    key = fingerprint([Path(__file__), deb.name])
    return build_once(out, key, compile_tests,
                      f"building the mm selftests of {deb.name}")
