"""Hook cost: what lmw.ko adds to each commit decision.

Accounted anonymous mmap+munmap of 4 KiB and 2 MiB, and brk grow+shrink,
timed in loops (lmwbench ops) under four module settings, one repetition
of each setting after the other, so that a slow phase of the host hits
all of them alike. The guest runs on QEMU's instruction counter
(``-icount shift=0``, one vCPU): its clock then advances one nanosecond
per guest instruction, so "ns per operation" counts guest instructions
and repeats from run to run. Under plain TCG, the host's noise is larger
than the probe's cost.

- ``unloaded``: no module, the kernel alone (the baseline);
- ``passive``: loaded, both knobs 0: the kprobe fires and returns at once;
- ``far``: active, far from both lines (notify 900 %, deny 1000 %): the
  exact read of committed memory on every decision;
- ``band``: active, past notify (notify 1 %, deny 1000 %), the band
  between the lines where a real system sits under pressure: the same
  exact read, with the state above normal and the re-check work item due.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import records, run
from .stats import Spread, ratio_spread

KINDS = ("mmap4k", "mmap2m", "brk")
SETTINGS: dict[str, str] = {
    "unloaded": "rmmod lmw 2>/dev/null; true",
    "passive": "modprobe lmw && sysctl -q vm.lowmem_deny_watermark=0 "
               "vm.lowmem_notify_watermark=0",
    "far": "modprobe lmw && sysctl -q vm.lowmem_deny_watermark=1000 "
           "vm.lowmem_notify_watermark=900",
    "band": "modprobe lmw && sysctl -q vm.lowmem_deny_watermark=1000 "
            "vm.lowmem_notify_watermark=1",
}
BASELINE = "unloaded"


@dataclass(frozen=True, slots=True)
class HookCost:
    count: int
    repetitions: int
    ns_per_op: dict[str, dict[str, list[float]]]     # setting -> kind -> one per repetition

    def spread(self, setting: str, kind: str) -> Spread:
        return Spread.of(self.ns_per_op[setting][kind])

    def ratio(self, setting: str, kind: str) -> Spread:
        return ratio_spread(self.ns_per_op[setting][kind], self.ns_per_op[BASELINE][kind])


_HAS_SYSTEMD = "command -v systemctl >/dev/null"


def measure(shell: object, repetitions: int, count: int) -> HookCost:
    # the terminator would wake at each state change of "band": not its cost
    # (the initramfs userland runs none)
    run(shell, f"if {_HAS_SYSTEMD}; then systemctl stop lmw-terminator; fi")
    results: dict[str, dict[str, list[float]]] = {s: {k: [] for k in KINDS} for s in SETTINGS}
    for _ in range(repetitions):
        for setting, command in SETTINGS.items():
            run(shell, command)
            for kind in KINDS:
                lines = run(shell, f"lmwbench ops {kind} {count}")
                (record,) = records(lines, "ops")
                results[setting][kind].append(float(record["ns_per_op"]))
    run(shell, "modprobe lmw && sysctl -q -p /etc/sysctl.d/90-lmw.conf && "
               f"if {_HAS_SYSTEMD}; then systemctl start lmw-terminator; fi")
    return HookCost(count, repetitions, results)
