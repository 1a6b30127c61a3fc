"""Progress lines for slow steps: ``<program>: <message>`` on stderr.

stderr, so that a command's own output on stdout stays clean (``testbed
exec`` prints the guest's output there, ``testbed env`` the variables).
run_command sets the program name; code that runs outside a command
(pytest's conftest builds guests too) prints as ``lmw``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class _Settings:
    program: str = "lmw"
    quiet: bool = False


_settings = _Settings()


def set_program(program: str) -> None:
    _settings.program = program


def set_quiet(quiet: bool) -> None:
    _settings.quiet = quiet


def say(message: str) -> None:
    if not _settings.quiet:
        print(f"{_settings.program}: {message}", file=sys.stderr, flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a slow step and, when it ends, how long it took."""
    say(f"{what} ...")
    start = time.monotonic()
    yield
    say(f"{what}: done in {time.monotonic() - start:.1f} s")
