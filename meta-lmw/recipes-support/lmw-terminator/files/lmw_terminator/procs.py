# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""The process table, read from /proc (or a fake tree in tests).

A process is identified by (pid, start time): a PID alone can be reused
between the moment a victim is chosen and the moment it is signalled.
"""

from __future__ import annotations

import _thread  # threading's imports would cost RSS for one reader thread
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator
    from typing import ClassVar

PF_KTHREAD = 0x00200000   # include/linux/sched.h
PROC = "/proc"
# the unit of a process's start time in /proc/PID/stat
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# How much of a command line is read: its arguments are the user's to make
# as long as ARG_MAX allows (megabytes), and every process is read at each
# choice. Rules see this much (regular expressions match in the first 4 KiB).
CMDLINE_MAX = 4096


class Family:
    """A process's family as it is ranked: itself and the direct children
    of its own real uid that may be chosen (policy.family_of has the rule).
    ``committed_kb`` is the whole family's, ``members`` counts the process
    too; ``members`` is 0 when only the sum is known (lmw.ko's candidates)."""

    __slots__ = ("committed_kb", "members")

    def __init__(self, committed_kb: int, members: int = 0) -> None:
        self.committed_kb, self.members = committed_kb, members


class Proc:
    """One process as the policy sees it.

    Every process is read from two small files: stat (comm, flags, start
    time, virtual size) and oom_score_adj; a kernel thread is known from
    stat alone. That is enough to rule a process out, or to bound its
    committed score from above (what it has committed is part of its
    virtual size), so that the choice reads more only of the processes
    that could win. The rest is read the first time it is asked for:
    status (uids, VmRSS, VmData, VmStk) in one read, and cmdline, exe,
    cgroup and oom_score one file each. The choice is made right after the
    signal, and under pressure each file read costs (a scan of every
    process reading seven files each was most of the daemon's reaction
    time). A field read late from a process that is gone reads empty (0
    for numbers), and ``gone`` says so.

    A process whose main thread has exited shows no memory in its own
    files (stat's vsize 0, no VmData in status, an empty cmdline), while
    its other threads run on with all of it: its memory is read from one
    of those threads (``thread``), as the kernel's OOM killer does. Were
    it not, a process could hide any amount from the choice by ending its
    main thread. A zombie (every thread gone, not yet reaped) has nothing
    to free: it is never chosen, whatever its oom_score_adj says; a kill
    would end at once, free nothing, and choose it again.
    """

    __slots__ = ("_cgroup", "_cmdline", "_committed_kb", "_dir", "_exe", "_oom_score", "_rss_kb",
                 "_uid", "comm", "family", "kernel_thread", "oom_score_adj", "pid", "ppid",
                 "start_time", "vsize_kb", "zombie")

    def __init__(self, *, pid: int, start_time: int, comm: str, oom_score_adj: int,
                 kernel_thread: bool, uid: int | None = None, rss_kb: int | None = None,
                 committed_kb: int | None = None, vsize_kb: int | None = None,
                 cmdline: str | None = None, exe: str | None = None, cgroup: str | None = None,
                 oom_score: int | None = None, root: str = PROC, thread: int | None = None,
                 zombie: bool = False, ppid: int = 0, family: Family | None = None) -> None:
        self.pid = pid
        self.ppid = ppid                # stat field 4; 0: not known
        # what it is ranked by, with its children, when they count (policy.py)
        self.family = family
        self.start_time = start_time    # clock ticks after boot: stat field 22
        self.comm = comm
        self.oom_score_adj = oom_score_adj
        self.kernel_thread = kernel_thread
        self.zombie = zombie
        # where the lazy fields are read from: the process's own directory,
        # or that of a thread of its that runs on after the main one exited
        self._dir = f"{root}/{pid}" if thread is None else f"{root}/{pid}/task/{thread}"
        self._uid, self._rss_kb, self._committed_kb = uid, rss_kb, committed_kb
        # every mapping, reserved or not (stat field 23): never less than
        # what is committed; unknown (None) counts as no bound at all
        self.vsize_kb = vsize_kb
        self._cmdline, self._exe, self._cgroup = cmdline, exe, cgroup
        self._oom_score = oom_score

    def _status(self) -> tuple[int, int, int]:
        """(uid, rss_kb, committed_kb), from status the first time one of
        them is asked for that was not given to the constructor; what was
        given stays. A process gone reads -1, 0, 0."""
        if self._uid is None or self._rss_kb is None or self._committed_kb is None:
            status = read_bytes(f"{self._dir}/status")
            read = (-1, 0, 0)
            if status is not None:
                try:
                    rss_kb, data_kb, stack_kb = (int((_status_words(status, key) or [b"0"])[0])
                                                 for key in (b"VmRSS", b"VmData", b"VmStk"))
                    read = (int(_status_words(status, b"Uid")[0]), rss_kb, data_kb + stack_kb)
                except (ValueError, IndexError):
                    pass
            self._uid = read[0] if self._uid is None else self._uid
            self._rss_kb = read[1] if self._rss_kb is None else self._rss_kb
            self._committed_kb = read[2] if self._committed_kb is None else self._committed_kb
        return self._uid, self._rss_kb, self._committed_kb

    @property
    def uid(self) -> int:
        """The real uid; -1 when the process is gone."""
        return self._status()[0] if self._uid is None else self._uid

    @property
    def gone(self) -> bool:
        """True when the process ended before its status was read."""
        return self.uid < 0

    @property
    def rss_kb(self) -> int:
        return self._status()[1] if self._rss_kb is None else self._rss_kb

    @property
    def committed_kb(self) -> int:
        """Private writable memory, touched or not (VmData + VmStk): what it
        has committed, but for shared memory, which outlives it. Given (a
        process from lmw.ko's candidates), it reads no file: every look
        at the candidates asks each of them (policy.Look), and a read of
        status each cost that look 4 ms of the reaction's 9 (p50, the
        bench's guest) when only the few that could win need theirs."""
        return self._status()[2] if self._committed_kb is None else self._committed_kb

    @property
    def cmdline(self) -> str:
        """Arguments joined by spaces, the first CMDLINE_MAX bytes; "" for kernel threads."""
        if self._cmdline is None:
            text = read_bytes(f"{self._dir}/cmdline", CMDLINE_MAX)
            self._cmdline = "" if text is None else \
                text.replace(b"\0", b" ").decode(errors="replace").strip()
        return self._cmdline

    @property
    def exe(self) -> str:
        """The path of the file it runs; "" when unreadable."""
        if self._exe is None:
            try:
                self._exe = os.readlink(f"{self._dir}/exe")
            except OSError:
                self._exe = ""
        return self._exe

    @property
    def cgroup(self) -> str:
        """The cgroup v2 path, e.g. /system.slice/foo.service."""
        if self._cgroup is None:
            text = read_bytes(f"{self._dir}/cgroup") or b""
            self._cgroup = next((line[3:].decode(errors="replace") for line in text.splitlines()
                                 if line.startswith(b"0::")), "")
        return self._cgroup

    @property
    def oom_score(self) -> int:
        """The kernel's own badness, oom_score_adj included."""
        if self._oom_score is None:
            self._oom_score = _read_int(f"{self._dir}/oom_score") or 0
        return self._oom_score


# One read takes a whole stat, status or oom_score_adj file (status is about
# 1.5 KiB, and the fields read here come in its first half).
READ_MAX = 16384


def read_bytes(path: str, limit: int = READ_MAX, *, whole: bool = False) -> bytes | None:
    """The first ``limit`` bytes of a /proc file (``whole``: all of it, read
    ``limit`` bytes at a time), or None when the process is gone.

    os.open and one os.read: three system calls, where open() and read()
    of a text file take six and a decoder (under emulation, or with a
    loaded CPU, each call counts)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    try:
        text = os.read(fd, limit)
        if not whole:
            return text
        chunks = [text]
        while chunks[-1]:
            chunks.append(os.read(fd, limit))
        return b"".join(chunks)
    except ProcessLookupError:
        return None     # the process ended between the open and the read
    finally:
        os.close(fd)


# The files read again and again on the reaction's path (lmw.ko's
# attributes, /proc/meminfo, PSI's totals) are kernel-made text that a
# read at offset 0 makes afresh (seq_file starts over there). So each is
# opened once and kept, and read with one pread: one system call and no
# walk of its path, where an open, a read and a close take three. In the
# bench's guest: 9 µs against 111 µs for an lmw.ko attribute, 45 against
# 142 µs for meminfo, and nine such reads come before each SIGTERM.
_held: dict[str, int] = {}


def read_held(path: str, limit: int) -> bytes:
    """The first ``limit`` bytes of the kernel-made file at ``path``, read
    through a descriptor kept open from the first read on. An OSError is
    the open's: a file that fails its read (a removed module's attribute
    reads ENODEV) is opened again, for its path may be another's by now
    (the module loaded again)."""
    fd = _held.pop(path, None)
    if fd is not None:
        try:
            text = os.pread(fd, limit, 0)
        except OSError:
            os.close(fd)
        else:
            _held[path] = fd
            return text
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        text = os.pread(fd, limit, 0)
    except BaseException:
        os.close(fd)
        raise
    _held[path] = fd
    return text


def _read_int(path: str) -> int | None:
    text = read_bytes(path)
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        return stream.read()


def _status_fields(text: str) -> dict[str, list[str]]:
    """/proc/PID/status as key -> its words ("Uid" -> real, effective, saved, fs)."""
    return {key: value.split() for key, _, value in
            (line.partition(":") for line in text.splitlines())}


def _status_words(status: bytes, key: bytes) -> list[bytes]:
    """The words of one /proc/PID/status line ("Uid" -> real, effective, saved,
    fs); [] when absent (VmRSS of a kernel thread or a zombie). Name: is the
    first line, so every key read here follows a newline."""
    at = status.find(b"\n" + key + b":")
    if at < 0:
        return []
    end = status.find(b"\n", at + 1)
    return status[at + len(key) + 2:end if end >= 0 else None].split()


# stat's state (field 3) of a task that has exited: a zombie, or dead
EXITED_STATES = (b"Z", b"X")


def _stat_fields(stat: bytes) -> list[bytes]:
    """The fields after comm, from stat field 3 (state) on: flags is field
    9, starttime 22, vsize (bytes) 23. comm is the user's to choose and
    may hold spaces and parentheses: it ends at the last ')'."""
    return stat[stat.rindex(b")") + 2:].split()


def _living_thread(base: str, pid: int) -> tuple[int, int] | None:
    """(tid, vsize) of a thread that runs on in a process whose main thread
    has exited, or None: the process is a zombie. The first such thread
    will do (they share their memory), and the listing is read no further
    than to it: a user may start thousands of threads."""
    try:
        with os.scandir(f"{base}/task") as entries:
            for entry in entries:
                if not entry.name.isdigit() or int(entry.name) == pid:
                    continue
                stat = read_bytes(f"{base}/task/{entry.name}/stat")
                try:
                    fields = [] if stat is None else _stat_fields(stat)
                    if fields and fields[0] not in EXITED_STATES and int(fields[20]):
                        return int(entry.name), int(fields[20])
                except (ValueError, IndexError):
                    continue
    except OSError:
        pass    # the process is gone
    return None


def read_proc(pid: int, root: str = PROC) -> Proc | None:
    """One process, or None if it is gone (or vanishes while being read)."""
    base = f"{root}/{pid}"
    stat = read_bytes(f"{base}/stat")
    if stat is None:
        return None
    try:
        comm_bytes = stat[stat.index(b"(") + 1:stat.rindex(b")")]
        fields = _stat_fields(stat)
        state, ppid, flags = fields[0], int(fields[1]), int(fields[6])
        start_time, vsize = int(fields[19]), int(fields[20])
    except (ValueError, IndexError):
        return None
    comm = comm_bytes.decode(errors="replace")
    if flags & PF_KTHREAD:
        # no memory, no user: nothing more to read (and never a victim)
        return Proc(pid=pid, start_time=start_time, comm=comm, uid=0, oom_score_adj=0,
                    rss_kb=0, committed_kb=0, vsize_kb=0, kernel_thread=True, cmdline="",
                    exe="", cgroup="", oom_score=0, root=root, ppid=ppid)
    oom_score_adj = _read_int(f"{base}/oom_score_adj")
    if oom_score_adj is None:
        return None
    thread = None
    if state in EXITED_STATES:
        living = _living_thread(base, pid)
        if living is None:
            # nothing to free (the Proc docstring): never a victim
            return Proc(pid=pid, start_time=start_time, comm=comm, oom_score_adj=oom_score_adj,
                        rss_kb=0, committed_kb=0, vsize_kb=0, kernel_thread=False,
                        cmdline="", exe="", cgroup="", oom_score=0, root=root, zombie=True,
                        ppid=ppid)
        thread, vsize = living
    return Proc(pid=pid, start_time=start_time, comm=comm, oom_score_adj=oom_score_adj,
                kernel_thread=False, vsize_kb=vsize // 1024, root=root, thread=thread, ppid=ppid)


def _pids(root: str) -> Iterator[int]:
    """Every PID in ``root`` (/proc's numbered entries)."""
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.isascii() and entry.name.isdigit():
                yield int(entry.name)


def each(root: str = PROC) -> Iterator[Proc]:
    """Every process, one at a time, as stat and oom_score_adj show it."""
    for pid in _pids(root):
        proc = read_proc(pid, root)
        if proc is not None:
            yield proc


def read_all(root: str = PROC) -> list[Proc]:
    return list(each(root))


class Candidates:
    """lmw.ko's candidates: the processes with the highest committed
    scores, as Procs, and ``rest``, the highest score among the processes
    it did not list (None: it left none out)."""

    __slots__ = ("procs", "rest")

    def __init__(self, procs: list[Proc], rest: int | None) -> None:
        self.procs, self.rest = procs, rest


def parse_candidates(text: bytes | None, root: str = PROC) -> Candidates | None:
    """lmw.ko's candidates file: "PID START_TIME COMMITTED_KB OOM_SCORE_ADJ
    COMM_HEX FAMILY_KB" a line ("-" for an empty comm), then "rest SCORE"
    or "rest none". A module before families wrote no FAMILY_KB, and its
    hex of an empty comm was no word at all: four or five words are read
    as from such a module. None when there is no such file or it does not
    read as one: then every process is read. The list has what the choice
    compares (what it is ranked by is exact, so it is its own ceiling; a
    FAMILY_KB above COMMITTED_KB is the family's, ranked in its place); the rest is
    read as for any process, when asked."""
    if text is None:
        return None
    listed: list[Proc] = []
    try:
        *lines, last = text.decode("ascii").splitlines()
        word, rest = last.split()
        if word != "rest":
            return None
        for line in lines:
            # each figure converted once: this is on the reaction's path
            words = line.split()
            count = len(words)
            if not 4 <= count <= 6:
                return None
            committed_kb = int(words[2])
            family_kb = int(words[5]) if count == 6 else committed_kb
            comm_hex = words[4] if count >= 5 and words[4] != "-" else ""
            listed.append(Proc(pid=int(words[0]), start_time=int(words[1]),
                               comm=bytes.fromhex(comm_hex).decode(errors="replace"),
                               oom_score_adj=int(words[3]), kernel_thread=False,
                               # the ceiling (policy.py): what it is ranked by
                               committed_kb=committed_kb,
                               vsize_kb=max(family_kb, committed_kb),
                               root=root, family=Family(family_kb)
                               if family_kb > committed_kb else None))
        return Candidates(listed, None if rest == "none" else int(rest))
    except ValueError:
        return None


# The children of a victim's family are read from its threads' children
# files (CONFIG_PROC_CHILDREN): one file a thread, where a search of every
# process's stat reads two files a process (under a fork storm, hundreds
# of processes and most of the daemon's time). A process with more threads
# than this is searched for the other way: a thread is anyone's to make,
# and each would cost the daemon a file.
CHILDREN_THREADS_MAX = 64
# How often the files are read for one list. The kernel's list of a
# thread's children is exact while its process is stopped, except that a
# child that exits while the file is read, and is reaped at once (a
# parent that ignores SIGCHLD), may hide a sibling that was not printed
# yet. Such a child was printed and is gone by the next read: two reads
# in a row that agree had no child hidden. Children that keep exiting may
# keep the reads from agreeing; then every process is searched.
CHILDREN_READS_MAX = 8


def _children_listed(task_dir: str, threads: list[str]) -> list[int] | None:
    """The PIDs the children files of ``threads`` list, sorted; None when
    one cannot be read (no such file, or a thread gone)."""
    found: list[int] = []
    for tid in threads:
        try:
            listed = read_bytes(f"{task_dir}/{tid}/children", whole=True)
            if listed is None:
                return None
            found += [int(word) for word in listed.split()]
        except (OSError, ValueError):
            return None
    return sorted(found)


def _children_read(task_dir: str) -> list[int] | None:
    """The children files' list, read until two reads agree; None when
    they cannot say (CHILDREN_THREADS_MAX, CHILDREN_READS_MAX, no files)."""
    try:
        threads = os.listdir(task_dir)
    except OSError:
        return None
    if len(threads) > CHILDREN_THREADS_MAX:
        return None
    last = _children_listed(task_dir, threads)
    for _ in range(CHILDREN_READS_MAX - 1):
        if last is None:
            return None
        again = _children_listed(task_dir, threads)
        if again == last:
            return again
        last = again
    return None


def _children_searched(pid: int, root: str) -> list[int]:
    """The processes whose stat names ``pid`` as their parent."""
    found = []
    for other in _pids(root):
        stat = read_bytes(f"{root}/{other}/stat")
        try:
            if stat is not None and int(_stat_fields(stat)[1]) == pid:
                found.append(other)
        except (ValueError, IndexError):
            continue
    return found


def children_of(pid: int, root: str = PROC) -> list[int]:
    """The PIDs of ``pid``'s direct children: from its threads' children
    files (a child is listed by the thread that forked it), or, where those
    cannot say (no such files without CONFIG_PROC_CHILDREN, more than
    CHILDREN_THREADS_MAX threads, reads that never agreed), from a search
    of every process's stat. Exact only while ``pid`` is stopped (it forks
    no more): the caller stops it first. What the caller does with a PID
    is checked again after its pidfd is open (killer._pin_children)."""
    listed = _children_read(f"{root}/{pid}/task")
    return listed if listed is not None else _children_searched(pid, root)


def read_with_children(pids: Iterable[int], known: Collection[int],
                       root: str = PROC) -> list[Proc]:
    """Each of ``pids`` that still runs, with its direct children that are
    not ``known``: what a scan of every process would have read of them and
    of their families (policy.choose ranks a family from the children it
    is given), in a few reads."""
    read: list[Proc] = []
    seen = set(known)
    for pid in sorted(set(pids) - seen):
        proc = read_proc(pid, root)
        if proc is None:
            continue
        read.append(proc)
        seen.add(pid)
        for child_pid in children_of(pid, root):
            if child_pid in seen:
                continue
            child = read_proc(child_pid, root)
            if child is not None and child.ppid == pid:
                read.append(child)
                seen.add(child_pid)
    return read


def start_time_of(pid: int, root: str = PROC) -> int | None:
    """The start time of ``pid`` (stat field 22), or None if it is gone."""
    stat = read_bytes(f"{root}/{pid}/stat")
    try:
        return None if stat is None else int(_stat_fields(stat)[19])
    except (ValueError, IndexError):
        return None


def state_of(pid: int, root: str = PROC) -> bytes | None:
    """The state letter of ``pid`` (stat field 3: b"R", b"S", b"T", ...),
    or None if it is gone."""
    stat = read_bytes(f"{root}/{pid}/stat")
    try:
        return None if stat is None else _stat_fields(stat)[0][:1]
    except (ValueError, IndexError):
        return None


def tracer_of(pid: int, root: str = PROC) -> int | None:
    """The pid of the process that traces ``pid`` (status's TracerPid; 0:
    none), or None if it is gone."""
    status = read_bytes(f"{root}/{pid}/status")
    words = [] if status is None else _status_words(status, b"TracerPid")
    try:
        return int(words[0]) if words else None
    except ValueError:
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


# /proc/meminfo is about 1.5 KB: one read takes it whole
MEMINFO_MAX = 16384
# What the daemon goes by, of meminfo's fifty-odd lines: only these are
# parsed (a loop over every line took 0.25 ms of each read in the bench's
# guest, on the reaction's path)
MEMINFO_KEYS = ("MemTotal", "MemAvailable", "Committed_AS")
_MEMINFO_LINES = tuple((key, b"\n" + key.encode() + b":") for key in MEMINFO_KEYS)


def meminfo(root: str = PROC) -> dict[str, int]:
    """MEMINFO_KEYS from /proc/meminfo, in kB; a key the file lacks is
    left out. It is read on the reaction's path, so through read_held: no
    text file, one pread (the profile of a reaction in the guest found
    open() and a decoder at 2 ms, many times this)."""
    text = b"\n" + read_held(f"{root}/meminfo", MEMINFO_MAX)
    figures = {}
    for key, line in _MEMINFO_LINES:
        start = text.find(line) + len(line)
        if start >= len(line):
            end = text.find(b"\n", start)
            figures[key] = int(text[start:end if end >= 0 else None].split()[0])
    return figures


# A read of /proc/PID/cmdline goes through the process's own memory
# (access_remote_vm), not a record the kernel keeps: it waits for the
# process's mmap_lock, and for each page of its argument area that is not
# in memory. A process can back that area with a file that its own FUSE
# server (unprivileged, in a user namespace) never answers for: the read
# then waits as long as that server lives. A kill's command line is for
# the log only, so it is read on a thread of its own, which the kill never
# waits for. At most ASIDE_READS_MAX such reads wait at once: a victim
# that stalls one gets its kill all the same, and a run of them cannot
# pile up threads.
ASIDE_READS_MAX = 4
# A reader's stack: the read needs little, and a stalled one keeps it.
ASIDE_STACK = 256 * 1024
# An empty read: the process had left its memory by then. A victim quick
# to exit after its SIGTERM; or one chosen again while a tracer holds it
# on its way out (killer.py), which has no memory to read from.
CMDLINE_GONE = "unread (it had exited, or was on its way out)"


class CmdlineAside:
    """``proc``'s command line, read on a thread of its own from the moment
    this is made (see above); ``shown()`` waits a bounded time for it."""

    # reads started and not yet seen to end (kept by the caller's thread)
    _started: ClassVar[list[CmdlineAside]] = []

    __slots__ = ("_done", "_error", "_not_started", "_proc", "_text")

    def __init__(self, proc: Proc) -> None:
        self._proc = proc
        self._text = ""
        self._error: str | None = None          # why the read failed
        self._not_started: str | None = None    # why there is no read
        self._done = _thread.allocate_lock()    # held until the read returns
        self._done.acquire()
        waiting = [read for read in CmdlineAside._started if read.waiting]
        CmdlineAside._started = waiting
        if len(waiting) >= ASIDE_READS_MAX:
            self._not_started = f"{len(waiting)} reads of earlier victims still wait"
            return
        old = _thread.stack_size(ASIDE_STACK)
        try:
            _thread.start_new_thread(self._read, ())
        except RuntimeError as error:
            self._not_started = f"no thread: {error}"
            return
        finally:
            _thread.stack_size(old)
        waiting.append(self)

    @property
    def waiting(self) -> bool:
        """The read has started and not returned."""
        return self._not_started is None and self._done.locked()

    def _read(self) -> None:
        try:
            self._text = self._proc.cmdline
        except OSError as error:
            self._error = error.strerror or str(error)
        except MemoryError:
            self._error = "no memory"
        finally:
            self._done.release()

    def shown(self, wait_s: float) -> str:
        """As a kill's line shows it: quoted (the first 200 characters), or
        why it is not there; waits at most ``wait_s`` for the read."""
        if self._not_started is not None:
            return f"unread ({self._not_started})"
        if not self._done.acquire(timeout=wait_s):
            return f"unread (no answer in {wait_s:g} s)"
        self._done.release()
        if self._error is not None:
            return f"unread ({self._error})"
        return repr(self._text[:200]) if self._text else CMDLINE_GONE
