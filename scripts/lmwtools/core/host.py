"""What the tools need from the host: programs on PATH, and running them.

Every tool asks for a host program through require_tool, so a missing one
is reported the same way everywhere: its name and the Debian package that
brings it (``make deps`` installs them all).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import UserError

# Host tool -> Debian package that provides it; `make deps` installs them all.
TOOL_PACKAGES: dict[str, str] = {
    # the test bed
    "apt-get": "apt",
    "dpkg-deb": "dpkg",
    "cpio": "cpio",
    "depmod": "kmod",
    "xz": "xz-utils",
    "zstd": "zstd",
    "make": "make",
    "gcc-12": "gcc-12",
    "pahole": "dwarves",
    # the debug kernel (bed/kernelbuild.py); objtool also needs libelf-dev
    "flex": "flex",
    "bison": "bison",
    "bc": "bc",
    "tar": "tar",
    "mke2fs": "e2fsprogs",
    "mmdebstrap": "mmdebstrap",
    "arch-test": "arch-test",
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-system-aarch64": "qemu-system-arm",
    "qemu-system-arm": "qemu-system-arm",
    "qemu-system-riscv64": "qemu-system-misc",
    "unshare": "util-linux",
    "aarch64-linux-gnu-gcc-12": "gcc-12-aarch64-linux-gnu",
    # make lint (checkpatch.pl)
    "perl": "perl",
    # scripts/flash: the writer and the unpackers it runs
    "bmaptool": "bmap-tools",
    "gzip": "gzip",
    "bzip2": "bzip2",
}


def require_tool(name: str) -> str:
    """Return the absolute path of ``name`` or fail saying what to install."""
    path = shutil.which(name)
    if path:
        return path
    package = TOOL_PACKAGES.get(name, name)
    raise UserError(
        f"host tool '{name}' not found on PATH",
        hint=f"apt-get install {package}   (or: make deps, which installs every host tool)",
    )


def run(argv: Sequence[str | Path], *, cwd: Path | None = None,
        env: dict[str, str] | None = None, quiet: bool = True) -> str:
    """Run a host command; on failure raise UserError with its output's tail.

    ``quiet`` captures output (returned as text); otherwise it streams to
    the terminal, for long steps with their own progress (mmdebstrap).
    """
    args = [str(a) for a in argv]
    require_tool(args[0])
    full_env = {**os.environ, **env} if env else None
    proc = subprocess.run(
        args, cwd=cwd, env=full_env, text=True,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout or "").splitlines()[-25:])
        raise UserError(f"command failed (exit {proc.returncode}): {' '.join(args)}\n{tail}")
    return proc.stdout or ""
