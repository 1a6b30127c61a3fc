"""The "buildroot" userland: what br2-external's packages install, started the Buildroot way.

A Buildroot image with busybox init boots through Buildroot's own files:
its ``/etc/inittab`` (mounts from ``/etc/fstab``, then ``/etc/init.d/rcS``,
a getty on the serial port), ``rcS`` running ``/etc/init.d/S??*`` in order,
``S02sysctl`` (sysctl.d, early) and ``S11modules`` (modules-load.d). Our
packages add ``/etc/modules-load.d/lmw.conf``, ``S12lmw-sysctl`` and
``S90lmw-terminator``. This userland is the Debian busybox-init root with
exactly that: Buildroot's files taken from the Buildroot release the tree
pins (the snapshot in $LMW_UPSTREAM: they are read, never kept here), and
our components installed by their own ``make install`` with the options
that Buildroot's packages pass (``make printvars`` of the tree's
``LMW_*_INSTALL_OPTS``, for a busybox-init defconfig). So tests/image
proves the boot order a Buildroot image has, on Debian's kernels.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from ..core.artifact import build_once, fingerprint
from ..core.buildroot import TREE, checkout, make_ok, parse_printvars, release
from ..core.errors import UserError
from ..core.paths import cache_root

# A defconfig of the tree with busybox init: its packages' install options.
DEFCONFIG = "lmw_qemu_x86_64_defconfig"
# component (the layer's recipe folder) -> the package variable of its options
INSTALL_OPTIONS = {"lmw-sysctl": "LMW_SYSCTL_INSTALL_OPTS",
                   "lmw-terminator": "LMW_TERMINATOR_INSTALL_OPTS"}
# Options that name the build's own places; the bed gives its own.
_BUILD_PLACES = ("DESTDIR=", "HOST_PYTHON=")
# Buildroot's files for a busybox-init image: (path in Buildroot, path in the root, mode)
INIT_FILES = (
    ("package/busybox/inittab", "etc/inittab", 0o644),
    ("package/initscripts/init.d/rcS", "etc/init.d/rcS", 0o755),
    ("package/initscripts/init.d/rcK", "etc/init.d/rcK", 0o755),
    ("package/initscripts/init.d/S11modules", "etc/init.d/S11modules", 0o755),
    ("package/busybox/S02sysctl", "etc/init.d/S02sysctl", 0o755),
    ("package/skeleton-init-sysv/skeleton/etc/fstab", "etc/fstab", 0o644),
)


def _work() -> Path:
    return cache_root() / "buildroot"


def install_options() -> dict[str, list[str]]:
    """component -> the make options its Buildroot package installs it with (cached)."""
    out = _work() / "install-options.json"
    key = fingerprint([release(), DEFCONFIG, TREE])

    def ask_buildroot(dest: Path) -> None:
        buildroot = checkout(_work())
        output = buildroot.output(DEFCONFIG)
        make_ok(buildroot, output, [DEFCONFIG])
        text = make_ok(buildroot, output, ["printvars"],
                       {"VARS": " ".join(INSTALL_OPTIONS.values())})
        values = parse_printvars(text, list(INSTALL_OPTIONS.values()))
        options: dict[str, list[str]] = {}
        for component, variable in INSTALL_OPTIONS.items():
            if variable not in values:
                raise UserError(f"Buildroot's printvars has no {variable} for {DEFCONFIG}",
                                hint=f"the package's .mk in {TREE}/package must define it")
            options[component] = [o for o in shlex.split(values[variable])
                                  if not o.startswith(_BUILD_PLACES)]
        dest.write_text(json.dumps(options, indent=1))

    path = build_once(out, key, ask_buildroot,
                      f"asking Buildroot {release()} how its packages install")
    loaded: dict[str, list[str]] = json.loads(path.read_text())
    return loaded


def _buildroot_file(source: Path, relative: str) -> bytes:
    path = source / relative
    if not path.is_file():
        raise UserError(f"Buildroot {release()} has no {relative}")
    return path.read_bytes()


def write_init_files(root: Path, console: str, hostname: str) -> None:
    """Buildroot's busybox-init files into ``root``, the getty put on ``console``
    as Buildroot's busybox package does (BR2_TARGET_GENERIC_GETTY_PORT)."""
    source = checkout(_work()).source
    for relative, target, mode in INIT_FILES:
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _buildroot_file(source, relative)
        if target == "etc/inittab":
            data = _set_getty(data.decode(), console).encode()
        path.write_bytes(data)
        path.chmod(mode)
    (root / "etc" / "hostname").write_text(hostname + "\n")


def _set_getty(inittab: str, console: str) -> str:
    """BUSYBOX_SET_GETTY: the line that ends in '# GENERIC_SERIAL' becomes the getty."""
    lines = inittab.splitlines()
    marked = [i for i, line in enumerate(lines) if line.endswith("# GENERIC_SERIAL")]
    if len(marked) != 1:
        raise UserError("Buildroot's inittab has no single '# GENERIC_SERIAL' line to set")
    lines[marked[0]] = f"{console}::respawn:/sbin/getty -L {console} 115200 vt100 # GENERIC_SERIAL"
    return "\n".join(lines) + "\n"
