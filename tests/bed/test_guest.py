"""Tests of the bed itself, in every guest of the matrix: right kernel, no swap, modules work.

What is expected comes from the host side (the Debian package the bed
resolved, the arch table), never from the guest, so each check can fail.
"""

from __future__ import annotations

import secrets

import pytest
from labgrid.driver import ShellDriver

from lmwtools.bed.guest import Guest
from lmwtools.lab.shell import CONSOLE_LINE_MAX, console_line

pytestmark = pytest.mark.guest


def test_boots_the_resolved_debian_kernel(shell: ShellDriver, lmw_guest: Guest) -> None:
    assert shell.run_check("uname -r") == [lmw_guest.release]
    assert shell.run_check("uname -m") == [lmw_guest.tree.arch.name]
    # /proc/version names the Debian package version the bed downloaded.
    version = shell.run_check("cat /proc/version")[0]
    assert f"Debian {lmw_guest.tree.version}" in version


def test_runs_the_preemption_model_of_its_config(shell: ShellDriver, lmw_guest: Guest) -> None:
    """The rt flavour is a PREEMPT_RT kernel (and the others are not): what the
    package's own config says is what the running kernel says of itself."""
    config = lmw_guest.tree.config.read_text()
    realtime = "CONFIG_PREEMPT_RT=y" in config.splitlines()
    assert ("PREEMPT_RT" in shell.run_check("uname -v")[0]) == realtime
    if lmw_guest.tree.series.flavour == "rt-":
        assert realtime, f"{lmw_guest.release} is the rt flavour but not built PREEMPT_RT"


def test_has_no_swap(shell: ShellDriver) -> None:
    swaps = shell.run_check("cat /proc/swaps")
    assert swaps[0].split()[0] == "Filename"
    assert swaps[1:] == [], f"swap is active: {swaps[1:]}"
    assert shell.run_check("grep SwapTotal /proc/meminfo")[0].split()[1:] == ["0", "kB"]


def test_keeps_a_command_as_long_as_the_helpers_send(shell: ShellDriver) -> None:
    """lab/shell.py puts a launch and its poll in one command while the line
    that labgrid types stays within CONSOLE_LINE_MAX: the guest's shell
    (busybox ash cuts longer lines) must then run that line whole."""
    token = secrets.token_hex(6)
    padding = CONSOLE_LINE_MAX - len(console_line(f"echo {token} "))
    command = f"echo {token} {'x' * padding}"
    assert len(console_line(command)) == CONSOLE_LINE_MAX
    assert shell.run_check(command) == [f"{token} {'x' * padding}"]


def test_bed_built_module_loads_and_unloads(shell: ShellDriver, lmw_guest: Guest) -> None:
    token = secrets.token_hex(6)
    shell.run_check(f"modprobe lmw_hello token={token}")
    try:
        assert shell.run_check("cat /sys/module/lmw_hello/parameters/token") == [token]
        loaded = f"lmw_hello: loaded on {lmw_guest.release}, token={token}"
        assert shell.run_check(f"dmesg | grep -c '{loaded}'") == ["1"]
    finally:
        shell.run_check("rmmod lmw_hello")
    _, _, status = shell.run("test -e /sys/module/lmw_hello")
    assert status == 1, "lmw_hello is still loaded after rmmod"
    assert shell.run_check(f"dmesg | grep -c 'lmw_hello: unloaded, token={token}'") == ["1"]


def test_module_is_installed_where_the_recipe_puts_it(shell: ShellDriver,
                                                      lmw_guest: Guest) -> None:
    # modules_install with INSTALL_MOD_PATH, as module.bbclass runs it, then depmod.
    path = shell.run_check("modinfo -n lmw_hello")[0]
    assert path.startswith(f"/lib/modules/{lmw_guest.release}/")
    vermagic = shell.run_check("modinfo -F vermagic lmw_hello")[0]
    assert vermagic.split()[0] == lmw_guest.release
