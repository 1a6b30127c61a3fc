"""Debian minbase root filesystems (the Debian userlands of catalog.py) as ext4 images.

The base (mmdebstrap, slow: 0.5-2 min) is a tarball cached per arch and
userland, rebuilt when its package list or hooks change. Each guest then
gets a fresh ext4 from base + its kernel's modules + the payload (a few
seconds), booted with ``snapshot=on`` so that a test never changes it.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

from ..core import buildroot
from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import require_tool, run
from ..core.layer import recipes
from ..core.paths import LAYER, cache_root
from . import buildrootway, modstage, packaging
from .catalog import HOSTNAME, ROOTFS_SUITE, Arch, Userland
from .initramfs import INITFILES, write_base_files
from .kernels import KernelTree
from .mirrors import debian_mirrors

# Room for the tests' files on top of the ~200 MB base; the file is sparse.
IMAGE_SIZE = "1G"


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise UserError(f"{what} needs root (file ownership in the image)",
                        hint="run as root, e.g. sudo make test")


def _sources() -> list[str]:
    mirrors = debian_mirrors()
    return [f"deb {mirrors.main} {ROOTFS_SUITE} main",
            f"deb {mirrors.main} {ROOTFS_SUITE}-updates main",
            f"deb {mirrors.security} {ROOTFS_SUITE}-security main"]


def _base_path_and_key(arch: Arch, userland: Userland) -> tuple[Path, str]:
    key = fingerprint([arch.deb, ROOTFS_SUITE, *userland.packages, *userland.hooks, *_sources()])
    return cache_root() / "rootfs" / f"{userland.base_name}-{arch.deb}.tar", key


def preflight(arch: Arch, userland: Userland) -> None:
    """Before any download: can this host make the base, if it has to be made?"""
    path, key = _base_path_and_key(arch, userland)
    stamp = path.with_name(path.name + ".key")
    if path.exists() and stamp.exists() and stamp.read_text() == key:
        return
    _require_root("building the Debian rootfs")
    require_tool("mmdebstrap")
    if arch.deb != "amd64":
        require_tool("arch-test")   # mmdebstrap checks a foreign arch with it
    if arch.deb != "amd64" and not Path(f"/proc/sys/fs/binfmt_misc/qemu-{arch.name}").exists():
        raise UserError(f"a {arch.key} rootfs needs qemu-user binfmt support on the host",
                        hint="apt-get install qemu-user-static binfmt-support && "
                            f"update-binfmts --enable qemu-{arch.name}   (make deps does this)")


def base_tarball(arch: Arch, userland: Userland) -> Path:
    """mmdebstrap's output for (arch, userland), cached while its inputs stay the same."""
    out, key = _base_path_and_key(arch, userland)

    def debootstrap(dest: Path) -> None:
        preflight(arch, userland)
        excludes = [f"--dpkgopt=path-exclude=/usr/share/{d}/*"
                    for d in ("man", "locale", "doc", "info")]
        hooks = [f"--customize-hook={hook}" for hook in userland.hooks]
        run(["mmdebstrap", "--variant=minbase", f"--architectures={arch.deb}",
             f"--include={','.join(userland.packages)}", *excludes, *hooks,
             "--format=tar", ROOTFS_SUITE, str(dest), *_sources()], quiet=False)

    return build_once(out, key, debootstrap,
                      f"mmdebstrap {userland.base_name} rootfs for {arch.deb} "
                      "(takes a minute or two)")


def _merged_path(root: Path, relative: Path) -> Path:
    """Follow the base's top-level usr-merge links (lib -> usr/lib, ...)."""
    top = root / relative.parts[0]
    if top.is_symlink():
        return Path(os.readlink(top).lstrip("/")) / Path(*relative.parts[1:])
    return relative


def _overlay(source: Path, root: Path) -> None:
    """Copy ``source``'s tree into ``root``, through the base's usr-merge links."""
    for path in sorted(source.rglob("*")):
        relative = _merged_path(root, path.relative_to(source))
        target = root / relative
        if path.is_dir() and not path.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy2(path, target, follow_symlinks=False)


