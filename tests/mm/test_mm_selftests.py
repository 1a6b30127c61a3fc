"""Below its lines lmw.ko changes nothing: the kernel's own mm selftests say so.

``tools/testing/selftests/mm`` from the guest kernel's own source package
(bed/selftests.py), run three ways on one boot:

- **without**: lmw.ko not loaded;
- **passive**: loaded, both lines 0 (off): the probe runs and lets go;
- **active**: loaded with the lines far away (notify 900 %, deny 1000 % of
  RAM): the probe sums committed memory and compares at every decision.

Every test must give the same result in all three: its exit status and
the verdict of each numbered TAP result (ok, not ok, skip, xfail). A test
that fails or skips without the module (a feature this kernel or a 512
MiB guest does not have) may do the same with it; what it may not do is
change. The descriptions are not compared: some carry figures of the
moment (free huge pages, addresses).

The list follows the kernel's run_vmtests.sh (its arguments, its order).
``make test`` runs every test that takes under 5 s under TCG, and cow,
mremap_test and pagemap_ioctl (8-15 s each: fork, mremap and userfaultfd
go through the accounting); the others (uffd, ksm merging, khugepaged,
transhuge-stress, soft-dirty, droppable: up to minutes each) run with
LMW_MM_SELFTESTS=all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
from labgrid.driver import ShellDriver

from lmwtools.bed.selftests import GUEST_DIR
from lmwtools.lab.shell import LMW_SYSFS, figure

pytestmark = [pytest.mark.guest]

NOBODY = 65534
# The huge pages the hugetlb tests find reserved (run_vmtests.sh reserves
# more; 64 MiB is what a 512 MiB guest spares).
HUGEPAGES = 32


@dataclass(frozen=True, slots=True)
class Selftest:
    binary: str
    args: str = ""
    timeout_s: int = 120
    long: bool = False        # LMW_MM_SELFTESTS=all only (see above)
    as_nobody: bool = False   # what it checks holds for unprivileged users only
    hugepages: int = HUGEPAGES  # the hugetlb pool it starts with

    @property
    def name(self) -> str:
        return f"{self.binary} {self.args}".strip()


SELFTESTS = (
    Selftest("hugepage-mmap"),
    Selftest("hugepage-shm"),
    Selftest("map_hugetlb"),
    Selftest("hugepage-mremap"),
    Selftest("hugepage-vmemmap"),
    Selftest("hugetlb-madvise"),
    Selftest("hugetlb_dio"),
    Selftest("hugetlb_fault_after_madv"),
    Selftest("hugetlb_madv_vs_map"),
    Selftest("map_fixed_noreplace"),
    Selftest("gup_test", "-u"),
    Selftest("gup_test", "-a"),
    Selftest("gup_longterm"),
    Selftest("uffd-unit-tests", timeout_s=300, long=True),
    Selftest("uffd-stress", "anon 20 16", timeout_s=300, long=True),
    Selftest("uffd-stress", "shmem 20 16", timeout_s=300, long=True),
    Selftest("uffd-stress", "shmem-private 20 16", timeout_s=300, long=True),
    # it locks all the memory it can get, then asks for huge pages itself
    Selftest("compaction_test", hugepages=0),
    Selftest("on-fault-limit", as_nobody=True),
    Selftest("map_populate"),
    Selftest("mlock-random-test"),
    Selftest("mlock2-tests"),
    Selftest("mrelease_test"),
    Selftest("mremap_test"),
    Selftest("thuge-gen"),
    Selftest("hugetlb-soft-offline"),
    Selftest("hugetlb-read-hwpoison"),
    Selftest("virtual_address_range"),
    Selftest("va_high_addr_switch"),
    Selftest("mremap_dontunmap"),
    Selftest("hmm-tests"),
    Selftest("madv_populate"),
    Selftest("memfd_secret"),
    # run_vmtests.sh merges 100 MiB: over 2 minutes under TCG
    Selftest("ksm_tests", "-H -s 10", long=True),
    Selftest("ksm_tests", "-P -s 10", long=True),
    Selftest("ksm_tests", "-M -p 10"),
    Selftest("ksm_tests", "-U"),
    Selftest("ksm_tests", "-Z -p 10 -z 0"),
    Selftest("ksm_tests", "-Z -p 10 -z 1"),
    Selftest("ksm_functional_tests", timeout_s=300, long=True),
    Selftest("protection_keys_64"),
    Selftest("pkey_sighandler_tests_64"),
    Selftest("soft-dirty", long=True),
    Selftest("pagemap_ioctl"),
    Selftest("cow"),
    Selftest("khugepaged", long=True),
    Selftest("khugepaged", "-s 2", long=True),
    Selftest("transhuge-stress", "-d 20", timeout_s=300, long=True),
    Selftest("split_huge_page_test"),
    Selftest("migration"),
    Selftest("mkdirty"),
    Selftest("mdwe_test"),
    Selftest("seal_elf"),
    Selftest("mseal_test"),
    Selftest("droppable", long=True),
)

# How lmw.ko is set up in each way; each leaves the guest as it found it.
MODES: dict[str, tuple[str, str]] = {
    "without": ("! grep -q '^lmw ' /proc/modules", "true"),
    "passive": ("modprobe lmw && grep -qx 0 /proc/sys/vm/lowmem_deny_watermark && "
                "grep -qx 0 /proc/sys/vm/lowmem_notify_watermark", "rmmod lmw"),
    # notify and deny far above anything a 512 MiB guest commits
    "active": ("modprobe lmw deny_watermark=1000 notify_watermark=900", "rmmod lmw"),
}
# A test whose results differ runs again this many times in each way: a
# test that is flaky on its own (ksmd's timing under TCG) shows both of its
# results everywhere, and only a result that one way never gives counts.
RERUNS = 4
TAP_RESULT = re.compile(r"^(not ok|ok) (\d+)\b(?:.*?#\s*(SKIP|XFAIL|TODO)\b)?", re.IGNORECASE)

# (exit status, ((TAP number, verdict), ...))
Result = tuple[int, tuple[tuple[int, str], ...]]


def chosen() -> list[Selftest]:
    everything = os.environ.get("LMW_MM_SELFTESTS", "") == "all"
    return [t for t in SELFTESTS if everything or not t.long]


def verdicts(lines: list[str]) -> tuple[tuple[int, str], ...]:
    """The numbered TAP results of a test's output, each as (number, verdict)."""
    found = []
    for line in lines:
        match = TAP_RESULT.match(line.strip())
        if match:
            status, number, directive = match.groups()
            found.append((int(number), (directive or status).lower()))
    return tuple(found)


