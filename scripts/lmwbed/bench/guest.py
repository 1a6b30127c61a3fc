"""Running the bench's measurements in the booted guest, and reading what they print.

Every measurement prints key=value records, one per line, led by a tag
(``ops kind=mmap4k … ns_per_op=…``): ``records`` turns them into dicts.
Longer guest-side procedures are shell scripts in guest/, copied into
the guest once per run.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ..errors import BedError

GUEST_SCRIPTS = Path(__file__).resolve().parent / "guest"
GUEST_DIR = "/tmp/lmwbed-bench"

Record = dict[str, str]


class GuestUnresponsive(BedError):
    """The guest did not finish a command in time: under memory pressure with
    no protection, that is a livelocked guest, a result rather than a bug."""


def run(shell: Any, command: str, timeout: float = 600) -> list[str]:
    """Run ``command`` in the guest; its output lines. BedError names a failure."""
    from pexpect import TIMEOUT

    try:
        out, err, status = shell.run(command, timeout=timeout)
    except TIMEOUT:
        raise GuestUnresponsive(f"the guest did not finish `{command}` within "
                                f"{timeout:.0f} s") from None
    lines = [str(line) for line in (*out, *err)]
    if status != 0:
        tail = "\n".join(lines[-15:])
        raise BedError(f"in the guest, `{command}` failed (exit {status}):\n{tail}")
    return lines


def install_scripts(shell: Any) -> None:
    """Copy guest/*.sh to GUEST_DIR in the guest."""
    run(shell, f"mkdir -p {GUEST_DIR}")
    for script in sorted(GUEST_SCRIPTS.glob("*.sh")):
        encoded = base64.b64encode(script.read_bytes()).decode()
        run(shell, f"echo {encoded} | base64 -d > {GUEST_DIR}/{script.name}")


def script(name: str, *args: object) -> str:
    return " ".join([f"sh {GUEST_DIR}/{name}", *(str(a) for a in args)])


def records(lines: list[str], tag: str) -> list[Record]:
    """The ``tag key=value …`` lines among ``lines``, as dicts."""
    found = []
    for line in lines:
        words = line.split()
        if words[:1] == [tag]:
            record = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            record["_line"] = line
            found.append(record)
    return found


def one(lines: list[str], tag: str) -> Record:
    found = records(lines, tag)
    if len(found) != 1:
        raise BedError(f"expected one '{tag}' line from the guest, got {len(found)}:\n"
                       + "\n".join(lines[-15:]))
    return found[0]
