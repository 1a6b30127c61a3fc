"""What the bed can boot: the kernel series we claim, the architectures, the userlands.

A kernel series names Debian suites, not a package version: Debian bumps
the ABI number (6.1.0-57 -> 6.1.0-58) with security updates and old ABI
packages leave the archive, so the exact package is resolved at run time
from the suite's ``linux-image-<arch>`` meta-package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from ..core.errors import UserError


@dataclass(frozen=True, slots=True)
class Arch:
    """One guest architecture and how QEMU emulates it."""

    key: str             # what users type: --arch arm64
    name: str            # as uname -m prints it
    deb: str             # Debian's name for it
    flavour: str         # Debian's kernel flavour: linux-image-<flavour>
    qemu: str            # system emulator binary
    machine: str
    cpu: str
    console: str         # serial console device of the guest
    accel: str           # x86: single-threaded TCG, see below
    cross_compile: str   # CROSS_COMPILE prefix for modules ("" = native)
    kernel_arch: str     # ARCH= for kbuild
    firmware: str = ""   # what QEMU runs before the kernel (-bios), if not its own

# x86: multi-threaded TCG corrupts live kernel text patching (any kprobe arm
# crashes the guest), hence thread=single; -cpu max exposes RDRAND, so the
# guest's crng is ready at once and python3 does not stall on getrandom().
# With one thread, QEMU runs the vCPUs in turns (up to 100 ms each), and a
# wake-up of another vCPU waits for its turn.
# arm64: cortex-a57 boots 2.7x faster than -cpu max under TCG. Its kprobes
# are patched under stop_machine, which multi-threaded TCG keeps intact:
# a host thread for each vCPU, as a board has a core for each (asked for
# by name, so that a QEMU that cannot gives an error, not one thread).
# armhf: Debian's armmp kernel on a Cortex-A15, the core of the 32-bit
# boards' generation (LPAE, virtualization extensions) that -M virt models.
# riscv64: -M virt boots through Debian's OpenSBI (the SBI firmware every
# RISC-V board runs under Linux), which loads the kernel QEMU is given.
ARCHES: dict[str, Arch] = {
    "x86_64": Arch(
        key="x86_64", name="x86_64", deb="amd64", flavour="amd64", qemu="qemu-system-x86_64",
        machine="pc", cpu="max", console="ttyS0", accel="tcg,thread=single",
        cross_compile="", kernel_arch="x86",
    ),
    "arm64": Arch(
        key="arm64", name="aarch64", deb="arm64", flavour="arm64", qemu="qemu-system-aarch64",
        machine="virt", cpu="cortex-a57", console="ttyAMA0", accel="tcg,thread=multi",
        cross_compile="aarch64-linux-gnu-", kernel_arch="arm64",
    ),
    "armhf": Arch(
        key="armhf", name="armv7l", deb="armhf", flavour="armmp", qemu="qemu-system-arm",
        machine="virt", cpu="cortex-a15", console="ttyAMA0", accel="tcg",
        cross_compile="arm-linux-gnueabihf-", kernel_arch="arm",
    ),
    "riscv64": Arch(
        key="riscv64", name="riscv64", deb="riscv64", flavour="riscv64",
        qemu="qemu-system-riscv64", machine="virt", cpu="rv64", console="ttyS0", accel="tcg",
        cross_compile="riscv64-linux-gnu-", kernel_arch="riscv",
        firmware="/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin",
    ),
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a series comes from for some arches: Debian suites and the
    build environment its modules are built in."""

    suites: tuple[str, ...]          # main-archive suites, highest version wins
    security_suites: tuple[str, ...]
    arches: tuple[str, ...]
    # None: the host builds modules for it. A Debian suite: its kernels are
    # built by a newer compiler whose kbuild tools need a newer C library,
    # so modules are built in a root of that suite (buildenv.py).
    build_env: str | None = None


@dataclass(frozen=True, slots=True)
class KernelSeries:
    """A Debian kernel series: where it lives for each arch we claim it on."""

    name: str                       # what users type: --kernel 6.1
    origins: tuple[Origin, ...]
    note: str
    # Debian's flavour prefix: "rt-" takes linux-image-rt-<arch flavour>.
    flavour: str = ""
    # Built by the bed from linux-source-<source> of the suites and the
    # config fragment kconfig/<name>.config (kernelbuild.py), rather than
    # Debian's binary kernel; such a kernel boots the initramfs userland.
    source: str | None = None
    # A series that follows the suite (newest): the version proven on each
    # arch. A newer one served is run and named as not yet claimed.
    claims: tuple[tuple[str, str], ...] = ()

    @property
    def arches(self) -> tuple[str, ...]:
        return tuple(a for origin in self.origins for a in origin.arches)

    def origin(self, arch_key: str) -> Origin:
        for origin in self.origins:
            if arch_key in origin.arches:
                return origin
        raise UserError(f"kernel {self.name} is not claimed on {arch_key}",
                        hint=f"kernel {self.name} runs on: {', '.join(self.arches)}")

    def claim(self, arch_key: str) -> str:
        """The version claimed on ``arch_key``: the series' own name, or its claim."""
        return dict(self.claims).get(arch_key, self.name)