def enable_services(root: Path, userland: Userland) -> list[str]:
    """Start what the payload installed the way an image from the layer does.

    OE does this at rootfs time from the recipes (packaging.py reads them).
    systemd: link each unit into the targets its [Install] WantedBy names
    (systemctl enable). busybox init: link each recipe's init script as
    update-rc.d does with its INITSCRIPT_PARAMS (rcS.d runs first, then
    rc5.d), with OE's modutils.sh at S06. Buildroot's busybox init: nothing,
    its rcS runs the numbered scripts the packages installed. All:
    modules-load.d entries for KERNEL_MODULE_AUTOLOAD (Buildroot's
    lmw-module writes the same /etc/modules-load.d/lmw.conf)."""
    enabled: list[str] = []
    if userland.name == "systemd":
        for unit in sorted((root / "usr/lib/systemd/system").glob("lmw*.service")):
            wanted = [line.split("=", 1)[1].split() for line in unit.read_text().splitlines()
                      if line.startswith("WantedBy=")]
            for target in (t for targets in wanted for t in targets):
                wants = root / "etc/systemd/system" / f"{target}.wants"
                wants.mkdir(parents=True, exist_ok=True)
                (wants / unit.name).unlink(missing_ok=True)
                (wants / unit.name).symlink_to(f"/usr/lib/systemd/system/{unit.name}")
                enabled.append(unit.name)
    elif userland.name == "buildroot":
        # Buildroot's rcS runs /etc/init.d/S??* as installed: nothing to link
        pass
    else:
        shutil.copy2(INITFILES / "modutils.sh", root / "etc/init.d/modutils.sh")
        scripts = [packaging.InitScript("modutils.sh", (("S", 6),)),
                   *packaging.init_scripts(LAYER)]
        for script in scripts:
            if not (root / "etc/init.d" / script.name).is_file():
                raise UserError(f"a recipe registers /etc/init.d/{script.name}, "
                                "but the payload does not install it")
            # busybox init runs rcS.d, then the default runlevel's rc5.d
            for level, number in (link for link in script.links if link[0] in ("S", "5")):
                rc = root / "etc" / f"rc{level}.d"
                rc.mkdir(parents=True, exist_ok=True)
                link = rc / f"S{number:02d}{script.name}"
                link.unlink(missing_ok=True)
                link.symlink_to(f"../init.d/{script.name}")
                enabled.append(f"{rc.name}/{link.name}")
    load_dir = root / _merged_path(root, Path(packaging.modules_load_dir(userland.name)))
    for module in packaging.autoload_modules(LAYER):
        load_dir.mkdir(parents=True, exist_ok=True)
        (load_dir / f"{module}.conf").write_text(f"{module}\n")
        enabled.append(f"{module} (modules-load.d)")
    return enabled


def build_image(tree: KernelTree, userland: Userland, payload: Path, out: Path) -> Path:
    """ext4 image: base + the kernel's modules + payload (+ busybox-init files)."""
    base = base_tarball(tree.arch, userland)
    base_key = base.with_name(base.name + ".key").read_text()
    key = fingerprint([Path(__file__), Path(modstage.__file__), Path(packaging.__file__),
                       Path(buildrootway.__file__), INITFILES, *recipes(LAYER), base.name,
                       base_key, tree.release, tree.version, payload,
                       buildroot.release() if userland.name == "buildroot" else ""])

    def compose(dest: Path) -> None:
        _require_root("composing the rootfs image")
        work = dest.with_name(dest.name + ".d")
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        with tarfile.open(base) as tar:
            # our own mmdebstrap output, trusted whole (devices, absolute
            # links); extraction filters exist from Python 3.11.4 on, and
            # Debian 12's 3.11.2, without them, behaves as fully_trusted
            if hasattr(tarfile, "fully_trusted_filter"):
                tar.extractall(work, numeric_owner=True, filter="fully_trusted")
            else:
                tar.extractall(work, numeric_owner=True)
        staging = dest.with_name(dest.name + ".overlay")
        if staging.exists():
            shutil.rmtree(staging)
        modstage.install(tree, payload, staging / "lib" / "modules" / tree.release)
        if userland.name == "sysvinit":
            write_base_files(staging, tree.arch.console)
        elif userland.name == "buildroot":
            buildrootway.write_init_files(staging, tree.arch.console, HOSTNAME)
        _overlay(staging, work)
        _overlay(payload, work)
        enable_services(work, userland)
        run(["mke2fs", "-q", "-t", "ext4", "-L", "root", "-d", work, dest, IMAGE_SIZE])
        shutil.rmtree(work)
        shutil.rmtree(staging)

    return build_once(out, key, compose, f"composing {userland.name} rootfs for {tree.release}")
