"""How QEMU runs the bench's guests, where it differs from the bed's other boots.

TCG keeps the host code it translated from the guest's in one buffer,
and finds a translation by the guest code's address. Once the buffer is
full it throws all of it away (a "TB flush") and translates again
whatever runs next: for tens of milliseconds the whole guest runs at a
fraction of its speed, a stall that a board never has. Each process that
starts maps its libraries at new addresses (ASLR), and all of them are
translated anew: the few processes that each crossing of the latency
part started filled QEMU's default buffer (1 GiB) twice in a leg of 200
crossings, and the slowest reactions of a leg, its p99, fell where the
flushes did (docs/benchmarks.md, "The reaction's p99 was QEMU's").

So every boot of the bench asks for the largest buffer (TB_SIZE_MIB),
and the workloads start their own processes at fixed addresses
(``setarch -R`` in workloads/reaction.sh and stress.sh), so that their
translations are used again; the daemons that systemd starts keep their
randomized layout. ``flushes`` reads QEMU's count, which the report
gives for each leg of the latency part.

The parts that measure on QEMU's instruction counter boot with it too
(``icount``, one vCPU): a flush costs host time there, not guest time.
"""

from __future__ import annotations

import re
from typing import Any

from ..bed.guest import Guest

# QEMU's largest translation buffer on a 64-bit host, in MiB (tb-size):
# what its code can reach with the host's direct branches.
TB_SIZE_MIB = 2048


def boot_args(guest: Guest, *, icount: bool = False) -> dict[str, str]:
    """LG_* overrides that boot ``guest`` for the bench: its accelerator with
    the largest translation buffer; ``icount``: on the instruction counter,
    one vCPU (as the counter needs)."""
    args = guest.labgrid_vars()["LG_QEMU_ARGS"]
    accel = re.search(r"-accel (\S+)", args)
    if accel is None or not accel.group(1).startswith("tcg"):
        raise ValueError(f"the bed boots {guest.release} without TCG: {args}")
    args = args.replace(accel.group(0), f"{accel.group(0)},tb-size={TB_SIZE_MIB}", 1)
    if icount:
        args = re.sub(r"-smp \d+", "-smp 1", args) + " -icount shift=0"
    return {"LG_QEMU_ARGS": args}


_FLUSH_COUNT = re.compile(r"^TB flush count\s+(\d+)\s*$", re.MULTILINE)


def flush_count(info_jit: str) -> int | None:
    """The flush count in the text of QEMU's "info jit", or None."""
    found = _FLUSH_COUNT.search(info_jit)
    return int(found.group(1)) if found else None


def flushes(target: Any) -> int | None:
    """How many times the QEMU of ``target`` (a labgrid target) has thrown
    its translated code away since it started, or None when it does not
    say. "info jit" walks every translation (tens of ms with a full
    buffer): it is asked before and after a leg, never while one runs."""
    qemu = target.get_driver("QEMUDriver")
    return flush_count(str(qemu.monitor_command("human-monitor-command",
                                                {"command-line": "info jit"})))
