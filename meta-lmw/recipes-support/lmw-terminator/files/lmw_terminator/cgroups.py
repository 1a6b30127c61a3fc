# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Whole-service kills: a victim in a service's cgroup takes the cgroup with it.

A service that forks workers leaves them behind when its main process is
killed, and a worker that is killed is forked again. With [kill]
service_cgroup = true, once a victim whose cgroup is a service's has
ended (SIGTERM, the grace, SIGKILL, as for any victim), everything left
in that cgroup is killed at once through cgroup.kill (cgroup v2, Linux
5.14+): SIGKILL to every process in it, including those forked while it
is being done.

Which cgroup counts as a service's: the victim's own (read while its
pidfd pins it), whose name ends in ".service". The policy chose the
victim; the cgroup only adds the processes that run in its name. Who can
put a process there decides what the option may hit: a system service's
cgroup is root's (systemd's) to fill; a user's services live in the
subtree delegated to that user (user@UID.service), where the user can
move only processes that are their own to kill anyway.

Never killed whole, whatever it is named (the victim is then killed
alone, and the log says why):
- the root cgroup, and the terminator's own cgroup or one above it (its
  warn commands and hooks run in it);
- a cgroup that holds a process the policy spares: PID 1, oom_score_adj
  -1000 (root set it, so root meant it), or one a protect rule matches.
"""

from __future__ import annotations

import errno
import os

from . import policy, procs
from .config import Config
from .procs import PROC

CGROUP_ROOT = "/sys/fs/cgroup"
SERVICE_SUFFIX = ".service"


def own_cgroup(proc_root: str = PROC) -> str:
    """The cgroup v2 path of this process ("/" when none is known)."""
    text = procs.read_bytes(f"{proc_root}/self/cgroup") or b""
    for line in text.splitlines():
        if line.startswith(b"0::"):
            return line[3:].decode(errors="replace") or "/"
    return "/"


def unavailable(root: str = CGROUP_ROOT, proc_root: str = PROC) -> str | None:
    """Why whole-service kills cannot be made on this system, or None."""
    if not os.path.exists(f"{root}/cgroup.controllers"):
        return f"no cgroup v2 hierarchy at {root}"
    own = own_cgroup(proc_root)
    # the root cgroup has no cgroup.kill of its own: ask a child of it
    probe = f"{root}{own}" if own != "/" else next(
        (entry.path for entry in os.scandir(root) if entry.is_dir()), root)
    if not os.path.exists(f"{probe}/cgroup.kill"):
        return "this kernel has no cgroup.kill (Linux 5.14 and later have)"
    if not os.access(f"{probe}/cgroup.kill", os.W_OK):
        return (f"{root} is read-only to the terminator (a unit with "
                "ProtectControlGroups=yes?)")
    return None


def is_service(path: str) -> bool:
    """Whether ``path`` (a cgroup v2 path) is a service's cgroup by its name."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.endswith(SERVICE_SUFFIX) and len(name) > len(SERVICE_SUFFIX)


def members(path: str, root: str = CGROUP_ROOT) -> list[int] | None:
    """The PIDs in the cgroup at ``path``; None when it is gone."""
    text = procs.read_bytes(f"{root}{path}/cgroup.procs", limit=1 << 20)
    if text is None:
        return None
    return [int(word) for word in text.split() if word.isdigit()]


def refusal(path: str, config: Config, own: str, *, root: str = CGROUP_ROOT,
            proc_root: str = PROC) -> str | None:
    """Why the service cgroup at ``path`` must not be killed whole, or None."""
    if path in ("", "/"):
        return "the root cgroup"
    if own == path or own.startswith(path.rstrip("/") + "/"):
        return "the terminator's own cgroup"
    pids = members(path, root)
    if pids is None:
        return "gone"
    for pid in pids:
        proc = procs.read_proc(pid, proc_root)
        if proc is None or proc.zombie:
            continue
        why = policy.spared(proc, config)
        if why is not None:
            return f"it holds {proc.comm}[{pid}], which is never killed ({why})"
    return None


def kill(path: str, root: str = CGROUP_ROOT) -> int:
    """SIGKILL everything in the cgroup at ``path`` (cgroup.kill); how many
    processes it held just before. OSError when the kernel refuses."""
    before = members(path, root)
    if before is None:
        return 0
    try:
        fd = os.open(f"{root}{path}/cgroup.kill", os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        # removed since (every process gone): nothing left to kill
        if os.path.isdir(f"{root}{path}"):
            raise OSError(errno.ENOTSUP, "no cgroup.kill (Linux 5.14 and later have)") \
                from None
        return 0
    try:
        os.write(fd, b"1")
    finally:
        os.close(fd)
    return len(before)
