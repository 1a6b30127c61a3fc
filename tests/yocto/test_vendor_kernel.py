"""A kernel that is not linux-yocto: lmw-kernel.inc's steps on a real kernel source.

A BSP kernel (linux-imx, linux-ti-staging, ...) makes its .config from a
defconfig and does not read .cfg fragments. lmw-kernel-config.inc runs,
after the recipe's own configure: ``lmw-kconfig merge``, the kernel's
``make olddefconfig``, ``lmw-kconfig check``. Here those same steps run
on Debian's linux-source-6.12 (which the bed keeps for checkpatch and the
debug kernel) from its x86_64_defconfig, which has swap on: the check
must fail before the merge, naming the option, and pass after it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lmwtools.bed.catalog import ARCHES, KERNELS
from lmwtools.bed.kernelbuild import unpacked_source
from lmwtools.bed.kernels import apt_for
from lmwtools.core.paths import LAYER, cache_root

KERNEL_DIR = LAYER / "recipes-kernel" / "linux"
FILES = KERNEL_DIR / "linux-yocto"
LMW_KCONFIG = FILES / "lmw-kconfig"
FRAGMENT = FILES / "lmw.cfg"


@pytest.fixture(scope="module")
def source() -> Path:
    apt = apt_for(KERNELS["6.12"], ARCHES["x86_64"])
    apt.update()
    deb = apt.download(["linux-source-6.12"], cache_root() / "debs")[0]
    return unpacked_source(deb)


def _make(source: Path, build: Path, target: str) -> None:
    subprocess.run(["make", "-s", "-C", str(source), f"O={build}", "ARCH=x86", target],
                   check=True, capture_output=True)


def _kconfig(*args: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(LMW_KCONFIG), *map(str, args)], capture_output=True,
                          text=True, check=False)


def _option(config: Path, name: str) -> str:
    text = config.read_text()
    if f"# {name} is not set" in text.splitlines():
        return "n"
    match = re.search(rf"^{name}=(.*)$", text, re.MULTILINE)
    return match.group(1) if match else ""


def test_a_defconfig_kernel_gets_the_fragment(source: Path, tmp_path: Path) -> None:
    _make(source, tmp_path, "x86_64_defconfig")
    config = tmp_path / ".config"
    assert _option(config, "CONFIG_SWAP") == "y"    # what the merge has to undo

    before = _kconfig("check", config, FRAGMENT, source)
    assert before.returncode == 1
    assert "CONFIG_SWAP=n" in before.stderr

    merged = _kconfig("merge", config, FRAGMENT)
    assert merged.returncode == 0, merged.stderr
    _make(source, tmp_path, "olddefconfig")
    after = _kconfig("check", config, FRAGMENT, source)
    assert after.returncode == 0, after.stderr
    assert _option(config, "CONFIG_SWAP") == "n"
    for name in ("CONFIG_KPROBES", "CONFIG_PROC_SYSCTL", "CONFIG_PSI"):
        assert _option(config, name) == "y", name


def test_an_option_kconfig_drops_is_named(source: Path, tmp_path: Path) -> None:
    """An option whose dependency the defconfig leaves off is dropped by
    olddefconfig: the check names it; an option this kernel does not know
    is reported as skipped, not counted."""
    _make(source, tmp_path, "x86_64_defconfig")
    config = tmp_path / ".config"
    fragment = tmp_path / "wants.cfg"
    # KFENCE_STATIC_KEYS depends on KFENCE, which the defconfig leaves off
    fragment.write_text("CONFIG_KFENCE_STATIC_KEYS=y\nCONFIG_LMW_NO_SUCH_OPTION=y\n")
    assert _kconfig("merge", config, fragment).returncode == 0
    _make(source, tmp_path, "olddefconfig")
    result = _kconfig("check", config, fragment, source)
    assert result.returncode == 1
    assert "CONFIG_KFENCE_STATIC_KEYS=y" in result.stderr
    assert "CONFIG_LMW_NO_SUCH_OPTION is not an option of this kernel" in result.stderr


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    assert _kconfig("merge", tmp_path / "nothing", FRAGMENT).returncode == 2
    assert _kconfig("frobnicate").returncode == 2


def test_the_one_line_include_is_gated_and_names_the_steps() -> None:
    """The line a BSP puts in its bbappend pulls the config in only with the
    distro feature (the same gate as the layer's own bbappends)."""
    gate = (KERNEL_DIR / "lmw-kernel.inc").read_text()
    assert re.search(r"^require \$\{@bb\.utils\.contains\('DISTRO_FEATURES', 'lmw', "
                     r"'recipes-kernel/linux/lmw-kernel-config\.inc', '', d\)\}$",
                     gate, re.MULTILINE)
    assert "require recipes-kernel/linux/lmw-kernel.inc" in gate
    assert (LAYER / "recipes-kernel" / "linux" / "lmw-kernel-config.inc").is_file()
