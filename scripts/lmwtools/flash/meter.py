"""Progress of a write or a read-back, as lines for CI logs and terminals alike."""

from __future__ import annotations

import time

from ..core.progress import say

MiB = 1024 * 1024


def human(size: int) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", MiB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class Reporter:
    """Progress lines for CI logs and terminals alike: every 10 %, or every 5 s
    when the total is unknown."""

    def __init__(self, verb: str, total: int | None) -> None:
        self.verb = verb
        self.total = total
        self.last_step = 0          # tens of percent already reported
        self.last_time = time.monotonic()

    def percent(self, value: int) -> None:
        if value // 10 > self.last_step:
            self.last_step = value // 10
            say(f"{value}% {self.verb}")

    def bytes_done(self, done: int) -> None:
        if self.total:
            self.percent(min(100, done * 100 // self.total))
        elif time.monotonic() - self.last_time >= 5:
            self.last_time = time.monotonic()
            say(f"{human(done)} {self.verb}")
