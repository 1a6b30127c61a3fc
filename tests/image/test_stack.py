"""The LMW stack as an image from meta-lmw boots it: module autoloaded, sysctl defaults live.

Runs on any booted image with the layer's packages: the bed's Debian
guests (systemd and busybox init, installed by the recipes' own rules and
started as OE's packaging classes would) and Yocto-built images through
their labgrid env (tests/env/yocto-*.yaml). It only uses the shell.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labgrid.driver import ShellDriver

from lmwtools.lab.shell import wait_until

DEFAULTS = "/etc/sysctl.d/90-lmw.conf"
OVERRIDE = "/etc/sysctl.d/95-lmw-test.conf"
KEYS = ("vm.lowmem_notify_watermark", "vm.lowmem_deny_watermark")
# the kernel's own settings that the defaults add, with a value of Linux's
# default: what the tests write before they look for the layer's
KERNEL_KEYS = {"vm.compaction_proactiveness": "20", "vm.watermark_boost_factor": "15000"}


def configured(shell: ShellDriver, path: str = DEFAULTS,
               keys: tuple[str, ...] = KEYS) -> dict[str, str]:
    """The settings of ``keys`` that a sysctl.d file holds (read in the
    guest); a key written "-key" (may fail quietly) counts as the key."""
    settings: dict[str, str] = {}
    for line in shell.run_check(f"cat {path}"):
        key, sep, value = line.partition("=")
        name = key.strip().removeprefix("-")
        if sep and not key.lstrip().startswith(("#", ";")) and name in keys:
            settings[name] = value.strip()
    return settings


def knob(key: str) -> str:
    return f"/proc/sys/{key.replace('.', '/')}"


def kernel_keys_here(shell: ShellDriver) -> tuple[str, ...]:
    """The kernel keys of the defaults that this kernel has (proactive
    compaction: 5.9 on, and only built with compaction)."""
    return tuple(key for key in KERNEL_KEYS if shell.run(f"test -e {knob(key)}")[2] == 0)


def live(shell: ShellDriver) -> dict[str, str]:
    """The watermarks the module has now."""
    return {key: shell.run_check(f"cat {knob(key)}")[0] for key in KEYS}


def runs_systemd(shell: ShellDriver) -> bool:
    return bool(shell.run("test -d /run/systemd/system")[2] == 0)


def has_udev(shell: ShellDriver) -> bool:
    return bool(shell.run("pidof systemd-udevd udevd")[2] == 0)


def sysctl_init_script(shell: ShellDriver) -> str:
    """lmw-sysctl's init script: /etc/init.d/lmw-sysctl (OE's update-rc.d links
    it), or a numbered S??lmw-sysctl that Buildroot's rcS runs in order."""
    found = shell.run_check("ls /etc/init.d | grep -E '^(S[0-9][0-9])?lmw-sysctl$'")
    assert len(found) == 1, f"lmw-sysctl's init script: {found}"
    return f"/etc/init.d/{found[0]}"


def reload_module(shell: ShellDriver) -> None:
    """Unload and load lmw.ko, then let whatever applies the settings on its
    arrival do so: udev's rule, or (no udev) the init script, as at boot."""
    shell.run_check("rmmod lmw")
    load_module(shell)


def load_module(shell: ShellDriver) -> None:
    """Load lmw.ko, and let whatever applies the settings on its arrival do so."""
    shell.run_check("modprobe lmw")
    if has_udev(shell):
        shell.run_check("udevadm settle")
    else:
        shell.run_check(f"{sysctl_init_script(shell)} start")


@pytest.fixture
def override(shell: ShellDriver) -> Iterator[str]:
    """A later sysctl.d file for the test to fill; removed, defaults restored after."""
    yield OVERRIDE
    shell.run(f"rm -f {OVERRIDE}")
    reload_module(shell)


def test_module_is_loaded_at_boot(shell: ShellDriver) -> None:
    assert shell.run("grep -q '^lmw ' /proc/modules")[2] == 0, "lmw.ko was not autoloaded"
    named = shell.run_check("cat /etc/modules-load.d/*.conf /usr/lib/modules-load.d/*.conf "
                            "2>/dev/null | grep -v '^#' || true")
    assert "lmw" in named


def test_sysctl_defaults_are_live_after_boot(shell: ShellDriver) -> None:
    """The keys exist only once the module is loaded: live defaults prove the
    boot order (module, then settings), whichever init system ran it."""
    defaults = configured(shell)
    assert set(defaults) == set(KEYS), f"{DEFAULTS} must set both watermarks"
    assert live(shell) == defaults


