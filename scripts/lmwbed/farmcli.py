"""scripts/farm: run the suite on a place of a labgrid farm, or start a farm on loopback.

    scripts/farm test --place rpi4-1 --env tests/env/rpi4-64-remote.yaml
    scripts/farm test --place rpi4-1 --env … -- tests/image -k sysctl
    scripts/farm loopback            # coordinator + exporter + a QEMU board, until Ctrl-C

Exit codes: see errors.py (0 ok, 1 internal, 2 user error: a missing or
taken place, no coordinator; 130 interrupted); ``test`` otherwise exits
with pytest's status.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import labenv, progress
from .errors import EXIT_OK, run_command
from .farm import DEFAULT_COORDINATOR, Place, run_suite
from .guest import GuestSpec, build
from .loopback import FarmBoard, LoopbackFarm

REPO = Path(__file__).resolve().parents[2]
# What runs on an image built with kas/opt/test.yml: the stack at boot,
# the module (lmwtest is in test images) and the terminator.
DEFAULT_TESTS = ("tests/image", "tests/lmw", "tests/terminator")


def cmd_test(args: argparse.Namespace) -> int:
    place = Place(args.place, args.coordinator)
    extra = [a for a in args.pytest if a != "--"]
    tests = [a for a in extra if not a.startswith("-") and (REPO / a.split("::")[0]).exists()]
    options = [a for a in extra if a not in tests]
    return run_suite(place, Path(args.env), tests or list(DEFAULT_TESTS), options)


def cmd_loopback(args: argparse.Namespace) -> int:
    guest = build(GuestSpec(kernel=args.kernel, arch=args.arch, userland=args.userland))
    argv = labenv.qemu_argv(guest)
    boards = [FarmBoard(f"qemu-{n}", argv, {"board": "qemu"}) for n in range(1, args.boards + 1)]
    with tempfile.TemporaryDirectory(prefix="lmw-farm-") as workdir, \
            LoopbackFarm(Path(workdir), boards) as farm:
        names = " ".join(b.name for b in boards)
        print(f"loopback farm up: coordinator {farm.coordinator}, places {names}")
        print(f"  export LG_COORDINATOR={farm.coordinator}")
        print("  labgrid-client places; labgrid-client -p qemu-1 show")
        print("  scripts/farm test --place qemu-1 --env tests/env/farm-qemu.yaml -- tests/image")
        print(f"logs in {workdir}; Ctrl-C ends the farm and every process it started",
              flush=True)
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            print("loopback farm: stopping")
    return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt   # SIGTERM ends the farm as Ctrl-C does


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="farm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    test = sub.add_parser("test", help="lock a place, run the suite on it, unlock",
                          description="Lock PLACE, run pytest with ENV against it "
                                      "(RemotePlace), unlock, whatever the outcome.")
    test.add_argument("--place", required=True, help="the place's name ('+' with LG_TOKEN)")
    test.add_argument("--env", required=True, metavar="FILE",
                      help="labgrid env file with RemotePlace $LG_PLACE "
                           "(tests/env/*-remote.yaml)")
    test.add_argument("--coordinator", metavar="HOST:PORT",
                      help=f"default: $LG_COORDINATOR, else {DEFAULT_COORDINATOR}")
    test.add_argument("pytest", nargs=argparse.REMAINDER,
                      help="after --: tests and pytest options "
                           f"(default: {' '.join(DEFAULT_TESTS)})")
    test.set_defaults(handler=cmd_test)
    loop = sub.add_parser("loopback", help="a farm on 127.0.0.1 with bed guests as boards",
                          description="Start labgrid-coordinator, labgrid-exporter and QEMU "
                                      "boards on loopback, make one place per board, wait "
                                      "for Ctrl-C, end them all.")
    loop.add_argument("--kernel", default="6.1", help="Debian kernel series (default 6.1)")
    loop.add_argument("--arch", default="x86_64", help="guest architecture (default x86_64)")
    loop.add_argument("--userland", default="systemd", help="bed userland (default systemd)")
    loop.add_argument("--boards", type=int, default=1, choices=range(1, 5), metavar="N",
                      help="how many boards (1 to 4, default 1)")
    loop.set_defaults(handler=cmd_loopback)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    # SIGTERM ends a run as Ctrl-C does (the place is unlocked, the farm
    # stopped); SIGINT is set too, as a background job starts with it ignored
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    progress.set_quiet(False)
    return run_command("farm", lambda: int(args.handler(args)))
