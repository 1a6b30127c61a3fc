#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""lmw-lowmem-cache.py: an application that keeps a cache, and gives it back
when lmw-terminator warns. The example of the opt-in.

lmw-terminator warns before it kills anyone: at the start of each
low-memory episode it sends a signal (SIGUSR1 unless its [warn] signal
says otherwise) to every process that opted in, then waits its grace time
(1 s by default). If memory is back to normal by then, nobody is killed.

To opt in, a process creates a regular file named after its pid in
/run/lmw/warn.d/, as the user it runs as (the directory is like /tmp:
anyone may create a file, nobody may remove another's). The daemon
honours the file only where its owner could have sent the signal, and
only for the process that was there when the file was made; it removes
what it does not honour. Remove your file when you exit.

On the warning, give back what can be rebuilt, at once: the daemon looks
again after the grace time, and the largest process is usually chosen
first. Here the cache is one large bytearray: dropping it gives its
memory back to the kernel (a block this large is its own mapping).

Usage: lmw-lowmem-cache.py CACHE_KB
One line per event on standard output, key=value. Exit status: 0 on
SIGTERM or SIGINT, 1 when it cannot opt in, 2 on a bad argument.
"""

from __future__ import annotations

import os
import signal
import sys

OPTIN_DIR = "/run/lmw/warn.d"
WARNING = signal.SIGUSR1        # lmw-terminator's [warn] signal
# Taken by sigwaitinfo() in the main loop, not by handlers: blocked from
# the start, so that one sent the moment the opt-in exists waits its turn.
WAITED = {WARNING, signal.SIGTERM, signal.SIGINT}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit() or int(argv[1]) == 0:
        print(f"usage: {argv[0]} CACHE_KB (a positive number of kB)", file=sys.stderr)
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, WAITED)
    cache: bytearray | None = bytearray(b"\x5a") * (int(argv[1]) * 1024)
    entry = os.path.join(OPTIN_DIR, str(os.getpid()))
    try:
        # O_EXCL: a file already there is not this process's to use
        os.close(os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    except OSError as error:
        print(f"{argv[0]}: cannot opt in at {entry}: {error.strerror} "
              "(is lmw-terminator running?)", file=sys.stderr)
        return 1
    print(f"ready cache_kb={argv[1]} optin={entry}", flush=True)
    try:
        while True:
            signum = signal.sigwaitinfo(WAITED).si_signo
            if signum != WARNING:
                return 0
            freed = len(cache) // 1024 if cache is not None else 0
            cache = None     # a real cache grows again as it is used
            print(f"warned freed_kb={freed}", flush=True)
    finally:
        os.unlink(entry)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
