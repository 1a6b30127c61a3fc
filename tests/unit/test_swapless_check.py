"""meta-lmw/scripts/lmw-check-swapless: the swapless rules of the Yocto class and the
Buildroot packages, on image trees made here."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from lmwtools.core.paths import LAYER

CHECK = LAYER / "scripts" / "lmw-check-swapless"
SWAPLESS_CONFIG = "CONFIG_MODULES=y\n# CONFIG_SWAP is not set\n"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK), *map(str, args)], text=True, capture_output=True,
                          check=False, timeout=30)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "fstab").write_text(
        "# <fs> <dir> <type>\n/dev/root / auto defaults 1 1\n"
        "#/dev/sda2 none swap sw 0 0\n"            # commented out: no swap
        "proc /proc proc defaults 0 0\n")
    return root


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.write_text(SWAPLESS_CONFIG)
    return path


def test_a_swapless_image_passes(rootfs: Path, config: Path) -> None:
    proc = run("--rootfs", rootfs, "--kernel-config", config, "--package", "busybox")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


@pytest.mark.parametrize(("make_swap", "named"), [
    (lambda r: (r / "etc/fstab").write_text("/dev/vda2\tnone\tswap\tsw 0 0\n"),
     "a swap entry in /etc/fstab:1:"),
    (lambda r: (r / "usr/lib/systemd/system").mkdir(parents=True)
     or (r / "usr/lib/systemd/system/dev-zram0.swap").write_text("[Swap]\n"),
     "a swap unit: /usr/lib/systemd/system/dev-zram0.swap"),
    (lambda r: (r / "etc/systemd/system/swap.target.wants").mkdir(parents=True)
     or (r / "etc/systemd/system/swap.target.wants/swapfile.swap").write_text("[Swap]\n"),
     "a swap unit: /etc/systemd/system/swap.target.wants/swapfile.swap"),
    (lambda r: (r / "etc/systemd").mkdir(parents=True)
     or (r / "etc/systemd/zram-generator.conf").write_text("[zram0]\n"),
     "/etc/systemd/zram-generator.conf puts swap in RAM"),
])
def test_each_way_back_to_swap_is_named(rootfs: Path, config: Path,
                                        make_swap: Callable[[Path], object],
                                        named: str) -> None:
    make_swap(rootfs)
    proc = run("--rootfs", rootfs, "--kernel-config", config)
    assert proc.returncode == 1
    assert named in proc.stderr


def test_every_problem_is_named_at_once(rootfs: Path, config: Path) -> None:
    (rootfs / "etc/fstab").write_text("/swapfile none swap defaults 0 0\n")
    config.write_text("CONFIG_SWAP=y\n")
    proc = run("--rootfs", rootfs, "--kernel-config", config, "--package", "zram",
               "--package", "zram-init")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 4, lines
    assert any("CONFIG_SWAP=y" in line for line in lines)
    assert sum("puts swap in RAM" in line for line in lines) == 2


def test_a_file_name_with_spaces_is_one_problem(rootfs: Path, config: Path) -> None:
    units = rootfs / "etc/systemd/system"
    units.mkdir(parents=True)
    (units / "my swap.swap").write_text("[Swap]\n")
    proc = run("--rootfs", rootfs, "--kernel-config", config)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "lmw-check-swapless: not swapless: a swap unit: /etc/systemd/system/my swap.swap"]


@pytest.mark.parametrize("args", [
    (), ("--rootfs",), ("--kernel-config", "x"), ("--bogus", "x"),
])
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2 and "usage:" in proc.stderr


def test_a_missing_tree_or_config_is_a_usage_error(tmp_path: Path, rootfs: Path) -> None:
    proc = run("--rootfs", tmp_path / "nowhere")
    assert proc.returncode == 2 and "no such directory" in proc.stderr
    proc = run("--rootfs", rootfs, "--kernel-config", tmp_path / "no-config")
    assert proc.returncode == 2 and "no such file" in proc.stderr
