# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Where the low-memory signal comes from: lmw.ko, else a PSI trigger, else MemAvailable.

Each source blocks in poll() until memory is low or the timeout passes,
and then tells the current level. While memory is fine, the lmw and PSI
sources sleep with no timeout at all: no wake-ups.

- lmw: POLLPRI on /sys/kernel/lmw/watermark/state (normal/notify/deny).
- psi: a trigger on /proc/pressure/memory ("some" stall of psi_stall_ms per
  psi_window_ms). PSI has no "back to normal" event, so after a trigger the
  level stays low until one window passes without another.
- meminfo: read MemAvailable every meminfo_interval_ms. This is the last
  resort (a locked kernel without PSI), and the only source that polls.
"""

from __future__ import annotations

# _socket, not socket: the same sockets without socket.py's imports
# (selectors, array; 0.3 MiB of the daemon's RSS)
import _socket
import errno
import os
import select
import time

from .config import SourceConfig
from .errors import UserError
from .procs import PROC, meminfo, read_held

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object

LMW_STATE = "/sys/kernel/lmw/watermark/state"
LMW_LAST_DENIED = "/sys/kernel/lmw/watermark/last_denied"   # "PID COMM", root only
LMW_LAST_CROSSED = "/sys/kernel/lmw/watermark/last_crossed"   # the same
LMW_LAST_CROSSED_KB = "/sys/kernel/lmw/watermark/last_crossed_kb"   # what it asked for
LMW_CANDIDATES = "/sys/kernel/lmw/watermark/candidates"   # root only
LMW_DIR = "/sys/kernel/lmw/watermark"
PSI_MEMORY = "/proc/pressure/memory"
NETLINK_KOBJECT_UEVENT = 15     # <linux/netlink.h>; not every Python names it


class Level:
    """Where memory stands, as lmw.ko's state file names it: ints, in order."""

    NORMAL = 0
    NOTIFY = 1
    DENY = 2


LEVEL_NAMES = ("normal", "notify", "deny")    # by Level


class Source(Protocol):
    """What the main loop polls: ``fd`` (None = nothing to poll, sleep instead)
    for ``events``; after each wake-up, ``level()`` says where memory stands."""

    name: str
    fd: int | None
    events: int

    def level(self, woke: bool) -> int:
        """The level now; ``woke`` is True when ``fd`` had an event."""
        ...

    def max_sleep_s(self) -> float | None:
        """How long the loop may sleep before asking again (None: until an event)."""
        ...

    def forget(self) -> None:
        """After a kill: only evidence from now on counts."""
        ...

    def close(self) -> None: ...


def available_percent(proc_root: str = PROC) -> int:
    """MemAvailable as a whole percent of MemTotal."""
    figures = meminfo(proc_root)
    return figures["MemAvailable"] * 100 // max(figures["MemTotal"], 1)


class _FileSource:
    """A source that sleeps on one open kernel file (``fd``)."""

    fd: int | None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def memory_stall_us(path: str = PSI_MEMORY) -> int | None:
    """How long, in all, some task has waited on memory since boot (PSI's
    "some" total, in microseconds), or None: no PSI (a kernel without it,
    or booted with psi=0), or a file that says something else."""
    try:
        text = _read_small(path, 256)
    except OSError:
        return None
    some = text.split(b"\n", 1)[0].split()
    if len(some) != 5 or some[0] != b"some" or not some[4].startswith(b"total="):
        return None
    try:
        return int(some[4][len(b"total="):])
    except ValueError:
        return None


def _read_small(path: str, limit: int = 64) -> bytes:
    """A small kernel-made file (an lmw.ko attribute, PSI's totals), read
    through a descriptor kept open (procs.read_held)."""
    return read_held(path, limit)


class SourceGone(Exception):
    """The source went away under the daemon (lmw.ko unloaded): choose again."""


