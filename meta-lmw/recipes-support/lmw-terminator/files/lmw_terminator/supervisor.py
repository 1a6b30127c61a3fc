# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""--respawn: keep the daemon running where the init system restarts nothing.

systemd restarts the daemon itself (Restart=always). sysvinit and busybox
init do not: there the init script runs ``lmw-terminator --respawn``, and
this supervisor is the process that its pidfile names. It forks the daemon
and waits. When the daemon ends for any reason but a stop request or a bad
config, the supervisor starts it again after RESPAWN_DELAY_S; while the
daemon keeps dying within STABLE_S of its start, the delay doubles up to
RESPAWN_DELAY_MAX_S, so that a daemon that cannot start does not spin.

SIGTERM and SIGINT are passed on to the daemon, and the supervisor exits
once the daemon has (with its exit status); SIGHUP is passed on as the
reload it asks for. Before the first fork the supervisor marks itself
oom_score_adj -1000: lmw.ko then never refuses its fork past the deny line
(the rule in lmw.c), and the OOM killer never takes it. It holds nothing
but the modules already imported, which its child shares.
"""

from __future__ import annotations

import os
import time

from . import EXIT_OK, EXIT_USER, log, sig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

RESPAWN_DELAY_S = 1.0
RESPAWN_DELAY_MAX_S = 30.0
# A daemon that ran this long was healthy: the next respawn waits the least again.
STABLE_S = 60.0
PASSED_ON = (sig.SIGTERM, sig.SIGINT, sig.SIGHUP)


def _ending(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {sig.name(os.WTERMSIG(status))}"
    return f"exit status {os.WEXITSTATUS(status)}"


def mark_exempt(who: str) -> None:
    """oom_score_adj -1000: never the OOM killer's, never refused by lmw.ko."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as stream:
            stream.write("-1000\n")
    except OSError as error:
        log.warning("%s: cannot set oom_score_adj -1000: %s", who, error.strerror)


class Supervisor:
    def __init__(self, run_daemon: Callable[[], int]) -> None:
        self.run_daemon = run_daemon
        self.child = 0
        self.stopping = False

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum != sig.SIGHUP:
            self.stopping = True
        if self.child:
            # our own child, not yet reaped: its PID cannot have been reused
            os.kill(self.child, signum)

    def _spawn(self) -> int:
        child = os.fork()
        if child == 0:   # pragma: no cover - the daemon, in the child
            code = 1
            try:
                for signum in PASSED_ON:
                    sig.signal(signum, sig.SIG_DFL)
                code = self.run_daemon()
            finally:
                os._exit(code)
        return child

    def run(self) -> int:
        for signum in PASSED_ON:
            sig.signal(signum, self._on_signal)
        mark_exempt("supervisor")
        delay = RESPAWN_DELAY_S
        while not self.stopping:
            started = time.monotonic()
            try:
                self.child = self._spawn()
            except OSError as error:
                log.error("supervisor: cannot start the daemon: %s", error.strerror)
            else:
                if self.stopping:       # the signal came before self.child was set
                    os.kill(self.child, sig.SIGTERM)
                _, status = os.waitpid(self.child, 0)
                self.child = 0
                if self.stopping:
                    return EXIT_OK
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_USER:
                    log.error("supervisor: the daemon refused its config or arguments: "
                              "not starting it again")
                    return EXIT_USER
                if time.monotonic() - started >= STABLE_S:
                    delay = RESPAWN_DELAY_S
                log.warning("supervisor: the daemon ended (%s)", _ending(status))
            log.warning("supervisor: starting the daemon again in %.0f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, RESPAWN_DELAY_MAX_S)
        return EXIT_OK
