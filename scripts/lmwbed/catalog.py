"""What the bed can boot: the kernel series we claim and the two architectures.

A kernel series names Debian suites, not a package version: Debian bumps
the ABI number (6.1.0-57 -> 6.1.0-58) with security updates and old ABI
packages leave the archive, so the exact package is resolved at run time
from the suite's ``linux-image-<arch>`` meta-package.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BedError


@dataclass(frozen=True, slots=True)
class Arch:
    """One guest architecture and how QEMU emulates it."""

    key: str             # what users type: --arch arm64
    name: str            # as uname -m prints it
    deb: str             # Debian's name for it
    qemu: str            # system emulator binary
    machine: str
    cpu: str
    console: str         # serial console device of the guest
    accel: str           # x86: single-threaded TCG, see below
    cross_compile: str   # CROSS_COMPILE prefix for modules ("" = native)
    kernel_arch: str     # ARCH= for kbuild

# x86: multi-threaded TCG corrupts live kernel text patching (any kprobe arm
# crashes the guest), hence thread=single; -cpu max exposes RDRAND, so the
# guest's crng is ready at once and python3 does not stall on getrandom().
# arm64: cortex-a57 boots 2.7x faster than -cpu max under TCG.
ARCHES: dict[str, Arch] = {
    "x86_64": Arch(
        key="x86_64", name="x86_64", deb="amd64", qemu="qemu-system-x86_64", machine="pc",
        cpu="max", console="ttyS0", accel="tcg,thread=single",
        cross_compile="", kernel_arch="x86",
    ),
    "arm64": Arch(
        key="arm64", name="aarch64", deb="arm64", qemu="qemu-system-aarch64", machine="virt",
        cpu="cortex-a57", console="ttyAMA0", accel="tcg",
        cross_compile="aarch64-linux-gnu-", kernel_arch="arm64",
    ),
}


@dataclass(frozen=True, slots=True)
class KernelSeries:
    """A Debian kernel series: where it lives and which arches we claim for it."""

    name: str                       # what users type: --kernel 6.1
    suites: tuple[str, ...]         # main-archive suites, highest version wins
    security_suites: tuple[str, ...]
    arches: tuple[str, ...]
    note: str

KERNELS: dict[str, KernelSeries] = {
    "5.10": KernelSeries(
        name="5.10", suites=("bullseye",), security_suites=("bullseye-security",),
        arches=("x86_64",), note="Debian 11 (bullseye), the oldest LTS we claim",
    ),
    "6.1": KernelSeries(
        name="6.1", suites=("bookworm", "bookworm-updates"),
        security_suites=("bookworm-security",), arches=("x86_64", "arm64"),
        note="Debian 12 (bookworm)",
    ),
    "6.12": KernelSeries(
        name="6.12", suites=("bookworm-backports",), security_suites=(),
        arches=("x86_64",), note="Debian 12 backports",
    ),
}

# The guest matrix that `make test` proves: every claimed (kernel, arch).
MATRIX: tuple[tuple[str, str], ...] = tuple(
    (series.name, arch) for series in KERNELS.values() for arch in series.arches
)


def kernel_series(name: str) -> KernelSeries:
    try:
        return KERNELS[name]
    except KeyError:
        raise BedError(
            f"unknown kernel '{name}'",
            hint="choose one of: " + ", ".join(
                f"{k} ({v.note})" for k, v in KERNELS.items()),
        ) from None


def arch(name: str) -> Arch:
    try:
        return ARCHES[name]
    except KeyError:
        raise BedError(f"unknown arch '{name}'",
                       hint="choose one of: " + ", ".join(ARCHES)) from None


def check_claimed(series: KernelSeries, arch_name: str) -> None:
    if arch_name not in series.arches:
        raise BedError(
            f"kernel {series.name} is not claimed on {arch_name}",
            hint=f"kernel {series.name} runs on: {', '.join(series.arches)}",
        )
