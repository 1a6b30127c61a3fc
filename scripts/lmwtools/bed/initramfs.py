"""The busybox initramfs: the whole "initramfs" userland, or the boot stage of the others.

It holds a static busybox from Debian for the guest arch, the boot
modules of the guest kernel, the bed's /init, and (for the initramfs
userland) the payload and a busybox-init system with a getty on the
serial console. Root logs in without a password.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import require_tool
from ..core.paths import cache_root
from . import modstage
from .apt import extract
from .catalog import HOSTNAME, Arch, Origin
from .kernels import KernelTree, apt_for_origin

# The busybox-init system of the initramfs (and of the Debian busybox-init rootfs).
INITFILES = Path(__file__).resolve().parent / "initfiles"


# busybox-static from Debian 12, or from Debian 13 where Debian 12 made no
# release (riscv64).
BUSYBOX_ORIGINS = (Origin(("bookworm",), (), ("x86_64", "arm64", "armhf")),
                   Origin(("trixie",), (), ("riscv64",)))


def busybox(arch: Arch) -> Path:
    """A static busybox for ``arch`` (busybox-static)."""
    origin = next((o for o in BUSYBOX_ORIGINS if arch.key in o.arches), None)
    if origin is None:
        raise UserError(f"no busybox-static is known for {arch.key}",
                        hint="add the arch to BUSYBOX_ORIGINS in initramfs.py")
    apt = apt_for_origin(origin)
    apt.update()
    package = "busybox-static" if arch.deb == "amd64" else f"busybox-static:{arch.deb}"
    debs = apt.download([package], cache_root() / "debs")
    root = cache_root() / "busybox" / arch.deb
    build_once(root, fingerprint([d.name for d in debs]), lambda d: extract(debs, d),
               f"unpacking busybox for {arch.deb}")
    # Debian 13 is usr-merged: /usr/bin/busybox
    for place in ("bin/busybox", "usr/bin/busybox"):
        if (root / place).is_file():
            return root / place
    raise UserError(f"no busybox binary in {', '.join(d.name for d in debs)}")


def render_inittab(console: str) -> str:
    return (INITFILES / "inittab").read_text().replace("@CONSOLE@", console)


def write_base_files(root: Path, console: str) -> None:
    """/etc files that a busybox-init system needs (shared with the Debian busybox-init rootfs)."""
    etc = root / "etc"
    (etc / "init.d").mkdir(parents=True, exist_ok=True)
    (etc / "inittab").write_text(render_inittab(console))
    shutil.copy2(INITFILES / "rcS", etc / "init.d" / "rcS")
    (etc / "hostname").write_text(HOSTNAME + "\n")


def _cpio_gz(tree: Path, out: Path) -> None:
    require_tool("cpio")
    names = sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))
    proc = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"],
                          input=("\n".join([".", *names]) + "\n").encode(), cwd=tree,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise UserError(f"cpio failed: {proc.stderr.decode(errors='replace')}")
    out.write_bytes(gzip.compress(proc.stdout, compresslevel=1))


def build(tree: KernelTree, payload: Path | None, out: Path) -> Path:
    """Build ``out`` (cpio.gz). ``payload`` given: a full initramfs userland;
    None: only the boot stage that switch_roots into a disk."""
    bb = busybox(tree.arch)
    key = fingerprint([Path(__file__), Path(modstage.__file__), INITFILES, bb,
                       tree.release, tree.version, payload or "boot-only"])

    def make(dest: Path) -> None:
        work = dest.with_name(dest.name + ".d")
        if work.exists():
            shutil.rmtree(work)
        for sub in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp",
                    "root", "run", "newroot", "etc"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        (work / "tmp").chmod(0o1777)   # unprivileged test processes write there
        shutil.copy2(bb, work / "bin" / "busybox")
        shutil.copy2(INITFILES / "init", work / "init")
        load = modstage.install(tree, payload or Path("/nonexistent"),
                                work / "lib" / "modules" / tree.release)
        (work / "etc" / "lmw-boot-modules").write_text("\n".join(load) + "\n")
        if payload:
            write_base_files(work, tree.arch.console)
            (work / "etc" / "passwd").write_text("root::0:0:root:/root:/bin/sh\n")
            (work / "etc" / "group").write_text("root:x:0:\n")
            shutil.copytree(payload, work, dirs_exist_ok=True, symlinks=True)
        _cpio_gz(work, dest)
        shutil.rmtree(work)

    kind = "initramfs userland" if payload else "boot initramfs"
    return build_once(out, key, make, f"building {kind} for {tree.release}")
