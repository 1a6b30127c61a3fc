# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Logging without the logging package (the daemon's RSS budget is 10 MiB).

Under systemd (JOURNAL_STREAM or INVOCATION_ID set) lines go to stderr
with a "<N>" priority prefix, which journald reads. Otherwise they go to
syslog when /dev/log exists, else to plain stderr.
"""

from __future__ import annotations

import os
import sys

DEBUG, INFO, WARNING, ERROR = 7, 6, 4, 3
_NAMES = {DEBUG: "debug", INFO: "info", WARNING: "warning", ERROR: "error"}


class _Sink:
    __slots__ = ("level", "mode")

    def __init__(self) -> None:
        self.mode = "stderr"
        self.level = INFO


_sink = _Sink()


def setup(debug: bool) -> str:
    """Choose where lines go; returns a description for the first log line."""
    _sink.level = DEBUG if debug else INFO
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        _sink.mode = "journal"
        return "journald (stderr)"
    if os.path.exists("/dev/log"):
        import syslog  # only where it is used: 0.2 MiB of the daemon's RSS

        _sink.mode = "syslog"
        syslog.openlog("lmw-terminator", syslog.LOG_PID, syslog.LOG_DAEMON)
        return "syslog"
    _sink.mode = "stderr"
    return "stderr"


def emit(priority: int, message: str, *args: object) -> None:
    if priority > _sink.level:
        return
    text = message % args if args else message
    if _sink.mode == "syslog":
        import syslog  # imported by setup() already: a lookup in sys.modules

        syslog.syslog(priority, text)
    elif _sink.mode == "journal":
        sys.stderr.write(f"<{priority}>{text}\n")
        sys.stderr.flush()
    else:
        sys.stderr.write(f"lmw-terminator: {_NAMES[priority]}: {text}\n")
        sys.stderr.flush()


def printable(text: str) -> str:
    """``text`` with control characters escaped (\\n, \\x1b, ...): a comm or a
    file name is a user's to choose, and must not start a log line of its own
    or split a status line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def debug(message: str, *args: object) -> None:
    emit(DEBUG, message, *args)


def info(message: str, *args: object) -> None:
    emit(INFO, message, *args)


def warning(message: str, *args: object) -> None:
    emit(WARNING, message, *args)


def error(message: str, *args: object) -> None:
    emit(ERROR, message, *args)
