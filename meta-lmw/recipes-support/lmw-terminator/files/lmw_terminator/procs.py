# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""The process table, read from /proc (or a fake tree in tests).

A process is identified by (pid, start time): a PID alone can be reused
between the moment a victim is chosen and the moment it is signalled.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

PF_KTHREAD = 0x00200000   # include/linux/sched.h
PROC = "/proc"
# the unit of a process's start time in /proc/PID/stat
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# How much of a command line is read: its arguments are the user's to make
# as long as ARG_MAX allows (megabytes), and every process is read at each
# choice. Rules see this much (regular expressions match in the first 4 KiB).
CMDLINE_MAX = 4096


class Proc:
    __slots__ = ("cgroup", "cmdline", "comm", "committed_kb", "exe", "kernel_thread",
                 "oom_score", "oom_score_adj", "pid", "rss_kb", "start_time", "uid")

    def __init__(self, *, pid: int, start_time: int, comm: str, cmdline: str, exe: str, uid: int,
                 cgroup: str, oom_score: int, oom_score_adj: int, rss_kb: int,
                 kernel_thread: bool, committed_kb: int = 0) -> None:
        self.pid = pid
        self.start_time = start_time    # clock ticks after boot: stat field 22
        self.comm = comm
        self.cmdline = cmdline          # arguments joined by spaces; "" for kernel threads
        self.exe = exe                  # "" when unreadable
        self.uid = uid                  # real uid
        self.cgroup = cgroup            # cgroup v2 path, e.g. /system.slice/foo.service
        self.oom_score = oom_score      # includes oom_score_adj
        self.oom_score_adj = oom_score_adj
        self.rss_kb = rss_kb
        # private writable memory, touched or not (VmData + VmStk): what it
        # has committed, but for shared memory, which outlives it
        self.committed_kb = committed_kb
        self.kernel_thread = kernel_thread


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        return stream.read()


def _stat_fields(text: str) -> tuple[str, list[str]]:
    """(comm, fields after comm) of /proc/PID/stat; comm may hold spaces and ')'."""
    open_paren, close_paren = text.index("("), text.rindex(")")
    return text[open_paren + 1:close_paren], text[close_paren + 2:].split()


def _status_fields(text: str) -> dict[str, list[str]]:
    """/proc/PID/status as key -> its words ("Uid" -> real, effective, saved, fs)."""
    return {key: value.split() for key, _, value in
            (line.partition(":") for line in text.splitlines())}


def read_proc(pid: int, root: str = PROC) -> Proc | None:
    """One process, or None if it is gone (or vanishes while being read)."""
    base = f"{root}/{pid}"
    try:
        comm, fields = _stat_fields(_read(f"{base}/stat"))
        status = _read(f"{base}/status")
        with open(f"{base}/cmdline", "rb") as stream:
            cmdline = stream.read(CMDLINE_MAX).replace(b"\0", b" ").decode(
                errors="replace").strip()
        oom_score = int(_read(f"{base}/oom_score"))
        oom_score_adj = int(_read(f"{base}/oom_score_adj"))
        cgroup_text = _read(f"{base}/cgroup")
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None
    try:
        exe = os.readlink(f"{base}/exe")
    except OSError:
        exe = ""
    status_fields = _status_fields(status)
    uid = int(status_fields.get("Uid", ["0"])[0])
    rss_kb = int(status_fields.get("VmRSS", ["0"])[0])    # none for kernel threads
    committed_kb = sum(int(status_fields.get(key, ["0"])[0]) for key in ("VmData", "VmStk"))
    cgroup = ""
    for line in cgroup_text.splitlines():
        if line.startswith("0::"):
            cgroup = line[3:]
    # fields after comm start at stat field 3 (state): flags is field 9, starttime 22
    flags, start_time = int(fields[6]), int(fields[19])
    return Proc(pid=pid, start_time=start_time, comm=comm, cmdline=cmdline, exe=exe, uid=uid,
                cgroup=cgroup, oom_score=oom_score, oom_score_adj=oom_score_adj, rss_kb=rss_kb,
                kernel_thread=bool(flags & PF_KTHREAD), committed_kb=committed_kb)


def each(root: str = PROC) -> Iterator[Proc]:
    """Every process, one at a time: a choice among thousands keeps one in memory."""
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.isascii() and entry.name.isdigit():
                proc = read_proc(int(entry.name), root)
                if proc is not None:
                    yield proc


def read_all(root: str = PROC) -> list[Proc]:
    return list(each(root))


def start_time_of(pid: int, root: str = PROC) -> int | None:
    try:
        return int(_stat_fields(_read(f"{root}/{pid}/stat"))[1][19])
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None


def owner_of(pid: int, root: str = PROC) -> tuple[int, int, int] | None:
    """(real uid, saved uid, start time) of a process, or None if it is gone:
    who may signal it (kill(2)'s rule), and which process it is."""
    try:
        uids = _status_fields(_read(f"{root}/{pid}/status"))["Uid"]
        start_time = start_time_of(pid, root)
        return None if start_time is None else (int(uids[0]), int(uids[2]), start_time)
    except (FileNotFoundError, ProcessLookupError, KeyError, ValueError, IndexError):
        return None


def boot_time(root: str = PROC) -> float | None:
    """When the system booted, in seconds of the wall clock (/proc/stat's btime)."""
    try:
        return float(next(line.split()[1] for line in _read(f"{root}/stat").splitlines()
                          if line.startswith("btime ")))
    except (OSError, StopIteration, ValueError, IndexError):
        return None


def meminfo(root: str = PROC) -> dict[str, int]:
    """/proc/meminfo in kB."""
    figures = {}
    for line in _read(f"{root}/meminfo").splitlines():
        key, _, value = line.partition(":")
        figures[key] = int(value.split()[0])
    return figures
