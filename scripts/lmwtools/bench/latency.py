"""Signal latency and reaction time: from the memory that crosses a line to who reacts.

(a) a process sleeping in poll() on /sys/kernel/lmw/watermark/state
    (lmwbench signal: the module's own path, probe -> irq_work -> wake-up;
    the terminator stopped meanwhile), and the same again under ftrace
    (workloads/signal-trace.sh), for where its time goes: the module's
    part, the wake-up reaching the waiter's vCPU, and that vCPU's
    scheduler; then once more with the waiter at SCHED_FIFO 1 (as the
    terminator runs) on the crosser's own vCPU (taskset), where neither
    of the two later steps can wait: close to the module's path alone,
    as a board whose CPUs are real cores would show it (QEMU's single
    TCG thread delivers a wake-up to another vCPU only when it next
    switches to it);
(b) lmw-terminator's SIGTERM arriving at its victim (the whole chain,
    workloads/reaction.sh), with the daemon's own account of each
    reaction (from its wake-up: the choice, then the signal);
(c) the same, the daemon an ordinary process (realtime_priority 0, nice
    -20) rather than SCHED_FIFO, in the same boot: what its priority buys;
(d) the same again with lmw-memory-monitor stopped: the crossing that
    wakes the terminator wakes the monitor too (its D-Bus signal), and
    under TCG its work takes turns on the one host thread with the
    daemon's and the victim's; in (e) lmw.ko's lines are off and the
    monitor never wakes, so this is the terminator's figure like with
    like (the packagegroup does not install the monitor either);
(e) earlyoom's SIGTERM arriving at the same victim, its line placed at the
    same growth (workloads/reaction.sh earlyoom), in the same boot;
(f) the poll() waiter of (a) and the terminator of (b) once more with
    lmw.ko's uevents on (its parameter uevents=Y; off as installed): the
    uevent of each change of state wakes every uevent listener
    (systemd-udevd, which may fork a worker for it, and lmw-memory-monitor)
    beside the waiter; this is what they would cost the signal's path, side
    by side;
(g) lmw-terminator's and earlyoom's SIGTERMs of (b) and (e) once more,
    side by side on a boot of their own on QEMU's instruction counter
    (one vCPU, ``-icount shift=0``, as the hook cost runs): the guest's
    clock then advances a nanosecond per guest instruction while the guest
    runs, and in real time while it sleeps. What the emulator spends
    besides the guest's own work (translating code run cold, the other
    vCPU's turn on its one thread, the host's load) no longer reaches the
    figures: each reaction as a core that runs an instruction a
    nanosecond would take it, and earlyoom's sleeps as they are.
Each as a distribution over many crossings: p50, p99, max; and for each
leg, how many times QEMU threw its translated code away while it ran
(qemu.flushes): a reaction that meets such a flush runs at a fraction of
its speed, and one or two of them are the p99 of 200 crossings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..core.errors import UserError
from .records import GUEST_DIR, Record, records, run, workload
from .stats import Tail

NS_PER_MS = 1e6


@dataclass(frozen=True, slots=True)
class Reaction:
    """One killer's SIGTERMs: ms from each crossing, and the victims it did not
    stop in 20 s; ``early``: SIGTERMs that came before the victim reached the
    line (earlyoom reading MemAvailable off by a little), left out of ms;
    ``strays``: the other processes it signalled (name, as its log says)."""

    ms: list[float]
    timeouts: int
    early: int = 0
    strays: list[str] = field(default_factory=list)

    def tail(self) -> Tail:
        return Tail.of(self.ms)


@dataclass(frozen=True, slots=True)
class Profile:
    """lmw-terminator's account of its reactions (its "reaction:" log lines):
    ms from its wake-up to the SIGTERM, of which the choice (the /proc scan
    and the rules), how many processes it looked at, and where it chose
    from ("lmw": lmw.ko's candidates, "/proc": every process)."""

    term_ms: list[float]
    choice_ms: list[float]
    processes: list[int]
    chosen_from: list[str] = field(default_factory=list)
    # each reaction split where the daemon's log places its wake-up
    # (split_reactions): the crossing to the daemon awake, and its SIGTERM
    # to the victim's handler running; empty when it could not be split
    awake_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    # each stage timed alone in the guest (workloads/reaction-profile.py):
    # name -> (p50, p99, max) ms, in the order measured
    stages: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    table_size: int = 0         # processes in the guest when the stages were timed
    # kills that came after a hold-back (memory read back under the notify
    # line, a look again 100 ms later) in their episode; None: not counted
    held_back: int | None = None
    # of each reaction, ms the daemon waited for the crossing to be
    # accounted (a read of committed memory under the line that the
    # crossing takes past it: service.IN_FLIGHT_S), 0 where it did not wait
    # (its "reaction:" line says nothing of it)
    accounted_ms: list[float] = field(default_factory=list)
    # of each choice, ms the daemon ran (its CPU time, 1.11.8 on): the rest
    # it waited, preempted or its CPU given to another; empty before 1.11.8
    running_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PollPath:
    """The poll() waiter's path, a crossing at a time (a second run, traced):
    ms from the crossing's mmap to lmw.ko's wake-up of the waiter
    (``module_ms``), from there to the wake-up on the waiter's CPU
    (``ipi_ms``), and to the waiter running (``sched_ms``); whether the
    waiter slept on another vCPU than the crosser's, and what its CPU ran
    before it."""

    module_ms: list[float]
    ipi_ms: list[float]
    sched_ms: list[float]
    total_ms: list[float]
    cross_cpu: list[bool]
    ran_first: list[list[str]]


@dataclass(frozen=True, slots=True)
class Latency:
    poll_ms: list[float]          # one per crossing
    terminator: Reaction
    earlyoom: Reaction | None
    profile: Profile = field(default_factory=lambda: Profile([], [], []))
    poll_path: PollPath | None = None
    # the terminator as an ordinary process (realtime_priority 0)
    ordinary: Reaction | None = None
    # the terminator with lmw-memory-monitor stopped (see (d) above)
    monitor_stopped: Reaction | None = None
    # the poll() waiter at SCHED_FIFO 1 on the crosser's vCPU (see (a) above)
    poll_same_vcpu_ms: list[float] = field(default_factory=list)
    # the poll() waiter and the terminator with lmw.ko's uevents on (see (f))
    poll_uevents_on_ms: list[float] = field(default_factory=list)
    uevents_on: Reaction | None = None
    # the terminator and earlyoom on QEMU's instruction counter (see (g))
    terminator_instructions: Reaction | None = None
    earlyoom_instructions: Reaction | None = None
    # QEMU's translation-buffer flushes during each leg, by the leg's name
    # in results.json (report.latency_legs); a leg not counted is left out
    flushes: dict[str, int] = field(default_factory=dict)

    def poll(self) -> Tail:
        return Tail.of(self.poll_ms)

    def poll_same_vcpu(self) -> Tail | None:
        return Tail.of(self.poll_same_vcpu_ms) if self.poll_same_vcpu_ms else None

    def poll_uevents_on(self) -> Tail | None:
        return Tail.of(self.poll_uevents_on_ms) if self.poll_uevents_on_ms else None


def reaction(victims: list[Record], timeouts: int,
             strays: list[Record] | None = None) -> Reaction:
    crossed = [r for r in victims if "term_ns" in r and int(r["cross_ns"]) > 0]
    return Reaction(ms=[(int(r["term_ns"]) - int(r["cross_ns"])) / NS_PER_MS for r in crossed],
                    timeouts=timeouts, early=len([r for r in victims if "term_ns" in r])
                    - len(crossed), strays=[r.get("name", "?") for r in strays or []])


# A wake-up this long before its crossing belongs to another crossing
# (split_reactions): crossings are a settle and a victim's start apart,
# hundreds of ms on the bench's guest. A turn that woke for an earlier
# change and found memory under the line waits up to 100 ms in it for a
# crossing to be accounted (lmw-terminator's IN_FLIGHT_S), and a crossing
# in that wait is its own.
MISPAIRED_MS = 150.0


def split_reactions(victims: list[Record], accounts: list[Record]) -> tuple[list[float],
                                                                            list[float]]:
    """Each reaction split where the daemon's log places its wake-up
    (``woke_s``, CLOCK_MONOTONIC as the victims' records, from 1.8.1 on):
    ms from the crossing to the daemon awake, and from its SIGTERM to the
    victim's handler running (the signal's delivery, which waits until the
    victim runs again). Paired in order, a reaction a crossing; ([], [])
    when they do not pair: the counts differ, a wake-up is not said, or one
    comes long before its crossing."""
    crossed = [r for r in victims if "term_ns" in r and int(r["cross_ns"]) > 0]
    if not crossed or len(crossed) != len(accounts) or not all("woke_s" in a for a in accounts):
        return [], []
    awake, delivery = [], []
    for victim, account in zip(crossed, accounts, strict=True):
        woke_ms = float(account["woke_s"]) * 1000
        awake.append(woke_ms - int(victim["cross_ns"]) / NS_PER_MS)
        delivery.append(int(victim["term_ns"]) / NS_PER_MS - woke_ms - float(account["term_ms"]))
    # Either part may come out a little under 0, and is counted as 0: the
    # daemon's clock is read after its signal went (on two vCPUs the
    # victim's handler may run first), and a wake-up for another reason
    # may find the crossing just made, or wait for it (MISPAIRED_MS). Far
    # under 0, a reaction is paired
    # with another's crossing: no split.
    if min(awake) < -MISPAIRED_MS:
        return [], []
    return [max(0.0, ms) for ms in awake], [max(0.0, ms) for ms in delivery]


def measure_killer(shell: object, killer: str, crossings: int) -> tuple[
        Reaction, list[Record], list[Record], int | None]:
    """A killer's reaction; the daemon's accounts ("profile" records) and
    the victims' records, for split_reactions; how many of its kills came
    after a hold-back (None: not counted, earlyoom)."""
    lines = run(shell, workload("reaction.sh", killer, crossings),
                timeout=120 + crossings * 25)
    victims = records(lines, "victim")
    measured = reaction(victims, len(records(lines, "timeout")), records(lines, "stray"))
    if not measured.ms:
        raise UserError(f"{killer}'s reaction measured nothing:\n" + "\n".join(lines[-15:]))
    held = [int(r["count"]) for r in records(lines, "holdbacks")]
    return measured, records(lines, "profile"), victims, (held[0] if held else None)


# Under systemd-cat, so that its log lines go to a journal stream as the
# daemon's do; its records go to a file.
PROFILE_COMMAND = (
    "lib=$(sed -n 's/^sys.path.insert(0, \"\\(.*\\)\")$/\\1/p' "
    "\"$(command -v lmw-terminator)\") && "
    "systemd-cat -t lmw-profile python3 {dir}/reaction-profile.py \"$lib\" {repetitions} "
    "/tmp/lmw-profile.out && cat /tmp/lmw-profile.out")


def stages(shell: object, repetitions: int) -> tuple[dict[str, tuple[float, float, float]], int]:
    lines = run(shell, PROFILE_COMMAND.format(dir=GUEST_DIR, repetitions=repetitions),
                timeout=120 + repetitions * 10)
    timed = {r["name"]: (float(r["p50_ms"]), float(r["p99_ms"]), float(r["max_ms"]))
             for r in stage_records(lines)}
    size = records(lines, "scan")
    if not timed or not size:
        raise UserError("the reaction's stages measured nothing:\n" + "\n".join(lines[-15:]))
    return timed, int(size[0]["processes"])


def stage_records(lines: list[str]) -> list[Record]:
    """``stage name=scan+choice, 3 rules p50_ms=…``: a name may hold spaces."""
    found = []
    for line in lines:
        if line.startswith("stage name="):
            name, _, rest = line[len("stage name="):].partition(" p50_ms=")
            record = dict(w.split("=", 1) for w in f"p50_ms={rest}".split() if "=" in w)
            record["name"] = name
            found.append(record)
    return found


# lmw.ko's switch for its uevent at each change of state (root, at run time)
UEVENTS_PARAMETER = "/sys/module/lmw/parameters/uevents"


def poll_waiter(shell: object, crossings: int, placed: str = "",
                uevents: bool = False) -> list[float]:
    """ms from each crossing to a poll() waiter awake; ``placed``: a command
    prefix that places both lmwbench processes (taskset, chrt); ``uevents``
    True: lmw.ko's uevents on meanwhile (they are off as installed)."""
    # the terminator stopped meanwhile: 200 crossings in a row, each freed
    # as soon as it is seen, are 200 low-memory episodes to it
    switch = restore = ""
    if uevents:
        switch = f"was=$(cat {UEVENTS_PARAMETER}) && echo Y >{UEVENTS_PARAMETER} && "
        restore = f"echo $was >{UEVENTS_PARAMETER}; "
    # once switched, the parameter is restored whatever fails after
    lines = run(shell, f"modprobe lmw && {switch}{{ systemctl stop lmw-terminator && "
                f"{placed}lmwbench signal {crossings}; rc=$?; systemctl start "
                f"lmw-terminator; {restore}[ $rc = 0 ]; }}", timeout=60 + crossings * 15)
    poll_ms = [float(r["latency_ns"]) / NS_PER_MS for r in records(lines, "signal")
               if "latency_ns" in r]
    if not poll_ms:
        how = (placed or "as it comes") + (", uevents on" if uevents else "")
        raise UserError(f"the poll() waiter ({how}) measured nothing:\n"
                        + "\n".join(lines[-15:]))
    return poll_ms


# Both lmwbench processes, the crosser and its waiter, on vCPU 0 at SCHED_FIFO 1.
SAME_VCPU = "taskset -c 0 chrt -f 1 "


Measured = TypeVar("Measured")


class FlushLog:
    """QEMU's flushes during each leg (``Latency.flushes``), from
    ``count`` (qemu.flushes of the guest's target; None: not counted)."""

    def __init__(self, count: Callable[[], int | None] | None) -> None:
        self.count = count
        self.flushes: dict[str, int] = {}

    def leg(self, name: str, measure: Callable[[], Measured]) -> Measured:
        """``measure()``, with the flushes it met counted under ``name``."""
        before = self.count() if self.count is not None else None
        measured = measure()
        after = self.count() if self.count is not None else None
        if before is not None and after is not None:
            self.flushes[name] = after - before
        return measured


def measure(shell: object, crossings: int, earlyoom: bool = True,
            flush_count: Callable[[], int | None] | None = None) -> Latency:
    """(a) to (f); ``flush_count``: qemu.flushes of the guest, or None."""
    log = FlushLog(flush_count)
    poll_ms = log.leg("poll_waiter_ms", lambda: poll_waiter(shell, crossings))
    poll_same_vcpu_ms = log.leg("poll_waiter_fifo_same_vcpu_ms",
                                lambda: poll_waiter(shell, crossings, SAME_VCPU))
    poll_uevents_on_ms = log.leg("poll_waiter_uevents_on_ms",
                                 lambda: poll_waiter(shell, crossings, uevents=True))
    poll_path = trace_poll_path(shell, crossings)
    terminator, accounts, victims, held_back = log.leg(
        "terminator_reaction_ms", lambda: measure_killer(shell, "lmw-terminator", crossings))
    timed, table_size = stages(shell, max(10, crossings // 4))
    awake_ms, delivery_ms = split_reactions(victims, accounts)
    profile = Profile(term_ms=[float(r["term_ms"]) for r in accounts],
                      choice_ms=[float(r["choice_ms"]) for r in accounts],
                      processes=[int(r["processes"]) for r in accounts],
                      chosen_from=[r.get("from", "/proc") for r in accounts],
                      awake_ms=awake_ms, delivery_ms=delivery_ms,
                      stages=timed, table_size=table_size, held_back=held_back,
                      accounted_ms=[float(r.get("accounted_ms", 0.0)) for r in accounts],
                      running_ms=([float(r["running_ms"]) for r in accounts]
                                  if all("running_ms" in r for r in accounts) else []))
    ordinary = log.leg("terminator_ordinary_scheduling_reaction_ms", lambda: measure_killer(
        shell, "lmw-terminator-ordinary", crossings)[0])
    monitor_stopped = log.leg("terminator_memory_monitor_stopped_reaction_ms",
                              lambda: measure_killer(shell, "lmw-terminator-monitor-stopped",
                                                     crossings)[0])
    uevents_on = log.leg("terminator_uevents_on_reaction_ms", lambda: measure_killer(
        shell, "lmw-terminator-uevents-on", crossings)[0])
    peer = (log.leg("earlyoom_reaction_ms",
                    lambda: measure_killer(shell, "earlyoom", crossings)[0])
            if earlyoom else None)
    return Latency(poll_ms, terminator, peer, profile, poll_path, ordinary, monitor_stopped,
                   poll_same_vcpu_ms, poll_uevents_on_ms, uevents_on, flushes=log.flushes)


def measure_on_instructions(shell: object, crossings: int,
                            flush_count: Callable[[], int | None] | None = None,
                            ) -> tuple[Reaction, Reaction, dict[str, int]]:
    """(g): the terminator's reaction and earlyoom's, in a guest booted on
    QEMU's instruction counter (qemu.boot_args), and the flushes each met."""
    log = FlushLog(flush_count)
    ours = log.leg("terminator_reaction_instruction_clock_ms",
                   lambda: measure_killer(shell, "lmw-terminator", crossings)[0])
    theirs = log.leg("earlyoom_reaction_instruction_clock_ms",
                     lambda: measure_killer(shell, "earlyoom", crossings)[0])
    return ours, theirs, log.flushes


def trace_poll_path(shell: object, crossings: int) -> PollPath:
    paths = records(run(shell, workload("signal-trace.sh", crossings),
                        timeout=60 + crossings * 15), "path")
    if not paths or "module_ms" not in paths[0]:
        raise UserError("the traced poll() waiter measured nothing")
    return PollPath(module_ms=[float(r["module_ms"]) for r in paths],
                    ipi_ms=[float(r["ipi_ms"]) for r in paths],
                    sched_ms=[float(r["sched_ms"]) for r in paths],
                    total_ms=[float(r["total_ms"]) for r in paths],
                    cross_cpu=[r["cross_cpu"] == "1" for r in paths],
                    ran_first=[[c for c in r.get("ran", "").split(",") if c] for r in paths])
