"""scripts/farm: run the suite on a place of a labgrid farm, or start a farm on loopback.

    scripts/farm test --place rpi4-1 --env tests/env/rpi4-64-remote.yaml
    scripts/farm test --place rpi4-1 --env … -- tests/image -k sysctl
    scripts/farm test --place + --env …   # the place reserved with LG_TOKEN (CI)
    scripts/farm loopback            # coordinator + exporter + a QEMU board, until Ctrl-C
    make test-place PLACE=rpi4-1 ENV=tests/env/rpi4-64-remote.yaml

``test`` checks that the place exists and is free, locks it, runs pytest
with the env file (RemotePlace $LG_PLACE) and the coordinator, then
unlocks it and, for ``+``/``+TOKEN``, ends the reservation: whether the
tests pass, fail or are interrupted (SIGINT or SIGTERM). Without tests
after ``--`` it runs what a test image carries: DEFAULT_TESTS. The
coordinator is --coordinator, else $LG_COORDINATOR, else labgrid's
default 127.0.0.1:20408.

``loopback`` starts the real labgrid-coordinator and labgrid-exporter on
127.0.0.1 with bed guests as boards (board.py gives each a TCP console
and an HTTP power switch), makes one place per board, and waits for
Ctrl-C or SIGTERM; then it ends every process it started.

Exit status: 0 ok, 1 internal error, 2 user error (a missing or taken
place, no coordinator, a missing env file), 130 interrupted; ``test``
otherwise exits with pytest's status.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..bed import boot
from ..bed.guest import GuestSpec, build
from ..core import progress
from ..core.errors import EXIT_OK, UserError, run_command
from ..core.paths import REPO
from ..lab.places import DEFAULT_COORDINATOR, Place, locked
from ..suite.runner import pytest_command
from .loopback import FarmBoard, LoopbackFarm

# What runs on an image built with kas/opt/test.yml: the stack at boot,
# the module (lmwtest is in test images) and the terminator.
DEFAULT_TESTS = ("tests/image", "tests/lmw", "tests/terminator")


def run_suite(place: Place, env_file: Path, tests: Sequence[str],
              pytest_args: Sequence[str] = ()) -> int:
    """Lock ``place``, run pytest with ``env_file`` against it, unlock; pytest's exit status."""
    if not env_file.is_file():
        raise UserError(f"no labgrid environment file {env_file}",
                        hint="tests/env/ holds one per board: *-remote.yaml for farms")
    pytest, _ = pytest_command(f"place-{place.name.replace('/', '-')}")
    argv = [*pytest, "--lg-env", str(env_file), "--lg-coordinator", place.coordinator,
            *pytest_args, *tests]
    with locked(place):
        print(f"farm: place {place.name} locked on {place.coordinator}; running "
              f"{' '.join(tests)}", flush=True)
        done = subprocess.run(argv, cwd=REPO, env={**place.env, "LG_PLACE": place.name},
                              check=False)
    print(f"farm: place {place.name} unlocked", flush=True)
    return done.returncode


def cmd_test(args: argparse.Namespace) -> int:
    place = Place(args.place, args.coordinator)
    extra = [a for a in args.pytest if a != "--"]
    tests = [a for a in extra if not a.startswith("-") and (REPO / a.split("::")[0]).exists()]
    options = [a for a in extra if a not in tests]
    return run_suite(place, Path(args.env), tests or list(DEFAULT_TESTS), options)


def cmd_loopback(args: argparse.Namespace) -> int:
    guest = build(GuestSpec(kernel=args.kernel, arch=args.arch, userland=args.userland))
    argv = boot.qemu_argv(guest)
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
