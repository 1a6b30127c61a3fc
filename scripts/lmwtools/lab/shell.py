"""Helpers for tests that drive a guest through labgrid's ShellDriver.

labgrid runs every command in its own `sh -c`, so a background job outlives
the shell that started it and cannot be `wait`ed for later. start() wraps
the job in a subshell that waits for it and writes its exit status to
/tmp/NAME.status; exit_status() polls for that file.

Each command is a round trip through the serial console and a fork in the
guest, a tenth of a second or more under TCG on another arch: a helper
makes one where it can (a poll and the read after it in one command),
as long as the line fits the guest's shell (CONSOLE_LINE_MAX).
"""

from __future__ import annotations

import shlex

from labgrid.driver import ShellDriver

LMW_SYSFS = "/sys/kernel/lmw/watermark"

# busybox ash, the initramfs guests' login shell, edits a typed line in a
# buffer of CONFIG_FEATURE_EDITING_MAX_LEN (1024) bytes: it keeps the
# first 1022 characters and drops the rest, so a longer command reaches
# the shell with a quote left open, the shell waits for its end ("> "),
# and every command after it is swallowed (measured on the console).
# bash, the Debian guests' shell, keeps any length; the smaller one rules.
CONSOLE_LINE_MAX = 1022
# labgrid's ShellDriver types MARKER='abcd''efghij' run <the command quoted>
_MARKER_WRAPPER = "MARKER='abcd''efghij' run "


def figure(shell: ShellDriver, name: str) -> int:
    """One of lmw.ko's figures in /sys/kernel/lmw/watermark (kB or a count)."""
    return int(shell.run_check(f"cat {LMW_SYSFS}/{name}")[0])


def kv(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line)


def until(condition: str, seconds: int = 60, interval: float = 0.05) -> str:
    """A guest shell command that polls ``condition`` every ``interval`` s and
    exits 0 once it holds, 1 after ``seconds`` (counted in rounds: a slow
    condition gets more time)."""
    rounds = max(1, int(seconds / interval))
    # a subshell: exit must not end the login shell labgrid talks to
    return (f"(for i in $(seq {rounds}); do if {condition}; then exit 0; fi; "
            f"sleep {interval}; done; exit 1)")


def _poll_timeout(seconds: int) -> int:
    """labgrid's timeout for a command that polls for ``seconds``: room for slow rounds."""
    return seconds * 4 + 60


def wait_until(shell: ShellDriver, condition: str, seconds: int = 60,
               interval: float = 0.05) -> None:
    """Poll a guest shell condition (see until()); fail if it never holds."""
    _, _, status = shell.run(until(condition, seconds, interval),
                             timeout=_poll_timeout(seconds))
    assert status == 0, f"not within {seconds} s: {condition}"


def console_line(command: str) -> str:
    """The line that labgrid's ShellDriver types on the console for ``command``."""
    return _MARKER_WRAPPER + shlex.quote(command)


def fits_console(command: str) -> bool:
    return len(console_line(command)) <= CONSOLE_LINE_MAX


def _check_fits(command: str) -> None:
    if not fits_console(command):
        raise ValueError(
            f"a guest command of {len(console_line(command))} characters as typed on the "
            f"console (busybox ash keeps {CONSOLE_LINE_MAX}): {command[:80]}...; "
            "hint: put the job in a script in the guest, or shorten it")


def _until_then_read(shell: ShellDriver, path: str, seconds: int, interval: float,
                     first: str = "") -> str:
    """Run ``first`` (if any), wait until ``path`` is not empty, then return its
    first line: one round trip where the line fits, else ``first`` alone before."""
    condition = f"test -s {path}"
    poll = f"{until(condition, seconds, interval)} && head -n 1 {path}"
    if first and fits_console(f"{first} && {poll}"):
        poll = f"{first} && {poll}"
    elif first:
        _check_fits(first)
        shell.run_check(first)
    out, _, status = shell.run(poll, timeout=_poll_timeout(seconds))
    assert status == 0 and out, f"not within {seconds} s: {condition} (output: {out})"
    return str(out[0])


def start(shell: ShellDriver, name: str, command: str) -> int:
    """Run ``command`` in the background (output in /tmp/NAME.out); return its pid.

    The command writes into a FIFO that a root ``cat`` copies to the file:
    /tmp is tmpfs, whose pages are commitments, so past the deny line an
    unprivileged process's own write to it is refused like any other
    (its output would be lost exactly when a test reads it). The status
    is written once the copy is complete."""
    out, fifo = f"/tmp/{name}.out", f"/tmp/{name}.fifo"
    launch = (
        f"rm -f /tmp/{name}.pid /tmp/{name}.status {fifo} && mkfifo {fifo} && "
        f"{{ (cat {fifo} > {out} & {command} > {fifo} 2>&1 & echo $! > /tmp/{name}.pid; "
        f"wait $!; status=$?; wait; rm -f {fifo}; echo $status > /tmp/{name}.status) "
        "> /dev/null 2>&1 & }")
    return int(_until_then_read(shell, f"/tmp/{name}.pid", 10, 0.05, first=launch))


def exit_status(shell: ShellDriver, name: str, seconds: int = 120,
                interval: float = 0.05) -> int:
    """The exit status of a start()ed job, once it has ended (143 SIGTERM, 137 SIGKILL)."""
    return int(_until_then_read(shell, f"/tmp/{name}.status", seconds, interval))


def output(shell: ShellDriver, name: str) -> list[str]:
    return [str(line) for line in shell.run_check(f"cat /tmp/{name}.out")]
