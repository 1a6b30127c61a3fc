"""make demo: boot the default board (QEMU, Debian 6.1, systemd) and show LMW at work.

The guest runs GUEST_SCRIPT, and its output is streamed as it happens:
the memory facts LMW works on (committed memory against physical RAM, no
swap), then lmw.ko loaded with deny at 60% and notify at 45% of RAM, a
watcher printing each low-memory signal (poll on the sysfs state), an
unprivileged hog refused at the deny line, and root committing past it.
"""

from __future__ import annotations

import shlex
import sys

from . import labenv, progress
from .errors import EXIT_INTERNAL, EXIT_USER, BedError
from .guest import GuestSpec, build

DEFAULT_BOARD = GuestSpec(kernel="6.1", arch="x86_64", userland="systemd")

FACTS = r'''
import os, platform
m = {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in open("/proc/meminfo"))}
print(f"kernel     {platform.release()} ({os.uname().machine}), init {os.readlink('/proc/1/exe')}")
print(f"RAM        {m['MemTotal']} kB, swap {m['SwapTotal']} kB (swapless)")
print(f"committed  {m['Committed_AS']} kB (Committed_AS): what LMW watches")
'''

GUEST_SCRIPT = r'''
say() { printf '\n== %s\n' "$*"; }
lmw() { cat "/sys/kernel/lmw/watermark/$1"; }
say "the board"
python3 -c "$FACTS"
say "load lmw.ko: deny at 60% of RAM, notify at 45%"
modprobe lmw deny_watermark=60 notify_watermark=45
echo "deny at $(lmw deny_kb) kB, notify at $(lmw notify_kb) kB, committed $(lmw committed_kb) kB"
say "a watcher polls /sys/kernel/lmw/watermark/state and prints each signal"
lmwtest watch 100 300 | sed -u 's/^/    LMS /' &
sleep 0.5
say "an unprivileged hog (uid 65534) commits 16 MiB at a time until refused"
lmwtest -u 65534 commit mmap 16384 4000000 | sed -u 's/^/    hog: /'
sleep 0.5
say "root commits past the deny line: allowed (CAP_SYS_ADMIN), and it counts"
lmwtest commit mmap 16384 $(( $(lmw deny_kb) + 65536 )) | sed -u 's/^/    root: /'
sleep 0.5
say "what lmw counted"
for f in state committed_kb denials state_changes last_denied; do
	printf '    %-14s %s\n' "$f" "$(lmw $f)"
done
dmesg | grep 'lmw: ' | sed 's/^/    /'
kill %1 2>/dev/null
'''


def main() -> int:
    script = f"FACTS={shlex.quote(FACTS)}\n{GUEST_SCRIPT}"
    try:
        guest = build(DEFAULT_BOARD)
        progress.say(f"booting the default board: Debian {guest.tree.version} "
                     f"({guest.release}), {DEFAULT_BOARD.userland}, QEMU TCG")
        status = labenv.stream_in_fresh_guest(guest, script, lambda line: print(line, flush=True))
    except BedError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return EXIT_USER
    return EXIT_INTERNAL if status else 0
