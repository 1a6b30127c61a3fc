# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""The warning opt-in, /run/lmw/warn.d/<pid>: read as the hostile input it is.

The directory is world-writable (sticky), so every name and every file in
it is some user's. An entry asks the daemon, which is root, to send the
warning signal to one process. It is honoured only where its owner could
have sent that signal themselves, by kill(2)'s rule: the owner is root, or
the process's real or saved uid. And only for the process that was there
when the entry was made: one that started later has merely been given the
PID of a process that is gone. The signal goes through a pidfd opened
before the process is checked, so a PID reused in between is never hit.

Everything else is removed: a name that is not a pid in ASCII digits, an
entry that is not a regular file (a symlink, a directory, a fifo), PID 1
and the daemon itself, an entry whose process is gone or started after it,
an entry for another user's process. At most MAX_ENTRIES are read per
warning, so no number of entries makes the warning phase long, and no name
or content raises out of signal_opted_in().
"""

from __future__ import annotations

import os
import stat

from . import log, procs, sig
from .procs import PROC

# Entries read per warning: far more processes than a device runs that
# want a warning, few enough that reading them stays in the milliseconds.
MAX_ENTRIES = 256
# A pid has at most 7 digits (pid_max is at most 4194304).
MAX_NAME = 7
# /proc/stat's btime has a resolution of one second, so a process's start
# is known to the second: an entry made up to this long before the start
# still counts as made after it. (The owner check still applies.)
START_SLACK_S = 1.0


def _remove(name: str, dir_fd: int) -> None:
    # not contextlib.suppress: contextlib's imports cost the daemon RSS
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:     # a directory, or gone already: left alone
        return


def _honour(name: str, dir_fd: int, signum: int, *, boot_time: float | None,
            dry_run: bool, proc_root: str) -> str | None:
    """Send ``signum`` for one entry when it is sound; say what was done (None: nothing)."""
    if not (name.isascii() and name.isdigit() and len(name) <= MAX_NAME):
        _remove(name, dir_fd)
        return None
    pid = int(name)
    entry = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISREG(entry.st_mode) or pid <= 1 or pid == os.getpid():
        _remove(name, dir_fd)
        return None
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:                      # gone (ESRCH), or no such pid at all
        _remove(name, dir_fd)
        return None
    try:
        owner = procs.owner_of(pid, proc_root)
        if owner is None:
            _remove(name, dir_fd)
            return None
        real_uid, saved_uid, start_ticks = owner
        if entry.st_uid not in (0, real_uid, saved_uid):
            _remove(name, dir_fd)
            return f"refused an opt-in of uid {entry.st_uid} for pid {pid} of uid {real_uid}"
        started = None if boot_time is None else boot_time + start_ticks / procs.CLOCK_TICKS
        # st_ctime, not st_mtime: the owner can set the latter to any time
        if started is not None and entry.st_ctime + START_SLACK_S < started:
            _remove(name, dir_fd)
            return None
        if not dry_run:
            sig.pidfd_send_signal(pidfd, signum)
        return f"{sig.name(signum)} to {pid}"
    finally:
        os.close(pidfd)


def signal_opted_in(optin_dir: str, signum: int, *, dry_run: bool = False,
                    proc_root: str = PROC) -> list[str]:
    """Send ``signum`` to each process soundly opted in to warnings; what was done."""
    try:
        dir_fd = os.open(optin_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    actions: list[str] = []
    try:
        boot_time = procs.boot_time(proc_root)
        with os.scandir(dir_fd) as entries:
            for count, entry in enumerate(entries):
                if count == MAX_ENTRIES:
                    actions.append(f"stopped at {MAX_ENTRIES} opt-in entries")
                    break
                try:
                    done = _honour(entry.name, dir_fd, signum, boot_time=boot_time,
                                   dry_run=dry_run, proc_root=proc_root)
                except (OSError, ValueError) as error:
                    log.warning("opt-in entry %r: %s", entry.name, error)
                    continue
                if done is not None:
                    actions.append(done)
    except OSError as error:
        log.warning("%s: %s", optin_dir, error.strerror)
    finally:
        os.close(dir_fd)
    return actions