def test_the_kernel_settings_are_live_after_boot(shell: ShellDriver) -> None:
    """90-lmw.conf's kernel settings are live whichever init booted the image:
    systemd-sysctl's boot run, or lmw-sysctl's init script elsewhere."""
    keys = kernel_keys_here(shell)
    if not keys:
        pytest.skip("this kernel has none of the kernel settings of the defaults")
    wanted = configured(shell, keys=keys)
    assert set(wanted) == set(keys), f"{DEFAULTS} must set {keys}"
    assert {key: shell.run_check(f"cat {knob(key)}")[0] for key in keys} == wanted


def test_the_kernel_settings_apply_without_the_module(shell: ShellDriver) -> None:
    """The kernel's keys of the defaults do not wait for lmw.ko, as the lmw
    keys do: with the module unloaded, what applies sysctl.d at boot
    (systemd-sysctl's unit; lmw-sysctl without systemd) sets them."""
    keys = kernel_keys_here(shell)
    if not keys:
        pytest.skip("this kernel has none of the kernel settings of the defaults")
    wanted = configured(shell, keys=keys)
    before = {key: shell.run_check(f"cat {knob(key)}")[0] for key in keys}
    try:
        shell.run_check("rmmod lmw && " + " && ".join(
            f"echo {KERNEL_KEYS[key]} > {knob(key)}" for key in keys))
        if runs_systemd(shell):
            shell.run_check("systemctl restart systemd-sysctl.service")
        else:
            out, _, status = shell.run("/usr/sbin/lmw-sysctl 2>&1")
            assert status == 0, out
            assert any("not loaded" in line for line in out), out
        assert {key: shell.run_check(f"cat {knob(key)}")[0] for key in keys} == wanted
    finally:
        for key, value in before.items():
            shell.run(f"echo {value} > {knob(key)}")
        load_module(shell)


def test_defaults_apply_again_when_the_module_is_loaded_later(shell: ShellDriver) -> None:
    shell.run_check("rmmod lmw && modprobe lmw")
    # freshly loaded, the module starts from its parameters (0: off)...
    before = live(shell)
    if has_udev(shell):
        # ...and udev's rule applies the settings on its own
        wait_until(shell, f"test $(cat /proc/sys/vm/lowmem_deny_watermark) = "
                          f"{configured(shell)['vm.lowmem_deny_watermark']}", seconds=30)
    else:
        assert before == {key: "0" for key in KEYS}
        shell.run_check(f"{sysctl_init_script(shell)} start")
    assert live(shell) == configured(shell)


def test_a_later_file_overrides_the_defaults(shell: ShellDriver, override: str) -> None:
    defaults = configured(shell)
    notify = int(defaults["vm.lowmem_notify_watermark"]) - 7
    shell.run_check(f"echo 'vm/lowmem_notify_watermark = {notify}' > {override}")
    reload_module(shell)
    assert live(shell) == {**defaults, "vm.lowmem_notify_watermark": str(notify)}


def test_a_refused_value_is_reported_and_changes_nothing(shell: ShellDriver,
                                                         override: str) -> None:
    defaults = configured(shell)
    notify = int(defaults["vm.lowmem_notify_watermark"]) - 5
    shell.run_check(f"printf 'vm.lowmem_deny_watermark = 2000\\n"
                    f"vm.lowmem_notify_watermark = {notify}\\n' > {override}")
    out, _, status = shell.run("/usr/sbin/lmw-sysctl 2>&1")
    assert status != 0, "a refused value must fail lmw-sysctl"
    assert any("lowmem_deny_watermark" in line for line in out), out
    # the good key still applies; the refused one keeps its value
    assert live(shell) == {**defaults, "vm.lowmem_notify_watermark": str(notify)}


def test_a_value_reaches_the_kernel_as_written(shell: ShellDriver, override: str) -> None:
    """"1 10" must not become 1 (deny at 1% of RAM) nor "*" a file name: the
    kernel refuses both, as it refuses systemd-sysctl's write of them, and
    nothing changes."""
    before = live(shell)
    shell.run_check(f"printf 'vm.lowmem_deny_watermark = 1 10\\n"
                    f"vm.lowmem_notify_watermark = *\\n' > {override}")
    out, _, status = shell.run("cd /etc && /usr/sbin/lmw-sysctl 2>&1")
    assert status != 0, out
    assert live(shell) == before


def test_the_terminator_watches_the_module(shell: ShellDriver) -> None:
    wait_until(shell, "grep -q '^source=lmw$' /run/lmw/terminator.status", seconds=60)


def test_no_swap_is_in_use(shell: ShellDriver) -> None:
    swap_total = shell.run_check("sed -n 's/^SwapTotal: *//p' /proc/meminfo")
    assert swap_total == ["0 kB"]
    # a swapless kernel has no /proc/swaps; any other lists no device
    devices = shell.run_check("tail -n +2 /proc/swaps 2>/dev/null || true")
    assert devices == []
