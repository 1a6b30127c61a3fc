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
from .latency import Latency
from .stress import SCENARIO_TITLES, Outcome

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


def latency_table(latency: Latency) -> list[str]:
    rows = [("poll() waiter on the state file", latency.poll()),
            ("lmw-terminator's SIGTERM at the victim", latency.terminator())]
    lines = ["| from the crossing allocation to | n | p50 ms | p99 ms | max ms |",
             "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {name} | {t.n} | {t.p50:.2f} | {t.p99:.2f} | {t.max:.2f} |"
              for name, t in rows]
    if latency.terminator_timeouts:
        lines.append(f"\n{latency.terminator_timeouts} victims were not stopped within 20 s.")
    return lines


def stress_table(outcomes: list[Outcome]) -> list[str]:
    lines = ["| scenario | kernel OOM kills | wrong victims | heartbeat p99 / max ms | "
             "pressure to back under notify | the hog |",
             "| --- | ---: | --- | ---: | --- | --- |"]
    for o in outcomes:
        if o.unresponsive_s is not None:
            lines.append(f"| {SCENARIO_TITLES[o.scenario]} | ? | ? | guest unresponsive | "
                         f"no answer for {o.unresponsive_s} s: power-cycled | ? |")
            continue
        if o.pressure_ms is None:
            recovery = "no pressure"
        elif o.recovery_s is None:
            recovery = f"not back within {o.end_ms / 1000:.0f} s"
        else:
            recovery = f"{o.recovery_s:.1f} s"
        wrong = ", ".join(o.wrong_victims) or "none"
        lines.append(f"| {SCENARIO_TITLES[o.scenario]} | {o.oom_kills} | {wrong} | "
                     f"{o.beat_p99_us / 1000:.1f} / {o.beat_max_us / 1000:.1f} | {recovery} | "
                     f"{o.hog_end} |")
    return lines


def footprint_table(footprint: list[Footprint], seconds: int) -> list[str]:
    lines = [f"Idle side by side for {seconds} s.", "",
             "| daemon | RSS MiB | CPU ms | wake-ups/s |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {f.name} | {f.rss_kb / 1024:.1f} | {f.cpu_ms} | {f.wakeups_per_s:.2f} |"
              for f in footprint]
    return lines


def plots(out: Path, latency: Latency | None, outcomes: list[Outcome]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    if latency is not None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for ax, (name, values) in zip(axes, (("poll() waiter", latency.poll_ms),
                                             ("lmw-terminator SIGTERM", latency.terminator_ms)),
                                      strict=True):
            ordered = sorted(values)
            ax.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], where="post")
            ax.set_xscale("log")
            ax.set_xlabel("ms after the crossing allocation")
            ax.set_ylabel("fraction of crossings")
            ax.set_title(f"{name} (n={len(values)})")
            ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=100)
        plt.close(fig)
        made.append("latency.png")
    if outcomes:
        fig, axes = plt.subplots(len(outcomes), 1, figsize=(10, 2.2 * len(outcomes)),
                                 sharex=True, squeeze=False)
        for ax, o in zip(axes[:, 0], outcomes, strict=True):
            if o.unresponsive_s is not None:
                ax.text(0.5, 0.5, f"guest unresponsive: no answer for {o.unresponsive_s} s",
                        transform=ax.transAxes, ha="center", va="center")
            if o.beat_series:
                ax.plot(*zip(*o.beat_series, strict=True), color="tab:red", lw=0.8)
            ax.set_yscale("symlog", linthresh=1)
            ax.set_ylabel("late ms")
            ax.set_title(SCENARIO_TITLES[o.scenario], fontsize=9)
            other = ax.twinx()
            if o.committed_series:
                other.plot(*zip(*o.committed_series, strict=True), color="tab:blue", lw=0.8)
            other.axhline(90, color="tab:blue", ls=":", lw=0.8)
            other.set_ylabel("committed % RAM", fontsize=8)
        axes[-1, 0].set_xlabel("s since the workload started (red: heartbeat lateness, "
                               "worst per 100 ms; blue: committed memory, dotted: notify)")
        fig.tight_layout()
        fig.savefig(out / "stress.png", dpi=100)
        plt.close(fig)
        made.append("stress.png")
    return made


def write(out: Path, title: str, *, hook: HookCost | None, latency: Latency | None,
          outcomes: list[Outcome], footprint: list[Footprint], footprint_s: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    images = plots(out, latency, outcomes)
    text = [f"# {title}", ""]
    if hook is not None:
        text += ["## Hook cost", "", *hook_table(hook), ""]
    if latency is not None:
        text += ["## Signal latency", "", *latency_table(latency), "",
                 "![latency](latency.png)", ""]
    if outcomes:
        text += ["## Outcome under the standard stress", "", *stress_table(outcomes), "",
                 "![stress](stress.png)", ""]
    if footprint:
        text += ["## Footprint at rest", "", *footprint_table(footprint, footprint_s), ""]
    report = out / "report.md"
    report.write_text("\n".join(text))
    (out / "results.json").write_text(json.dumps({
        "title": title,
        "hook_cost": asdict(hook) if hook else None,
        "latency": asdict(latency) if latency else None,
        "stress": [asdict(o) for o in outcomes],
        "footprint": [asdict(f) for f in footprint],
        "plots": images,
    }, indent=1))
    return report
