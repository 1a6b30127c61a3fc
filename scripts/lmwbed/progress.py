"""Progress lines for slow steps, on stderr so that ``exec`` keeps stdout clean."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class _Settings:
    quiet: bool = False


_settings = _Settings()


def set_quiet(quiet: bool) -> None:
    _settings.quiet = quiet


def say(message: str) -> None:
    if not _settings.quiet:
        print(f"[bed] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a slow step and, when it ends, how long it took."""
    say(f"{what} ...")
    start = time.monotonic()
    yield
    say(f"{what}: done in {time.monotonic() - start:.1f} s")