class LmwSource(_FileSource):
    name = "lmw"
    events = select.POLLPRI | select.POLLERR

    def __init__(self, path: str = LMW_STATE) -> None:
        self.fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.current = self.level(woke=False)   # reading it arms POLLPRI

    def level(self, woke: bool) -> int:
        assert self.fd is not None
        try:
            state = os.pread(self.fd, 32, 0)
        except OSError as error:
            # an open sysfs file of a removed module reads ENODEV
            raise SourceGone(f"lmw.ko was unloaded ({error.strerror})") from None
        self.current = LEVEL_NAMES.index(state.decode().strip())
        return self.current

    def max_sleep_s(self) -> float | None:
        return None     # the module re-checks and signals the way down itself

    @staticmethod
    def last_denied(path: str = LMW_LAST_DENIED) -> tuple[int, str] | None:
        """(pid, comm) of the process lmw.ko refused last, or None."""
        return LmwSource._who(path)

    @staticmethod
    def last_crossed(path: str = LMW_LAST_CROSSED) -> tuple[int, str] | None:
        """(pid, comm) of the process whose commitment last took committed
        memory over lmw.ko's notify or deny line, or None."""
        return LmwSource._who(path)

    @staticmethod
    def last_crossed_kb(path: str = LMW_LAST_CROSSED_KB) -> int | None:
        """What that crossing asked for, in kB, or None ("none", or a module
        before 1.8.0 without the file)."""
        try:
            return int(_read_small(path))
        except (OSError, ValueError):
            return None

    @staticmethod
    def _who(path: str) -> tuple[int, str] | None:
        try:
            # os.open and one read, as procs.read_bytes: this is on the
            # reaction's path, where a text file's open() cost milliseconds
            text = _read_small(path).decode("utf-8", "replace")
            pid, _, comm = text.rstrip("\n").partition(" ")
            return int(pid), comm
        except (OSError, ValueError):
            return None     # "none", or a module without the file

    @staticmethod
    def candidates(path: str = LMW_CANDIDATES) -> bytes | None:
        """lmw.ko's list of the processes with the highest committed scores
        (procs.parse_candidates reads it), or None: a module without it."""
        try:
            return _read_small(path, 16384)
        except OSError:
            return None

    def forget(self) -> None:
        pass            # the module's state is always current

    @staticmethod
    def line_kb(level: int, directory: str = LMW_DIR) -> int | None:
        """The line (kB of committed memory) that ``level`` is past, or None:
        normal, or the figure cannot be read."""
        if level == Level.NORMAL:
            return None
        try:
            name = "deny_kb" if level == Level.DENY else "notify_kb"
            return int(_read_small(f"{directory}/{name}"))
        except (OSError, ValueError):
            return None

    @staticmethod
    def committed_and_notify(directory: str = LMW_DIR) -> tuple[int, int] | None:
        """Committed memory and the notify line (kB) right now, or None when
        they cannot be read. The state lags on the way down (lmw.ko sees
        memory freed only at its next re-check, and lets the state fall
        past a hysteresis): these are the figures themselves."""
        try:
            committed, notify = (int(_read_small(f"{directory}/{name}"))
                                 for name in ("committed_kb", "notify_kb"))
        except (OSError, ValueError):
            return None
        return committed, notify


