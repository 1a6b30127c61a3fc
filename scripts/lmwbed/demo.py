"""make demo: boot the default board (QEMU, Debian 6.1, systemd) and show LMW's ground.

The guest runs GUEST_SCRIPT: it prints the kernel and memory facts that
the Low Memory Watermark works on (committed memory against physical
RAM, no swap), the LMW knobs when the module is present, and commits and
releases 64 MiB so the committed figure can be seen to move.
"""

from __future__ import annotations

import base64
import sys

from . import labenv, progress
from .errors import EXIT_INTERNAL, EXIT_USER, BedError
from .guest import GuestSpec, build

DEFAULT_BOARD = GuestSpec(kernel="6.1", arch="x86_64", userland="systemd")

GUEST_SCRIPT = r'''
import mmap, os, platform

def meminfo():
    return {k: int(v.split()[0]) for k, v in
            (line.split(":", 1) for line in open("/proc/meminfo"))}

def sysctl(name):
    try:
        return open("/proc/sys/" + name.replace(".", "/")).read().strip()
    except OSError:
        return None

m = meminfo()
print(f"kernel      {platform.release()} ({os.uname().machine})")
print(f"init        {os.readlink('/proc/1/exe')}")
print(f"RAM         {m['MemTotal']:>9} kB   MemAvailable {m['MemAvailable']} kB")
print(f"swap        {m['SwapTotal']:>9} kB   (swapless, as on the devices LMW is for)")
print(f"committed   {m['Committed_AS']:>9} kB   CommitLimit {m['CommitLimit']} kB, "
      f"overcommit_memory={sysctl('vm.overcommit_memory')}")
for pct, what in ((90, "notify"), (110, "deny")):
    print(f"{what:6} at {pct:3}% of RAM = {m['MemTotal'] * pct // 100:>9} kB committed")
deny, notify = sysctl("vm.lowmem_deny_watermark"), sysctl("vm.lowmem_notify_watermark")
if deny is None:
    print("lmw.ko      not in this guest's payload: the kernel's own policy decides")
else:
    print(f"lmw.ko      deny={deny}% notify={notify}%")
before = meminfo()["Committed_AS"]
area = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
during = meminfo()["Committed_AS"]
area.close()
after = meminfo()["Committed_AS"]
print(f"commit 64 MiB: committed {before} -> {during} kB (+{during - before}), "
      f"released -> {after} kB")
'''


def main() -> int:
    encoded = base64.b64encode(GUEST_SCRIPT.encode()).decode()
    try:
        guest = build(DEFAULT_BOARD)
        progress.say(f"booting the default board: Debian {guest.tree.version} "
                     f"({guest.release}), {DEFAULT_BOARD.userland}, QEMU TCG")
        lines, status = labenv.run_in_fresh_guest(
            guest, f"echo {encoded} | base64 -d | python3 -")
    except BedError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return EXIT_USER
    print("\n".join(lines))
    return EXIT_INTERNAL if status else 0