_BOOKWORM = (("bookworm", "bookworm-updates"), ("bookworm-security",))
# Debian 13 as of its last point release: the -updates and -security
# suites' index files of the smaller arches are not always in step on
# mirrors, and a half-read suite set would pick different kernels per arch.
_TRIXIE = (("trixie",), ())
# Debian 13's kernels are built by gcc-14; see Origin.build_env.
TRIXIE_ENV = "trixie"

KERNELS: dict[str, KernelSeries] = {
    "5.10": KernelSeries(
        name="5.10", origins=(Origin(("bullseye",), ("bullseye-security",), ("x86_64",)),),
        note="Debian 11 (bullseye), the oldest LTS we claim",
    ),
    "6.1": KernelSeries(
        name="6.1", origins=(Origin(*_BOOKWORM, ("x86_64", "arm64")),),
        note="Debian 12 (bookworm)",
    ),
    "6.12": KernelSeries(
        name="6.12",
        origins=(Origin(("bookworm-backports",), (), ("x86_64",)),
                 Origin(*_TRIXIE, ("arm64", "armhf", "riscv64"), build_env=TRIXIE_ENV)),
        note="Debian 12 backports (x86_64), Debian 13 (trixie) elsewhere",
    ),
    # Debian's PREEMPT_RT flavour: the industrial boards' kernel.
    "6.12-rt": KernelSeries(
        name="6.12-rt", flavour="rt-",
        origins=(Origin(*_TRIXIE, ("x86_64",), build_env=TRIXIE_ENV),),
        note="Debian 13 (trixie), PREEMPT_RT flavour",
    ),
    # Whatever trixie-backports serves today: the bed follows Debian
    # without an edit; the claims say what was proven last.
    "newest": KernelSeries(
        name="newest",
        origins=(Origin(("trixie-backports", *_TRIXIE[0]), _TRIXIE[1],
                        ("x86_64", "arm64", "armhf", "riscv64"), build_env=TRIXIE_ENV),),
        note="the newest series Debian serves (trixie-backports)",
        claims=(("x86_64", "7.3"), ("arm64", "7.3"), ("armhf", "7.2"), ("riscv64", "7.2")),
    ),
}

# Kernels the bed builds itself, for what no Debian kernel has. Not in the
# MATRIX: they prove the module under checkers, they are no claim of where
# it runs (that is KERNELS).
BUILT_KERNELS: dict[str, KernelSeries] = {
    "debug": KernelSeries(
        name="debug", origins=(Origin(("bookworm-backports",), (), ("x86_64",)),),
        note="6.12 from Debian's source with KFENCE, lockdep, UBSAN, kmemleak, fault "
             "injection; kprobes by int3", source="6.12",
    ),
}

HOSTNAME = "lmwguest"

# The Debian suite of the Debian userlands (mmdebstrap minbase).
ROOTFS_SUITE = "bookworm"
COMMON_PACKAGES = ("python3", "kmod", "procps")
@dataclass(frozen=True, slots=True)
class Userland:
    """What runs above the kernel: the busybox initramfs, or a Debian root filesystem."""

    name: str            # what users type: --userland systemd
    summary: str
    packages: tuple[str, ...] = ()   # Debian packages; none: the busybox initramfs
    hooks: tuple[str, ...] = ()      # mmdebstrap --customize-hook commands ("$1" = the root)
    # The name of its Debian base (rootfs.base_tarball): userlands made of
    # the same packages and hooks share one, one mmdebstrap run (minutes
    # under qemu-user) rather than one each. Empty: its own name.
    base: str = ""

    @property
    def base_name(self) -> str:
        return self.base or self.name

    @property
    def is_debian(self) -> bool:
        return bool(self.packages)


_LOGIN_HOOKS = (
    # Passwordless root on the serial console, no MOTD, no bracketed paste
    # (its escape codes sit between labgrid's marker and the prompt).
    'chroot "$1" passwd -d root',
    'touch "$1/root/.hushlogin"',
    'echo "set enable-bracketed-paste off" >> "$1/etc/inputrc"',
    f'echo {HOSTNAME} > "$1/etc/hostname"',
    f'printf "127.0.0.1 localhost\\n127.0.1.1 {HOSTNAME}\\n" > "$1/etc/hosts"',
)

