"""Helpers for tests that drive a guest through labgrid's ShellDriver.

labgrid runs every command in its own `sh -c`, so a background job outlives
the shell that started it and cannot be `wait`ed for later. start() wraps
the job in a subshell that waits for it and writes its exit status to
/tmp/NAME.status; exit_status() polls for that file.
"""

from __future__ import annotations

from labgrid.driver import ShellDriver

LMW_SYSFS = "/sys/kernel/lmw/watermark"


def figure(shell: ShellDriver, name: str) -> int:
    """One of lmw.ko's figures in /sys/kernel/lmw/watermark (kB or a count)."""
    return int(shell.run_check(f"cat {LMW_SYSFS}/{name}")[0])


def kv(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line)


def wait_until(shell: ShellDriver, condition: str, seconds: int = 60,
               interval: float = 0.05) -> None:
    """Poll a guest shell condition every ``interval`` s, for at most ``seconds``
    (counted in rounds: a slow condition gets more time, and labgrid's timeout
    leaves room for that)."""
    rounds = max(1, int(seconds / interval))
    # a subshell: exit must not end the login shell labgrid talks to
    _, _, status = shell.run(
        f"(for i in $(seq {rounds}); do if {condition}; then exit 0; fi; sleep {interval}; "
        "done; exit 1)", timeout=seconds * 4 + 60)
    assert status == 0, f"not within {seconds} s: {condition}"


def start(shell: ShellDriver, name: str, command: str) -> int:
    """Run ``command`` in the background (output in /tmp/NAME.out); return its pid.

    The command writes into a FIFO that a root ``cat`` copies to the file:
    /tmp is tmpfs, whose pages are commitments, so past the deny line an
    unprivileged process's own write to it is refused like any other
    (its output would be lost exactly when a test reads it). The status
    is written once the copy is complete."""
    out, fifo = f"/tmp/{name}.out", f"/tmp/{name}.fifo"
    shell.run_check(
        f"rm -f /tmp/{name}.pid /tmp/{name}.status {fifo} && mkfifo {fifo}; "
        f"(cat {fifo} > {out} & {command} > {fifo} 2>&1 & echo $! > /tmp/{name}.pid; "
        f"wait $!; status=$?; wait; rm -f {fifo}; echo $status > /tmp/{name}.status) "
        "> /dev/null 2>&1 &")
    wait_until(shell, f"test -s /tmp/{name}.pid", seconds=10)
    return int(shell.run_check(f"cat /tmp/{name}.pid")[0])


def exit_status(shell: ShellDriver, name: str, seconds: int = 120,
                interval: float = 0.05) -> int:
    """The exit status of a start()ed job, once it has ended (143 SIGTERM, 137 SIGKILL)."""
    wait_until(shell, f"test -s /tmp/{name}.status", seconds=seconds, interval=interval)
    return int(shell.run_check(f"cat /tmp/{name}.status")[0])


def output(shell: ShellDriver, name: str) -> list[str]:
    return [str(line) for line in shell.run_check(f"cat /tmp/{name}.out")]
