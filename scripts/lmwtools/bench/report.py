"""The bench's report: report.md with the tables, results.json, and PNG plots.

Tables give distributions and ratios (median and quartiles of the
repetitions, p50/p99/max of samples); the plots show the latency
distributions and, per scenario, the heartbeat's lateness and committed
memory over time.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .footprint import Footprint
from .hookcost import BASELINE, KINDS, SETTINGS, HookCost
from .latency import Latency, Reaction
from .stats import Tail
from .stress import (
    CLOCK_TITLES,
    CLOCKS,
    PHASES,
    SCENARIO_TITLES,
    WORKLOAD_TITLES,
    WORKLOADS,
    Outcome,
)

# the report's line under its title that says how the run was made
MEASURED_BY = "Measured by "
# the terminator's reaction once more, the D-Bus bridge out of the way (latency.py (d))
MONITOR_STOPPED = "lmw-memory-monitor stopped"
# the waiter and the terminator once more, lmw.ko sending its uevent (latency.py (f))
UEVENTS_ON = "lmw.ko's uevents on (uevents=Y)"
# the two SIGTERMs once more, on a boot of their own (latency.py (g))
INSTRUCTION_CLOCK = "on QEMU's instruction counter (1 vCPU, 1 ms = 10^6 guest instructions)"
HOOK_TITLES = {
    "unloaded": "not loaded (baseline)",
    "passive": "loaded, knobs 0 (passive)",
    "far": "active, far from the lines",
    "band": "active, past notify",
}


def hook_table(hook: HookCost) -> list[str]:
    lines = [f"Guest ns per operation on QEMU's instruction counter (1 ns = 1 guest "
             f"instruction), median (quartiles) of {hook.repetitions} repetitions of "
             f"{hook.count} operations; ratio to not loaded, paired per repetition.", "",
             "| module | " + " | ".join(f"{k} ns | {k} ratio" for k in KINDS) + " |",
             "| --- |" + " ---: | ---: |" * len(KINDS)]
    for setting in SETTINGS:
        cells = []
        for kind in KINDS:
            ratio = "1" if setting == BASELINE else hook.ratio(setting, kind).text(3)
            cells += [hook.spread(setting, kind).text(0), ratio]
        lines.append(f"| {HOOK_TITLES[setting]} | " + " | ".join(cells) + " |")
    return lines


def _tail(measured: Reaction | None) -> Tail | None:
    return None if measured is None else measured.tail()


def latency_legs(latency: Latency) -> list[tuple[str, str, Tail]]:
    """Each leg the run measured: its row in the table, its name in
    results.json, its figures (a leg that an older run lacks is left out)."""
    legs = [
        ("poll() waiter on the state file", "poll_waiter_ms", latency.poll()),
        ("the same waiter at SCHED_FIFO 1 on the crosser's vCPU",
         "poll_waiter_fifo_same_vcpu_ms", latency.poll_same_vcpu()),
        (f"the same waiter, {UEVENTS_ON}", "poll_waiter_uevents_on_ms",
         latency.poll_uevents_on()),
        ("lmw-terminator's SIGTERM at the victim", "terminator_reaction_ms",
         latency.terminator.tail()),
        ("the same, lmw-terminator an ordinary process (realtime_priority 0)",
         "terminator_ordinary_scheduling_reaction_ms", _tail(latency.ordinary)),
        (f"the same, {MONITOR_STOPPED}", "terminator_memory_monitor_stopped_reaction_ms",
         _tail(latency.monitor_stopped)),
        (f"the same, {UEVENTS_ON}", "terminator_uevents_on_reaction_ms",
         _tail(latency.uevents_on)),
        ("earlyoom's SIGTERM at the same victim", "earlyoom_reaction_ms",
         _tail(latency.earlyoom)),
        (f"lmw-terminator's SIGTERM, {INSTRUCTION_CLOCK}",
         "terminator_reaction_instruction_clock_ms", _tail(latency.terminator_instructions)),
        (f"earlyoom's SIGTERM, {INSTRUCTION_CLOCK}", "earlyoom_reaction_instruction_clock_ms",
         _tail(latency.earlyoom_instructions)),
    ]
    return [(row, name, tail) for row, name, tail in legs if tail is not None]


def earlyoom_ratios(latency: Latency) -> list[tuple[str, str, Tail, Tail]]:
    """earlyoom's reaction over each of the terminator's legs that it is set
    against, on the same boot: the sentence's start, the name of its p99
    ratio in results.json, earlyoom's figures and the leg's; a pair that
    the run did not measure whole is left out."""
    theirs = _tail(latency.earlyoom)
    legs = [("earlyoom / lmw-terminator, same run", "earlyoom_over_terminator_p99",
             theirs, latency.terminator.tail()),
            (f"earlyoom / lmw-terminator with {MONITOR_STOPPED}, like with like "
             "(earlyoom's runs never wake the monitor), same run",
             "earlyoom_over_terminator_memory_monitor_stopped_p99",
             theirs, _tail(latency.monitor_stopped)),
            (f"earlyoom / lmw-terminator with {UEVENTS_ON}, same run",
             "earlyoom_over_terminator_uevents_on_p99", theirs, _tail(latency.uevents_on)),
            (f"earlyoom / lmw-terminator, {INSTRUCTION_CLOCK}, same run",
             "earlyoom_over_terminator_instruction_clock_p99",
             _tail(latency.earlyoom_instructions), _tail(latency.terminator_instructions))]
    return [(text, name, them, ours) for text, name, them, ours in legs
            if them is not None and ours is not None]


def latency_table(latency: Latency) -> list[str]:
    """The legs, each with the flushes of QEMU's translated code it met
    when they were counted (latency.FlushLog; "?": this leg's were not)."""
    flushes = latency.flushes
    lines = ["| from the crossing to | n | p50 ms | p99 ms | max ms |"
             + (" QEMU flushes |" if flushes else ""),
             "| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if flushes else "")]
    lines += [f"| {row} | {t.n} | {t.p50:.2f} | {t.p99:.2f} | {t.max:.2f} |"
              + (f" {flushes.get(name, '?')} |" if flushes else "")
              for row, name, t in latency_legs(latency)]
    if flushes:
        lines.append("\nQEMU flushes: how many times QEMU threw away the host code it had "
                     "translated while the leg ran; the guest runs at a fraction of its "
                     "speed for a while after each (scripts/lmwtools/bench/qemu.py).")
    lines += [f"\n{text}: {theirs.p50 / ours.p50:.1f}x at p50, {theirs.p99 / ours.p99:.1f}x "
              "at p99." for text, _, theirs, ours in earlyoom_ratios(latency)]
    if latency.ordinary is not None:
        ours, plain = latency.terminator.tail(), latency.ordinary.tail()
        lines.append(f"\nlmw-terminator as an ordinary process / at SCHED_FIFO 1, same run: "
                     f"{plain.p50 / ours.p50:.1f}x at p50, {plain.p99 / ours.p99:.1f}x at p99.")
    for name, measured in (("lmw-terminator", latency.terminator),
                           ("lmw-terminator (realtime_priority 0)", latency.ordinary),
                           (f"lmw-terminator ({MONITOR_STOPPED})", latency.monitor_stopped),
                           (f"lmw-terminator ({UEVENTS_ON})", latency.uevents_on),
                           ("earlyoom", latency.earlyoom),
                           ("lmw-terminator (instruction counter)",
                            latency.terminator_instructions),
                           ("earlyoom (instruction counter)", latency.earlyoom_instructions)):
        if measured is not None and measured.timeouts:
            lines.append(f"\n{name}: {measured.timeouts} victims not stopped within 20 s.")
        if measured is not None and measured.strays:
            lines.append(f"\n{name} also signalled {len(measured.strays)} other process(es): "
                         f"{', '.join(sorted(set(measured.strays)))}.")
        if measured is not None and measured.early:
            lines.append(f"\n{name}: {measured.early} SIGTERMs before the line (not counted).")
    return lines


def poll_path_table(latency: Latency) -> list[str]:
    """Where the poll() waiter's time goes, from the traced run."""
    path = latency.poll_path
    if path is None or not path.total_ms:
        return []
    across = sum(path.cross_cpu)
    # what the waiter's CPU ran first, in the slowest tenth of the wake-ups
    slow = sorted(range(len(path.sched_ms)), key=lambda i: -path.sched_ms[i])
    ran: dict[str, int] = {}
    for i in slow[:max(1, len(slow) // 10)]:
        for comm in set(path.ran_first[i]):
            ran[comm] = ran.get(comm, 0) + 1
    busiest = ", ".join(f"{comm} ({count})" for comm, count in
                        sorted(ran.items(), key=lambda item: -item[1])[:5]) or "nothing"
    rows = [("the crossing's mmap to lmw.ko waking the waiter", Tail.of(path.module_ms)),
            ("that wake-up to the waiter's CPU", Tail.of(path.ipi_ms)),
            ("there to the waiter running", Tail.of(path.sched_ms)),
            ("the crossing to the waiter running", Tail.of(path.total_ms))]
    lines = [f"The poll() waiter's path, a second run under ftrace ({len(path.total_ms)} "
             f"crossings; {across} woke a waiter on the other vCPU): the module's part ends "
             "where it wakes the waiter. In the slowest tenth of the last step, the "
             f"waiter's CPU ran first: {busiest}.", "",
             "| step | n | p50 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {name} | {t.n} | {t.p50:.2f} | {t.p99:.2f} | {t.max:.2f} |"
              for name, t in rows]
    return lines


def profile_table(latency: Latency) -> list[str]:
    """lmw-terminator's own account: where the time from the crossing goes."""
    profile = latency.profile
    if not profile.term_ms:
        return []
    rows = [("wake-up to SIGTERM", Tail.of(profile.term_ms)),
            ("of which the choice (lmw.ko's candidates or /proc, rules)",
             Tail.of(profile.choice_ms))]
    if profile.running_ms:
        # where the choice's time went: the daemon ran, or it waited
        rows.append(("of the choice, the daemon running (its CPU time)",
                     Tail.of(profile.running_ms)))
    if profile.accounted_ms:
        waits = [ms for ms in profile.accounted_ms if ms > 0]
        rows.append((f"of which the wait for the crossing to be accounted ({len(waits)} of "
                     f"{len(profile.accounted_ms)} waited)", Tail.of(profile.accounted_ms)))
    if profile.awake_ms:
        # split where the daemon's log places its wake-up
        rows.insert(0, ("crossing to the daemon awake", Tail.of(profile.awake_ms)))
        rows.append(("SIGTERM to the victim's handler running", Tail.of(profile.delivery_ms)))
    elif len(profile.term_ms) == len(latency.terminator.ms):
        # paired per crossing, with no wake-up time in the log (before
        # 1.8.1): what is left holds both the signal reaching the daemon
        # and the SIGTERM reaching the victim
        rows.insert(0, ("the rest: crossing to the daemon awake, and SIGTERM to the victim",
                        Tail.of([max(0.0, total - own) for total, own in
                                 zip(latency.terminator.ms, profile.term_ms, strict=True)])))
    processes = sorted(profile.processes)
    listed = profile.chosen_from.count("lmw")
    lines = [f"lmw-terminator's account of each reaction (its log), over "
             f"{processes[len(processes) // 2]} processes (median); chosen from lmw.ko's "
             f"candidates {listed} times, from /proc {len(profile.term_ms) - listed}"
             + ("" if profile.held_back is None else
                f"; kills that came after a hold-back (memory read under the line, a "
                f"look again 100 ms later): {profile.held_back}")
             + ":", "",
             "| part | n | p50 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {name} | {t.n} | {t.p50:.2f} | {t.p99:.2f} | {t.max:.2f} |"
              for name, t in rows]
    if profile.stages:
        lines += ["", f"Each stage of the reaction timed alone in the guest, with the installed "
                      f"code ({profile.table_size} processes):", "",
                  "| stage | p50 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {name} | {p50:.2f} | {p99:.2f} | {top:.2f} |"
                  for name, (p50, p99, top) in profile.stages.items()]
    return lines


def tail_json(tail: Tail) -> dict[str, float]:
    return {"n": tail.n, "p50": tail.p50, "p99": tail.p99, "max": tail.max}


def reaction_json(latency: Latency) -> dict[str, object]:
    """The figures the issue tracker and CI dashboards read, named for what they are."""
    figures: dict[str, object] = {name: tail_json(t) for _, name, t in latency_legs(latency)}
    figures.update({name: theirs.p99 / ours.p99
                    for _, name, theirs, ours in earlyoom_ratios(latency)})
    if latency.poll_path is not None and latency.poll_path.total_ms:
        figures["poll_waiter_traced_module_ms"] = tail_json(Tail.of(latency.poll_path.module_ms))
        figures["poll_waiter_traced_ipi_ms"] = tail_json(Tail.of(latency.poll_path.ipi_ms))
        figures["poll_waiter_traced_sched_ms"] = tail_json(Tail.of(latency.poll_path.sched_ms))
    if latency.profile.term_ms:
        figures["terminator_wake_to_sigterm_ms"] = tail_json(Tail.of(latency.profile.term_ms))
        figures["terminator_choice_ms"] = tail_json(Tail.of(latency.profile.choice_ms))
    if latency.profile.running_ms:
        figures["terminator_choice_running_ms"] = tail_json(Tail.of(latency.profile.running_ms))
    if latency.profile.accounted_ms:
        figures["terminator_wait_for_the_crossing_accounted_ms"] = tail_json(
            Tail.of(latency.profile.accounted_ms))
    if latency.profile.held_back is not None:
        figures["terminator_kills_after_a_hold_back"] = latency.profile.held_back
    if latency.flushes:
        figures["qemu_translation_flushes_per_leg"] = dict(latency.flushes)
    if latency.profile.awake_ms:
        figures["terminator_crossing_to_awake_ms"] = tail_json(Tail.of(latency.profile.awake_ms))
        figures["terminator_sigterm_to_victim_ms"] = tail_json(
            Tail.of(latency.profile.delivery_ms))
    return figures


def stress_table(outcomes: list[Outcome]) -> list[str]:
    lines = ["Every scenario over the same window. Heartbeat max per phase: before the "
             "protection's first action / from it until memory is back / after "
             "(\u2013: the phase never came).", "",
             "| scenario | kernel OOM kills | wrong victims | first action s | heartbeat max ms "
             "before / acting / after | heartbeat p99 / max ms | pressure to back under "
             "notify | the culprits |",
             "| --- | ---: | --- | ---: | ---: | ---: | --- | --- |"]
    for o in outcomes:
        if o.unresponsive_s is not None:
            lines.append(f"| {SCENARIO_TITLES[o.scenario]} | ? | ? | ? | ? | guest unresponsive "
                         f"| no answer for {o.unresponsive_s} s: power-cycled | ? |")
            continue
        if o.pressure_ms is None:
            recovery = "no pressure"
        elif o.recovery_s is None:
            recovery = f"not back within {o.end_ms / 1000:.0f} s"
        else:
            recovery = f"{o.recovery_s:.1f} s"
        wrong = ", ".join(o.wrong_victims) or "none"
        action = "none" if o.action_ms is None else f"{o.action_ms / 1000:.1f}"
        phases = " / ".join(f"{o.beat_phase_max_us[p] / 1000:.1f}"
                            if p in o.beat_phase_max_us else "\u2013" for p in PHASES)
        lines.append(f"| {SCENARIO_TITLES[o.scenario]} | {o.oom_kills} | {wrong} | {action} | "
                     f"{phases} | {o.beat_p99_us / 1000:.1f} / {o.beat_max_us / 1000:.1f} | "
                     f"{recovery} | {o.culprit_end} |")
    return lines


def footprint_table(footprint: list[Footprint], seconds: int) -> list[str]:
    lines = [f"Idle side by side for {seconds} s.", "",
             "| daemon | RSS MiB | CPU ms | wake-ups/s |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {f.name} | {f.rss_kb / 1024:.1f} | {f.cpu_ms} | {f.wakeups_per_s:.2f} |"
              for f in footprint]
    return lines


def stress_groups(outcomes: list[Outcome]) -> list[tuple[str, str, list[Outcome]]]:
    """The stress runs by workload and clock, in the report's order: each
    group's heading, its plot's file name, and its runs."""
    groups = []
    for clock in CLOCKS:
        for name in WORKLOADS:
            group = [o for o in outcomes if o.workload == name and o.clock == clock]
            if not group:
                continue
            heading = ("Outcome under the standard stress" if name == "standard"
                       else f"Outcome under the harder stress: {WORKLOAD_TITLES[name]}")
            plot = "stress" if name == "standard" else f"stress-{name}"
            if clock != "wall":
                plot += f"-{clock}"
            groups.append((heading + CLOCK_TITLES[clock], f"{plot}.png", group))
    return groups


def stress_plot(out: Path, plot: str, group: list[Outcome]) -> str:
    """One workload's scenarios, one panel each: the heartbeat and committed memory."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(group), 1, figsize=(10, 2.2 * len(group)),
                             sharex=True, squeeze=False)
    for ax, o in zip(axes[:, 0], group, strict=True):
        if o.unresponsive_s is not None:
            ax.text(0.5, 0.5, f"guest unresponsive: no answer for {o.unresponsive_s} s",
                    transform=ax.transAxes, ha="center", va="center")
        if o.beat_series:
            ax.plot(*zip(*o.beat_series, strict=True), color="tab:red", lw=0.8)
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylabel("late ms")
        ax.set_title(SCENARIO_TITLES[o.scenario], fontsize=9)
        for moment, style in ((o.action_ms, "--"), (o.back_ms, ":")):
            if moment is not None:
                ax.axvline(moment / 1000, color="black", ls=style, lw=0.6)
        other = ax.twinx()
        if o.committed_series:
            other.plot(*zip(*o.committed_series, strict=True), color="tab:blue", lw=0.8)
        other.axhline(90, color="tab:blue", ls=":", lw=0.8)
        other.set_ylabel("committed % RAM", fontsize=8)
    axes[-1, 0].set_xlabel("s since the workload started (red: heartbeat lateness, "
                           "worst per 100 ms; blue: committed memory, dotted: notify; "
                           "black: first action, memory back)")
    fig.tight_layout()
    fig.savefig(out / plot, dpi=100)
    plt.close(fig)
    return plot


def plots(out: Path, latency: Latency | None, outcomes: list[Outcome]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    if latency is not None:
        panels = [("poll() waiter", latency.poll_ms)]
        if latency.poll_uevents_on_ms:
            panels.append(("poll() waiter, uevents on", latency.poll_uevents_on_ms))
        panels.append(("lmw-terminator SIGTERM", latency.terminator.ms))
        if latency.ordinary is not None:
            panels.append(("lmw-terminator SIGTERM, ordinary", latency.ordinary.ms))
        if latency.monitor_stopped is not None:
            panels.append(("lmw-terminator SIGTERM, monitor stopped",
                           latency.monitor_stopped.ms))
        if latency.uevents_on is not None:
            panels.append(("lmw-terminator SIGTERM, uevents on", latency.uevents_on.ms))
        if latency.earlyoom is not None:
            panels.append(("earlyoom SIGTERM", latency.earlyoom.ms))
        for name, measured in (("lmw-terminator", latency.terminator_instructions),
                               ("earlyoom", latency.earlyoom_instructions)):
            if measured is not None:
                panels.append((f"{name} SIGTERM, instruction counter", measured.ms))
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5))
        for ax, (name, values) in zip(axes, panels, strict=True):
            ordered = sorted(values)
            ax.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], where="post")
            ax.set_xscale("log")
            ax.set_xlabel("ms after the crossing")
            ax.set_ylabel("fraction of crossings")
            ax.set_title(f"{name} (n={len(values)})")
            ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=100)
        plt.close(fig)
        made.append("latency.png")
    for _, plot, group in stress_groups(outcomes):
        made.append(stress_plot(out, plot, group))
    return made


def write(out: Path, title: str, command: str, *, hook: HookCost | None,
          latency: Latency | None, outcomes: list[Outcome], footprint: list[Footprint],
          footprint_s: int, guest: str = "") -> Path:
    """The report and results.json in ``out``. ``guest`` ends every heading
    of a run on another guest than the reference one (", arm64 guest"), so
    that --update-readme keeps each guest's tables beside the others'."""
    out.mkdir(parents=True, exist_ok=True)
    images = plots(out, latency, outcomes)
    text = [f"# {title}", "", f"{MEASURED_BY}`{command}`.", ""]
    if hook is not None:
        text += [f"## Hook cost{guest}", "", *hook_table(hook), ""]
    if latency is not None:
        text += [f"## Signal latency and reaction{guest}", "", *latency_table(latency), "",
                 *poll_path_table(latency), "", *profile_table(latency), "",
                 "![latency](latency.png)", ""]
    for heading, plot, group in stress_groups(outcomes):
        text += [f"## {heading}{guest}", "", *stress_table(group), "", f"![stress]({plot})", ""]
    if footprint:
        text += [f"## Footprint at rest{guest}", "", *footprint_table(footprint, footprint_s),
                 ""]
    report = out / "report.md"
    report.write_text("\n".join(text))
    (out / "results.json").write_text(json.dumps({
        "title": title,
        "command": command,
        "hook_cost": asdict(hook) if hook else None,
        "latency": asdict(latency) if latency else None,
        "reaction": reaction_json(latency) if latency else None,
        "stress": [asdict(o) for o in outcomes],
        "footprint": [asdict(f) for f in footprint],
        "plots": images,
    }, indent=1))
    return report