# A guest under TCG on a busy host can take minutes to coldplug its
# devices. The serial console's getty waits for its device unit, whose job
# systemd gives up on after 90 s by default: the getty is then never
# started, and the guest never offers a login (seen on the arm64 guest,
# booted beside the debug kernel's build). The device comes; let the
# getty wait for it (labgrid's login timeout still bounds the boot).
_DEVICE_WAIT_HOOKS = (
    'mkdir -p "$1/etc/systemd/system.conf.d"',
    'printf "[Manager]\\nDefaultDeviceTimeoutSec=infinity\\n" '
    '> "$1/etc/systemd/system.conf.d/lmw-bed-devices.conf"',
)

# Timers that would wake a test guest for maintenance that it never needs.
_MASKED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
                 "e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer")

# The peers that `make bench` runs side by side with the terminator
# (Debian's own packages). Installed in the systemd guest with their units
# masked: the bench starts each one itself, one scenario at a time, and no
# test guest has a second killer running behind its back.
PEER_PACKAGES = ("earlyoom", "nohang")
# The system bus that lmw-memory-monitor speaks on, and a real GLib
# client of it (Gio.MemoryMonitor, as GLib applications use it).
DBUS_PACKAGES = ("dbus", "python3-gi", "gir1.2-glib-2.0")
_PEER_UNITS = ("earlyoom.service", "nohang.service", "nohang-desktop.service")

# The Debian base of the busybox-init userlands (sysvinit, buildroot):
# they differ only in what goes on top of it.
_BUSYBOX_INIT_PACKAGES = (*COMMON_PACKAGES, "busybox")
_BUSYBOX_INIT_HOOKS = (*_LOGIN_HOOKS, 'ln -sf /bin/busybox "$1/sbin/init"')

USERLANDS: dict[str, Userland] = {
    "initramfs": Userland(
        name="initramfs", summary="busybox in RAM, fastest boot, for kernel-only tests",
    ),
    "systemd": Userland(
        name="systemd", packages=(*COMMON_PACKAGES, "systemd-sysv", "udev", *PEER_PACKAGES,
                                  *DBUS_PACKAGES),
        hooks=(*_LOGIN_HOOKS, *_DEVICE_WAIT_HOOKS,
               *(f'ln -sf /dev/null "$1/etc/systemd/system/{u}"'
                 for u in (*_MASKED_UNITS, *_PEER_UNITS))),
        summary="Debian 12 minbase, python3, systemd as PID 1, the system bus and GLib's "
                "GMemoryMonitor (earlyoom, nohang: for the bench)",
    ),
    "sysvinit": Userland(
        name="sysvinit", packages=_BUSYBOX_INIT_PACKAGES, hooks=_BUSYBOX_INIT_HOOKS,
        base="busybox-init",
        summary="Debian 12 minbase, python3, busybox init (sysvinit-style rc scripts)",
    ),
    # What br2-external's packages install, started by Buildroot's own
    # busybox-init files (bed/buildrootway.py); needs $LMW_UPSTREAM.
    "buildroot": Userland(
        name="buildroot", packages=_BUSYBOX_INIT_PACKAGES, hooks=_BUSYBOX_INIT_HOOKS,
        base="busybox-init",
        summary="Debian 12 minbase, python3, Buildroot's busybox init and numbered "
                "S??* scripts, our packages installed as br2-external's install them",
    ),
}


# The guest matrix that `make test` proves: every claimed (kernel, arch).
MATRIX: tuple[tuple[str, str], ...] = tuple(
    (series.name, arch) for series in KERNELS.values() for arch in series.arches
)


_Entry = TypeVar("_Entry")


def _named(table: dict[str, _Entry], kind: str, name: str, choices: str) -> _Entry:
    """``table[name]``, or a UserError that names what there is to choose from."""
    try:
        return table[name]
    except KeyError:
        raise UserError(f"unknown {kind} '{name}'", hint=f"choose one of: {choices}") from None


def kernel_series(name: str) -> KernelSeries:
    every = {**KERNELS, **BUILT_KERNELS}
    return _named(every, "kernel", name, ", ".join(f"{k} ({v.note})" for k, v in every.items()))


def arch(name: str) -> Arch:
    return _named(ARCHES, "arch", name, ", ".join(ARCHES))


def userland(name: str) -> Userland:
    return _named(USERLANDS, "userland", name, ", ".join(USERLANDS))


def check_claimed(series: KernelSeries, arch_name: str) -> None:
    series.origin(arch_name)
