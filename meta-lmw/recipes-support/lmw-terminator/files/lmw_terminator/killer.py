# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Warn, then terminate one victim: SIGTERM, a grace period, SIGKILL; all through a pidfd.

A victim is a snapshot (pid, start time). The pidfd is opened first. Then
the start time is read again: if it differs, the PID now belongs to
another process and nothing is sent. From then on the pidfd pins the
process we checked, so a reused PID can never be hit. After SIGKILL,
process_mrelease() (Linux 5.15+) frees the victim's memory at once rather
than when its last thread has exited.
"""

from __future__ import annotations

import errno
import os
import select
import time

from . import hooks, log, optin, procs, sig
from .config import KillConfig, WarnConfig
from .procs import PROC, Proc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# Same number on x86_64 and arm64 (the generic syscall table).
SYS_PROCESS_MRELEASE = 448


class Ending:
    """How an attempt on a victim ended, as the log says it."""

    GONE_BEFORE = "gone before the signal (PID not reused)"
    PID_REUSED = "PID reused by another process: nothing sent"
    TERMINATED = "exited after SIGTERM"
    KILLED = "killed by SIGKILL after the grace period"
    DRY_RUN = "dry run: nothing sent"
    SURVIVED = "still there after SIGKILL"


# The same endings as a hook's environment gives them (LMW_OUTCOME).
WORDS = {Ending.GONE_BEFORE: "gone", Ending.PID_REUSED: "pid-reused",
         Ending.TERMINATED: "terminated", Ending.KILLED: "killed", Ending.DRY_RUN: "dry-run",
         Ending.SURVIVED: "survived"}
# The endings after which the victim was signalled and is gone or going:
# its service's cgroup may follow it.
ENDED = (Ending.TERMINATED, Ending.KILLED, Ending.SURVIVED)


class Outcome:
    __slots__ = ("ending", "seconds", "signalled_at")

    def __init__(self, ending: str, seconds: float, signalled_at: float | None = None) -> None:
        self.ending, self.seconds = ending, seconds
        self.signalled_at = signalled_at    # time.monotonic() of the SIGTERM; None: none sent


def _process_mrelease(pidfd: int) -> None:
    """Free a SIGKILLed victim's memory now (Linux 5.15+; older: ENOSYS, harmless)."""
    import ctypes  # only after a SIGKILL: half a MiB the daemon rarely needs

    libc = ctypes.CDLL(None, use_errno=True)
    if int(libc.syscall(SYS_PROCESS_MRELEASE, pidfd, 0)) != 0:
        log.debug("process_mrelease: %s", os.strerror(ctypes.get_errno()))


def _wait_exit(pidfd: int, seconds: float) -> bool:
    """True when the process behind ``pidfd`` has exited within ``seconds``."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(0, int(seconds * 1000))))


def terminate(victim: Proc, config: KillConfig, *, dry_run: bool = False,
              proc_root: str = PROC, checked: Callable[[], None] | None = None) -> Outcome:
    """SIGTERM, the grace, SIGKILL. ``checked`` is called once the victim is
    known to be the chosen process and pinned by its pidfd, right before
    the SIGTERM: what must see the victim alive (the before hook, its
    cgroup) runs there."""
    start = time.monotonic()
    signalled_at: float | None = None

    def done(ending: str) -> Outcome:
        return Outcome(ending=ending, seconds=time.monotonic() - start,
                       signalled_at=signalled_at)

    if dry_run:
        return done(Ending.DRY_RUN)
    try:
        pidfd = os.pidfd_open(victim.pid)
    except ProcessLookupError:
        return done(Ending.GONE_BEFORE)
    except OSError as error:
        # The PID is a thread's now, not a process's (reused while it was
        # chosen): EINVAL, or ENOENT from newer kernels. Anything else (no
        # fd, no memory) is the main loop's to survive.
        if error.errno in (errno.EINVAL, errno.ENOENT):
            return done(Ending.PID_REUSED)
        raise
    try:
        if procs.start_time_of(victim.pid, proc_root) != victim.start_time:
            return done(Ending.PID_REUSED)
        if checked is not None:
            checked()
        try:
            sig.pidfd_send_signal(pidfd, sig.SIGTERM)
        except ProcessLookupError:
            return done(Ending.GONE_BEFORE)
        signalled_at = time.monotonic()
        if _wait_exit(pidfd, config.term_grace_ms / 1000):
            return done(Ending.TERMINATED)
        try:
            sig.pidfd_send_signal(pidfd, sig.SIGKILL)
        except ProcessLookupError:
            return done(Ending.TERMINATED)
        _process_mrelease(pidfd)
        return done(Ending.KILLED if _wait_exit(pidfd, 5.0) else Ending.SURVIVED)
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
