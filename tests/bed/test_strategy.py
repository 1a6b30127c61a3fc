"""LmwStrategy's boot: a boot that hangs is tried again, and is seen.

A hung boot is made for real: QEMU starts through a wrapper that changes
the kernel's command line so that its first process is something else
than the guest's init. Two ways to hang:

- before the login prompt: that process is ``busybox sleep`` (the kernel
  boots, prints its log, runs that "init", and no getty ever asks for a
  login);
- after the login: that process asks for a login on the console and
  starts a busybox shell whose ``systemctl`` never returns, as a systemd
  whose start-up never finishes (or a guest that stops answering).

The strategy must boot again when the env file allows two boots, say so
with the hung boot's console, and fail with that console when it allows
one.

The strategy is the same on every guest: these run on one, the 6.1 x86_64
initramfs guest (its boot is the shortest), and skip on the others.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labgrid import Environment
from labgrid.strategy import StrategyError

from lmwtools.bed import boot
from lmwtools.bed.guest import Guest

pytestmark = pytest.mark.guest

# Long enough for the boot after a hung one to reach its login prompt on
# a loaded host; the hung boot costs this much wall time (an idle guest).
LOGIN_TIMEOUT_S = 45
# what the kernel prints when it starts the hung boot's first process
HUNG_INIT_LINE = "Run /bin/busybox as init process"
# The hung boots' first process, after the kernel's own parameters. The
# kernel passes the words after "--" to it, a double-quoted one as one word,
# and prints its command line: nothing in it may read as the env file's
# login prompt ("lmwguest login: ") or shell prompt (a word, " # ").
SLEEPING_INIT = "rdinit=/bin/busybox -- sleep 86400"
# a login on the console, then a shell (prompt "~ # ") whose systemctl sleeps
HANGING_START_UP_INIT = (
    'rdinit=/bin/busybox -- sh -c "/bin/busybox --install -s; '
    'mount -t devtmpfs dev /dev; mount -t proc proc /proc; '
    'exec </dev/console >/dev/console 2>&1; mkdir -p /tmp/hang; '
    'echo exec sleep 86400 >/tmp/hang/systemctl; chmod +x /tmp/hang/systemctl; '
    "export PATH=/tmp/hang:/sbin:/bin:/usr/sbin:/usr/bin PS1=~$(printf '\\040\\043\\040'); "
    "echo -n lmwguest login:; printf '\\040'; read user; exec sh -i\"")


@pytest.fixture
def one_guest(lmw_guest: Guest) -> Guest:
    spec = lmw_guest.spec
    if (spec.kernel, spec.arch, spec.userland) != ("6.1", "x86_64", "initramfs"):
        pytest.skip("the strategy's boot retry is checked on the 6.1 x86_64 initramfs guest")
    return lmw_guest


def _hanging_qemu(tmp_path: Path, real_qemu: str, hung_boots: int,
                  init: str = SLEEPING_INIT) -> Path:
    """A QEMU that boots the first ``hung_boots`` guests into ``init`` (kernel parameters)."""
    count = tmp_path / "boots"
    wrapper = tmp_path / "qemu-hanging"
    init_file = tmp_path / "hung-init"
    init_file.write_text(init)
    # labgrid runs QEMU for other things too (its version): a boot is a run
    # with a kernel command line
    wrapper.write_text(f"""#!/bin/sh
case " $* " in
*" -append "*)
    boots=$(($(cat {count} 2>/dev/null || echo 0) + 1))
    echo "$boots" > {count}
    if [ "$boots" -le {hung_boots} ]; then
        for arg; do
            shift
            case "$arg" in
            console=*) arg="$(echo "$arg" | sed 's/ quiet//') $(cat {init_file})" ;;
            esac
            set -- "$@" "$arg"
        done
    fi ;;
esac
exec {shlex.quote(real_qemu)} "$@"
""")
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture
def environment(one_guest: Guest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The guest's own env file, to be loaded once its LG_* variables are set."""
    for name, value in one_guest.labgrid_vars().items():
        monkeypatch.setenv(name, value)
    envs: list[Any] = []

    def load() -> Any:
        env = Environment(config_file=str(boot.env_file("initramfs")))
        envs.append(env)
        target = env.get_target("main")
        target.get_driver("ShellDriver", activate=False).login_timeout = LOGIN_TIMEOUT_S
        return target

    yield load
    # stops each QEMU, whatever state its strategy is in
    for env in envs:
        env.cleanup()


def _boots(tmp_path: Path) -> int:
    return int((tmp_path / "boots").read_text())


def test_a_hung_boot_is_booted_again_and_shown(environment: Any, one_guest: Guest,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_QEMU", str(_hanging_qemu(tmp_path, os.environ["LG_QEMU"], 1)))
    target = environment()
    strategy = target.get_driver("Strategy")
    assert strategy.boot_attempts == 2, "the bed's env file allows one boot more"
    with pytest.warns(UserWarning) as warned:
        strategy.transition("shell")
    (warning,) = [w for w in warned if "login prompt" in str(w.message)]
    text = str(warning.message)
    assert f"boot 1 of 2 showed no login prompt within {LOGIN_TIMEOUT_S} s" in text
    assert HUNG_INIT_LINE in text, text
    assert _boots(tmp_path) == 2
    shell = target.get_driver("ShellDriver")
    assert shell.run_check("uname -r") == [one_guest.release]


def test_the_last_hung_boot_fails_with_its_console(environment: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_QEMU", str(_hanging_qemu(tmp_path, os.environ["LG_QEMU"], 1)))
    target = environment()
    strategy = target.get_driver("Strategy")
    strategy.boot_attempts = 1
    with pytest.raises(StrategyError) as failed:
        strategy.transition("shell")
    # the strategy wraps what broke it; env.cleanup() (the fixture) stops QEMU
    cause = failed.value.__cause__
    text = str(cause)
    assert f"boot 1 of 1 showed no login prompt within {LOGIN_TIMEOUT_S} s" in text, text
    assert HUNG_INIT_LINE in text, text
    assert _boots(tmp_path) == 1


def test_a_boot_whose_start_up_never_finishes_is_booted_again(
        environment: Any, one_guest: Guest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The login works, then the first command never returns: as a systemd
    whose start-up hangs, or a guest that stops answering after the login."""
    monkeypatch.setenv("LG_QEMU", str(_hanging_qemu(tmp_path, os.environ["LG_QEMU"], 1,
                                                    HANGING_START_UP_INIT)))
    target = environment()
    strategy = target.get_driver("Strategy")
    with pytest.warns(UserWarning) as warned:
        strategy.transition("shell")
    (warning,) = [w for w in warned if "booting again" in str(w.message)]
    text = str(warning.message)
    assert (f"boot 1 of 2 logged in, then its shell stopped answering or its start-up did "
            f"not finish within {LOGIN_TIMEOUT_S} s") in text, text
    assert "systemctl is-system-running --wait" in text, text
    assert _boots(tmp_path) == 2
    shell = target.get_driver("ShellDriver")
    assert shell.run_check("uname -r") == [one_guest.release]
