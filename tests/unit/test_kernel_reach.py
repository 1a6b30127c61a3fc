"""The kernels beyond Debian 12: per-arch origins, 7.x packaging, the build root, the plan."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lmwtools.bed import buildenv, kernels
from lmwtools.bed.apt import AptSuites
from lmwtools.bed.catalog import ARCHES, BUILT_KERNELS, KERNELS, MATRIX, kernel_series
from lmwtools.bed.kernels import KernelTree
from lmwtools.bed.mirrors import Mirrors
from lmwtools.core.errors import UserError
from lmwtools.suite import runner


def test_each_arch_of_a_series_has_one_origin() -> None:
    for series in KERNELS.values():
        assert len(series.arches) == len(set(series.arches)), series.name
        for arch in series.arches:
            assert arch in series.origin(arch).arches


def test_an_unclaimed_arch_names_the_claimed_ones() -> None:
    with pytest.raises(UserError) as caught:
        kernel_series("6.12-rt").origin("riscv64")
    assert "not claimed on riscv64" in str(caught.value)
    assert "x86_64" in (caught.value.hint or "")


def test_claims_name_only_arches_of_the_series() -> None:
    for series in KERNELS.values():
        assert {arch for arch, _ in series.claims} <= set(series.arches), series.name


def _tree(root: Path, release: str, arch: str = "x86_64") -> KernelTree:
    return KernelTree(series=KERNELS["newest"], arch=ARCHES[arch], release=release,
                      version="1", root=root)


def test_split_7x_image_is_found_under_the_modules(tmp_path: Path) -> None:
    modules = tmp_path / "usr" / "lib" / "modules" / "7.3.4+deb13-amd64"
    modules.mkdir(parents=True)
    (modules / "vmlinuz").write_bytes(b"k")
    (modules / "config").write_text("CONFIG_KPROBES=y\n")
    tree = _tree(tmp_path, "7.3.4+deb13-amd64")
    assert tree.vmlinuz == modules / "vmlinuz"
    assert tree.config == modules / "config"
    assert tree.modules == modules


def test_classic_boot_files_win_and_riscv_boots_vmlinux(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "vmlinux-6.12.1-riscv64").write_bytes(b"k")
    assert _tree(tmp_path, "6.12.1-riscv64", "riscv64").vmlinuz == \
        boot / "vmlinux-6.12.1-riscv64"
    (boot / "vmlinuz-6.12.1-riscv64").write_bytes(b"k")
    assert _tree(tmp_path, "6.12.1-riscv64", "riscv64").vmlinuz == \
        boot / "vmlinuz-6.12.1-riscv64"


def test_headers_find_their_tree_wherever_it_is_reached_from(tmp_path: Path) -> None:
    src = tmp_path / "unpacked" / "usr" / "src"
    headers = src / "linux-headers-7.3.4+deb13-amd64"
    common = src / "linux-headers-7.3.4+deb13-common"
    headers.mkdir(parents=True)
    common.mkdir()
    (headers / "Makefile").write_text(
        "KBUILD_OUTPUT=/usr/src/linux-headers-7.3.4+deb13-amd64\n"
        "include /usr/src/linux-headers-7.3.4+deb13-common/Makefile\n")
    (common / "Makefile").write_text("all:\n\t@echo output=$(KBUILD_OUTPUT)\n")
    kernels._fix_headers(headers)
    # the cache moved after it was unpacked, and is reached through a link
    moved = tmp_path / "moved"
    (tmp_path / "unpacked").rename(moved)
    link = tmp_path / "link"
    link.symlink_to(moved)
    made = subprocess.run(["make", "-s", "-C", str(link / "usr" / "src" / headers.name)],
                          capture_output=True, text=True, check=True)
    assert made.stdout.strip() == f"output={moved / 'usr' / 'src' / headers.name}"


def test_headers_of_an_unknown_layout_are_refused(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("include $(srctree)/Makefile\n")
    with pytest.raises(UserError, match="unexpected headers layout"):
        kernels._fix_headers(tmp_path)


def _conf(tmp_path: Path, suites: tuple[str, ...]) -> str:
    apt = AptSuites(tmp_path, Mirrors(main="http://m/debian", security="http://m/sec"),
                    suites, (), ("amd64",))
    apt._write_config()
    return apt.conf.read_text()


def test_a_backports_suite_set_prefers_backports(tmp_path: Path) -> None:
    assert 'APT::Default-Release "trixie-backports";' in \
        _conf(tmp_path / "a", ("trixie-backports", "trixie"))
    # bookworm + bookworm-updates: the highest version wins, no pin
    assert "Default-Release" not in _conf(tmp_path / "b", ("bookworm", "bookworm-updates"))


def test_host_builds_run_unchanged() -> None:
    assert buildenv.command(None, ["make", Path("/x"), "all"]) == ["make", "/x", "all"]


def test_every_claimed_kernel_and_arch_runs_the_module_tests() -> None:
    plan = runner.sessions(quick=False)
    for kernel, arch in MATRIX:
        session = next(s for s in plan if s.name == f"{kernel}/{arch}/initramfs")
        assert "tests/lmw" in session.args


# A session's one test: it logs its start, waits until its partners (if
# any) have started too, or 30 s, and logs its end. Sessions that run
# side by side all end at once; one that runs after a partner ended
# waits the whole 30 s in vain, and the order shows it. A slow start of
# pytest on a loaded machine changes nothing.
_TIMED_TEST = """
import time
from pathlib import Path

