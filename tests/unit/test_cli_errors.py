"""Bad input to scripts/testbed: a clear message, exit status 2, nothing downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTBED = Path(__file__).resolve().parents[2] / "scripts" / "testbed"


def run_testbed(*args: str, path: str | None = None,
            cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    if cache is not None:
        env["LMW_CACHE"] = str(cache)
    return subprocess.run([sys.executable, str(TESTBED), *args], env=env, text=True,
                          capture_output=True, check=False, timeout=120)


@pytest.mark.parametrize(("args", "message", "hint"), [
    (("exec", "--kernel", "9.9", "--", "true"), "unknown kernel '9.9'", "5.10"),
    (("build", "--arch", "mips64el"), "unknown arch 'mips64el'", "riscv64"),
    (("build", "--kernel", "6.12-rt", "--arch", "armhf"), "kernel 6.12-rt is not claimed on armhf",
     "x86_64"),
    (("build", "--userland", "openrc"), "unknown userland 'openrc'", "sysvinit"),
    (("build", "--kernel", "5.10", "--arch", "arm64"),
     "kernel 5.10 is not claimed on arm64", "x86_64"),
    (("exec",), "exec needs a command", "exec -- uname -r"),
])
def test_bad_arguments(args: tuple[str, ...], message: str, hint: str, tmp_path: Path) -> None:
    result = run_testbed(*args, cache=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "hint:" in result.stderr and hint in result.stderr
    assert list(tmp_path.iterdir()) == [], "a bad argument must not start any work"


def _path_with(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only ``tools`` (symlinks to the real ones)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        assert real, f"{tool} is needed on the host for this test"
        (bin_dir / tool).symlink_to(real)
    return str(bin_dir)


def test_missing_qemu_says_which_package(tmp_path: Path) -> None:
    result = run_testbed("exec", "--", "true", path=_path_with(tmp_path), cache=tmp_path / "c")
    assert result.returncode == 2
    assert "host tool 'qemu-system-x86_64' not found" in result.stderr
    assert "apt-get install qemu-system-x86" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the rootfs preflight asks for root first")
def test_missing_mmdebstrap_is_reported_before_any_download(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = run_testbed("build", "--userland", "systemd",
                     path=_path_with(tmp_path, "qemu-system-x86_64"), cache=cache)
    assert result.returncode == 2, result.stderr
    assert "host tool 'mmdebstrap' not found" in result.stderr
    assert "apt-get install mmdebstrap" in result.stderr
    assert not (cache / "debs").exists()


def test_a_tool_run_without_the_venv_says_to_run_make_deps(tmp_path: Path) -> None:
    """scripts/flash --place under Debian's own python3 (no labgrid): exit 2 and what to run,
    not a traceback. The wrapper would switch to build/venv; the CLI is called directly."""
    system_python = "/usr/bin/python3"
    probe = subprocess.run([system_python, "-c", "import labgrid"], capture_output=True,
                           check=False)
    if probe.returncode == 0:
        pytest.skip("this host's own python3 has labgrid")
    image = tmp_path / "card.img"
    image.write_bytes(b"\0" * 4096)
    env_file = TESTBED.parents[1] / "tests" / "env" / "rpi4-64-remote.yaml"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from lmwtools.flash import cli; "
            "sys.exit(cli.main(sys.argv[2:]))")
    proc = subprocess.run([system_python, "-c", code, str(TESTBED.parent), str(image),
                           "--place", "rpi4-1", "--env", str(env_file)],
                          text=True, capture_output=True, check=False, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "'labgrid'" in proc.stderr and "make deps" in proc.stderr
