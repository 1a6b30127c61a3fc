"""Booting bed guests through labgrid: which env file serves a guest, commands in a fresh one.

The env files under tests/env/ are the single description of how a guest
is started (QEMUDriver) and reached (ShellDriver, LmwStrategy): pytest,
``testbed exec`` and ``testbed shell`` all go through them.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from ..core.paths import ENV_DIR
from .guest import Guest

# Boot + login under TCG takes 5-40 s; a command may run longer (tests).
COMMAND_TIMEOUT_S = 600


def env_file(userland: str) -> Path:
    return ENV_DIR / f"qemu-{userland}.yaml"


def userland_of(config_file: str | Path) -> str | None:
    """The bed userland an env file asks for (options: lmw_userland), None for boards."""
    from labgrid.util.yaml import load

    try:
        with open(config_file, encoding="utf-8") as stream:
            data = load(stream)
    except FileNotFoundError:
        return None   # labgrid itself reports a missing env file
    options = data.get("options") if isinstance(data, dict) else None
    value = options.get("lmw_userland") if isinstance(options, dict) else None
    return str(value) if value else None


def export(guest: Guest) -> None:
    """Make the guest's images visible to labgrid's !template substitution."""
    os.environ.update(guest.labgrid_vars())


def _environment(guest: Guest, overrides: dict[str, str] | None = None) -> Any:
    try:
        from labgrid import Environment
    except ImportError:
        raise UserError("labgrid is not installed in this Python",
                        hint="make deps (creates build/venv), then use scripts/testbed") from None
    export(guest)
    os.environ.update(overrides or {})
    return Environment(config_file=str(env_file(guest.spec.userland)))


@contextmanager
def console_log(folder: Path) -> Iterator[Path]:
    """Keep what every guest of this process prints on its console, each boot
    after the last, in ``folder``/console_main (labgrid's console logging):
    a boot that hangs or fails can be read afterwards."""
    from labgrid.consoleloggingreporter import ConsoleLoggingReporter

    ConsoleLoggingReporter.start(str(folder))
    try:
        yield folder / "console_main"
    finally:
        ConsoleLoggingReporter.stop()


@contextmanager
def fresh_guest_shell(guest: Guest, overrides: dict[str, str] | None = None,
                      ) -> Iterator[tuple[Any, Any]]:
    """Boot ``guest`` and log in as root; yield (target, ShellDriver); power off after.
    ``overrides``: LG_* variables to change for this boot (e.g. LG_QEMU_ARGS)."""
    env = _environment(guest, overrides)
    try:
        target = env.get_target("main")
        strategy = target.get_driver("Strategy")
        strategy.transition("shell")
        yield target, target.get_driver("ShellDriver")
        strategy.transition("off")
    finally:
        env.cleanup()


def run_in_fresh_guest(guest: Guest, command: str) -> tuple[list[str], int]:
    """Boot ``guest``, log in as root, run ``command``; return (output lines, exit status)."""
    with fresh_guest_shell(guest) as (_, shell):
        out, err, status = shell.run(command, timeout=COMMAND_TIMEOUT_S)
        return [*out, *err], int(status)


_VT100 = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_END = "LMW-STREAM-END-"


def stream_in_fresh_guest(guest: Guest, script: str, emit: Callable[[str], None],
                          timeout_s: float = COMMAND_TIMEOUT_S) -> int:
    """Boot ``guest``, run the shell ``script`` as root and pass each output line
    to ``emit`` as the guest prints it (ShellDriver.run returns only at the end).
    Returns the script's exit status."""
    from pexpect import TIMEOUT

    with fresh_guest_shell(guest) as (target, shell):
        encoded = base64.b64encode(script.encode()).decode()
        shell.run_check(f"echo {encoded} | base64 -d > /tmp/lmw-stream.sh")
        console = target.get_driver("QEMUDriver")
        # the quotes keep the terminal's echo of this line from matching _END
        console.sendline("sh /tmp/lmw-stream.sh 2>&1; echo LMW''-STREAM-END-$?")
        pending, deadline = "", time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                pending += console.read(size=1, timeout=1.0).decode(errors="replace")
            except TIMEOUT:
                continue
            *lines, pending = pending.split("\n")
            for raw in lines:
                line = _VT100.sub("", raw).rstrip("\r")
                if line.startswith(_END):
                    return int(line.removeprefix(_END))
                if "LMW''-STREAM-END" not in line:
                    emit(line)
        raise UserError(f"the guest script did not finish within {timeout_s:.0f} s")


def qemu_argv(guest: Guest) -> list[str]:
    """The QEMU command line labgrid would use, with the serial console on stdio."""
    env = _environment(guest)
    try:
        driver = env.get_target("main").get_driver("QEMUDriver", activate=False)
        argv: list[str] = driver.get_qemu_base_args()
        return argv
    finally:
        env.cleanup()
