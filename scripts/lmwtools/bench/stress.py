"""Outcome under stress: one scenario after the other, same guest, same workloads.

workloads/stress.sh runs a heartbeat and two services (the bystanders) and
a workload's culprits, unprivileged and growing until something stops them
(the standard one: a leaking hog and a fork burst; the harder set: a fork
storm, many small committers at once, one large mapping never touched),
under each protection in turn. From its records this module tells, per
workload and scenario: kernel OOM kills, wrong victims (a bystander that
died before the end), the
heartbeat's p99 and worst lateness over the whole window and its worst per
phase (before the protection's first action, from it until memory is
back, after), the time from first pressure (committed memory past the
notify line) until it was back under it, and how the hog ended. Every
scenario runs the same window, whenever its protection acts.

The guest runs on the wall clock (the bench's vCPUs), or on QEMU's
instruction counter (``CLOCKS``; one vCPU, ``-icount shift=0``), where
the guest's time is its own work: a millisecond the heartbeat waits is
a million instructions that ran before it, and the host's other work
leaks in only while the guest sleeps. The same workloads, the same
records; the window is the guest's 90 s either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bed import boot
from ..bed.guest import Guest
from . import qemu
from .records import GuestTimeout, install_workloads, one, records, run, workload

SCENARIOS = ("none", "strict", "earlyoom", "earlyoom-tuned", "nohang", "lmw", "lmw-tuned")
SCENARIO_TITLES = {
    "none": "no protection",
    "strict": "strict overcommit (mode 2, ratio 100)",
    "earlyoom": "earlyoom 1.7, defaults",
    "earlyoom-tuned": "earlyoom 1.7, tuned (-m 15,8, prefer the culprits, avoid services)",
    "nohang": "nohang 0.2.0, defaults",
    "lmw": "meta-lmw (lmw.ko 90/110 + lmw-terminator), defaults (1 s warning grace)",
    "lmw-tuned": "meta-lmw, tuned (no warning grace, prefer the culprits, protect services)",
}
WORKLOADS = ("standard", "forkstorm", "committers", "untouched")
WORKLOAD_TITLES = {
    "standard": "the standard stress (a leaking hog, a fork burst)",
    "forkstorm": "a fork storm (a fork every 5 ms, 2 MiB each, up to 400 alive)",
    "committers": "many small committers (16 leaks of 1 MiB every 100 ms)",
    "untouched": "a large mapping never touched (16 MiB committed every 100 ms)",
}
BYSTANDERS = ("svc1", "svc2", "beat")
# the standard workload's fork burst ends by itself: neither culprit nor bystander
SELF_ENDING = ("burst",)
# the heartbeat's phases, in order (stress.sh's beatphase records)
PHASES = ("before", "acting", "after")
# the guest's clock: "wall" (QEMU's TCG as it runs) or "instructions"
CLOCKS = ("wall", "instructions")
CLOCK_TITLES = {"wall": "", "instructions": ", on the instruction counter (1 vCPU)"}
# exit statuses as the guest's shell reports them
SIGNALLED = {"143": "SIGTERM", "137": "SIGKILL"}


@dataclass(frozen=True, slots=True)
class Outcome:
    scenario: str
    oom_kills: int
    wrong_victims: list[str]
    culprit_end: str          # how the culprits ended: "SIGTERM", "3 SIGTERM, 13 still running"
    pressure_ms: int | None
    back_ms: int | None
    end_ms: int
    beat_p99_us: int
    beat_max_us: int
    beat_samples: int
    beat_series: list[tuple[float, float]] = field(default_factory=list)   # (s, worst ms)
    committed_series: list[tuple[float, float]] = field(default_factory=list)  # (s, % of RAM)
    unresponsive_s: int | None = None     # the guest stopped answering for this long
    action_ms: int | None = None          # the protection's first action
    beat_phase_max_us: dict[str, int] = field(default_factory=dict)   # PHASES -> worst
    workload: str = "standard"
    clock: str = "wall"                   # CLOCKS

    @classmethod
    def unresponsive(cls, scenario: str, workload: str, seconds: int,
                     clock: str = "wall") -> Outcome:
        return cls(scenario=scenario, oom_kills=0, wrong_victims=[], culprit_end="unknown",
                   pressure_ms=None, back_ms=None, end_ms=seconds * 1000, beat_p99_us=0,
                   beat_max_us=0, beat_samples=0, unresponsive_s=seconds, workload=workload,
                   clock=clock)

    @property
    def recovery_s(self) -> float | None:
        if self.pressure_ms is None or self.back_ms is None:
            return None
        return (self.back_ms - self.pressure_ms) / 1000


def ending(status: str, last_line: dict[str, str]) -> str:
    if status == "running":
        return "still running at the end"
    if status in SIGNALLED:
        return f"{SIGNALLED[status]}"
    if "refused" in last_line.get("_line", ""):
        return f"exited {status} after a refusal"
    return f"exited {status}"


def culprit_end(culprits: list[dict[str, str]]) -> str:
    """How the culprits ended: one's ending, or the count of each among many."""
    endings = []
    for record in culprits:
        end = ending(record["status"], record)
        if record["status"] == "running" and "size_kb" in record:
            end += f" ({int(record['size_kb']) // 1024} MiB)"
        endings.append(end)
    if len(endings) == 1:
        return endings[0]
    counts: dict[str, int] = {}
    for end in endings:
        kind = end.split(" (")[0]     # the sizes differ: count the kinds of ending
        counts[kind] = counts.get(kind, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n} {kind}" for kind, n in ordered)


