# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Warn, then terminate one victim: SIGTERM, a grace period, SIGKILL; all through a pidfd.

A victim is a snapshot (pid, start time). The pidfd is opened first. Then
the start time is read again: if it differs, the PID now belongs to
another process and nothing is sent. From then on the pidfd pins the
process we checked, so a reused PID can never be hit. After SIGKILL,
process_mrelease() (Linux 5.15+) frees the victim's memory at once rather
than when its last thread has exited, with the daemon an ordinary process
while it does (_AsOrdinary), and the victim runs its exit at nice -20
(_hasten): what it committed goes only when it has exited. That
takes CAP_SYS_NICE (another user's process, or a nice below its own),
which the systemd unit's bounding set leaves out: there the victim exits
at its own nice, and setpriority()'s EPERM is logged at debug.

A victim ranked with its family (policy.py) takes its children with it
(terminate_family): a fork storm's or a forking service's children,
orphaned, would live on and hold what the ranking counted. The head is
stopped (SIGSTOP) first, so that it forks no more while its children are
found (its children files, procs.children_of); each child of its real
uid that the policy does not spare is pinned by a pidfd, checked as the
head is, and sent its SIGTERM at once, in waves that each wait for the
last to exit, and a pause after it (FAMILY_WAVE: a storm's exits all at
once hold up every other task on the CPU; WAVE_PAUSE_S: so do waves
that follow each other without a gap); then the head gets SIGTERM, and
SIGCONT to act on it, and the grace runs for all together. What
remains then gets SIGKILL, after the head is stopped once more and the
children it forked in the grace are pinned too. Only direct children:
what a child forked is that child's own family.

The grace may be cut short: the caller's ``cut_short`` is asked every
GRACE_CHECK_S while it runs, and when it says so the SIGKILL goes at
once (the daemon's rules, pace.py: memory that climbs on past where it
stood at the choice, or a device that stalls on memory, does not wait
for a victim's clean exit). So may the wait for a SIGKILLed victim's
exit (``exit_cut``): its pages are freed already, and what it committed
goes when it exits, which it does without the daemon; a daemon that
waited for it while memory climbed on would leave the rest to the
kernel's OOM killer. The victim is then left on its way out
(Ending.LEFT), and the caller owns what follows: the victim is not
chosen again while it may still be exiting by itself, and when it is,
the wait is not cut, so that a victim held on its way out still goes
with its tracer (below).

A victim may be held on its way out. A process traced with
PTRACE_O_TRACEEXIT stops in its exit, before its memory is released, and
stays there until its tracer lets it go; a dying process drops every
later signal, SIGKILL too. process_mrelease() frees its pages, but what
it has committed stays committed until it has exited. Any user may trace
their own processes so, and would keep memory committed past the line
with a process that no signal ends, while the daemon chose it again and
again. So a victim still there KILL_WAIT_S after its SIGKILL goes with its
tracer: SIGKILL to the tracer, whose exit lets the victim go, and so up
the chain to the tracer's own tracer; never to one that the policy spares
(PID 1, oom_score_adj -1000, a protect rule) or to the terminator.
"""

from __future__ import annotations

import errno
import math
import os
import select
import time

from . import hooks, log, optin, procs, sig
from .config import KillConfig, WarnConfig
from .pace import CLIMB_CHECK_S
from .procs import PROC, Proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# Same number on x86_64 and arm64 (the generic syscall table).
SYS_PROCESS_MRELEASE = 448
# How long a victim is given to exit after its SIGKILL: it needs to run
# once more (it may be waiting for the CPU, or in an uninterruptible
# sleep), and its pages are freed already (process_mrelease). Longer than
# that, it is not dying by itself: held by its tracer (the module
# docstring), or stuck in the kernel.
KILL_WAIT_S = 5.0
# How far up a chain of tracers (a tracer traced by another) the daemon
# goes to free a held victim; a chain is a user's own doing, and longer
# than this is no debugger's.
TRACER_CHAIN_MAX = 8
# How often ``cut_short`` is asked while a victim's grace runs: as often as
# the main loop reads committed memory in its own waits (pace.py).
GRACE_CHECK_S = CLIMB_CHECK_S


class Ending:
    """How an attempt on a victim ended, as the log says it."""

    GONE_BEFORE = "gone before the signal (PID not reused)"
    PID_REUSED = "PID reused by another process: nothing sent"
    TERMINATED = "exited after SIGTERM"
    KILLED = "killed by SIGKILL after the grace period"
    DRY_RUN = "dry run: nothing sent"
    SURVIVED = "still there after SIGKILL"
    LEFT = "killed by SIGKILL, left on its way out: memory climbed on"


# The same endings as a hook's environment gives them (LMW_OUTCOME).
WORDS = {Ending.GONE_BEFORE: "gone", Ending.PID_REUSED: "pid-reused",
         Ending.TERMINATED: "terminated", Ending.KILLED: "killed", Ending.DRY_RUN: "dry-run",
         Ending.SURVIVED: "survived", Ending.LEFT: "left-exiting"}
# The endings after which the victim was signalled and is gone or going:
# its service's cgroup may follow it.
ENDED = (Ending.TERMINATED, Ending.KILLED, Ending.SURVIVED, Ending.LEFT)


class Outcome:
    __slots__ = ("ending", "seconds", "signalled_at")

    def __init__(self, ending: str, seconds: float, signalled_at: float | None = None) -> None:
        self.ending, self.seconds = ending, seconds
        self.signalled_at = signalled_at    # time.monotonic() of the SIGTERM; None: none sent


class _AsOrdinary:
    """A block (``with _AsOrdinary():``) with the daemon's thread an
    ordinary process (its nice, -20 under the systemd unit), and back to
    its real-time policy after it. process_mrelease() frees a victim's
    pages in the caller's own context: tens of milliseconds for a victim
    of 50 to 100 MiB on the bench's guest. At SCHED_FIFO nothing ordinary
    runs on that CPU meanwhile, as the kernel's cond_resched() gives way
    only to a task of the same class or higher: under make bench's
    committers, the heartbeat waited 27 to 59 ms behind such frees. At
    nice -20 the free still has the CPU against every ordinary process but
    one that wakes, which runs first for its moment. Nothing changes for a
    daemon that is ordinary already (realtime_priority 0); one that cannot
    go back (refused) goes on as an ordinary process at its nice, and says
    so. (A class, not contextlib: its import would cost RSS at rest.)"""

    __slots__ = ("param", "policy")

    def __init__(self) -> None:
        self.policy, self.param = os.SCHED_OTHER, os.sched_param(0)

    def __enter__(self) -> None:
        try:
            policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
            if policy & ~os.SCHED_RESET_ON_FORK not in (os.SCHED_FIFO, os.SCHED_RR):
                return
            os.sched_setscheduler(0, os.SCHED_OTHER | (policy & os.SCHED_RESET_ON_FORK),
                                  os.sched_param(0))
        except OSError as error:
            log.debug("SCHED_OTHER for process_mrelease: %s", error.strerror)
            return
        self.policy, self.param = policy, param

    def __exit__(self, *_exc: object) -> None:
        if self.policy == os.SCHED_OTHER:
            return
        try:
            os.sched_setscheduler(0, self.policy, self.param)
        except OSError as error:
            log.warning("back to real-time scheduling after process_mrelease: %s (the "
                        "reaction waits for the CPU like any process)", error.strerror)


def _process_mrelease(pidfd: int) -> None:
    """Free a SIGKILLed victim's memory now (Linux 5.15+; older: ENOSYS, harmless)."""
    import ctypes  # only after a SIGKILL: half a MiB the daemon rarely needs

    libc = ctypes.CDLL(None, use_errno=True)
    if int(libc.syscall(SYS_PROCESS_MRELEASE, pidfd, 0)) != 0:
        log.debug("process_mrelease: %s", os.strerror(ctypes.get_errno()))


# The nice a victim's main thread gets after its SIGKILL (the highest).
# It must run once more to leave, and what it committed goes only then; on
# a CPU that the climbers keep busy it waits its turn among them (2.8 s
# from SIGKILL to exit on the bench's one-vCPU guest, twelve committers
# running), and the daemon with it. A dying process runs only its exit.
HASTEN_NICE = -20


def _hasten(pidfd: int, pid: int) -> None:
    """Let a SIGKILLed victim run its exit before ordinary processes: its
    main thread at HASTEN_NICE. setpriority() takes a PID, no pidfd: it is
    called only while the pidfd says the process has not exited, and a
    process that has not exited holds its PID (its main thread's stays
    with it until the whole process is reaped). What the check cannot
    rule out needs, between two system calls, the victim to exit, its
    parent to reap it and PIDs to come round to the same number."""
    if _wait_exit(pidfd, 0):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, HASTEN_NICE)
    except OSError as error:    # gone meanwhile (ESRCH): nothing left to hasten
        log.debug("setpriority(%d): %s", pid, error.strerror)


def _wait_exit(pidfd: int, seconds: float) -> bool:
    """True when the process behind ``pidfd`` has exited within ``seconds``."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(0, int(seconds * 1000))))


def _wait_all(pidfds: list[int], seconds: float,
              cut_short: Callable[[], bool] | None = None) -> tuple[list[int], bool]:
    """Wait up to ``seconds`` for every process behind ``pidfds`` to exit,
    or until ``cut_short``, asked every GRACE_CHECK_S, says True; the
    pidfds of those still running then, and whether the wait was cut.
    With no time left (``seconds`` <= 0) it looks once without waiting:
    those that have exited already are not counted as running."""
    running = set(pidfds)
    cut = False
    poller = select.poll()
    for pidfd in running:
        poller.register(pidfd, select.POLLIN)
    deadline = time.monotonic() + seconds
    while running:
        left = deadline - time.monotonic()
        if cut_short is not None:
            left = min(left, GRACE_CHECK_S)
        # 0: a look; else at least 1 ms (poll takes whole milliseconds)
        for pidfd, _ in poller.poll(max(0, math.ceil(left * 1000))):
            running.discard(pidfd)
            poller.unregister(pidfd)
        if not running or time.monotonic() >= deadline:
            break
        if cut_short is not None and cut_short():
            cut = True
            break
    return [pidfd for pidfd in pidfds if pidfd in running], cut


def _send(pidfd: int, signum: int) -> bool:
    """Signal the process behind ``pidfd``; False when it has exited."""
    try:
        sig.pidfd_send_signal(pidfd, signum)
    except ProcessLookupError:
        return False
    return True


def _pin(victim: Proc, proc_root: str) -> int | str:
    """A pidfd on ``victim`` once it is known to be the process chosen, or
    the Ending that says why not. The start time is read again after the
    pidfd is open: if it differs, the PID belongs to another process now;
    if it matches, the pidfd pins the very process that was checked."""
    try:
        pidfd = os.pidfd_open(victim.pid)
    except ProcessLookupError:
        return Ending.GONE_BEFORE
    except OSError as error:
        # The PID is a thread's now, not a process's (reused while it was
        # chosen): EINVAL, or ENOENT from newer kernels. Anything else (no
        # fd, no memory) is the main loop's to survive.
        if error.errno in (errno.EINVAL, errno.ENOENT):
            return Ending.PID_REUSED
        raise
    if procs.start_time_of(victim.pid, proc_root) != victim.start_time:
        os.close(pidfd)
        return Ending.PID_REUSED
    return pidfd


# How long a head of a family is given to stop: SIGSTOP takes effect when
# it next runs, and the search for its children waits for that (a fork
# under way would otherwise add a child after the search). It is a wait
# for a state, ended as soon as /proc shows it.
STOP_WAIT_S = 0.5
STOPPED_STATES = (b"T", b"t")

# A family's children go in waves. Sent their SIGTERM all at once, a fork
# storm's hundreds of children all exit at once, and the scheduler puts
# each child it wakes ahead of a task of the device that wakes after it:
# that task waits for every exit before its turn. In the TCG guest (about
# 3.6 ms an exit of a child of 2 MiB), the fork storm bench's 10 ms
# heartbeat waited 300 to 380 ms so. In waves of FAMILY_WAVE, the next
# wave is signalled once the last has exited, which its exits take either
# way: at most a wave stands in front of the device, and the heartbeat's
# worst fell to 15 to 91 ms in eight runs (docs/benchmarks.md). The rest
# go at once when a wave is still there after WAVE_WAIT_S (not a storm's
# prompt exit: its children handle or ignore SIGTERM), when the waves have
# taken the family's grace (term_grace_ms), or when the grace's own rules
# would end the grace (``cut_short``: memory climbs on). So a family holds
# back its own end by one grace at most, as a head that ignores its
# SIGTERM always could, and not at all while memory climbs.
FAMILY_WAVE = 4
WAVE_WAIT_S = 0.1
# Between two waves the daemon sleeps WAVE_PAUSE_S: the device's turn.
# The scheduler places each child that a SIGTERM wakes ahead of the tasks
# that already wait for the CPU (its credit to a task that slept), and the
# daemon, at SCHED_FIFO, signalled the next wave the moment the last one
# had exited: a task that woke behind the first wave waited for them all.
# In the fork storm on QEMU's instruction counter (one vCPU), the 10 ms
# heartbeat waited 68 ms so, behind 33 waves and the daemon between them
# (docs/benchmarks.md). In the pause whoever waits runs; then the next
# wave. It costs a family of 400 children 0.2 s more on its way out,
# within its grace as every wave is, and none once cut_short has ended the
# waves.
WAVE_PAUSE_S = 0.002


def _stop(pidfd: int, pid: int, proc_root: str) -> None:
    """SIGSTOP the process behind ``pidfd`` and wait until it is stopped
    (or gone, or STOP_WAIT_S has passed: the search goes on regardless)."""
    if not _send(pidfd, sig.SIGSTOP):
        return
    deadline = time.monotonic() + STOP_WAIT_S
    pause = 0.0005
    while time.monotonic() < deadline:
        state = procs.state_of(pid, proc_root)
        if state is None or state in STOPPED_STATES + procs.EXITED_STATES:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _wave_exited(wave: list[int], waves_end: float) -> bool:
    """Wait for the children behind ``wave`` to exit, up to WAVE_WAIT_S
    and no later than ``waves_end``, then pause WAVE_PAUSE_S: whether they
    did, with time left for the next wave (above)."""
    overstayed, _ = _wait_all(wave, min(WAVE_WAIT_S, waves_end - time.monotonic()))
    if overstayed or time.monotonic() + WAVE_PAUSE_S >= waves_end:
        return False
    time.sleep(WAVE_PAUSE_S)
    return True


def _pin_children(head: Proc, pinned: dict[int, int], spare: Callable[[Proc], str | None],
                  proc_root: str, signum: int | None = None, *, waves_s: float = 0.0,
                  cut_short: Callable[[], bool] | None = None) -> bool:
    """Open a pidfd on each direct child of ``head`` (procs.children_of)
    of its real uid that ``spare`` lets go and that is not pinned yet, into
    ``pinned`` (pid -> pidfd; the caller closes them), and send it
    ``signum`` (None: nothing) at once, so that the first children are on
    their way out while the rest are looked at, in waves of FAMILY_WAVE
    for up to ``waves_s`` (above). ``head`` is stopped. True when
    ``cut_short``, asked after each wave, ended the waves: the family then
    gets no grace.

    A child is pinned before it is read: what is read is then the pinned
    process, or, if the PID was reused in between, another that took the
    PID after the pinned one exited, and no signal through the pidfd
    reaches anyone. (One read after the pin, where a victim chosen from an
    earlier read needs its start time read again: _pin.)"""
    waves_end = time.monotonic() + waves_s
    wave: list[int] | None = [] if signum is not None and waves_s > 0 else None
    cut = False
    for pid in procs.children_of(head.pid, proc_root):
        if wave is not None and len(wave) == FAMILY_WAVE:
            if not _wave_exited(wave, waves_end):
                wave = None
            elif cut_short is not None and cut_short():
                wave, cut = None, True
            else:
                wave = []
        if pid in pinned:
            continue
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            continue    # gone, a thread's PID now, or no fd to spare: the head still goes
        proc = procs.read_proc(pid, proc_root)
        if proc is None or proc.ppid != head.pid or proc.zombie or proc.kernel_thread \
                or proc.uid != head.uid or spare(proc) is not None:
            os.close(pidfd)
            continue
        pinned[pid] = pidfd
        if signum is not None:
            _send(pidfd, signum)
            if wave is not None:
                wave.append(pidfd)
    return cut


def _end_family(pidfd: int, victim: Proc, pinned: dict[int, int], *,
                spare: Callable[[Proc], str | None], config: KillConfig,
                proc_root: str, signalled: Callable[[], object] | None,
                cut_short: Callable[[], bool] | None,
                exit_cut: Callable[[], bool] | None, graceless: bool) -> str:
    """The family's end, once the head is stopped and its children are
    pinned and sent their SIGTERM: SIGTERM to the head, the grace (unless
    cut short, or ``graceless``: cut short in the children's waves),
    SIGKILL to what remains, the wait for their exit (unless
    ``exit_cut``), and SIGKILL to the tracers of what remains after that
    (_end_tracers). The head's ending, or "" when it was gone before its
    SIGTERM."""
    if not _send(pidfd, sig.SIGTERM):
        return ""
    _send(pidfd, sig.SIGCONT)     # to act on its SIGTERM
    if signalled is not None:
        signalled()
    grace_s = 0.0 if graceless else config.term_grace_ms / 1000
    running, _ = _wait_all([pidfd, *pinned.values()], grace_s, cut_short)
    if not running:
        return Ending.TERMINATED
    head_ran_on = pidfd in running
    if head_ran_on:
        # what it forked in the grace goes too: stopped, it forks no more
        _stop(pidfd, victim.pid, proc_root)
        before = set(pinned.values())
        _pin_children(victim, pinned, spare, proc_root)
        running += [child for child in pinned.values() if child not in before]
    pids = {pidfd: victim.pid} | {fd: pid for pid, fd in pinned.items()}
    killed = [each for each in running if _send(each, sig.SIGKILL)]
    with _AsOrdinary():
        for each in killed:
            _process_mrelease(each)
            _hasten(each, pids[each])
    running, cut = _wait_all(running, KILL_WAIT_S, exit_cut)
    if cut and pidfd in running:
        return Ending.LEFT
    if running and not cut:
        released = [_end_tracers(pids[each], spare, proc_root) for each in running]
        if any(released):
            running, _ = _wait_all(running, KILL_WAIT_S)
        if pidfd in running:
            return Ending.SURVIVED
    return Ending.KILLED if head_ran_on else Ending.TERMINATED


def terminate_family(victim: Proc, config: KillConfig, spare: Callable[[Proc], str | None], *,
                     dry_run: bool = False, proc_root: str = PROC,
                     checked: Callable[[], None] | None = None,
                     signalled: Callable[[], object] | None = None,
                     cut_short: Callable[[], bool] | None = None,
                     exit_cut: Callable[[], bool] | None = None) -> tuple[Outcome, int]:
    """The victim and its direct children of its real uid (the module
    docstring): SIGTERM to all, the grace, SIGKILL to what remains. The
    outcome is the victim's; the number is how many children were
    signalled. ``spare`` says why a child must not be signalled (None: it
    may be); ``checked``, ``signalled``, ``cut_short`` and ``exit_cut``
    are terminate()'s; ``cut_short`` also ends the children's waves, and
    the grace with them. Children left on their way out with a head that
    has exited are left to it: the head's ending is the outcome."""
    start = time.monotonic()
    if dry_run:
        return Outcome(Ending.DRY_RUN, 0.0), 0
    pidfd = _pin(victim, proc_root)
    if isinstance(pidfd, str):
        return Outcome(pidfd, time.monotonic() - start), 0
    pinned: dict[int, int] = {}
    try:
        if checked is not None:
            checked()
        _stop(pidfd, victim.pid, proc_root)
        cut = _pin_children(victim, pinned, spare, proc_root, sig.SIGTERM,
                            waves_s=config.term_grace_ms / 1000, cut_short=cut_short)
        signalled_at = time.monotonic()
        ending = _end_family(pidfd, victim, pinned, spare=spare, config=config,
                             proc_root=proc_root, signalled=signalled, cut_short=cut_short,
                             exit_cut=exit_cut, graceless=cut)
        if not ending:
            return Outcome(Ending.GONE_BEFORE, time.monotonic() - start), len(pinned)
        return Outcome(ending, time.monotonic() - start, signalled_at), len(pinned)
    finally:
        for child in pinned.values():
            os.close(child)
        os.close(pidfd)


def _end_tracers(pid: int, spare: Callable[[Proc], str | None], proc_root: str) -> bool:
    """SIGKILL to the tracer that holds ``pid`` on its way out, and up the
    chain to the tracer's own (the module docstring), except where
    ``spare`` says why not. True when one was sent.

    The tracer is pinned like a victim, and after its pidfd is open it
    must still be the one that traces ``pid``: a tracer that exited in
    between, its PID reused, is never hit."""
    sent, held, seen = False, pid, {pid}
    for _ in range(TRACER_CHAIN_MAX):
        tracer_pid = procs.tracer_of(held, proc_root)
        if not tracer_pid or tracer_pid in seen:
            break
        seen.add(tracer_pid)
        tracer = procs.read_proc(tracer_pid, proc_root)
        if tracer is None:
            break
        why = "the terminator itself" if tracer_pid == os.getpid() else spare(tracer)
        if why is not None:
            log.warning("%d is held on its way out by its tracer %s[%d], which is never "
                        "killed (%s): its memory stays committed", held,
                        log.printable(tracer.comm), tracer_pid, log.printable(why))
            break
        try:
            pidfd = _pin(tracer, proc_root)
        except OSError:
            break       # no fd to spare: the main loop tries again
        if isinstance(pidfd, str):
            break
        try:
            if procs.tracer_of(held, proc_root) != tracer_pid or not _send(pidfd, sig.SIGKILL):
                break
        finally:
            os.close(pidfd)
        log.warning("%d is held on its way out by its tracer: SIGKILL to the tracer %s[%d] "
                    "uid %d" if not sent else "%d, a tracer, is traced in turn: SIGKILL to "
                    "its tracer %s[%d] uid %d", held, log.printable(tracer.comm), tracer_pid,
                    tracer.uid)
        sent, held = True, tracer_pid
    return sent


def terminate(victim: Proc, config: KillConfig, *, dry_run: bool = False,
              proc_root: str = PROC, checked: Callable[[], None] | None = None,
              signalled: Callable[[], object] | None = None,
              spare: Callable[[Proc], str | None] | None = None,
              cut_short: Callable[[], bool] | None = None,
              exit_cut: Callable[[], bool] | None = None) -> Outcome:
    """SIGTERM, the grace, SIGKILL. ``checked`` is called once the victim is
    known to be the chosen process and pinned by its pidfd, right before
    the SIGTERM: what must see the victim alive (the before hook, its
    cgroup) runs there. ``signalled`` is called right after the SIGTERM,
    before the grace: what only the log needs and what may wait on the
    victim (its command line) is read there, off the reaction's path.
    ``cut_short`` is asked every GRACE_CHECK_S in the grace: True, and the
    SIGKILL goes now. ``exit_cut`` is asked as often in the wait for the
    victim's exit after its SIGKILL: True, and the victim is left on its
    way out (Ending.LEFT; the module docstring). ``spare`` says why a
    tracer that holds the victim on its way out must not be killed (it
    returns None: it may be); without it, no tracer is."""
    start = time.monotonic()
    signalled_at: float | None = None

    def done(ending: str) -> Outcome:
        return Outcome(ending=ending, seconds=time.monotonic() - start,
                       signalled_at=signalled_at)

    if dry_run:
        return done(Ending.DRY_RUN)
    pidfd = _pin(victim, proc_root)
    if isinstance(pidfd, str):
        return done(pidfd)
    try:
        if checked is not None:
            checked()
        try:
            sig.pidfd_send_signal(pidfd, sig.SIGTERM)
        except ProcessLookupError:
            return done(Ending.GONE_BEFORE)
        signalled_at = time.monotonic()
        if signalled is not None:
            signalled()
        if not _wait_all([pidfd], config.term_grace_ms / 1000, cut_short)[0]:
            return done(Ending.TERMINATED)
        try:
            sig.pidfd_send_signal(pidfd, sig.SIGKILL)
        except ProcessLookupError:
            return done(Ending.TERMINATED)
        with _AsOrdinary():
            _process_mrelease(pidfd)
            _hasten(pidfd, victim.pid)
        running, cut = _wait_all([pidfd], KILL_WAIT_S, exit_cut)
        if not running:
            return done(Ending.KILLED)
        if cut:
            return done(Ending.LEFT)
        if spare is not None and _end_tracers(victim.pid, spare, proc_root) \
                and _wait_exit(pidfd, KILL_WAIT_S):
            return done(Ending.KILLED)
        return done(Ending.SURVIVED)
    finally:
        os.close(pidfd)


# A warn command is the daemon's child: it would inherit the daemon's
# oom_score_adj (-1000, never the OOM killer's choice) and its ignored
# SIGPIPE. It gets the defaults back before the command runs.
_SPAWN_PROLOGUE = 'echo 0 > /proc/self/oom_score_adj 2>/dev/null; exec /bin/sh -c "$1"'


def _spawn(command: str) -> None:
    """Run a shell command in the background; reap it without waiting."""
    try:
        os.posix_spawn("/bin/sh", ["sh", "-c", _SPAWN_PROLOGUE, "sh", command], os.environ,
                       setsid=True, setsigdef=(sig.SIGPIPE,))
    except OSError as error:
        log.error("warn command %r: %s", command, error.strerror)


def reap_children() -> None:
    """Collect finished warn commands and hooks (called from the main loop)."""
    try:
        while (pid := os.waitpid(-1, os.WNOHANG)[0]) > 0:
            hooks.ended(pid)
    except ChildProcessError:
        pass


def warn(config: WarnConfig, *, dry_run: bool = False, proc_root: str = PROC) -> list[str]:
    """Ask for memory back: run the commands, signal the processes that opted in
    (optin.py: only where the entry's owner could have sent the signal).
    Returns what was done, for the log."""
    actions: list[str] = []
    for command in config.commands:
        actions.append(f"ran {command!r}")
        if not dry_run:
            _spawn(command)
    if config.signal is not None:
        actions += optin.signal_opted_in(config.optin_dir, config.signal, dry_run=dry_run,
                                         proc_root=proc_root)
    return actions