class PsiSource(_FileSource):
    name = "psi"
    events = select.POLLPRI | select.POLLERR

    def __init__(self, config: SourceConfig, path: str = PSI_MEMORY,
                 proc_root: str = PROC) -> None:
        self.window_s = config.psi_window_ms / 1000
        self.max_available_percent = config.psi_max_available_percent
        self.proc_root = proc_root
        self.fd: int | None = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        trigger = f"some {config.psi_stall_ms * 1000} {config.psi_window_ms * 1000}"
        os.write(self.fd, trigger.encode() + b"\0")
        self.last_event = -1e9
        self.ignore_until = -1e9

    def short_of_memory(self) -> bool:
        """A stall is a shortage only while little is available: stalls with
        memory to spare are I/O, or the page cache refilling after a kill."""
        return available_percent(self.proc_root) < self.max_available_percent

    def level(self, woke: bool) -> int:
        if woke and time.monotonic() >= self.ignore_until and self.short_of_memory():
            self.last_event = time.monotonic()
        low = time.monotonic() - self.last_event < self.window_s
        return Level.NOTIFY if low else Level.NORMAL

    def max_sleep_s(self) -> float | None:
        # while low, look again when a quiet window would end the episode
        remaining = self.window_s - (time.monotonic() - self.last_event)
        return remaining if remaining > 0 else None

    def forget(self) -> None:
        # Stalls go on for a while after a kill, as the page cache refills
        # and the victim's memory is given back: events in the next two
        # windows are that echo, not new pressure; only a trigger after them
        # may justify another victim.
        self.last_event = -1e9
        self.ignore_until = time.monotonic() + 2 * self.window_s


class MeminfoSource:
    name = "meminfo"
    events = 0

    def __init__(self, config: SourceConfig, proc_root: str = PROC) -> None:
        self.fd: int | None = None
        self.interval_s = config.meminfo_interval_ms / 1000
        self.min_percent = config.meminfo_min_available_percent
        self.proc_root = proc_root

    def level(self, woke: bool) -> int:
        low = available_percent(self.proc_root) < self.min_percent
        return Level.NOTIFY if low else Level.NORMAL

    def max_sleep_s(self) -> float | None:
        return self.interval_s

    def forget(self) -> None:
        pass            # each reading is fresh

    def close(self) -> None:
        pass


# A classic BPF program (<linux/filter.h>) on a socket: the kernel runs it
# on each message before it is queued, and drops those it returns 0 for.
_BPF_LD_W_ABS, _BPF_LD_H_ABS, _BPF_LD_B_ABS = 0x20, 0x28, 0x30   # the bytes at k, big-endian
_BPF_JEQ_K = 0x15       # if A == k: jump jt, else jf (counted from the next one)
_BPF_RET_K = 0x06
_SO_ATTACH_FILTER = 26      # asm-generic, so every arch the layer builds


def header_filter(headers: tuple[bytes, ...]) -> list[tuple[int, int, int, int]]:
    """A classic BPF program (code, jt, jf, k each) that keeps the messages
    that begin with one of ``headers`` and drops every other: each header
    compared 4, then 2, then 1 byte at a time; a message too short for a
    load is dropped by the kernel itself."""
    blocks: list[list[tuple[int, int, int]]] = []
    for header in headers:
        block: list[tuple[int, int, int]] = []
        offset = 0
        while offset < len(header):
            # the widest load the rest fills: 4 bytes, then 2, then 1
            size = min(4, 1 << (len(header) - offset).bit_length() - 1)
            code = {4: _BPF_LD_W_ABS, 2: _BPF_LD_H_ABS, 1: _BPF_LD_B_ABS}[size]
            block.append((code, offset, int.from_bytes(header[offset:offset + size], "big")))
            offset += size
        blocks.append(block)
    keep = sum(2 * len(block) for block in blocks)      # then drop, one after
    program: list[tuple[int, int, int, int]] = []
    for number, block in enumerate(blocks):
        miss = len(program) + 2 * len(block) if number + 1 < len(blocks) else keep + 1
        for index, (code, offset, value) in enumerate(block):
            program.append((code, 0, 0, offset))
            hit = keep if index + 1 == len(block) else len(program) + 1
            at = len(program) + 1       # where jumps count from
            program.append((_BPF_JEQ_K, hit - at, miss - at, value))
    return [*program, (_BPF_RET_K, 0, 0, 0xFFFFFFFF), (_BPF_RET_K, 0, 0, 0)]


