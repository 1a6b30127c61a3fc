"""A Debian root to build modules in, for kernels built by a newer compiler than the host's.

Debian 13's kernels are built by gcc-14, and their kbuild tools (fixdep,
modpost, objtool in ``linux-kbuild-*``) are linked against a newer C
library than Debian 12 has: on a Debian 12 host they do not even start.
A module must be built by the compiler that built its kernel anyway
(plugins, flags and warnings differ between gcc versions), so these
builds run in a root of the kernel's own suite with its compilers: made
by mmdebstrap, cached, and rebuilt when the package list changes.

A build in the root sees the bed's cache folder at its own path (a bind
mount in a private mount namespace, gone when the build ends): kernel
headers, sources and DESTDIR are where the host left them, so the same
make command lines run here and there. /proc (objtool reads it) and /dev
are the host's.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import require_tool, run
from ..core.paths import cache_root
from .mirrors import debian_mirrors

# The native and cross compilers of every arch we claim, the C libraries
# the static test helpers link, pahole (BTF for modules), libelf (objtool,
# resolve_btfids), python3 (the terminator's install byte-compiles; 7.x's
# kernel-doc), perl (6.x's kernel-doc, which W=1 runs) and the module
# compressors (modules_install compresses as the kernel does).
PACKAGES = (
    "make", "gcc-14", "libc6-dev", "dwarves", "libelf1t64", "python3-minimal", "perl",
    "xz-utils", "zstd",
    "gcc-14-aarch64-linux-gnu", "libc6-dev-arm64-cross",
    "gcc-14-arm-linux-gnueabihf", "libc6-dev-armhf-cross",
    "gcc-14-riscv64-linux-gnu", "libc6-dev-riscv64-cross",
)

# Mounts the cache at its own path in the root, then runs the command there.
_ENTER = """set -e
root=$1 cache=$2; shift 2
mkdir -p "$root$cache"
mount --bind "$cache" "$root$cache"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
exec chroot "$root" "$@"
"""


def _sources(suite: str) -> list[str]:
    mirrors = debian_mirrors()
    return [f"deb {mirrors.main} {suite} main"]


@functools.cache
def root(suite: str) -> Path:
    """The build root of ``suite`` (made once, then cached; looked up once per run)."""
    if os.geteuid() != 0:
        raise UserError(f"building modules for a Debian {suite} kernel needs root "
                        "(a chroot of that suite with its compilers)",
                        hint="run as root, e.g. sudo make test")
    require_tool("mmdebstrap")
    require_tool("unshare")
    out = cache_root() / "buildenv" / suite
    key = fingerprint([Path(__file__), suite, *PACKAGES, *_sources(suite)])

    def debootstrap(dest: Path) -> None:
        excludes = [f"--dpkgopt=path-exclude=/usr/share/{d}/*"
                    for d in ("man", "locale", "doc", "info")]
        run(["mmdebstrap", "--variant=apt", f"--include={','.join(PACKAGES)}", *excludes,
             "--format=directory", suite, str(dest), *_sources(suite)], quiet=False)

    return build_once(out, key, debootstrap,
                      f"mmdebstrap a Debian {suite} build root (a minute or two)")


def command(suite: str | None, argv: Sequence[str | Path]) -> list[str]:
    """``argv`` as run in the build root of ``suite`` (None: on the host, unchanged)."""
    if suite is None:
        return [str(a) for a in argv]
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _ENTER,
            "buildenv", str(root(suite)), str(cache_root().absolute()), *map(str, argv)]


def has_program(suite: str, program: str) -> bool:
    """Whether ``program`` is in the build root's /usr/bin."""
    base = root(suite)
    return any((base / d.lstrip("/") / program).exists() for d in ("usr/bin", "bin"))
