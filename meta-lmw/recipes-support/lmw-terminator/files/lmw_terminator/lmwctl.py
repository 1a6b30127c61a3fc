# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""lmwctl: look at and set the Low Memory Watermark from the shell.

    lmwctl status                  module state, knobs, figures, terminator
    lmwctl set deny 110 notify 90  validated writes of the watermarks (root)
    lmwctl watch [--count N]       print each low-memory signal as it happens

Exit codes: 0 ok, 1 the module is not loaded (status/watch) or the kernel
refused a write, 2 a bad argument.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from pathlib import Path

from . import EXIT_OK, EXIT_USER

SYSFS = Path("/sys/kernel/lmw/watermark")
SYSCTL = Path("/proc/sys/vm")
KNOBS = {"deny": "lowmem_deny_watermark", "notify": "lowmem_notify_watermark"}
FIGURES = ("state", "committed_kb", "notify_kb", "deny_kb", "totalram_kb", "denials",
           "state_changes", "last_denied", "last_crossed", "last_crossed_kb", "probe")
STATUS_FILE = Path(os.environ.get("RUNTIME_DIRECTORY", "/run/lmw")) / "terminator.status"
WATERMARK_MAX = 1000
EXIT_NO_MODULE = 1


def _read(path: Path) -> str:
    return path.read_text().strip()


def cmd_status(_: argparse.Namespace) -> int:
    loaded = SYSFS.is_dir()
    if loaded:
        print("lmw.ko: loaded")
        for name, knob in KNOBS.items():
            print(f"  {name + ' watermark':18} {_read(SYSCTL / knob)} % of RAM")
        for name in FIGURES:
            try:
                value = _read(SYSFS / name)
            except PermissionError:     # last_denied, last_crossed(_kb): another user's
                value = "(root only)"
            except FileNotFoundError:   # a figure an older lmw.ko does not have
                value = "(not in this lmw.ko)"
            print(f"  {name:18} {value}")
    else:
        print("lmw.ko: not loaded (the kernel's own overcommit policy decides)")
    try:
        # "\n" only: a value may hold characters that splitlines() splits at
        status = dict(line.split("=", 1) for line in STATUS_FILE.read_text().split("\n")
                      if "=" in line)
        alive = Path(f"/proc/{status['pid']}").exists()
        print(f"terminator: {'running' if alive else 'not running (stale status)'}, "
              f"pid {status['pid']}")
        for key in ("source", "why", "level", "state", "kills", "last_action", "dry_run",
                    "config"):
            print(f"  {key:18} {status.get(key, '')}")
    except (OSError, ValueError, KeyError):
        print("terminator: no status (not running?)")
    return EXIT_OK if loaded else EXIT_NO_MODULE


def cmd_set(args: argparse.Namespace) -> int:
    pairs = args.pairs
    if not pairs or len(pairs) % 2:
        print("lmwctl: set takes pairs: deny PERCENT notify PERCENT", file=sys.stderr)
        return EXIT_USER
    writes: list[tuple[str, int]] = []
    for name, value in zip(pairs[::2], pairs[1::2], strict=True):
        if name not in KNOBS:
            print(f"lmwctl: unknown watermark {name!r} (deny, notify)", file=sys.stderr)
            return EXIT_USER
        # ASCII digits only: "²" is a digit to isdigit(), and not to int()
        if not (value.isascii() and value.isdigit()) or int(value) > WATERMARK_MAX:
            print(f"lmwctl: {name} {value!r}: a whole percent 0..{WATERMARK_MAX}",
                  file=sys.stderr)
            return EXIT_USER
        writes.append((name, int(value)))
    if not (SYSCTL / KNOBS["deny"]).exists():
        print("lmwctl: lmw.ko is not loaded", file=sys.stderr)
        return EXIT_NO_MODULE
    for name, value in writes:
        try:
            (SYSCTL / KNOBS[name]).write_text(f"{value}\n")
        except OSError as error:
            print(f"lmwctl: writing {name} = {value}: {error.strerror}", file=sys.stderr)
            return EXIT_NO_MODULE
        print(f"{name} watermark = {value} % ({_read(SYSFS / (name + '_kb'))} kB)")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        fd = os.open(SYSFS / "state", os.O_RDONLY)
    except OSError:
        print("lmwctl: lmw.ko is not loaded", file=sys.stderr)
        return EXIT_NO_MODULE
    poller = select.poll()
    poller.register(fd, select.POLLPRI | select.POLLERR)
    state = os.pread(fd, 32, 0).decode().strip()
    print(f"{time.strftime('%H:%M:%S')} {state} (committed {_read(SYSFS / 'committed_kb')} kB)",
          flush=True)
    seen, shown = 0, state
    try:
        while args.count is None or seen < args.count:
            poller.poll()
            state = os.pread(fd, 32, 0).decode().strip()
            if state == shown:
                # a change undone before this read (the terminator acts in
                # milliseconds): no change to show, one line a change
                continue
            shown = state
            print(f"{time.strftime('%H:%M:%S')} {state} "
                  f"(committed {_read(SYSFS / 'committed_kb')} kB)", flush=True)
            seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        os.close(fd)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lmwctl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("status", help="module state, knobs, figures, terminator").set_defaults(
        handler=cmd_status)
    setter = sub.add_parser("set", help="set watermarks: deny PERCENT notify PERCENT")
    setter.add_argument("pairs", nargs="*", metavar="NAME VALUE")
    setter.set_defaults(handler=cmd_set)
    watcher = sub.add_parser("watch", help="print each low-memory signal as it happens")
    watcher.add_argument("--count", type=int, help="stop after this many changes")
    watcher.set_defaults(handler=cmd_watch)
    args = parser.parse_args(argv)
    status: int = args.handler(args)
    return status
