"""scripts/run-tests (make test): every test, the host's and each guest's, and one summary.

    scripts/run-tests                 everything (what make test and CI run)
    scripts/run-tests --quick         host tests + 6.1/x86_64 initramfs
    scripts/run-tests --only 6.12     sessions whose name contains "6.12"
    scripts/run-tests --only farm     the loopback farm (tests/farm)
    scripts/run-tests --jobs 1        one session at a time, output as it comes
    scripts/run-tests -- -k swap      extra arguments for every pytest

The sessions (runner.sessions): the host tests (tests/unit, tests/yocto);
one session per guest of the matrix (each claimed kernel and arch, with
the initramfs userland, and on x86_64 the Debian systemd and sysvinit
userlands too); the loopback farm; the bench's smoke run. They run two
at a time (--jobs), longest first, each one's output printed whole when
it ends: the heavy ones first (the arm guests, the debug kernel's
build), then the terminator's sessions beside the other x86 guests and
the host work, three at a time (--jobs plus one). Each line of the
summary gives a session's wall time and CPU time. A failed session
does not stop the others. The last line is the sum
over all of them: ``total: N passed, N failed, N skipped``. JUnit files
and guest console logs go to build/test-results/.

One test on one guest, with pytest itself (what a session runs)::

    build/venv/bin/pytest --lg-env tests/env/qemu-initramfs.yaml \\
        --lmw-kernel 6.12 tests/lmw/test_module.py -k refused

Exit status: 0 when every session passed, 1 when anything failed (a
session that ran no test counts as failed), 2 when --only matches nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..core.errors import UserError, run_command
from ..core.paths import TEST_RESULTS
from .runner import Outcome, run_plan, sessions

# Two: the machines this runs on have two cores, and a cold run keeps
# both busy (95% in a measured run). A third guest beside them was tried:
# the arm guests' sessions took up to 2.8 times as long, and the debug
# kernel's timing-bound tests failed (RCU tasks stalls, too few rounds of
# a load at the line).
DEFAULT_JOBS = 2


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 8:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of sessions from 1 to 8")
    return int(text)



def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run-tests",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="host + one guest")
    parser.add_argument("--only", metavar="TEXT", help="sessions whose name contains TEXT")
    parser.add_argument("--jobs", type=_jobs, default=DEFAULT_JOBS, metavar="N",
                        help=f"sessions side by side (default: {DEFAULT_JOBS})")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER,
                        help="after --: passed to every pytest")
    return parser


def run_all(args: argparse.Namespace) -> int:
    extra = [a for a in args.pytest_args if a != "--"]
    plan = sessions(args.quick)
    if args.only:
        plan = [s for s in plan if args.only in s.name]
    if not plan:
        raise UserError(f"no session matches '{args.only}'",
                        hint="sessions: " + ", ".join(s.name for s in sessions(False)))
    TEST_RESULTS.mkdir(parents=True, exist_ok=True)
    outcomes = run_plan(plan, extra, args.jobs)
    total = Outcome()
    print("\n===== summary =====")
    for name, o in outcomes.items():
        mark = "ok  " if o.failed == 0 else "FAIL"
        print(f"{mark} {name:28} {o.passed:3} passed {o.failed:3} failed "
              f"{o.skipped:3} skipped {o.seconds:6.1f} s {o.cpu_seconds:7.0f} CPU-s")
        total.passed += o.passed
        total.failed += o.failed
        total.skipped += o.skipped
    print(f"total: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return 1 if total.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("run-tests", lambda: run_all(args))