def run_one(shell: ShellDriver, test: Selftest) -> Result:
    command = f"./{test.name}"
    if test.as_nobody:
        command = f"su nobody -s /bin/sh -c '{command}'"
    # the hugetlb pool as every test expects it: soft-offline and hwpoison
    # tests take pages out of it for good
    out, _, _ = shell.run(
        f"echo {test.hugepages} > /proc/sys/vm/nr_hugepages; cd {GUEST_DIR} && "
        f"timeout {test.timeout_s} {command} > /tmp/mm.log 2>&1; "
        "echo rc=$?; cat /tmp/mm.log", timeout=test.timeout_s + 120)
    status = int(out[0].removeprefix("rc="))
    return status, verdicts(out[1:])


def in_mode(shell: ShellDriver, mode: str, tests: list[Selftest],
            results: dict[str, dict[str, set[Result]]]) -> None:
    enter, leave = MODES[mode]
    shell.run_check(enter)
    for test in tests:
        results[test.name].setdefault(mode, set()).add(run_one(shell, test))
    if mode == "active":
        # "far away": had a line been reached, this would prove something else
        state = shell.run_check(f"cat {LMW_SYSFS}/state")[0]
        assert (state, figure(shell, "denials")) == ("normal", 0)
    shell.run_check(leave)


def differing(results: dict[str, dict[str, set[Result]]]) -> list[str]:
    """Tests with no result that every way gave."""
    return [name for name, by_mode in results.items()
            if not set.intersection(*by_mode.values())]


def describe(result: Result) -> str:
    status, results = result
    counts: dict[str, int] = {}
    for _, verdict in results:
        counts[verdict] = counts.get(verdict, 0) + 1
    return f"exit {status} " + " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))


def test_the_kernels_mm_selftests_give_the_same_results_with_lmw(
        mm_guest: tuple[Any, ShellDriver]) -> None:
    _, shell = mm_guest
    shell.run_check(
        "mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug; "
        f"grep -q ^nobody: /etc/passwd || echo 'nobody:x:{NOBODY}:{NOBODY}::/:/bin/sh' "
        ">> /etc/passwd")
    tests = chosen()
    results: dict[str, dict[str, set[Result]]] = {t.name: {} for t in tests}
    for mode in MODES:
        in_mode(shell, mode, tests, results)
    for _ in range(RERUNS):
        retry = set(differing(results))
        again = [t for t in tests if t.name in retry]
        if not again:
            break
        for mode in MODES:
            in_mode(shell, mode, again, results)

    report = [f"{'test':34} " + " ".join(f"{mode:30}" for mode in MODES)]
    for name, by_mode in results.items():
        report.append(f"{name:34} " + " ".join(
            f"{' | '.join(sorted(describe(r) for r in by_mode[mode])):30}" for mode in MODES))
    print("\n".join(report))
    # the suite ran: a broken archive or guest would give no passed result
    assert any(verdict == "ok" for by_mode in results.values() for status, tap in
               by_mode["without"] for _, verdict in tap)
    differ = differing(results)
    assert not differ, "results differ for " + ", ".join(differ) + "\n" + "\n".join(report)
