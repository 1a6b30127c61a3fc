# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Kill hooks: a command before and after each kill, told who and why.

[kill] before and after name a program and its arguments (config.py checks
that root owns it and the directories above it). The daemon starts it
and does not wait for it: a kill is on the path from the signal to the
memory coming back, and a hook that hangs must not hold it. "before" runs
once the victim is checked (its pidfd open, its start time the chosen
one's) and right before its SIGTERM; "after" runs when the kill has ended,
with the outcome.

Everything about the victim comes in the environment, never in the
command line, and no shell reads it: a process chooses its own comm and
cmdline, and a name like ``$(reboot)`` stays a string. The environment
is made from nothing but these (the daemon's own is not passed on):

    LMW_EVENT            before | after
    LMW_PID LMW_UID      the victim's
    LMW_COMM             its comm, as the kernel has it
    LMW_RSS_KB           resident memory when it was chosen
    LMW_COMMITTED_KB     committed memory (VmData + VmStk) when it was chosen
    LMW_SCORE LMW_REASON the policy's score and how it was made up
    LMW_SOURCE LMW_LEVEL what raised the signal (lmw, psi, meminfo) and its level
    LMW_OUTCOME          after only: terminated, killed, left-exiting,
                         gone, pid-reused, survived, dry-run
    LMW_SERVICE_CGROUP   after only, when the victim's service went with it
    PATH                 /usr/sbin:/usr/bin:/sbin:/bin

A hook runs as root with oom_score_adj 0 (not the daemon's -1000: a hook
that grows is a process like any other), in a session of its own. At
most MAX_RUNNING hooks run at a time; past that a kill goes without its
hook, and the log says so (a hook that never ends must not pile up one
process per kill).
"""

from __future__ import annotations

import os

from . import log, sig

MAX_RUNNING = 4
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# The hook is the daemon's child: it gets oom_score_adj 0 back before its
# program runs, which receives the arguments as they were given ("$@").
_PROLOGUE = 'echo 0 > /proc/self/oom_score_adj 2>/dev/null; exec "$@"'

_running: set[int] = set()


def environment(event: str, facts: dict[str, object]) -> dict[str, str]:
    """The hook's whole environment: LMW_<FACT> for each fact, and PATH.
    A comm holds any byte but NUL; it is passed on as the kernel has it."""
    env = {"PATH": PATH, "LMW_EVENT": event}
    for name, value in facts.items():
        env[f"LMW_{name.upper()}"] = str(value)
    return env


def ended(pid: int) -> None:
    """A child of the daemon was reaped: if it was a hook, one fewer runs."""
    _running.discard(pid)


def run(argv: tuple[str, ...], event: str, facts: dict[str, object]) -> None:
    """Start ``argv`` with the victim's facts; do not wait for it."""
    if not argv:
        return
    if len(_running) >= MAX_RUNNING:
        log.error("kill hook %s not run: %d hooks still running", event, len(_running))
        return
    try:
        pid = os.posix_spawn("/bin/sh", ["sh", "-c", _PROLOGUE, "sh", *argv],
                             environment(event, facts), setsid=True,
                             setsigdef=(sig.SIGPIPE,))
    except OSError as error:
        log.error("kill hook %s %r: %s", event, argv[0], error.strerror)
        return
    _running.add(pid)
