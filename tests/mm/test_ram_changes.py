"""lmw.ko's lines follow RAM: a balloon that takes memory from a running guest moves them.

The lines are percentages of RAM, worked out from totalram_pages at each
decision, not at the sysctl write: memory hotplug, a hypervisor's
balloon or a driver's reservation changes RAM under a running module.
QEMU's virtio balloon takes BALLOON_MIB from the guest (the guest's
driver gives each page it hands over out of totalram_pages, MemTotal
falls) and gives it back; an unprivileged committer is refused at the
line of the RAM there is at that moment, each time.
"""

from __future__ import annotations

from typing import Any

import pytest
from labgrid.driver import ShellDriver

from lmwtools.lab.shell import figure, kv, wait_until

pytestmark = [pytest.mark.guest]

NOBODY = 65534
MIB = 1024 * 1024
BALLOON_MIB = 128
STEP_KB = 1024
DENY, NOTIFY = 50, 40


def mem_total_kb(shell: ShellDriver) -> int:
    line = shell.run_check("grep MemTotal: /proc/meminfo")[0]
    return int(line.split()[1])


def refusal_kb(shell: ShellDriver) -> int:
    """Committed memory when an unprivileged committer was refused."""
    deny = figure(shell, "deny_kb")
    out, _, _ = shell.run(f"lmwtest -u {NOBODY} commit mmap {STEP_KB} {deny * 2}", timeout=120)
    result = kv(out)
    assert result["refused"] == "1" and result["errno"] == "ENOMEM", result
    return int(result["committed_kb"])


def balloon_to(qemu: Any, shell: ShellDriver, guest_bytes: int, mem_total: int) -> None:
    """Ask QEMU for ``guest_bytes`` of guest RAM; wait until MemTotal is ``mem_total`` kB
    (within a page per MiB: the driver moves pages in batches)."""
    qemu.monitor_command("balloon", {"value": guest_bytes})
    slack = BALLOON_MIB * 4
    # MemTotal is the first line of /proc/meminfo
    wait_until(shell, f"{{ read -r _ kb _; [ $kb -ge {mem_total - slack} ] && "
                      f"[ $kb -le {mem_total + slack} ]; }} < /proc/meminfo",
               seconds=120, interval=0.5)


def assert_lines_of(shell: ShellDriver) -> tuple[int, int]:
    """The lines are DENY and NOTIFY percent of RAM as the guest has it now; (deny, bound)."""
    total = figure(shell, "totalram_kb")
    assert total == mem_total_kb(shell)
    page_kb = 4
    assert abs(figure(shell, "deny_kb") - total * DENY // 100) <= page_kb
    assert abs(figure(shell, "notify_kb") - total * NOTIFY // 100) <= page_kb
    return figure(shell, "deny_kb"), max(total // 100, 4096)


def test_the_lines_follow_ram_when_a_balloon_takes_it_and_gives_it_back(
        mm_guest: tuple[Any, ShellDriver]) -> None:
    qemu, shell = mm_guest
    full_bytes = int(qemu.monitor_command("query-balloon")["actual"])
    shell.run_check(f"modprobe lmw deny_watermark={DENY} notify_watermark={NOTIFY}")
    try:
        full_kb = mem_total_kb(shell)
        deny_full, bound = assert_lines_of(shell)
        balloon_to(qemu, shell, full_bytes - BALLOON_MIB * MIB, full_kb - BALLOON_MIB * 1024)
        deny_small, _ = assert_lines_of(shell)
        # the line moved by DENY % of what the balloon took: far more than the bound
        assert deny_full - deny_small > 2 * bound
        refused_small = refusal_kb(shell)
        assert abs(refused_small - deny_small) <= bound + STEP_KB, (refused_small, deny_small)

        balloon_to(qemu, shell, full_bytes, full_kb)
        assert assert_lines_of(shell)[0] == deny_full
        refused_full = refusal_kb(shell)
        assert abs(refused_full - deny_full) <= bound + STEP_KB, (refused_full, deny_full)
    finally:
        qemu.monitor_command("balloon", {"value": full_bytes})
        shell.run("rmmod lmw")
