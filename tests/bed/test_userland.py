"""Each userland is what it claims: the right init as PID 1, python3 where promised."""

from __future__ import annotations

import pytest
from labgrid.driver import ShellDriver

from lmwtools.bed.guest import Guest

pytestmark = pytest.mark.guest


def _pid1(shell: ShellDriver) -> str:
    return str(shell.run_check("readlink /proc/1/exe")[0])


def test_init_system(shell: ShellDriver, lmw_guest: Guest) -> None:
    userland = lmw_guest.spec.userland
    if userland == "systemd":
        assert _pid1(shell).endswith("/systemd")
        state = shell.run("systemctl is-system-running")[0]
        assert state in (["running"], ["degraded"]), state
        failed = shell.run_check("systemctl --failed --no-legend --plain")
        assert failed == [], f"failed units: {failed}"
    else:
        # busybox init in both busybox userlands; no systemd anywhere
        assert _pid1(shell).endswith("/busybox")
        _, _, status = shell.run("test -d /run/systemd/system")
        assert status == 1


def test_python3(shell: ShellDriver, lmw_guest: Guest) -> None:
    if lmw_guest.spec.userland == "initramfs":
        pytest.skip("the initramfs userland has no python3 by design (kernel tests only)")
    out = shell.run_check("python3 -c 'import sys, tomllib; print(sys.version_info >= (3, 11))'")
    assert out == ["True"]


def test_root_image_is_not_changed_by_the_guest(shell: ShellDriver, lmw_guest: Guest) -> None:
    if lmw_guest.rootfs is None:
        pytest.skip("no disk image in the initramfs userland")
    before = lmw_guest.rootfs.stat().st_mtime_ns
    shell.run_check("echo scratch > /root/scratch && sync")
    assert lmw_guest.rootfs.stat().st_mtime_ns == before, "snapshot=on did not hold"
