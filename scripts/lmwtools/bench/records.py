"""Running the bench's measurements in the booted guest, and reading the records they print.

Every measurement prints key=value records, one per line, led by a tag
(``ops kind=mmap4k … ns_per_op=…``): ``records`` turns them into dicts.
Longer procedures that run in the guest are the shell scripts of
workloads/, copied into the guest once per boot.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ..core.errors import UserError

WORKLOADS = Path(__file__).resolve().parent / "workloads"
# where they go in the guest
GUEST_DIR = "/tmp/lmw-bench"

Record = dict[str, str]


class GuestTimeout(Exception):
    """The guest did not finish a command in time. Under memory pressure with
    no protection that is a livelocked guest: a measured result (stress.py
    records it), not a user error; anywhere else, a failed measurement."""


def run(shell: Any, command: str, timeout: float = 600) -> list[str]:
    """Run ``command`` in the guest; its output lines. UserError names a failure."""
    from pexpect import TIMEOUT

    try:
        out, err, status = shell.run(command, timeout=timeout)
    except TIMEOUT:
        raise GuestTimeout(f"the guest did not finish `{command}` within "
                                f"{timeout:.0f} s") from None
    lines = [str(line) for line in (*out, *err)]
    if status != 0:
        tail = "\n".join(lines[-15:])
        raise UserError(f"in the guest, `{command}` failed (exit {status}):\n{tail}")
    return lines


def install_workloads(shell: Any) -> None:
    """Copy workloads/*.sh and *.py to GUEST_DIR in the guest."""
    run(shell, f"mkdir -p {GUEST_DIR}")
    for script in sorted((*WORKLOADS.glob("*.sh"), *WORKLOADS.glob("*.py"))):
        encoded = base64.b64encode(script.read_bytes()).decode()
        run(shell, f"echo {encoded} | base64 -d > {GUEST_DIR}/{script.name}")


def workload(name: str, *args: object) -> str:
    """The guest command line that runs workloads/``name`` with ``args``."""
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
        raise UserError(f"expected one '{tag}' line from the guest, got {len(found)}:\n"
                        + "\n".join(lines[-15:]))
    return found[0]
