#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""lmw-memory-monitor: lmw.ko's low-memory signal on the system bus, as
org.freedesktop.LowMemoryMonitor speaks it.

GLib's GMemoryMonitor (and so every GLib and GTK application that asks
for it, and the desktop portal) listens for one D-Bus signal: the
LowMemoryWarning(y level) of org.freedesktop.LowMemoryMonitor on the
object /org/freedesktop/LowMemoryMonitor, from the owner of the bus name
org.freedesktop.LowMemoryMonitor. This daemon owns that name and sends
the signal at each change of lmw.ko's state into notify or deny:

    notify -> 100 (G_MEMORY_MONITOR_WARNING_LEVEL_MEDIUM): the terminator
              stops a process after its warning grace unless memory comes
              back; "try harder to free what you do not need, quit if you
              need not run"
    deny   -> 255 (..._CRITICAL): unprivileged commitments fail now
    normal -> nothing (the interface has no "back to normal")

Level 50 (LOW) is not sent: lmw.ko has no state before notify.

It waits in poll() on lmw.ko's state file (POLLPRI) and on the bus, with
no wake-ups at rest (a timeout only while a count of signals is due, as
below). When lmw.ko is not loaded, it waits for
the kernel's uevents until it is. It speaks the D-Bus wire protocol
itself (standard library only, as the terminator): a connection, the
Hello, the name (refused if another process owns it), the signal, and
answers to what others may send it (Peer, Introspectable; an error for
anything else).