def attach_filter(sock: _socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """Attach ``program`` (header_filter) to ``sock``; OSError if the kernel
    refuses it. The kernel copies the program: nothing is kept."""
    import ctypes  # loaded already (service.lock_in_memory): no RSS of its own
    import struct

    code = b"".join(struct.pack("=HBBI", *op) for op in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    sock.setsockopt(_socket.SOL_SOCKET, _SO_ATTACH_FILTER,
                    struct.pack("HP", len(program), ctypes.addressof(buffer)))


class ModuleWatch:
    """lmw.ko arriving or leaving, from the kernel's own uevents.

    Without it the daemon would never learn that the module it sleeps on
    was unloaded (a removed sysfs file wakes no poller), nor that it was
    loaded after the daemon started. The kernel announces both as
    ``add@/module/lmw`` and ``remove@/module/lmw`` (after the module's init
    has finished, so its files exist) on netlink group 1, which any
    process may read. One socket, quiet unless lmw.ko comes or goes: a
    filter in the kernel (header_filter) drops every other uevent before
    it wakes the daemon, lmw.ko's own change of state among them, which
    comes at every crossing of a line, when the daemon is busiest.
    """

    DEVPATH = "/module/lmw"
    # how the kernel's uevent of each begins: all that the filter keeps
    HEADERS = (f"add@{DEVPATH}\0".encode(), f"remove@{DEVPATH}\0".encode())

    def __init__(self, state_path: str = LMW_STATE) -> None:
        self.state_path = state_path
        self.overruns = 0
        self.sock = _socket.socket(_socket.AF_NETLINK,
                                   _socket.SOCK_DGRAM | _socket.SOCK_NONBLOCK
                                   | _socket.SOCK_CLOEXEC,
                                  NETLINK_KOBJECT_UEVENT)
        try:
            self.sock.bind((0, 1))     # 1: the kernel's uevents (2 would be udev's)
        except OSError:
            self.sock.close()
            raise
        # None: filtered; else why not (every uevent wakes the daemon, and
        # actions() still reads only lmw.ko's)
        self.unfiltered: str | None = None
        try:
            attach_filter(self.sock, header_filter(self.HEADERS))
        except OSError as error:
            self.unfiltered = error.strerror or type(error).__name__
        self.fd = self.sock.fileno()

    def actions(self) -> list[str]:
        """The lmw.ko actions ("add", "remove") announced since the last call.

        When more uevents came than the socket could hold (without its
        filter, any module or device: hundreds at once in a burst of
        hotplug; with it, only lmw.ko's coming and going), the kernel drops
        some and says so with ENOBUFS: what they said is lost, so the last
        action is then what is true now, lmw.ko's files there or not.
        """
        found: list[str] = []
        overrun = False
        while True:
            try:
                message = self.sock.recv(8192)
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno != errno.ENOBUFS:
                    raise
                overrun = True
                continue
            header = message.split(b"\0", 1)[0].decode(errors="replace")
            action, _, devpath = header.partition("@")
            if devpath == self.DEVPATH and action in ("add", "remove"):
                found.append(action)
        if overrun:
            self.overruns += 1
            found.append("add" if os.path.exists(self.state_path) else "remove")
        return found

    def close(self) -> None:
        self.sock.close()


def open_source(config: SourceConfig) -> tuple[Source, str]:
    """The source to use and why, following config.kind ("auto": best available)."""
    reasons: list[str] = []
    if config.kind in ("auto", "lmw"):
        try:
            return LmwSource(), "lmw.ko is loaded"
        except OSError as error:
            reasons.append(f"lmw.ko: {LMW_STATE}: {error.strerror}")
            if config.kind == "lmw":
                raise UserError(f"source kind lmw, but {reasons[-1]}") from None
    if config.kind in ("auto", "psi"):
        try:
            return PsiSource(config), "; ".join([*reasons, "PSI trigger armed"])
        except OSError as error:
            reasons.append(f"PSI: {PSI_MEMORY}: {error.strerror}")
            if config.kind == "psi":
                raise UserError(f"source kind psi, but {reasons[-1]}") from None
    return MeminfoSource(config), "; ".join([*reasons, "polling MemAvailable"])
