"""lmw.ko's load with each of its allocations failing in turn, on a kernel with
fault injection (the bed's debug kernel; skipped elsewhere).

lmwtest faultload makes the Nth fault-injectable allocation of the load
fail (/proc/thread-self/fail-nth: slab and page allocations), for N = 1,
2, ... until a load needs fewer: every load before must fail with an
error and leave nothing registered (module, sysfs, sysctl, kprobe). Then
kmemleak, cleared before, must find no leak.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labgrid.driver import ShellDriver

from lmwtools.lab.shell import kv

pytestmark = [pytest.mark.guest, pytest.mark.kernel_quiet]

DEBUGFS = "/sys/kernel/debug"
# More than a load of lmw makes (a few hundred with the module loader's own)
MAX_FAULTS = 3000


@pytest.fixture
def fault_injection(shell: ShellDriver) -> Iterator[str]:
    """debugfs mounted, failslab and fail_page_alloc armed for every allocation
    (GFP_KERNEL ones too), quiet; yields the path of lmw.ko."""
    shell.run(f"mount -t debugfs none {DEBUGFS} 2>/dev/null")
    if shell.run("test -e /proc/thread-self/fail-nth")[2] != 0:
        pytest.skip("this kernel has no fault injection (the debug kernel has)")
    module = shell.run_check("find /lib/modules -name lmw.ko")[0]
    for fault in ("failslab", "fail_page_alloc"):
        shell.run_check(f"echo N > {DEBUGFS}/{fault}/ignore-gfp-wait && "
                        f"echo 0 > {DEBUGFS}/{fault}/verbose")
    shell.run_check(f"echo N > {DEBUGFS}/fail_page_alloc/ignore-gfp-highmem")
    shell.run_check(f"echo clear > {DEBUGFS}/kmemleak")
    yield module
    shell.run("rmmod lmw 2>/dev/null")


def leaks(shell: ShellDriver) -> list[str]:
    # two scans: an object is reported once it looked unreferenced twice
    shell.run_check(f"echo scan > {DEBUGFS}/kmemleak && echo scan > {DEBUGFS}/kmemleak",
                    timeout=300)
    return [str(line) for line in shell.run_check(f"cat {DEBUGFS}/kmemleak")]


def test_each_failing_allocation_of_the_load_unwinds_cleanly(shell: ShellDriver,
                                                             fault_injection: str) -> None:
    out = shell.run(f"lmwtest faultload {fault_injection} {MAX_FAULTS} "
                    "'deny_watermark=50 notify_watermark=40'", timeout=1800)[0]
    result = kv(out)
    assert "leftover_at" not in result and "error" not in result, out
    assert int(result["loaded_at"]) > 1, out
    # nearly every fault ended the load; some the kernel itself absorbs
    assert int(result["failed_cleanly"]) > 10, out
    found = leaks(shell)
    assert not found, "\n".join(found)
    # and it still works: load, refuse, unload
    shell.run_check(f"insmod {fault_injection} deny_watermark=50 notify_watermark=40")
    shell.run_check("rmmod lmw")


def test_no_leak_after_loads_and_unloads(shell: ShellDriver, fault_injection: str) -> None:
    shell.run_check(f"for i in $(seq 20); do insmod {fault_injection} deny_watermark=3 "
                    "notify_watermark=2 && rmmod lmw || exit 1; done", timeout=600)
    found = leaks(shell)
    assert not found, "\n".join(found)
