"""The suite's plan: one pytest session per guest of the matrix, and how each one is run.

labgrid boots one environment per pytest session, so each guest (kernel,
arch, userland) is its own session. ``sessions()`` is the plan;
``pytest_command()`` is how every run of the suite starts pytest (the
matrix here, a farm place in farm/); ``count()`` reads a session's JUnit.
Sessions run side by side (``run_plan``, two at a time by default: a
cold run keeps two cores busy), longest first, in three rounds by their
``placement``: BUSY ones first, beside anything (the heavy ones: the
debug kernel's build, the arm guests' several TCG threads, the arm64
root built under qemu-user); then the QUIET ones beside each other
only, one more at a time than --jobs says (the terminator's, whose tests
race processes against the daemon and want no heavy guest beside them,
and what fits beside them: host work and every session of one x86 guest,
which runs on one host thread and waits on its console much of the
time); then the ALONE ones by themselves (none in the
plan now: the place for a session that must measure). A ``background``
session (the real bitbake and Buildroot: host work that no guest waits
for) runs from the start beside all of them, outside the slots, at a
lower CPU priority.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..bed.catalog import BUILT_KERNELS, MATRIX
from ..core import upstream
from ..core.paths import ENV_DIR, REPO, TEST_RESULTS

# The Debian userlands are booted on the x86_64 kernels of Debian's
# releases (each takes ~30 s), systemd on the newest, and systemd on one
# guest of another arch (arm64: its Debian root is built under qemu-user,
# minutes, once); the rt flavour changes the kernel only, and the other
# arches are proven with the initramfs userland, which carries every
# module test.
DEBIAN_USERLANDS = ("systemd", "sysvinit")
USERLANDS_BEYOND_INITRAMFS: dict[tuple[str, str], tuple[str, ...]] = {
    ("5.10", "x86_64"): DEBIAN_USERLANDS, ("6.1", "x86_64"): DEBIAN_USERLANDS,
    ("6.12", "x86_64"): DEBIAN_USERLANDS, ("newest", "x86_64"): ("systemd",),
    ("6.12", "arm64"): ("systemd",),
}
# Buildroot's way of booting our packages (bed/buildrootway.py), on the
# default board's kernel; it reads Buildroot's files from $LMW_UPSTREAM.
BUILDROOT_USERLAND_ON = ("6.1", "x86_64")
# The module's tests need no userland beyond busybox and the static helper,
# so they run once per kernel/arch, in its initramfs session. The
# terminator's need python3 and an init system: the Debian userlands on
# the default board's kernel (the kernel matrix is the module's concern,
# and a cold run of the whole plan has to stay under an hour). The
# stack as an image boots it (autoload, sysctl defaults) runs on every
# Debian userland: it takes seconds.
GUEST_TESTS: dict[str, tuple[str, ...]] = {
    "initramfs": ("tests/bed", "tests/lmw"),
    "systemd": ("tests/bed", "tests/image"),
    "sysvinit": ("tests/bed", "tests/image"),
    "buildroot": ("tests/bed", "tests/image"),
}
TERMINATOR_KERNEL = "6.1"
# Every terminator test runs on this userland; on the other Debian one,
# those of what the init system does (marked every_init).
TERMINATOR_USERLAND = "systemd"
# tests/mm (the kernel's own mm selftests three ways, a balloon moving the
# lines) boot their own guest, with a disk and a balloon: the newest
# kernel we claim, whose linux-source Debian serves at the same version.
MM_KERNEL = "6.12"


# A session's round (see the module docstring and run_plan).
BUSY, QUIET, ALONE = "busy", "quiet", "alone"
# The quiet round's sessions side by side: one more than --jobs. Its x86
# guests run on one host thread each and wait on their consoles much of
# the time: in a cold run with two of them at a time (the matrix's x86
# guests in the busy round, after the arm ones), a quarter of two cores
# stayed idle, and the terminator's session started 47 minutes in.
QUIET_EXTRA_SLOTS = 1


@dataclass(frozen=True, slots=True)
class Session:
    name: str
    args: tuple[str, ...]
    # a rough cold-run length, for the order only (longest first)
    minutes: float = 2.0
    placement: str = BUSY
    # Runs beside the others from the start, outside the --jobs slots, at a
    # lower CPU priority (see run_plan): host work that takes long and that
    # no guest waits for (the real bitbake).
    background: bool = False


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    status: int = 0
    # CPU time (user + system) of pytest and every process it waited for
    # (a guest's QEMU, a build's compilers; not a daemon that left it, such
    # as bitbake's server): what a session costs the machine, beside its
    # wall time, which depends on what ran next to it
    cpu_seconds: float = 0.0
    # when it started, in seconds after the plan did
    started: float = 0.0


def sessions(quick: bool) -> list[Session]:
    # host work, one process: it fits beside the quiet guests
    plan = [Session("host", ("tests/unit", "tests/yocto/test_kas.py",
                             "tests/yocto/test_vendor_kernel.py",
                             "tests/yocto/test_oeqa_cases.py"), placement=QUIET)]
    # The real bitbake and Buildroot on our layer and tree: they skip
    # (seconds) without $LMW_UPSTREAM's snapshots; with them, bitbake's cut
    # of oe-check is one of the two longest sessions (most of it
    # yocto-check-layer's signature rule; the other: the debug kernel's).
    snapshots = upstream.configured()
    plan.append(Session("bitbake", ("tests/yocto/test_bitbake.py",),
                        minutes=15.0 if snapshots else 0.1, background=snapshots))
    # Buildroot's make on our tree is host work too, and no guest waits for
    # it either: beside bitbake, rather than in the short quiet round,
    # where it would be the last session of a slot.
    plan.append(Session("buildroot", ("tests/buildroot",), minutes=2.5 if snapshots else 0.1,
                        placement=QUIET, background=snapshots))
    for kernel, arch in MATRIX:
        userlands = ("initramfs", *USERLANDS_BEYOND_INITRAMFS.get((kernel, arch), ()))
        if snapshots and (kernel, arch) == BUILDROOT_USERLAND_ON:
            userlands = (*userlands, "buildroot")
        for userland in userlands:
            tests = GUEST_TESTS[userland]
            minutes = 2.0 if arch == "x86_64" else 4.0   # other arches: TCG is slower
            if userland != "initramfs" and arch != "x86_64":
                minutes = 8.0    # the root's first build runs under qemu-user
            # The terminator's tests (on x86) race real processes against
            # the daemon: no heavy guest beside them. An x86 guest is one
            # host thread (thread=single) and fits beside them; the other
            # arches' guests are several.
            placement = QUIET if arch == "x86_64" else BUSY
            if userland in DEBIAN_USERLANDS and kernel == TERMINATOR_KERNEL:
                if userland == TERMINATOR_USERLAND:
                    tests, minutes = (*tests, "tests/terminator"), 6.0
                else:
                    # what the init system does to the daemon; the daemon's
                    # own behaviour is the same under either
                    tests, minutes = (*tests, "tests/terminator", "-m",
                                      "not terminator or every_init"), 3.0
            plan.append(Session(
                f"{kernel}/{arch}/{userland}",
                ("--lg-env", str(ENV_DIR / f"qemu-{userland}.yaml"),
                 "--lmw-kernel", kernel, "--lmw-arch", arch, *tests), minutes, placement))
    # The module's tests again on each kernel the bed builds (the debug one:
    # KFENCE, lockdep, UBSAN, kmemleak, fault injection; kprobes by int3),
    # where any report of the kernel's checkers fails the test.
    for kernel, series in BUILT_KERNELS.items():
        for arch in series.arches:
            plan.append(Session(
                f"{kernel}/{arch}/initramfs",
                ("--lg-env", str(ENV_DIR / "qemu-initramfs.yaml"),
                 "--lmw-kernel", kernel, "--lmw-arch", arch, "tests/lmw"), minutes=9.0))
    plan.append(Session(
        f"{MM_KERNEL}/x86_64/mm",
        ("--lg-env", str(ENV_DIR / "qemu-initramfs.yaml"),
         "--lmw-kernel", MM_KERNEL, "--lmw-arch", "x86_64", "tests/mm"), minutes=3.0,
        placement=QUIET))
    # The loopback farm (labgrid coordinator + exporter, the 6.1 systemd
    # guest as a board): a host session that starts its own labgrid
    # processes and runs part of the suite through RemotePlace.
    # One x86 guest each, like the terminator's: they fit in the quiet
    # round, beside the longest terminator session. The
    # bench's smoke run asserts what it measured exists, not how fast, so
    # it needs no round of its own (``make bench`` itself runs alone).
    plan.append(Session("farm", ("tests/farm",), placement=QUIET))
    # make bench's smoke run (scripts/bench --smoke), so the bench cannot rot
    plan.append(Session("bench", ("tests/bench",), minutes=3.0, placement=QUIET))
    if quick:
        plan = [s for s in plan if s.name in ("host", "6.1/x86_64/initramfs")]
    return plan


def count(junit: Path, outcome: Outcome) -> None:
    if not junit.exists():
        return
    for suite in ET.parse(junit).getroot().iter("testsuite"):
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        outcome.failed += failed
        outcome.skipped += skipped
        outcome.passed += total - failed - skipped


def pytest_command(slug: str) -> tuple[list[str], Path]:
    """pytest as every run of the suite starts it, with its JUnit file and
    console logs named by ``slug`` in TEST_RESULTS; (argv, JUnit path)."""
    TEST_RESULTS.mkdir(parents=True, exist_ok=True)
    junit = TEST_RESULTS / f"{slug}.xml"
    junit.unlink(missing_ok=True)
    return ([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--junitxml={junit}", "-o", "junit_family=xunit2",
             "--lg-log", str(TEST_RESULTS / f"{slug}-console")], junit)


# A background session's niceness: its processes (bitbake's parser and
# server among them) get the CPU the guests leave, which is plenty in
# the quiet and alone rounds, and are never starved for long (nice 19 or
# SCHED_IDLE would be, and bitbake's client gives up on a silent server).
# bitbake's server is a session of its own (it daemonizes), so with
# scheduler autogroups its nice counts inside its own group only, which
# gets as much CPU as all the guests' group. Measured, and kept that way:
# with nice 10 for its group too, the guests used the CPU they were given
# (a TCG guest's CPU time grows with what it gets: 8368 busy core-s in a
# cold run against about 7000), bitbake ran 69 minutes and the run took
# 70 instead of 68.
BACKGROUND_NICE = 10


def _run_counted(command: list[str], out: IO[str] | None) -> tuple[int, float]:
    """Run ``command`` in REPO; (exit status, CPU seconds of it and its waited-for children)."""
    proc = subprocess.Popen(command, cwd=REPO, stdout=out,
                            stderr=subprocess.STDOUT if out else None)
    # wait4, not Popen.wait: the child's rusage comes with its status
    _, wait_status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def run(session: Session, extra: list[str], *, log: Path | None = None) -> Outcome:
    """Run one session; its output goes to ``log`` when given, else to ours."""
    slug = session.name.replace("/", "-")
    argv, junit = pytest_command(slug)
    if session.background:
        argv = ["nice", "-n", str(BACKGROUND_NICE), *argv]
    start = time.monotonic()
    command = [*argv, *session.args, *extra]
    if log is None:
        print(f"\n===== {session.name} =====", flush=True)
        status, cpu = _run_counted(command, None)
    else:
        with open(log, "w", encoding="utf-8") as out:
            status, cpu = _run_counted(command, out)
    outcome = Outcome(seconds=time.monotonic() - start, status=status, cpu_seconds=cpu)
    count(junit, outcome)
    # pytest exit 5 = no test ran; a session that ran nothing proves nothing.
    if status != 0 and outcome.failed == 0:
        outcome.failed = 1
    return outcome


def _clock(seconds: float) -> str:
    """Minutes and seconds after the plan started: 12:05."""
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def run_plan(plan: list[Session], extra: list[str], jobs: int) -> dict[str, Outcome]:
    """Run ``plan``, ``jobs`` sessions at a time, longest first, round by round:
    the BUSY sessions, then the QUIET ones (one more at a time), then the ALONE ones one by one
    (the background ones start first, run beside everything at a lower
    priority and take no slot). Each session's output is printed whole when
    it ends, so that side-by-side sessions do not interleave."""
    if jobs <= 1:
        return {s.name: run(s, extra) for s in plan}
    lock = threading.Lock()
    plan_start = time.monotonic()

    def one(session: Session) -> Outcome:
        log = TEST_RESULTS / f"{session.name.replace('/', '-')}.log"
        started = time.monotonic() - plan_start
        with lock:
            print(f"----- start {session.name} at {_clock(started)}", flush=True)
        outcome = run(session, extra, log=log)
        outcome.started = started
        with lock:
            ended = _clock(time.monotonic() - plan_start)
            print(f"\n===== {session.name} ({outcome.seconds:.0f} s, "
                  f"{outcome.cpu_seconds:.0f} CPU-s; ended at {ended}) =====", flush=True)
            print(log.read_text(errors="replace"), end="", flush=True)
        return outcome

    def side_by_side(placement: str, slots: int) -> dict[str, Outcome]:
        todo = sorted((s for s in plan if s.placement == placement and not s.background),
                      key=lambda s: -s.minutes)
        with ThreadPoolExecutor(max_workers=slots) as pool:
            return dict(zip((s.name for s in todo), pool.map(one, todo), strict=True))

    background = [s for s in plan if s.background]
    with ThreadPoolExecutor(max_workers=max(1, len(background))) as behind:
        behind_runs = [behind.submit(one, s) for s in background]
        done = side_by_side(BUSY, jobs)
        done.update(side_by_side(QUIET, jobs + QUIET_EXTRA_SLOTS))
        done.update(side_by_side(ALONE, 1))
        done.update({s.name: future.result()
                     for s, future in zip(background, behind_runs, strict=True)})
    return {s.name: done[s.name] for s in plan}
