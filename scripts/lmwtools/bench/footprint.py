"""Footprint at rest: RSS, CPU time and wake-ups of each daemon, idle side by side.

lmw-terminator (its systemd service, on lmw.ko's signal), earlyoom and
nohang (Debian's packages, default settings) run at once on an idle guest
for the same window; each one's CPU time and context switches over the
window come from /proc, summed over its threads. A context switch is a
sleep and a wake-up, so switches per second is the wake-up rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import records, run, workload


@dataclass(frozen=True, slots=True)
class Footprint:
    name: str
    rss_kb: int
    cpu_ms: int
    wakeups_per_s: float


def measure(shell: object, seconds: int) -> list[Footprint]:
    lines = run(shell, workload("footprint.sh", seconds), timeout=seconds + 120)
    return [Footprint(r["name"], int(r["rss_kb"]), int(r["cpu_ms"]), float(r["wakeups_per_s"]))
            for r in records(lines, "footprint")]
