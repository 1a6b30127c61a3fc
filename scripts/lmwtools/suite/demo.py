"""scripts/demo (make demo): boot the default board (QEMU, Debian 6.1, systemd), show LMW at work.

    make demo            (or scripts/demo)

The guest runs demo.sh as root and its output is streamed as it happens,
as one timeline:

- the memory facts LMW works on (committed memory against RAM, no swap);
- lmw.ko as the layer leaves it after boot (autoloaded, sysctl defaults),
  then lowered with lmwctl to lines a small board reaches quickly;
- act 1, the module alone: lmw.ko with deny at 60% and notify at 45% of
  RAM; an unprivileged hog is refused at the deny line while root commits
  past it; every low-memory signal is printed (lmwctl watch);
- act 2, with the terminator: an application that opted in to warnings and
  a hog that grows until stopped; the terminator warns (a command and
  SIGUSR1 to the app), then terminates the hog, and memory is back to
  normal with no kernel OOM kill.

The first run builds the guest (Debian's kernel and a systemd rootfs with
the layer's recipes installed by their own rules): a few minutes. Exit
status: 0 when the timeline ran to its end, 1 when the guest script
failed, 2 on a user error (a missing host tool), 130 interrupted.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..bed import boot
from ..bed.guest import GuestSpec, build
from ..core import progress
from ..core.errors import EXIT_INTERNAL, EXIT_OK, run_command

DEFAULT_BOARD = GuestSpec(kernel="6.1", arch="x86_64", userland="systemd")

# The timeline the guest runs, as one shell script (shellchecked by make lint).
GUEST_SCRIPT = Path(__file__).with_name("demo.sh")


def show() -> int:
    guest = build(DEFAULT_BOARD)
    progress.say(f"booting the default board: Debian {guest.tree.version} "
                 f"({guest.release}), {DEFAULT_BOARD.userland}, QEMU TCG")
    status = boot.stream_in_fresh_guest(guest, GUEST_SCRIPT.read_text(),
                                        lambda line: print(line, flush=True))
    return EXIT_INTERNAL if status else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(prog="demo", description=__doc__.splitlines()[0] if __doc__
                            else None).parse_args(argv)
    return run_command("demo", show)
