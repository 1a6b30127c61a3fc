"""The kernels beyond Debian 12: per-arch origins, 7.x packaging, the build root, the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmwtools.bed import buildenv, kernels
from lmwtools.bed.apt import AptSuites
from lmwtools.bed.catalog import ARCHES, KERNELS, MATRIX, kernel_series
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


def test_headers_paths_are_pointed_into_the_unpacked_tree(tmp_path: Path) -> None:
    headers = tmp_path / "usr" / "src" / "linux-headers-7.3.4+deb13-amd64"
    headers.mkdir(parents=True)
    (headers / "Makefile").write_text(
        "KBUILD_OUTPUT=/usr/src/linux-headers-7.3.4+deb13-amd64\n"
        "include /usr/src/linux-headers-7.3.4+deb13-common/Makefile\n")
    kernels._fix_headers(headers, final=Path("/cache/k"))
    assert (headers / "Makefile").read_text() == (
        "KBUILD_OUTPUT=/cache/k/usr/src/linux-headers-7.3.4+deb13-amd64\n"
        "include /cache/k/usr/src/linux-headers-7.3.4+deb13-common/Makefile\n")


def test_headers_of_an_unknown_layout_are_refused(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("include $(srctree)/Makefile\n")
    with pytest.raises(UserError, match="unexpected headers layout"):
        kernels._fix_headers(tmp_path, final=Path("/cache/k"))


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


_TIMED_TEST = """
import time
from pathlib import Path

def test_it():
    with open({log!r}, "a") as log:
        log.write(f"start {name} {{time.monotonic()}}\\n")
    time.sleep(0.5)
    with open({log!r}, "a") as log:
        log.write(f"end {name} {{time.monotonic()}}\\n")
"""


def test_side_by_side_sessions_run_longest_first_and_alone_ones_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "TEST_RESULTS", tmp_path / "results")
    events = tmp_path / "events"
    plan = []
    for name, minutes, alone in (("short", 1.0, False), ("bench", 3.0, True),
                                 ("long", 9.0, False), ("middle", 5.0, False)):
        test_file = tmp_path / f"test_{name}.py"
        test_file.write_text(_TIMED_TEST.format(log=str(events), name=name))
        plan.append(runner.Session(name, (str(test_file),), minutes, alone))
    outcomes = runner.run_plan(plan, [], jobs=2)
    assert list(outcomes) == ["short", "bench", "long", "middle"]   # the plan's order
    assert all(o.passed == 1 and o.failed == 0 for o in outcomes.values())
    at = {f"{kind} {name}": float(t) for kind, name, t in
          (line.split() for line in events.read_text().splitlines())}
    # the two longest start first, the shortest when one of them has ended
    assert at["start short"] >= min(at["end long"], at["end middle"])
    # the bench starts after every other session has ended
    assert at["start bench"] >= max(at["end long"], at["end middle"], at["end short"])
    # and each session's output is kept whole in its own log
    assert "1 passed" in (tmp_path / "results" / "long.log").read_text()
