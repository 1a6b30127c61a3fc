"""Kernels the bed builds itself, from Debian's kernel source and a config of its own.

Debian ships no kernel with KFENCE, lockdep, UBSAN or fault injection (its
-dbg packages are symbols only). The debug kernel is built from the
``linux-source-<version>`` package of its series: ``make tinyconfig``,
then the series' fragment (``kconfig/<name>.config``) merged on top, then
``olddefconfig``. Every option the fragment names must come out as it
asks: an option that Kconfig drops (a dependency missing) fails the build
with its name, rather than a kernel that quietly checks less.

Two cached artifacts: the unpacked source (kept, for external modules
build against it) and the tree: ``boot/vmlinuz-<release>``,
``lib/modules/<release>`` (its modules.builtin: what the boot stage need
not load) and ``build/``, the kbuild output directory (``O=``) that
out-of-tree modules take as KERNEL_SRC, as they take Debian's headers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import require_tool, run
from ..core.paths import cache_root
from .catalog import Arch, KernelSeries

KCONFIG = Path(__file__).resolve().parent / "kconfig"
# Host tools that a kernel build needs beyond the bed's own.
BUILD_TOOLS = ("make", "gcc-12", "flex", "bison", "bc", "perl", "tar")


def fragment(series: KernelSeries) -> Path:
    assert series.source is not None
    return KCONFIG / f"{series.name}.config"


def wanted_options(text: str) -> dict[str, str]:
    """CONFIG_X -> its value ("y", "n", "4", '"-x"') from a fragment's lines."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^(CONFIG_\w+)=(.*)$", line.strip())
        if match:
            options[match.group(1)] = match.group(2)
    return options


def missing_options(wanted: dict[str, str], config: str) -> list[str]:
    """The fragment's options that the final .config does not have as asked."""
    have = wanted_options(config)
    missing = []
    for name, value in wanted.items():
        if value == "n":
            if have.get(name, "n") not in ("n",):
                missing.append(f"{name}=n (is {have[name]})")
        elif have.get(name) != value:
            missing.append(f"{name}={value} (is {have.get(name, 'not set')})")
    return missing


def _make(source: Path, out: Path, arch: Arch, *targets: str) -> None:
    run(["make", "-C", source, f"O={out}", f"ARCH={arch.kernel_arch}", "CC=gcc-12",
         "HOSTCC=gcc-12", f"-j{os.cpu_count() or 1}", "-s", *targets])


def unpacked_source(deb: Path) -> Path:
    """The kernel source of ``deb`` (linux-source-X: one tarball inside), unpacked once."""
    out = cache_root() / "kernels" / deb.name.removesuffix(".deb")

    def unpack(dest: Path) -> None:
        dest.mkdir(parents=True)
        tar = require_tool("tar")
        with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)],
                              stdout=subprocess.PIPE) as outer:
            inner = subprocess.run([tar, "-x", "--wildcards", "-O", "*.tar.xz"],
                                   stdin=outer.stdout, capture_output=True, check=False)
        if inner.returncode != 0 or not inner.stdout:
            raise UserError(f"{deb.name} holds no kernel source tarball")
        subprocess.run([tar, "-xJ", "--strip-components=1", "-C", str(dest)],
                       input=inner.stdout, check=True)

    return build_once(out, fingerprint([Path(__file__), deb.name]), unpack,
                      f"unpacking {deb.name}")


def build(series: KernelSeries, arch: Arch, deb: Path) -> tuple[Path, str]:
    """Build the kernel of ``series`` from ``deb``; (tree root, release)."""
    for tool in BUILD_TOOLS:
        require_tool(tool)
    source = unpacked_source(deb)
    config_fragment = fragment(series)
    root = cache_root() / "kernels" / f"{series.name}-{deb.name.removesuffix('.deb')}"

    def compile_kernel(dest: Path) -> None:
        out = dest / "build"
        out.mkdir(parents=True)
        _make(source, out, arch, "tinyconfig")
        merged = (out / ".config").read_text() + "\n" + config_fragment.read_text()
        (out / ".config").write_text(merged)
        _make(source, out, arch, "olddefconfig")
        missing = missing_options(wanted_options(config_fragment.read_text()),
                                  (out / ".config").read_text())
        if missing:
            raise UserError(f"{config_fragment.name}: Kconfig dropped {', '.join(missing)}",
                            hint="an option's dependency is off: add it to the fragment")
        _make(source, out, arch, "bzImage", "modules")
        release = (out / "include" / "config" / "kernel.release").read_text().strip()
        (dest / "boot").mkdir()
        shutil.copy2(out / "arch" / arch.kernel_arch / "boot" / "bzImage",
                     dest / "boot" / f"vmlinuz-{release}")
        shutil.copy2(out / ".config", dest / "boot" / f"config-{release}")
        _make(source, out, arch, f"INSTALL_MOD_PATH={dest}", "DEPMOD=true", "modules_install")
        run(["depmod", "-b", dest, release])
        # what a tree's headers are for: building external modules; drop the rest
        for name in ("vmlinux.o", "vmlinux.a"):
            (out / name).unlink(missing_ok=True)
        (dest / "release").write_text(release + "\n")

    key = fingerprint([Path(__file__), config_fragment, deb.name])
    build_once(root, key, compile_kernel,
               f"building the {series.name} kernel from {deb.name} (minutes)")
    return root, (root / "release").read_text().strip()