def _optional(value: str) -> int | None:
    return None if value == "none" else int(value)


def parse(lines: list[str], clock: str = "wall") -> Outcome:
    summary = one(lines, "stress")
    processes = {r["name"]: r for r in records(lines, "process")}
    culprits = [r for name, r in processes.items() if name not in (*BYSTANDERS, *SELF_ENDING)]
    # a service or the heartbeat that ended before the cleanup was a victim
    # (they run for the whole scenario)
    wrong = [f"{name} ({ending(r['status'], r)})" for name, r in processes.items()
             if name in BYSTANDERS and r["status"] not in ("running", "0")]
    phases = {r["phase"]: int(r["max_us"]) for r in records(lines, "beatphase")
              if int(r["samples"]) > 0}
    stats = records(lines, "beatstats")
    beat = stats[0] if stats else {"p99_us": "0", "max_us": "0", "samples": "0"}
    total_kb = int(summary["total_kb"])
    return Outcome(
        scenario=summary["scenario"], oom_kills=int(summary["oom_kills"]),
        wrong_victims=wrong, culprit_end=culprit_end(culprits),
        workload=summary.get("workload", "standard"), clock=clock,
        pressure_ms=_optional(summary["pressure_ms"]), back_ms=_optional(summary["back_ms"]),
        action_ms=_optional(summary["action_ms"]), beat_phase_max_us=phases,
        end_ms=int(summary["end_ms"]), beat_p99_us=int(beat["p99_us"]),
        beat_max_us=int(beat["max_us"]), beat_samples=int(beat["samples"]),
        beat_series=[(int(r["t_ms"]) / 1000, int(r["late_us"]) / 1000)
                     for r in records(lines, "beat")],
        committed_series=[(int(r["t_ms"]) / 1000, 100 * int(r["committed_kb"]) / total_kb)
                          for r in records(lines, "monitor")],
    )


# A healthy guest ends a scenario within its SECONDS plus the cleanup; one
# that has not answered this much later is livelocked.
UNRESPONSIVE_AFTER_S = 120
# On the instruction counter the guest's second is a billion of its
# instructions, which TCG may take longer than a second to run when the
# guest is busy throughout: SECONDS, the cleanup's too, are allowed this
# many times as long. (The harder set's runs took the host about as long
# as on the wall clock, 2.5 minutes each with the boot: the guest sleeps
# enough of its window for the counter to skip ahead.)
ICOUNT_SLOWDOWN = 3


def answer_within_s(seconds: int, clock: str) -> int:
    """How long the host waits for a scenario of ``seconds`` guest seconds."""
    within = seconds + UNRESPONSIVE_AFTER_S
    return within * ICOUNT_SLOWDOWN if clock == "instructions" else within


def measure(guest: Guest, scenarios: tuple[str, ...], seconds: int,
            workload_name: str = "standard", clock: str = "wall") -> list[Outcome]:
    """Each scenario on a fresh boot of ``guest``: a scenario that livelocks the
    guest must not decide how the next one starts."""
    overrides = qemu.boot_args(guest, icount=clock == "instructions")
    outcomes = []
    for scenario in scenarios:
        with boot.fresh_guest_shell(guest, overrides) as (_, shell):
            install_workloads(shell)
            try:
                lines = run(shell, workload("stress.sh", scenario, seconds, workload_name),
                            timeout=answer_within_s(seconds, clock))
            except GuestTimeout:
                outcomes.append(Outcome.unresponsive(scenario, workload_name,
                                                     answer_within_s(seconds, clock), clock))
                continue
            outcomes.append(parse(lines, clock))
    return outcomes
