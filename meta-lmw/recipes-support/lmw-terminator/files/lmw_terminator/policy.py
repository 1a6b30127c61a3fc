# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Victim policy: which processes may be chosen, and which one is (pure functions).

The base score matches what raised the signal:

- PSI and MemAvailable measure resident memory: the base is the kernel's
  own oom_score, (1000 + resident per mille of RAM + oom_score_adj) * 2/3.
- lmw.ko measures committed memory: the base is the same formula with what
  the process has committed (VmData + VmStk: its private writable memory,
  touched or not) in place of what is resident. A process that commits a
  large mapping and never touches it is what pushes committed memory to
  the line; ranked by resident memory it would come last, and everyone
  else would be killed first. The process that lmw.ko refused last is
  still asking for more: it gets LAST_DENIED_WEIGHT on top.

prefer rules add to the base and avoid rules subtract from it. Every rule
that matches applies, and the highest total wins; ties go to the larger
RSS. Some processes are never chosen: PID 1, kernel threads, the
terminator itself, anything with oom_score_adj -1000 (the kernel's own
"never kill"), and anything a protect rule matches.
"""

from __future__ import annotations

from .config import WHOLE_VALUE_FIELDS, Config, Rule
from .procs import Proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

OOM_SCORE_ADJ_MIN = -1000
# On top of the base of the process lmw.ko refused last: what 15% of RAM
# committed scores. Enough to tip a choice between processes of about the
# same size toward the one still asking, too little to spare one that
# holds far more (the refused one may be a bystander that asked once).
LAST_DENIED_WEIGHT = 100


class Ranking:
    """What the base score is: resident memory (oom_score), or, with
    ``total_kb`` given, committed memory; ``last_denied`` is lmw.ko's
    (pid, comm) of the last refusal: the pid is the process's, the comm the
    refused thread's."""

    __slots__ = ("last_denied", "total_kb")

    def __init__(self, total_kb: int | None = None,
                 last_denied: tuple[int, str] | None = None) -> None:
        self.total_kb, self.last_denied = total_kb, last_denied


RESIDENT = Ranking()


class Choice:
    __slots__ = ("proc", "score", "why")

    def __init__(self, proc: Proc, score: int, why: str) -> None:
        self.proc, self.score, self.why = proc, score, why   # why: the rules, for the log


def matches(rule: Rule, proc: Proc) -> bool:
    """Every field the rule names matches: exe and cgroup as a whole, comm and
    cmdline anywhere (config.WHOLE_VALUE_FIELDS says why)."""
    if rule.uid is not None and proc.uid != rule.uid:
        return False
    fields = {"comm": proc.comm, "cmdline": proc.cmdline, "exe": proc.exe,
              "cgroup": proc.cgroup}
    return all((pattern.fullmatch if name in WHOLE_VALUE_FIELDS else pattern.search)(fields[name])
               for name, pattern in rule.patterns)


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


def committed_score(proc: Proc, total_kb: int) -> int:
    """The kernel's oom_score formula with committed memory in place of resident."""
    per_mille = proc.committed_kb * 1000 // max(total_kb, 1)
    return max(0, (1000 + per_mille + proc.oom_score_adj) * 2 // 3)


def score(proc: Proc, config: Config, ranking: Ranking = RESIDENT) -> tuple[int, str]:
    if ranking.total_kb is None:
        total, reasons = proc.oom_score, [f"oom_score {proc.oom_score}"]
    else:
        total = committed_score(proc, ranking.total_kb)
        reasons = [f"committed {proc.committed_kb} kB: {total}"]
        if ranking.last_denied is not None and ranking.last_denied[0] == proc.pid:
            total += LAST_DENIED_WEIGHT
            reasons.append(f"refused last by lmw.ko {LAST_DENIED_WEIGHT:+d}")
    for rule in (*config.prefer, *config.avoid):
        if matches(rule, proc):
            total += rule.adjust
            reasons.append(f"{rule.describe()} {rule.adjust:+d}")
    return total, ", ".join(reasons)


def choose(procs: Iterable[Proc], config: Config, self_pid: int,
           ranking: Ranking = RESIDENT) -> Choice | None:
    """The process to terminate next, or None when nobody may be chosen."""
    best: Choice | None = None
    for proc in procs:
        if protected(proc, config, self_pid):
            continue
        total, why = score(proc, config, ranking)
        candidate = Choice(proc=proc, score=total, why=why)
        if best is None or (total, proc.rss_kb) > (best.score, best.proc.rss_kb):
            best = candidate
    return best
