"""The suite's plan: one pytest session per guest of the matrix, and how each one is run.

labgrid boots one environment per pytest session, so each guest (kernel,
arch, userland) is its own session. ``sessions()`` is the plan;
``pytest_command()`` is how every run of the suite starts pytest (the
matrix here, a farm place in farm/); ``count()`` reads a session's JUnit.
"""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..bed.catalog import BUILT_KERNELS, MATRIX
from ..core.paths import ENV_DIR, REPO, TEST_RESULTS

# The Debian userlands are booted on every x86_64 kernel (each one takes
# ~30 s); arm64 Debian rootfs builds run under qemu-user and take minutes,
# so arm64 is proven with the initramfs userland.
DEBIAN_USERLANDS = ("systemd", "sysvinit")
# The module's tests need no userland beyond busybox and the static helper,
# so they run once per kernel/arch, in its initramfs session. The
# terminator's need python3 and an init system: both Debian userlands, on
# the default board's kernel (the kernel matrix is the module's concern,
# and five minutes per session is what keeps CI under 40 minutes). The
# stack as an image boots it (autoload, sysctl defaults) runs on every
# Debian userland: it takes seconds.
GUEST_TESTS: dict[str, tuple[str, ...]] = {
    "initramfs": ("tests/bed", "tests/lmw"),
    "systemd": ("tests/bed", "tests/image"),
    "sysvinit": ("tests/bed", "tests/image"),
}
TERMINATOR_KERNEL = "6.1"
# tests/mm (the kernel's own mm selftests three ways, a balloon moving the
# lines) boot their own guest, with a disk and a balloon: the newest
# kernel we claim, whose linux-source Debian serves at the same version.
MM_KERNEL = "6.12"


@dataclass(frozen=True, slots=True)
class Session:
    name: str
    args: tuple[str, ...]


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    status: int = 0


def sessions(quick: bool) -> list[Session]:
    plan = [Session("host", ("tests/unit", "tests/yocto"))]
    for kernel, arch in MATRIX:
        userlands = ("initramfs", *(DEBIAN_USERLANDS if arch == "x86_64" else ()))
        for userland in userlands:
            tests = GUEST_TESTS[userland]
            if userland != "initramfs" and kernel == TERMINATOR_KERNEL:
                tests = (*tests, "tests/terminator")
            plan.append(Session(
                f"{kernel}/{arch}/{userland}",
                ("--lg-env", str(ENV_DIR / f"qemu-{userland}.yaml"),
                 "--lmw-kernel", kernel, "--lmw-arch", arch, *tests)))
    # The module's tests again on each kernel the bed builds (the debug one:
    # KFENCE, lockdep, UBSAN, kmemleak, fault injection; kprobes by int3),
    # where any report of the kernel's checkers fails the test.
    for kernel, series in BUILT_KERNELS.items():
        for arch in series.arches:
            plan.append(Session(
                f"{kernel}/{arch}/initramfs",
                ("--lg-env", str(ENV_DIR / "qemu-initramfs.yaml"),
                 "--lmw-kernel", kernel, "--lmw-arch", arch, "tests/lmw")))
    plan.append(Session(
        f"{MM_KERNEL}/x86_64/mm",
        ("--lg-env", str(ENV_DIR / "qemu-initramfs.yaml"),
         "--lmw-kernel", MM_KERNEL, "--lmw-arch", "x86_64", "tests/mm")))
    # The loopback farm (labgrid coordinator + exporter, the 6.1 systemd
    # guest as a board): a host session that starts its own labgrid
    # processes and runs part of the suite through RemotePlace.
    plan.append(Session("farm", ("tests/farm",)))
    # make bench's smoke run (scripts/bench --smoke), so the bench cannot rot
    plan.append(Session("bench", ("tests/bench",)))
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


def run(session: Session, extra: list[str]) -> Outcome:
    argv, junit = pytest_command(session.name.replace("/", "-"))
    print(f"\n===== {session.name} =====", flush=True)
    start = time.monotonic()
    proc = subprocess.run([*argv, *session.args, *extra], cwd=REPO, check=False)
    outcome = Outcome(seconds=time.monotonic() - start, status=proc.returncode)
    count(junit, outcome)
    # pytest exit 5 = no test ran; a session that ran nothing proves nothing.
    if proc.returncode != 0 and outcome.failed == 0:
        outcome.failed = 1
    return outcome
