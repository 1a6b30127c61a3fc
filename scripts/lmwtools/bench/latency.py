"""Signal latency: from the allocation that crosses notify to who reacts.

(a) a process sleeping in poll() on /sys/kernel/lmw/watermark/state
    (lmwbench signal: the module's own path, probe -> work item ->
    sysfs_notify -> wake-up);
(b) lmw-terminator's SIGTERM arriving at its victim (the whole chain,
    workloads/terminator-latency.sh).
Both as distributions over many crossings: p50, p99, max.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import UserError
from .records import records, run, workload
from .stats import Tail

NS_PER_MS = 1e6


@dataclass(frozen=True, slots=True)
class Latency:
    poll_ms: list[float]          # one per crossing
    terminator_ms: list[float]
    terminator_timeouts: int

    def poll(self) -> Tail:
        return Tail.of(self.poll_ms)

    def terminator(self) -> Tail:
        return Tail.of(self.terminator_ms)


def measure(shell: object, crossings: int) -> Latency:
    lines = run(shell, f"modprobe lmw && lmwbench signal {crossings}",
                timeout=60 + crossings * 15)
    poll_ms = [float(r["latency_ns"]) / NS_PER_MS for r in records(lines, "signal")
               if "latency_ns" in r]
    lines = run(shell, workload("terminator-latency.sh", crossings),
                timeout=120 + crossings * 25)
    victims = [r for r in records(lines, "victim") if "term_ns" in r]
    terminator_ms = [(int(r["term_ns"]) - int(r["cross_ns"])) / NS_PER_MS for r in victims]
    if not poll_ms or not terminator_ms:
        raise UserError("the latency runs measured nothing:\n" + "\n".join(lines[-15:]))
    return Latency(poll_ms, terminator_ms, len(records(lines, "timeout")))