def test_it():
    log = Path({log!r})
    partners = {partners!r}
    with open(log, "a") as out:
        out.write(f"start {name} {{time.monotonic()}}\\n")
    deadline = time.monotonic() + (30 if partners else 0.5)
    while time.monotonic() < deadline:
        if partners and all(f"start {{p}} " in log.read_text() for p in partners):
            break
        time.sleep(0.05)
    with open(log, "a") as out:
        out.write(f"end {name} {{time.monotonic()}}\\n")
"""


def test_sessions_run_longest_first_round_by_round(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "TEST_RESULTS", tmp_path / "results")
    events = tmp_path / "events"
    busy, quiet = ("long", "middle", "short"), ("calm", "calmer", "calmest")
    plan = []
    for name, minutes, placement in (("short", 1.0, runner.BUSY), ("bench", 3.0, runner.ALONE),
                                     ("long", 9.0, runner.BUSY), ("middle", 5.0, runner.BUSY),
                                     ("calm", 2.0, runner.QUIET),
                                     ("calmer", 1.0, runner.QUIET),
                                     ("calmest", 0.5, runner.QUIET),
                                     ("smoke", 4.0, runner.ALONE)):
        test_file = tmp_path / f"test_{name}.py"
        partners = tuple(q for q in quiet if q != name) if name in quiet else ()
        test_file.write_text(_TIMED_TEST.format(log=str(events), name=name, partners=partners))
        plan.append(runner.Session(name, (str(test_file),), minutes, placement))
    outcomes = runner.run_plan(plan, [], jobs=2)
    assert list(outcomes) == [s.name for s in plan]   # the plan's order
    assert all(o.passed == 1 and o.failed == 0 for o in outcomes.values())
    at = {f"{kind} {name}": float(t) for kind, name, t in
          (line.split() for line in events.read_text().splitlines())}
    # the two longest start first, the shortest when one of them has ended
    assert at["start short"] >= min(at["end long"], at["end middle"])
    # the quiet ones start after every busy one has ended, all three side by
    # side (one more than --jobs): each started before any of them ended
    assert min(at[f"start {q}"] for q in quiet) >= max(at[f"end {b}"] for b in busy)
    assert max(at[f"start {q}"] for q in quiet) < min(at[f"end {q}"] for q in quiet)
    # the alone ones after that, one at a time, longest first
    assert at["start smoke"] >= max(at[f"end {q}"] for q in quiet)
    assert at["start bench"] >= at["end smoke"]
    # and each session's output is kept whole in its own log
    assert "1 passed" in (tmp_path / "results" / "long.log").read_text()


def test_the_second_init_runs_the_terminator_tests_of_the_init_system() -> None:
    plan = {s.name: s for s in runner.sessions(quick=False)}
    kernel = runner.TERMINATOR_KERNEL
    full = plan[f"{kernel}/x86_64/{runner.TERMINATOR_USERLAND}"]
    other = plan[f"{kernel}/x86_64/sysvinit"]
    assert "tests/terminator" in full.args and "-m" not in full.args
    assert other.args[other.args.index("-m") + 1] == "not terminator or every_init"
    assert full.placement == other.placement == runner.QUIET


def test_only_one_thread_guests_run_beside_the_terminator() -> None:
    """The quiet round holds the x86 guests (one host thread each); the arm
    guests and the kernel the bed builds stay in the busy one."""
    guests = [s for s in runner.sessions(quick=False) if s.name.count("/") == 2]
    assert guests
    for session in guests:
        kernel, arch, _ = session.name.split("/")
        heavy = arch != "x86_64" or kernel in BUILT_KERNELS
        assert (session.placement == runner.BUSY) == heavy, session.name


def test_older_releases_of_a_flavour_newest_first() -> None:
    # names as a trixie-backports index lists them, other flavours mixed in
    names = ["linux-image-7.3.4+deb13-armmp", "linux-image-7.2.11+deb13-armmp",
             "linux-image-7.2.9+deb13-armmp", "linux-image-7.2.12+deb13-armmp-lpae",
             "linux-image-7.2.12+deb13-armmp-dbg", "linux-image-7.2.10+deb13-rt-armmp",
             "linux-image-7.0.10+deb13-armmp", "linux-image-armmp",
             "linux-image-7.2.10+deb13-amd64-unsigned"]
    assert kernels.older_releases(names, "armmp", "7.3.4+deb13-armmp") == [
        "7.2.11+deb13-armmp", "7.2.9+deb13-armmp", "7.0.10+deb13-armmp"]
    assert kernels.older_releases(names, "armmp", "7.2.9+deb13-armmp") == [
        "7.0.10+deb13-armmp"]
    assert kernels.older_releases(names, "amd64", "7.3.4+deb13-amd64") == [
        "7.2.10+deb13-amd64"]
    assert kernels.older_releases(names, "rt-armmp", "7.3.4+deb13-rt-armmp") == [
        "7.2.10+deb13-rt-armmp"]
