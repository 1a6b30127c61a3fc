"""One guest: a kernel, an arch and a userland, built into bootable images.

``build()`` returns the images and the labgrid variables that the env
files under tests/env/ read (labgrid substitutes only ``LG_*`` names):

- LG_QEMU, LG_QEMU_MACHINE, LG_QEMU_CPU: emulator, machine and CPU
- LG_QEMU_ARGS: accelerator, vCPUs, RNG, no network, the initramfs
- LG_CONSOLE: the guest's serial console (ttyS0, ttyAMA0)
- LG_KERNEL: the vmlinuz; LG_ROOTFS: the ext4 image (Debian userlands)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from ..core.host import require_tool
from ..core.paths import cache_root
from . import buildrootway, initramfs, kernels, payload, rootfs
from .catalog import arch as arch_named
from .catalog import check_claimed, kernel_series
from .catalog import userland as userland_named

# Two vCPUs: the smallest SMP guest, where a wake-up can cross CPUs as on
# a board. Under TCG one host thread runs them all (thread=single), so a
# wake-up of the other vCPU waits until QEMU next switches to it: the bench
# can take a run on one (--vcpus 1) to see the rest without that.
VCPUS = 2
MAX_VCPUS = 8
MEMORY = "512M"


@dataclass(frozen=True, slots=True)
class GuestSpec:
    kernel: str = "6.1"
    arch: str = "x86_64"
    userland: str = "initramfs"
    vcpus: int = VCPUS

    def check(self) -> None:
        """Fail early, before any download, on a name that is not known."""
        if not 1 <= self.vcpus <= MAX_VCPUS:
            raise UserError(f"{self.vcpus} vCPUs: a guest has 1 to {MAX_VCPUS}",
                            hint=f"the default is {VCPUS}")
        series = kernel_series(self.kernel)
        arch = arch_named(self.arch)
        userland = userland_named(self.userland)
        check_claimed(series, arch.key)
        if series.source is not None and userland.is_debian:
            raise UserError(f"kernel {series.name} boots the initramfs userland only",
                            hint="--userland initramfs (tests/env/qemu-initramfs.yaml)")


@dataclass(frozen=True, slots=True)
class Guest:
    spec: GuestSpec
    tree: kernels.KernelTree
    initrd: Path
    rootfs: Path | None

    @property
    def release(self) -> str:
        return self.tree.release

    def labgrid_vars(self) -> dict[str, str]:
        arch = self.tree.arch
        return {
            "LG_QEMU": arch.qemu,
            "LG_QEMU_MACHINE": arch.machine,
            "LG_QEMU_CPU": arch.cpu,
            "LG_QEMU_MEMORY": MEMORY,
            "LG_QEMU_ARGS": (f"-accel {arch.accel} -smp {self.spec.vcpus} -nic none "
                             f"-device virtio-rng-pci -initrd {self.initrd}"
                             + (f" -bios {arch.firmware}" if arch.firmware else "")),
            "LG_CONSOLE": arch.console,
            "LG_KERNEL": str(self.tree.vmlinuz),
            "LG_ROOTFS": str(self.rootfs or ""),
            "LG_KERNEL_RELEASE": self.release,
        }


def build(spec: GuestSpec, *, refresh: bool = False) -> Guest:
    """Fetch, build and assemble every image of ``spec``; cached parts are reused."""
    spec.check()
    arch = arch_named(spec.arch)
    require_tool(arch.qemu)
    if arch.firmware and not Path(arch.firmware).is_file():
        raise UserError(f"{arch.key} guests boot through {arch.firmware}, which is missing",
                        hint="apt-get install opensbi   (make deps installs it)")
    userland = userland_named(spec.userland)
    if userland.is_debian:
        rootfs.preflight(arch, userland)
    tree = kernels.fetch(kernel_series(spec.kernel), arch, refresh=refresh)
    where = cache_root() / "guests" / f"{arch.key}-{tree.release}"
    if userland.name == "buildroot":
        # the components installed as br2-external's packages install them
        staged = payload.stage(tree, where / "payload-buildroot", payload.components(),
                               buildrootway.install_options())
    else:
        staged = payload.stage(tree, where / "payload", payload.components())
    if not userland.is_debian:
        initrd = initramfs.build(tree, staged, where / "initramfs.cpio.gz")
        return Guest(spec=spec, tree=tree, initrd=initrd, rootfs=None)
    initrd = initramfs.build(tree, None, where / "boot.cpio.gz")
    image = rootfs.build_image(tree, userland, staged,
                               where / f"{spec.userland}.ext4")
    return Guest(spec=spec, tree=tree, initrd=initrd, rootfs=image)
