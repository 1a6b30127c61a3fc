"""bmaptool copy, run in a pseudo-terminal so that its progress can be read and passed on."""

from __future__ import annotations

import collections
import os
import pty
import re
import select
import subprocess
import sys

from ..core.errors import UserError
from .device import SECTOR, Device
from .meter import Reporter

MISMATCH_HINT = ("the image and its bmap do not belong together, or the image is damaged: "
                 "build or fetch both again")
# bmaptool 3.6 prints "bmaptool: info: 42% copied" on a terminal; otherwise nothing.
_PERCENT_LINE = re.compile(r"^bmaptool: info: (\d+)% copied$")
_SPINNER_LINE = re.compile(r"^[-\\|/]$")
_ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


class _TerminalLines:
    """Lines from bmaptool's terminal: escapes dropped, \\r and \\n both end a line."""

    def __init__(self) -> None:
        self.pending = b""
        self.tail: collections.deque[str] = collections.deque(maxlen=12)

    def feed(self, data: bytes) -> list[str]:
        parts = re.split(rb"[\r\n]", _ANSI.sub(b"", self.pending + data))
        self.pending = parts.pop()
        lines = [part.decode(errors="replace") for part in parts if part.strip()]
        self.tail.extend(line for line in lines if not _SPINNER_LINE.match(line)
                         and not _PERCENT_LINE.match(line))
        return lines


def run_bmaptool(argv: list[str], device: Device, total: int | None) -> None:
    """Run bmaptool copy, turning its progress into lines of our own.

    bmaptool 3.6 prints progress only when stdout and stderr are terminals,
    and its --psplash-pipe raises NameError (fixed in 3.7); so it gets a
    pseudo-terminal, and its percent lines are read from there. Without a
    known size it only spins a wheel; then the device's own count of
    written sectors tells the progress (bmaptool fsyncs every 6 MiB).
    """
    reporter = Reporter("written", total)
    sectors_before = device.sectors_written()
    lines = _TerminalLines()
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    try:
        while _relay(master, lines, reporter):
            if total is None:
                reporter.bytes_done((device.sectors_written() - sectors_before) * SECTOR)
        status = proc.wait()
    finally:
        if proc.poll() is None:       # interrupted: do not leave it writing
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        os.close(master)
    if status != 0:
        # its ERROR lines say it; the traceback it prints with them was shown above
        errors = [line for line in lines.tail if line.startswith("bmaptool: ERROR:")
                  and "here is the traceback" not in line]
        tail = "\n".join(f"  {line}" for line in errors or lines.tail)
        said = "\n".join(lines.tail)
        hint = MISMATCH_HINT if "checksum mismatch" in said else \
            "the unpacked image is larger than the device: use a larger card" \
            if "No space left on device" in said else None
        raise UserError(f"bmaptool failed (exit {status}): {' '.join(argv)}\n{tail}", hint=hint)


def _relay(master: int, lines: _TerminalLines, reporter: Reporter) -> bool:
    """Pass on what bmaptool printed within a second; False once it closed its terminal."""
    ready, _, _ = select.select([master], [], [], 1.0)
    if not ready:
        return True
    try:
        data = os.read(master, 65536)
    except OSError:       # EIO: every writer of the terminal has gone
        return False
    for line in lines.feed(data):
        match = _PERCENT_LINE.match(line)
        if match:
            reporter.percent(int(match.group(1)))
        elif not _SPINNER_LINE.match(line):
            print(f"  {line}", file=sys.stderr, flush=True)
    return bool(data)
