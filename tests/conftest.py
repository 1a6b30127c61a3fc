"""pytest glue for the test bed: build the guest an env file asks for, then let labgrid boot it.

With ``--lg-env tests/env/qemu-<userland>.yaml`` the bed builds (or reuses)
that guest for ``--lmw-kernel``/``--lmw-arch`` before labgrid reads the
file, and exports the LG_* variables the file refers to. An env file
without ``options: lmw_userland`` (a real board) is left to labgrid alone.
Without ``--lg-env`` the guest tests are skipped by labgrid and only the
host tests run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from labgrid.driver import ShellDriver

from lmwtools.bed import boot, selftests
from lmwtools.bed.guest import Guest, GuestSpec, build
from lmwtools.core.errors import UserError
from lmwtools.lab.shell import kv

GUEST_KEY = pytest.StashKey[Guest]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lmw", "meta-lmw test bed")
    group.addoption("--lmw-kernel", default=os.environ.get("LMW_KERNEL", "6.1"),
                    help="Debian kernel series of the QEMU guest (default 6.1, $LMW_KERNEL)")
    group.addoption("--lmw-arch", default=os.environ.get("LMW_ARCH", "x86_64"),
                    help="guest architecture (default x86_64, $LMW_ARCH)")


@pytest.hookimpl(tryfirst=True)   # before labgrid's own pytest_configure reads the env file
def pytest_configure(config: pytest.Config) -> None:
    env_file = config.getoption("lg_env", None) or os.environ.get("LG_ENV")
    if not env_file:
        return
    userland = boot.userland_of(env_file)
    if userland is None:
        return
    spec = GuestSpec(kernel=config.getoption("lmw_kernel"), arch=config.getoption("lmw_arch"),
                     userland=userland)
    try:
        guest = build(spec)
    except UserError as error:
        pytest.exit(f"test bed: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
    boot.export(guest)
    config.stash[GUEST_KEY] = guest


@pytest.fixture(scope="session")
def lmw_guest(request: pytest.FixtureRequest) -> Guest:
    """The guest the bed built for this session (skips on a non-bed env)."""
    guest = request.config.stash.get(GUEST_KEY, None)
    if guest is None:
        pytest.skip("not a test-bed guest (use --lg-env tests/env/qemu-*.yaml)")
    return guest


@pytest.fixture(scope="session")
def mm_guest(lmw_guest: Guest) -> Iterator[tuple[Any, ShellDriver]]:
    """tests/mm's own guest: the bed's initramfs guest with the kernel's mm
    selftests on a raw virtio disk, unpacked in selftests.GUEST_DIR, and a
    virtio balloon that the host inflates through QEMU's monitor (QMP);
    (QEMUDriver, root shell)."""
    if lmw_guest.spec.userland != "initramfs":
        pytest.skip("tests/mm run on the initramfs userland (tests/env/qemu-initramfs.yaml)")
    archive = selftests.build(lmw_guest.tree)
    extra = (f" -drive file={archive},if=virtio,format=raw,readonly=on"
             " -device virtio-balloon-pci")
    qemu_args = lmw_guest.labgrid_vars()["LG_QEMU_ARGS"] + extra
    with boot.fresh_guest_shell(lmw_guest, {"LG_QEMU_ARGS": qemu_args}) as (target, shell):
        # busybox tar reads the archive straight from the disk: no filesystem
        where = selftests.GUEST_DIR
        shell.run_check(f"mkdir -p {where} && tar -xf /dev/vda -C {where}",
                        timeout=300)
        yield target.get_driver("QEMUDriver"), shell


@pytest.fixture
def shell(strategy: object, target: object) -> ShellDriver:
    """A root shell in the guest; one boot per session (labgrid's strategy keeps it up)."""
    strategy.transition("shell")  # type: ignore[attr-defined]
    driver: ShellDriver = target.get_driver("ShellDriver")  # type: ignore[attr-defined]
    return driver


# The first line of each report of the kernel's checkers (on the debug
# kernel: KFENCE, lockdep, UBSAN, the object debugger, atomic-sleep checks)
# and of WARN/BUG. Not "Call Trace:" alone: an allocation that fails (by
# fault injection) dumps its stack too, and that is no report.
KERNEL_REPORT = re.compile(
    r"BUG:|WARNING:|UBSAN:|KFENCE:|ODEBUG:|Oops|general protection|"
    r"possible (circular|recursive) locking|inconsistent lock state|lockdep|"
    r"suspicious RCU usage|sleeping function called from invalid context|"
    r"scheduling while atomic|list_(add|del) corruption|INFO: task .* blocked")


def kernel_log_after(shell: ShellDriver, seq: int) -> tuple[list[str], int]:
    """(the kernel's log lines after sequence number ``seq``, the last one), from
    /dev/kmsg, which a test's own "dmesg -c" does not clear."""
    out = shell.run_check(f"lmwtest kmsg {seq}", timeout=60)
    lines = [line.removeprefix("kmsg ") for line in out if line.startswith("kmsg ")]
    return lines, int(kv(out)["last_seq"])


@pytest.fixture(autouse=True)
def kernel_quiet(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked kernel_quiet fail when the kernel reports anything while they run."""
    if request.node.get_closest_marker("kernel_quiet") is None:
        yield
        return
    shell: ShellDriver = request.getfixturevalue("shell")
    _, before = kernel_log_after(shell, 2**62)
    yield
    lines, _ = kernel_log_after(shell, before)
    reports = [line for line in lines if KERNEL_REPORT.search(line)]
    assert not reports, "the kernel reported:\n" + "\n".join(lines[-60:])
