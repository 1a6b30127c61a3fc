"""Victim policy: which processes may be chosen, and which one is (pure functions).

The base is the kernel's own oom_score (it already weighs memory use and
oom_score_adj). prefer rules add to it and avoid rules subtract from it.
Every rule that matches applies, and the highest total wins; ties go to the
larger RSS. Some processes are never chosen: PID 1, kernel threads, the
terminator itself, anything with oom_score_adj -1000 (the kernel's own
"never kill"), and anything a protect rule matches.
"""

from __future__ import annotations

from .config import Config, Rule
from .procs import Proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

OOM_SCORE_ADJ_MIN = -1000


class Choice:
    __slots__ = ("proc", "score", "why")

    def __init__(self, proc: Proc, score: int, why: str) -> None:
        self.proc, self.score, self.why = proc, score, why   # why: the rules, for the log


def matches(rule: Rule, proc: Proc) -> bool:
    if rule.uid is not None and proc.uid != rule.uid:
        return False
    fields = {"comm": proc.comm, "cmdline": proc.cmdline, "exe": proc.exe,
              "cgroup": proc.cgroup}
    return all(pattern.search(fields[name]) for name, pattern in rule.patterns)


def protected(proc: Proc, config: Config, self_pid: int) -> str | None:
    """Why ``proc`` must never be chosen, or None."""
    if proc.pid == 1:
        return "PID 1"
    if proc.kernel_thread:
        return "kernel thread"
    if proc.pid == self_pid:
        return "the terminator itself"
    if proc.oom_score_adj <= OOM_SCORE_ADJ_MIN:
        return "oom_score_adj -1000"
    for rule in config.protect:
        if matches(rule, proc):
            return rule.describe()
    return None


def score(proc: Proc, config: Config) -> tuple[int, str]:
    total, reasons = proc.oom_score, [f"oom_score {proc.oom_score}"]
    for rule in (*config.prefer, *config.avoid):
        if matches(rule, proc):
            total += rule.adjust
            reasons.append(f"{rule.describe()} {rule.adjust:+d}")
    return total, ", ".join(reasons)


def choose(procs: Iterable[Proc], config: Config, self_pid: int) -> Choice | None:
    """The process to terminate next, or None when nobody may be chosen."""
    best: Choice | None = None
    for proc in procs:
        if protected(proc, config, self_pid):
            continue
        total, why = score(proc, config)
        candidate = Choice(proc=proc, score=total, why=why)
        if best is None or (total, proc.rss_kb) > (best.score, best.proc.rss_kb):
            best = candidate
    return best
