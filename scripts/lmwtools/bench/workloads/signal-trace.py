"""Read signal-trace.sh's ftrace text on stdin; print one record a crossing.

    path n= module_ms= ipi_ms= sched_ms= total_ms= cross_cpu= ran=

from the crosser's mmap (the crossing) to lmw.ko waking the waiter
(module_ms: the commit decision, the probe, the irq_work, kernfs_notify),
from there to the wake-up taking effect on the waiter's CPU (ipi_ms: 0 on
the same CPU; across vCPUs an IPI, which single-threaded TCG delivers
when it next runs that vCPU), and from there to the waiter running
(sched_ms: what its CPU ran first is in ran=, comma-separated). A
crossing that found the waiter awake (no wake-up before the crosser's
munmap, which comes once the waiter has reported) has no record. The
crosser is the lmwbench process that maps more than 1 MiB at a time; the
waiter, the other lmwbench process woken most.
"""

import collections
import re
import sys

LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+)[:(] ?(.*)$")
MIB = 1 << 20


def field(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in an event's text ("" when absent)."""
    found = re.search(pattern, text)
    return found.group(1) if found else ""


def main() -> None:
    events = []
    for line in sys.stdin:
        m = LINE.match(line)
        if m:
            events.append((float(m.group(4)) * 1000, int(m.group(3)), int(m.group(2)),
                           m.group(5), m.group(6)))
    crossings = [e for e in events if e[3] == "sys_mmap"
                 and int(field(r"len: (\w+)", e[4]) or "0", 16) > MIB]
    if not crossings:
        print("path none", flush=True)
        return
    crosser = collections.Counter(e[2] for e in crossings).most_common(1)[0][0]
    woken = collections.Counter(
        int(field(r"pid=(\d+)", e[4]) or "0") for e in events
        if e[3] == "sched_waking" and "comm=lmwbench " in e[4])
    woken.pop(crosser, None)
    waiter = woken.most_common(1)[0][0]
    crossings = [e for e in crossings if e[2] == crosser]
    for n, crossing in enumerate(crossings):
        # the crosser unmaps once the waiter has reported the crossing: a
        # wake-up after that is the next one's (the way back to normal),
        # and a crossing with none before it found the waiter awake
        end = next((e[0] for e in events if e[3] == "sys_munmap" and e[2] == crosser
                    and e[0] > crossing[0]), float("inf"))
        span = [e for e in events if crossing[0] <= e[0] < end]
        waking = next((e for e in span if e[3] == "sched_waking"
                       and f"pid={waiter} " in e[4]), None)
        wakeup = next((e for e in span if e[3] == "sched_wakeup"
                       and f"pid={waiter} " in e[4] and waking and e[0] >= waking[0]), None)
        running = next((e for e in span if e[3] == "sched_switch"
                        and f"next_pid={waiter} " in e[4] and wakeup and e[0] >= wakeup[0]),
                       None)
        if waking is None or wakeup is None or running is None:
            continue
        ran = [field(r"next_comm=(.*?) next_pid=", e[4]) for e in span
               if e[3] == "sched_switch" and e[1] == running[1]
               and wakeup[0] <= e[0] < running[0]]
        ran = [comm.replace(" ", "_").replace(",", "_") for comm in ran]
        print(f"path n={n} module_ms={waking[0] - crossing[0]:.3f} "
              f"ipi_ms={wakeup[0] - waking[0]:.3f} sched_ms={running[0] - wakeup[0]:.3f} "
              f"total_ms={running[0] - crossing[0]:.3f} cross_cpu={int(waking[1] != running[1])} "
              f"ran={','.join(ran)}", flush=True)


main()
