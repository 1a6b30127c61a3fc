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
  still asking for more: it gets LAST_DENIED_WEIGHT on top. The process
  whose commitment last took committed memory over a line is ranked as if
  it still held what it asked for then, up to LAST_CROSSED_WEIGHT: one
  that maps and unmaps across the notify line is small whenever it is
  looked at, and would have others killed in its place; a bystander whose
  fork happened to take the figure over the line asked for a few pages,
  and weighs no more than those.

A process whose commitment grew since the daemon's last look at lmw.ko's
candidates a while back (both lists name it; Looks) is ranked as if it
also held what it would commit in GROWTH_HORIZON_S more at the pace it
kept, up to
GROWTH_WEIGHT: memory climbs because of who keeps committing, and a kill
of a larger process that holds still buys a moment while the climb goes
on, where a kill of the climber ends it. Sixteen leaks of 20 MiB each,
climbing, and a steady 32 MiB service: the service is larger, the leaks
are the culprits.

With committed memory, a process is ranked with its family when its
children hold its memory: itself and its direct children of its own
real uid that may be chosen, when together they hold at least
FAMILY_SPREAD times what the largest of them holds (a fork storm, a
service's workers; lmw.ko ranks its candidates by the same rule, and its
lmw.c says why). The family's committed memory then stands in for the
process's own, and a kill of the process takes its children with it
(killer.terminate_family).