Every change is signalled, but not every signal is logged: any user can
flip lmw.ko's state as fast as they can map and unmap across the notify
line, and a line each would be theirs to write into the journal (and
onto the device's flash) at that rate. The first signal is logged; those
that follow within LOG_WINDOW_S are counted, and one line says how many
when the window ends (SignalLog). The journal's turn then no longer
comes at every crossing either, beside the terminator's reaction.

Exit codes: 0 on SIGTERM or SIGINT; 1 when the bus is gone or refuses the
name (the init system starts it again); 2 on a bad argument.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import sys
import time

BUS_NAME = "org.freedesktop.LowMemoryMonitor"
OBJECT_PATH = "/org/freedesktop/LowMemoryMonitor"
INTERFACE = "org.freedesktop.LowMemoryMonitor"
SYSTEM_BUS = "/run/dbus/system_bus_socket"
STATE_FILE = "/sys/kernel/lmw/watermark/state"
LEVELS = {"notify": 100, "deny": 255}
NETLINK_KOBJECT_UEVENT = 15

# At most one line about the signals sent in this many seconds, and one
# more with the count of those not logged: the same window as the
# terminator's warnings, so that a user who flaps across the notify line
# writes into the journal at a rate of their choosing no more.
LOG_WINDOW_S = 10.0

# Messages from the bus larger than this are read and dropped: nothing we
# are sent needs more, and the daemon must not grow at a sender's will.
MAX_MESSAGE = 64 * 1024

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
NO_REPLY_EXPECTED = 0x1
# header field codes
PATH, IFACE, MEMBER, ERROR_NAME, REPLY_SERIAL, DESTINATION, SENDER, SIGNATURE = range(1, 9)
_FIELD_TYPES = {PATH: "o", IFACE: "s", MEMBER: "s", ERROR_NAME: "s", REPLY_SERIAL: "u",
                DESTINATION: "s", SENDER: "s", SIGNATURE: "g"}

INTROSPECTION = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="{INTERFACE}">
    <signal name="LowMemoryWarning"><arg name="level" type="y"/></signal>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method>
  </interface>
</node>
"""


Value = int | str


class BusError(Exception):
    """The bus went away, or refused what the daemon needs."""


# ---- the wire format: little-endian marshalling of the few types used ------

class Writer:
    """Marshals values; alignment is from the start of the message."""

    def __init__(self) -> None:
        self.data = bytearray()

    def align(self, n: int) -> None:
        self.data += b"\0" * (-len(self.data) % n)

    def byte(self, value: int) -> None:
        self.data.append(value)

    def uint32(self, value: int) -> None:
        self.align(4)
        self.data += struct.pack("<I", value)

    def string(self, value: str) -> None:       # s and o
        raw = value.encode()
        self.uint32(len(raw))
        self.data += raw + b"\0"

    def signature(self, value: str) -> None:    # g
        raw = value.encode()
        self.byte(len(raw))
        self.data += raw + b"\0"

    def value(self, kind: str, value: Value) -> None:
        if kind == "y" and isinstance(value, int):
            self.byte(value)
        elif kind == "u" and isinstance(value, int):
            self.uint32(value)
        elif kind in ("s", "o") and isinstance(value, str):
            self.string(value)
        elif kind == "g" and isinstance(value, str):
            self.signature(value)
        else:
            raise ValueError(f"cannot marshal {value!r} as {kind!r}")


def signal_message(path: str, interface: str, member: str, signature: str,
                   body: tuple[Value, ...]) -> bytes:
    """A signal, made once, ahead of the moment it is sent (Bus.emit sets
    its serial): at a crossing the daemon's CPU is the victim's and the
    terminator's too."""
    return message(SIGNAL, 0, {PATH: path, IFACE: interface, MEMBER: member},
                   body_signature=signature, body=body, flags=NO_REPLY_EXPECTED)


def message(kind: int, serial: int, fields: dict[int, Value], *, body_signature: str = "",
            body: tuple[Value, ...] = (), flags: int = 0) -> bytes:
    """One whole message: the fixed header, the header fields, the body.
    Alignment counts from the message's start, and the body starts on 8."""
    body_writer = Writer()
    for kind_of, value in zip(body_signature, body, strict=True):
        body_writer.value(kind_of, value)
    if body_signature:
        fields = {**fields, SIGNATURE: body_signature}
    head = Writer()
    # endianness, type, flags, version 1, body length, serial, fields' length (set below)
    head.data += struct.pack("<cBBBIII", b"l", kind, flags, 1, len(body_writer.data), serial, 0)
    for code, value in sorted(fields.items()):
        head.align(8)       # each field is a struct (y, v)
        head.byte(code)
        head.signature(_FIELD_TYPES[code])
        head.value(_FIELD_TYPES[code], value)
    struct.pack_into("<I", head.data, 12, len(head.data) - 16)
    head.align(8)
    return bytes(head.data + body_writer.data)


class Message:
    """What the daemon reads of a message it is sent."""

    __slots__ = ("body", "dropped", "endian", "fields", "flags", "kind", "serial")

    def __init__(self, *, kind: int, flags: int, serial: int, fields: dict[int, Value],
                 body: bytes, endian: str, dropped: bool = False) -> None:
        self.kind, self.flags, self.serial, self.fields = kind, flags, serial, fields
        self.body, self.endian = body, endian
        self.dropped = dropped      # its body was too large, and was read and dropped

    def first_string(self) -> str:
        (length,) = struct.unpack_from(self.endian + "I", self.body, 0)
        return self.body[4:4 + length].decode(errors="replace")

    def first_uint32(self) -> int:
        return int(struct.unpack_from(self.endian + "I", self.body, 0)[0])


def _fields(data: bytes, endian: str, end: int) -> dict[int, Value]:
    """The header fields array of a message (``data`` from its start)."""
    fields: dict[int, Value] = {}
    pos = 16
    while pos < end:
        pos += -pos % 8
        if pos >= end:
            break
        code, sig_len = data[pos], data[pos + 1]
        kind = data[pos + 2:pos + 2 + sig_len].decode(errors="replace")
        pos += 3 + sig_len
        if kind in ("s", "o"):
            pos += -pos % 4
            (length,) = struct.unpack_from(endian + "I", data, pos)
            fields[code] = data[pos + 4:pos + 4 + length].decode(errors="replace")
            pos += 5 + length
        elif kind == "g":
            length = data[pos]
            fields[code] = data[pos + 1:pos + 1 + length].decode(errors="replace")
            pos += 2 + length
        elif kind == "u":
            pos += -pos % 4
            fields[code] = int(struct.unpack_from(endian + "I", data, pos)[0])
            pos += 4
        else:
            break       # a field of a kind the daemon never needs: the rest is skipped
    return fields


# ---- the connection --------------------------------------------------------

class Bus:
    """A connection to a message bus, authenticated as this process's uid."""

    def __init__(self, address: str = SYSTEM_BUS) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.connect(address)
            self.sock.sendall(b"\0AUTH EXTERNAL " + str(os.geteuid()).encode().hex().encode()
                              + b"\r\n")
            reply = self._line()
            if not reply.startswith(b"OK "):
                raise BusError(f"the bus refused to authenticate uid {os.geteuid()}: "
                               f"{reply.decode(errors='replace')}")
            self.sock.sendall(b"BEGIN\r\n")
        except OSError as error:
            self.sock.close()
            raise BusError(f"{address}: {error.strerror or error}") from None
        self.buffer = b""
        self.serial = 0
        self.unique_name = str(self.call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "Hello").first_string())

    def _line(self) -> bytes:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = self.sock.recv(1)
            if not chunk or len(data) > 4096:
                raise BusError("the bus closed the connection while authenticating")
            data += chunk
        return data

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise BusError(f"cannot write to the bus: {error.strerror}") from None

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def call(self, destination: str, path: str, interface: str, member: str, *,
             signature: str = "", body: tuple[Value, ...] = ()) -> Message:
        """A method call to the bus, and its reply (what comes before it is handled)."""
        serial = self.next_serial()
        self.send(message(METHOD_CALL, serial, {PATH: path, IFACE: interface, MEMBER: member,
                                                DESTINATION: destination},
                          body_signature=signature, body=body))
        while True:
            reply = self.receive()
            if reply is None:
                continue
            if reply.kind in (METHOD_RETURN, ERROR) and reply.fields.get(REPLY_SERIAL) == serial:
                if reply.kind == ERROR:
                    raise BusError(f"{member}: {reply.fields.get(ERROR_NAME)}")
                return reply
            self.answer(reply)

    def request_name(self, name: str) -> None:
        # DO_NOT_QUEUE: owned now or not at all
        reply = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "RequestName", signature="su", body=(name, 4))
        result = reply.first_uint32()
        if result not in (1, 4):    # primary owner, already the owner
            raise BusError(f"{name} is owned by another process (RequestName: {result}); "
                           "hint: is low-memory-monitor running?")

    def emit(self, made: bytes) -> None:
        """A signal made by ``signal_message()``, sent under the next serial."""
        sent = bytearray(made)
        struct.pack_into("<I", sent, 8, self.next_serial())
        self.send(bytes(sent))

    def _read_more(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except OSError as error:
            raise BusError(f"cannot read from the bus: {error.strerror}") from None
        if not chunk:
            raise BusError("the bus closed the connection")
        self.buffer += chunk

    def _drop(self, count: int) -> None:
        """Read and forget ``count`` bytes, never holding more than a chunk."""
        while count > 0:
            if not self.buffer:
                self._read_more()
            taken = min(count, len(self.buffer))
            self.buffer, count = self.buffer[taken:], count - taken

    def receive(self) -> Message | None:
        """The next message. One larger than MAX_MESSAGE comes without its
        body (``dropped``); one whose header alone is larger: None."""
        while len(self.buffer) < 16:
            self._read_more()
        endian = "<" if self.buffer[:1] == b"l" else ">"
        kind, flags = self.buffer[1], self.buffer[2]
        body_len, serial, fields_len = struct.unpack_from(endian + "III", self.buffer, 4)
        header_end = 16 + fields_len + (-(16 + fields_len) % 8)
        if header_end > MAX_MESSAGE:
            self._drop(header_end + body_len)
            return None
        dropped = header_end + body_len > MAX_MESSAGE
        total = header_end if dropped else header_end + body_len
        while len(self.buffer) < total:
            self._read_more()
        data, self.buffer = self.buffer[:total], self.buffer[total:]
        if dropped:
            self._drop(body_len)
        return Message(kind=kind, flags=flags, serial=serial,
                       fields=_fields(data, endian, 16 + fields_len), body=data[header_end:],
                       endian=endian, dropped=dropped)

    def answer(self, msg: Message) -> None:
        """What others send the daemon: Peer, Introspectable, else an error."""
        if msg.kind != METHOD_CALL or msg.flags & NO_REPLY_EXPECTED:
            return
        interface, member = msg.fields.get(IFACE), msg.fields.get(MEMBER)
        sender = msg.fields.get(SENDER)
        reply_to: dict[int, Value] = {REPLY_SERIAL: msg.serial}
        if sender is not None:
            reply_to[DESTINATION] = sender
        if msg.dropped:
            self.send(message(ERROR, self.next_serial(),
                              {**reply_to, ERROR_NAME: "org.freedesktop.DBus.Error.LimitsExceeded"},
                              body_signature="s", body=(f"larger than {MAX_MESSAGE} bytes",)))
        elif (interface, member) in (("org.freedesktop.DBus.Peer", "Ping"), (None, "Ping")):
            self.send(message(METHOD_RETURN, self.next_serial(), reply_to))
        elif (interface in ("org.freedesktop.DBus.Introspectable", None)
              and member == "Introspect"):
            self.send(message(METHOD_RETURN, self.next_serial(), reply_to,
                              body_signature="s", body=(INTROSPECTION,)))
        else:
            self.send(message(ERROR, self.next_serial(),
                              {**reply_to, ERROR_NAME: "org.freedesktop.DBus.Error.UnknownMethod"},
                              body_signature="s", body=(f"no method {member!r} here",)))

    def close(self) -> None:
        self.sock.close()


# ---- lmw.ko's state ----------------------------------------------------------

class StateFile:
    """lmw.ko's state file, open while the module is loaded."""

    def __init__(self, path: str = STATE_FILE) -> None:
        self.path = path
        self.fd: int | None = None

    def open(self) -> bool:
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return False
        return True

    def read(self) -> str | None:
        """The state now; None when the module has gone (the file is closed)."""
        if self.fd is None:
            return None
        try:
            return os.pread(self.fd, 64, 0).decode(errors="replace").strip()
        except OSError:
            os.close(self.fd)
            self.fd = None
            return None


def uevent_socket() -> socket.socket | None:
    """The kernel's uevents: how the daemon learns that lmw.ko came."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                             NETLINK_KOBJECT_UEVENT)
        sock.bind((0, 1))
        return sock
    except OSError:
        return None


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class SignalLog:
    """Which signals are logged: the first, then at most one line per
    window, with the count of those sent meanwhile. Times are the
    caller's (a monotonic clock), so that the rule is a pure one."""

    def __init__(self, window_s: float = LOG_WINDOW_S) -> None:
        self.window_s = window_s
        self.opened: float | None = None     # when the last line was written
        self.held = 0                        # signals sent since, not logged
        self.latest = ""

    def sent(self, what: str, now: float) -> list[str]:
        """The lines to write for a signal just sent."""
        lines = self.due(now)
        if self.opened is None or now - self.opened >= self.window_s:
            self.opened = now
            return [*lines, what]
        self.held, self.latest = self.held + 1, what
        return lines

    def due(self, now: float) -> list[str]:
        """The count of the signals held back, once their window has ended."""
        if not self.held or self.opened is None or now - self.opened < self.window_s:
            return []
        line = (f"{self.held} more signal(s) in {now - self.opened:.1f} s, not logged one by "
                f"one (the last: {self.latest})")
        self.opened, self.held = now, 0
        return [line]

    def timeout_ms(self, now: float) -> int | None:
        """How long poll() may wait: for ever, unless a count is due."""
        if not self.held or self.opened is None:
            return None
        return max(0, int((self.opened + self.window_s - now) * 1000) + 1)


class Monitor:
    """The main loop: lmw.ko's state in, LowMemoryWarning out."""

    def __init__(self, bus: Bus, state: StateFile, stop_r: int) -> None:
        self.bus, self.state, self.stop_r = bus, state, stop_r
        self.uevents = uevent_socket()
        self.poller = select.poll()
        self.poller.register(bus.sock.fileno(), select.POLLIN)
        self.poller.register(stop_r, select.POLLIN)
        if self.uevents is not None:
            self.poller.register(self.uevents.fileno(), select.POLLIN)
        self.last = "normal"
        self.watched: int | None = None
        self.log = SignalLog()
        self.signals = {state: signal_message(OBJECT_PATH, INTERFACE, "LowMemoryWarning", "y",
                                              (level,))
                        for state, level in LEVELS.items()}

    def follow_state(self) -> None:
        """Open lmw.ko's file if it has come, read it, signal a change into a low state."""
        if self.state.open() and self.watched != self.state.fd:
            assert self.state.fd is not None
            self.poller.register(self.state.fd, select.POLLPRI)
            self.watched = self.state.fd
            say(f"watching {self.state.path}")
        now = self.state.read()
        if now is None:
            if self.watched is not None:
                self.poller.unregister(self.watched)
                self.watched = None
                say("lmw.ko is gone: waiting for it")
            return
        if now != self.last and now in LEVELS:
            self.bus.emit(self.signals[now])
            for line in self.log.sent(f"{now}: LowMemoryWarning {LEVELS[now]}",
                                      time.monotonic()):
                say(line)
        self.last = now

    def read_bus(self) -> None:
        """Every whole message that has come, answered."""
        while True:
            msg = self.bus.receive()
            if msg is not None:
                self.bus.answer(msg)
            if len(self.bus.buffer) < 16:
                return

    def run(self) -> int:
        while True:
            self.follow_state()
            for line in self.log.due(time.monotonic()):
                say(line)
            for fd, _ in self.poller.poll(self.log.timeout_ms(time.monotonic())):
                if fd == self.stop_r:
                    return 0
                if fd == self.bus.sock.fileno():
                    self.read_bus()
                elif self.uevents is not None and fd == self.uevents.fileno():
                    # what it says does not matter: the file is tried again
                    _drain(self.uevents)


def _drain(sock: socket.socket) -> None:
    try:
        sock.recv(65536)
    except OSError:     # ENOBUFS: events were lost, which is no matter here
        return


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        say(f"usage: {argv[0]} (no arguments; it owns {BUS_NAME} on the system bus)")
        return 2
    stop_r, stop_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(stop_w)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _n, _f: None)
    address = os.environ.get("LMW_MEMORY_MONITOR_BUS", SYSTEM_BUS)
    try:
        bus = Bus(address)
        bus.request_name(BUS_NAME)
        say(f"{BUS_NAME} on {address} as {bus.unique_name}")
        state = StateFile(os.environ.get("LMW_MEMORY_MONITOR_STATE", STATE_FILE))
        return Monitor(bus, state, stop_r).run()
    except BusError as error:
        say(f"lmw-memory-monitor: error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
