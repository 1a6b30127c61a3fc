# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Signals without signal.py: the same functions, from _signal.

signal.py is a thin layer over the C module _signal that makes every
constant an IntEnum member; importing enum (with functools and
collections) costs a daemon that imports nothing else of the kind 0.9 MiB
of its RSS, for names it can take from _signal itself. A signal here is a
plain int; name() and number() translate.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:    # mypy reads signal.py's types; at run time, _signal's functions
    import signal as _impl
else:
    import _signal as _impl

SIG_DFL = _impl.SIG_DFL
SIGCHLD, SIGHUP, SIGINT = _impl.SIGCHLD, _impl.SIGHUP, _impl.SIGINT
SIGKILL, SIGPIPE, SIGTERM = _impl.SIGKILL, _impl.SIGPIPE, _impl.SIGTERM
SIGCONT, SIGSTOP = _impl.SIGCONT, _impl.SIGSTOP
pidfd_send_signal = _impl.pidfd_send_signal
set_wakeup_fd = _impl.set_wakeup_fd
signal = _impl.signal

# Every signal by each of its names (SIGIOT and SIGABRT are one signal);
# SIG_DFL, SIG_IGN and SIG_BLOCK... are not signals.
_BY_NAME = {key: value for key, value in vars(_impl).items()
            if key.startswith("SIG") and not key.startswith("SIG_") and isinstance(value, int)}
# Each signal by its usual name, as signal.Signals names it: not the aliases.
_ALIASES = ("SIGIOT", "SIGPOLL", "SIGCLD")
_NAMES = {value: key for key, value in _BY_NAME.items() if key not in _ALIASES}


def name(signum: int) -> str:
    """SIGTERM for 15; "signal 99" for a number that names no signal."""
    return _NAMES.get(signum, f"signal {signum}")


def number(signame: str) -> int:
    """15 for SIGTERM (an alias too: SIGIOT); KeyError for no signal of that name."""
    return _BY_NAME[signame]