prefer rules add to the base and avoid rules subtract from it. Every rule
that matches applies, and the highest total wins; ties go to the larger
RSS. Some processes are never chosen: PID 1, kernel threads, zombies
(nothing to free), the terminator itself, anything with oom_score_adj
-1000 (the kernel's own "never kill"), and anything a protect rule
matches. A process still there after its SIGKILL, chosen and killed twice
(``passed_over``, the daemon's record of them), is passed over while it
lasts, as the kernel's OOM killer passes over a victim it has reaped: its
pages are freed already (process_mrelease), what it committed goes only
when it exits, and no kill can make it exit sooner (a task stuck in the
kernel, or held by a tracer that may not be killed). Chosen again, it
would take every turn while memory stayed past the line.

The choice is on the path from the signal to the kill, so it reads no
more than it must. With committed memory, what a process has committed
(VmData + VmStk) is part of its virtual size (stat's vsize: every mapping,
reserved or not), so every process has a ceiling known from stat and
oom_score_adj alone: its base score with vsize in place of what it has
committed, plus every prefer rule that could match. The processes are
taken in the order of their ceilings, and once the best score found is
above the next ceiling, no process left can win: their status, rules and
cmdlines are never read. A process cannot lower its ceiling below its
score, so none escapes this way; a process with a large reservation
(PROT_NONE address space) only costs one more read. With resident memory
there is no such ceiling (page tables, which oom_score counts, can
outgrow any figure in stat), and every process is read.

With lmw.ko, fewer still: its candidates file lists the processes with
the highest committed scores, from one pass over the task list in the
kernel, and the highest score among those it left out. The choice among
the listed ones stands when it is above what any process left out could
reach: that score, plus the weight of lmw.ko's records and every prefer
rule (choose_listed). Otherwise every process is read after all.
"""

from __future__ import annotations

from .config import WHOLE_VALUE_FIELDS, Config, Rule
from .procs import Family, Proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

OOM_SCORE_ADJ_MIN = -1000
# On top of the base of the process lmw.ko refused last: what 15% of RAM
# committed scores. Enough to tip a choice between processes of about the
# same size toward the one still asking, too little to spare one that
# holds far more (the refused one may be a bystander that asked once).
LAST_DENIED_WEIGHT = 100
# On top of the base of the process whose commitment last took committed
# memory over a line: what that commitment scores (lmw.ko's
# last_crossed_kb), at most what 7.5% of RAM committed scores. A process
# that flaps across the notify line outweighs one as much larger than it
# looks as the mapping it flaps with; the crossing may also be a
# bystander's request at the wrong moment, so never more than 7.5%, less
# than the weight of a refusal, which says the process keeps asking.
# Without the size (a module before 1.8.0), the whole of it.
LAST_CROSSED_WEIGHT = 50
# On top of the base of a process whose commitment grew since the last
# look: what it would commit in GROWTH_HORIZON_S more at that pace, at most
# what 7.5% of RAM committed scores, as much as a crossing. A climber
# outweighs a process this much larger that holds still; a process that
# took one buffer at the wrong moment (its pace over a short look is
# steep) weighs no more than a crossing bystander can.
GROWTH_WEIGHT = 50
# What a kill of a climber saves besides what it holds: its pace over the
# time the next kill would take to come, the victim's grace at the
# defaults (3 s) and the kill interval (1 s), rounded up.
GROWTH_HORIZON_S = 5
# A pace is measured over no less than the daemon's look interval in a
# grace (pace.CLIMB_CHECK_S): two looks closer than that say little.
GROWTH_MIN_WINDOW_S = 0.1
# A family is ranked as one when it holds at least this many times what its
# largest member holds: memory spread so thin that no kill of one member
# frees much of it (a fork storm, a pool of many small workers), while a
# supervisor with a few services, or with a leaker among them, stays out.
# lmw.c's LMW_FAMILY_SPREAD, the same rule; its comment says more.
FAMILY_SPREAD = 8


class Look:
    """One look at lmw.ko's candidates: when (time.monotonic()), and what
    each process listed, known by its pid and start time, is ranked by
    (ranked_kb: its family's, when it is ranked with its family)."""

    __slots__ = ("at", "ranked")

    def __init__(self, at: float, listed: Iterable[Proc]) -> None:
        self.at = at
        self.ranked = {(proc.pid, proc.start_time): ranked_kb(proc) for proc in listed}


def grown(before: Look | None, now: Look) -> dict[int, tuple[int, float]]:
    """pid -> (kB committed since ``before``, seconds between the looks) for
    each process that both looks list and that grew: the same process (a
    pid and start time are never another's)."""
    if before is None or now.at <= before.at:
        return {}
    window = max(now.at - before.at, GROWTH_MIN_WINDOW_S)
    growth: dict[int, tuple[int, float]] = {}
    for (pid, start), kb in now.ranked.items():
        was = before.ranked.get((pid, start))
        if was is not None and kb > was:
            growth[pid] = (kb - was, window)
    return growth


class Looks:
    """The daemon's looks at lmw.ko's candidates, kept for the pace: the
    last, and those of the GROWTH_HORIZON_S before it. The pace runs from
    the oldest of those that lies at least GROWTH_MIN_WINDOW_S before the
    last (None: none yet), not from the one just before:

    - a look a moment after another measures no pace against it: an
      episode that starts within the warnings' interval looks at its start
      and at its kill, in the same turn, milliseconds apart;
    - a climber that stalls in reclaim for a second or two, as every
      committer does once memory has run out, holds still between two
      looks of that second;

    measured so, every climber would hold still, and a larger process
    that does would go in their place. A process that grew over the
    horizon keeps its pace for it; one that took one buffer weighs it
    over the whole window, the less the longer that is."""

    __slots__ = ("kept",)

    def __init__(self) -> None:
        self.kept: list[Look] = []      # oldest first, within the horizon of the last

    @property
    def last(self) -> Look | None:
        return self.kept[-1] if self.kept else None

    @property
    def paced_from(self) -> Look | None:
        if not self.kept:
            return None
        last = self.kept[-1]
        return next((look for look in self.kept
                     if last.at - look.at >= GROWTH_MIN_WINDOW_S), None)

    def take(self, look: Look) -> None:
        self.kept = [kept for kept in self.kept if look.at - kept.at <= GROWTH_HORIZON_S]
        self.kept.append(look)

    def grown(self) -> dict[int, tuple[int, float]]:
        """grown() from the look that the pace runs from to the last."""
        last = self.last
        return {} if last is None else grown(self.paced_from, last)


class Ranking:
    """What the base score is: resident memory (oom_score), or, with
    ``total_kb`` given, committed memory; ``last_denied`` is lmw.ko's
    (pid, comm) of the last refusal: the pid is the process's, the comm the
    refused thread's; ``last_crossed`` the same of the commitment that
    last took committed memory over one of lmw.ko's lines, and
    ``crossed_kb`` what that commitment asked for (None: not known);
    ``grown`` is grown()'s, from the looks at the candidates (Looks)."""

    __slots__ = ("crossed_kb", "grown", "last_crossed", "last_denied", "total_kb")

    def __init__(self, total_kb: int | None = None,
                 last_denied: tuple[int, str] | None = None,
                 last_crossed: tuple[int, str] | None = None,
                 crossed_kb: int | None = None,
                 grown: dict[int, tuple[int, float]] | None = None) -> None:
        self.total_kb, self.last_denied = total_kb, last_denied
        self.last_crossed, self.crossed_kb = last_crossed, crossed_kb
        self.grown = grown or {}

    def growth_weight(self, pid: int) -> int:
        """What process ``pid``'s growth adds: the score of what it would
        commit in GROWTH_HORIZON_S at its pace, at most GROWTH_WEIGHT."""
        growth = self.grown.get(pid)
        if growth is None or self.total_kb is None:
            return 0
        grown_kb, window_s = growth
        per_mille = int(grown_kb * GROWTH_HORIZON_S / window_s) * 1000 // max(self.total_kb, 1)
        return min(GROWTH_WEIGHT, per_mille * 2 // 3)

    def crossed_weight(self) -> int:
        """What the crossing adds: the score of what it asked for, at most
        LAST_CROSSED_WEIGHT (the whole of it when the size is not known)."""
        if self.crossed_kb is None or self.total_kb is None:
            return LAST_CROSSED_WEIGHT
        per_mille = self.crossed_kb * 1000 // max(self.total_kb, 1)
        return min(LAST_CROSSED_WEIGHT, per_mille * 2 // 3)

    def weight(self, pid: int) -> int:
        """What lmw.ko's records add to the base of process ``pid``."""
        weight = 0
        if self.last_denied is not None and self.last_denied[0] == pid:
            weight += LAST_DENIED_WEIGHT
        if self.last_crossed is not None and self.last_crossed[0] == pid:
            weight += self.crossed_weight()
        if self.grown:
            weight += self.growth_weight(pid)
        return weight


RESIDENT = Ranking()


class Choice:
    __slots__ = ("proc", "score", "seen", "why")

    def __init__(self, proc: Proc, score: int, why: str, seen: int = 0) -> None:
        self.proc, self.score, self.why = proc, score, why   # why: the rules, for the log
        self.seen = seen    # how many processes were looked at


def matches(rule: Rule, proc: Proc) -> bool:
    """Every field the rule names matches: exe and cgroup as a whole, comm and
    cmdline anywhere (config.WHOLE_VALUE_FIELDS says why). Only the fields
    the rule names are read (Proc reads cmdline, exe and cgroup on demand)."""
    if rule.uid is not None and proc.uid != rule.uid:
        return False
    return all((pattern.fullmatch if name in WHOLE_VALUE_FIELDS else pattern.search)(
        getattr(proc, name)) for name, pattern in rule.patterns)


def _never(proc: Proc, self_pid: int) -> str | None:
    """Why ``proc`` is never chosen, known without reading more than stat
    and oom_score_adj; or None."""
    if proc.pid == 1:
        return "PID 1"
    if proc.kernel_thread:
        return "kernel thread"
    if proc.zombie:
        return "a zombie: nothing to free"
    if proc.pid == self_pid:
        return "the terminator itself"
    if proc.oom_score_adj <= OOM_SCORE_ADJ_MIN:
        return "oom_score_adj -1000"
    return None


def protected(proc: Proc, config: Config, self_pid: int) -> str | None:
    """Why ``proc`` must never be chosen, or None."""
    never = _never(proc, self_pid)
    if never:
        return never
    for rule in config.protect:
        if matches(rule, proc):
            return rule.describe()
    return None


def spared(proc: Proc, config: Config) -> str | None:
    """Why ``proc`` may not die along with a victim's cgroup, or None: what
    is never chosen by what it is (PID 1, oom_score_adj -1000), or by a
    protect rule (cgroups.py)."""
    if proc.pid == 1:
        return "PID 1"
    if proc.oom_score_adj <= OOM_SCORE_ADJ_MIN:
        return "oom_score_adj -1000"
    for rule in config.protect:
        if matches(rule, proc):
            return rule.describe()
    return None


def ranked_kb(proc: Proc) -> int:
    """The committed memory ``proc`` is ranked by: its family's, or its own."""
    return proc.committed_kb if proc.family is None else proc.family.committed_kb


def family_of(head: Proc, children: Iterable[Proc]) -> Family | None:
    """The family ``head`` is ranked as, or None: it is ranked alone.
    ``children`` are its direct children that may be chosen by what they
    are (not _never); those of another real uid, or gone, do not count."""
    counted = [child.committed_kb for child in children
               if child.uid == head.uid and not child.gone]
    whole = head.committed_kb + sum(counted)
    if counted and whole >= FAMILY_SPREAD * max(head.committed_kb, *counted):
        return Family(whole, members=1 + len(counted))
    return None


def committed_score(proc: Proc, total_kb: int) -> int:
    """The kernel's oom_score formula with committed memory in place of
    resident: the family's, when it is ranked with its family."""
    per_mille = ranked_kb(proc) * 1000 // max(total_kb, 1)
    return max(0, (1000 + per_mille + proc.oom_score_adj) * 2 // 3)


# No ceiling known: every such process is read.
UNBOUNDED = 1 << 62


def _names_comm_alone(rule: Rule) -> bool:
    """Whether ``matches`` can decide on what stat gave (the comm)."""
    return rule.uid is None and all(name == "comm" for name, _ in rule.patterns)


def _ceiling(proc: Proc, config: Config, ranking: Ranking, children_vsize_kb: int = 0) -> int:
    """The highest total ``proc`` can have, from stat and oom_score_adj
    alone (the module docstring says why it holds); with its children's
    virtual sizes, the highest its family can have."""
    if ranking.total_kb is None or proc.vsize_kb is None:
        return UNBOUNDED
    per_mille = (proc.vsize_kb + children_vsize_kb) * 1000 // max(ranking.total_kb, 1)
    ceiling = max(0, (1000 + per_mille + proc.oom_score_adj) * 2 // 3)
    ceiling += ranking.weight(proc.pid)
    for rule in config.prefer:
        if not _names_comm_alone(rule) or matches(rule, proc):
            ceiling += rule.adjust
    return ceiling


def _total(proc: Proc, config: Config, ranking: Ranking) -> int:
    """score()'s number alone: what choose() compares for every process."""
    if ranking.total_kb is None:
        total = proc.oom_score
    else:
        total = committed_score(proc, ranking.total_kb) + ranking.weight(proc.pid)
    for rule in (*config.prefer, *config.avoid):
        if matches(rule, proc):
            total += rule.adjust
    return total


def score(proc: Proc, config: Config, ranking: Ranking = RESIDENT) -> tuple[int, str]:
    """The score of ``proc`` and how it was made, for the log."""
    if ranking.total_kb is None:
        reasons = [f"oom_score {proc.oom_score}"]
    else:
        if proc.family is None:
            reasons = [f"committed {proc.committed_kb} kB: "
                       f"{committed_score(proc, ranking.total_kb)}"]
        else:
            members = f" of {proc.family.members}" if proc.family.members else ""
            reasons = [f"family{members} committed {proc.family.committed_kb} kB (itself "
                       f"{proc.committed_kb} kB): {committed_score(proc, ranking.total_kb)}"]
        if ranking.last_denied is not None and ranking.last_denied[0] == proc.pid:
            reasons.append(f"refused last by lmw.ko {LAST_DENIED_WEIGHT:+d}")
        if ranking.last_crossed is not None and ranking.last_crossed[0] == proc.pid:
            asked = "" if ranking.crossed_kb is None else f" asking {ranking.crossed_kb} kB"
            reasons.append(f"crossed a line last{asked} {ranking.crossed_weight():+d}")
        if proc.pid in ranking.grown:
            grown_kb, window_s = ranking.grown[proc.pid]
            reasons.append(f"committed {grown_kb} kB more in {window_s:.1f} s "
                           f"{ranking.growth_weight(proc.pid):+d}")
    reasons += [f"{rule.describe()} {rule.adjust:+d}" for rule in (*config.prefer, *config.avoid)
                if matches(rule, proc)]
    return _total(proc, config, ranking), ", ".join(reasons)


def choose_listed(listed: list[Proc], rest: int | None, config: Config, self_pid: int,
                  ranking: Ranking, *, passed_over: Collection[tuple[int, int]] = (),
                  looked_up: Collection[int] = ()) -> tuple[bool, Choice | None]:
    """The choice among lmw.ko's candidates (procs.parse_candidates), and
    whether it is the choice among every process: True when nobody left
    out can reach it. ``rest`` is the highest score lmw.ko saw among the
    processes it left out (None: it left none out); what the daemon adds
    can raise any of them by its weight (lmw.ko's records, its growth) and
    by every prefer rule, so the choice stands only above that sum. False:
    read every process (choose). ``passed_over`` is choose()'s.

    ``looked_up``: pids of weighed_unlisted() that the caller looked for in
    /proc (procs.read_with_children). Those it found are in ``listed``;
    those it did not are gone, and a record of a gone process (lmw.ko keeps
    the pid of its last refusal, and of its last crossing, until the next
    one) weighs nobody that a scan would read: neither lifts the bar."""
    choice = choose(listed, config, self_pid, ranking, passed_over=passed_over)
    if rest is None:
        return True, choice
    weights = [ranking.weight(pid) for pid in weighed_unlisted(listed, ranking)
               if pid not in looked_up]
    reach = rest + max(weights, default=0) + sum(max(0, rule.adjust) for rule in config.prefer)
    return choice is not None and choice.score > reach, choice


def weighed_unlisted(listed: Iterable[Proc], ranking: Ranking) -> set[int]:
    """The pids that ``ranking`` weighs (lmw.ko's records, the growth) and
    that ``listed`` leaves out: what lmw.ko's ``rest`` does not bound. Read
    from /proc and listed too (procs.read_with_children), they are scored
    as every listed process is, and the list settles the choice without
    them lifting its bar."""
    listed_pids = {proc.pid for proc in listed}
    weighed = {record[0] for record in (ranking.last_denied, ranking.last_crossed)
               if record is not None}
    return {pid for pid in weighed.union(ranking.grown) if pid not in listed_pids}


def choose(procs: Iterable[Proc], config: Config, self_pid: int,
           ranking: Ranking = RESIDENT, *,
           passed_over: Collection[tuple[int, int]] = ()) -> Choice | None:
    """The process to terminate next, or None when nobody may be chosen;
    never one of ``passed_over`` (pid, start time: the module docstring).

    Processes are read in the order of their ceilings and no further than
    one can still win (the module docstring); only numbers are compared
    on the way, and the reasons are written for the winner alone."""
    eligible: list[Proc] = []
    seen = 0
    for proc in procs:
        seen += 1
        if _never(proc, self_pid):
            continue
        if passed_over and (proc.pid, proc.start_time) in passed_over:
            continue
        eligible.append(proc)
    # families are ranked with committed memory alone (the module docstring)
    children: dict[int, list[Proc]] = {}
    if ranking.total_kb is not None:
        for proc in eligible:
            children.setdefault(proc.ppid, []).append(proc)
    ceilings = [(_ceiling(proc, config, ranking,
                          sum(child.vsize_kb or 0 for child in children.get(proc.pid, ()))),
                 proc) for proc in eligible]
    ceilings.sort(key=lambda item: item[0], reverse=True)
    best: Proc | None = None
    best_key = (0, 0)
    for ceiling, proc in ceilings:
        if best is not None and ceiling < best_key[0]:
            break       # nobody left can reach the best score
        if proc.gone or protected(proc, config, self_pid):
            continue
        # a family that lmw.ko ranked is its count of every child; the
        # children known here may be a few read from /proc (a crosser's)
        if proc.family is None and proc.pid in children:
            proc.family = family_of(proc, children[proc.pid])
        key = (_total(proc, config, ranking), proc.rss_kb)
        if best is None or key > best_key:
            best, best_key = proc, key
    if best is None:
        return None
    total, why = score(best, config, ranking)
    return Choice(proc=best, score=total, why=why, seen=seen)
