"""The stages of lmw-terminator's reaction, timed one by one in the guest.

    systemd-cat -t lmw-profile python3 reaction-profile.py LIBDIR REPETITIONS OUT

LIBDIR is where the installed lmw_terminator package lives. Each stage is
timed REPETITIONS times with the installed code, as the daemon runs it
after the signal: reading meminfo, the /proc scan (every process, as
procs.each() reads it: stat and oom_score_adj), the choice over that scan
(with what it reads of the processes that could win) without rules and with
three rules of the kinds a config has (a cmdline preference, a cgroup
avoidance, an exe protection), the same two choices from lmw.ko's
candidates file where the module has one (1.4.0 on), one log line (under systemd-cat its
stderr is a journal stream, as the daemon's is), the status file, and
the signal itself (pidfd, start-time check, SIGTERM to a sleeping child).
Writes "stage name= p50_ms= p99_ms= max_ms=" per stage, and "scan
processes=" with the size of the process table, to OUT.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, sys.argv[1])
REPETITIONS = int(sys.argv[2])
OUT = open(sys.argv[3], "w", encoding="utf-8")  # noqa: SIM115 - open for the whole run
# the status file goes to a scratch folder, never over the daemon's own
os.environ["RUNTIME_DIRECTORY"] = tempfile.mkdtemp()

from lmw_terminator import config, log, policy, procs, service, sources  # noqa: E402

RULES = """
[[prefer]]
cmdline = "--type=renderer"
[[avoid]]
cgroup = '/system\\.slice/.*'
[[protect]]
exe = "/usr/sbin/sshd"
"""


def timed(action: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(REPETITIONS):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)


def report(name: str, samples: list[float]) -> None:
    rank = max(1, -(-99 * len(samples) // 100))
    print(f"stage name={name} p50_ms={samples[(len(samples) + 1) // 2 - 1]:.3f} "
          f"p99_ms={samples[rank - 1]:.3f} max_ms={samples[-1]:.3f}", file=OUT, flush=True)


def signal_one() -> float:
    """What the daemon does to its victim, to a child that sleeps."""
    child = subprocess.Popen(["sleep", "60"])
    started = time.perf_counter()
    pidfd = os.pidfd_open(child.pid)
    if procs.start_time_of(child.pid) is not None:
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
    elapsed = (time.perf_counter() - started) * 1000
    os.close(pidfd)
    child.wait()
    return elapsed


def main() -> None:
    log.setup(False)
    plain, ruled = config.Config(), config.parse(RULES)
    figures = procs.meminfo()
    ranking = policy.Ranking(total_kb=figures["MemTotal"])
    me = os.getpid()
    table = list(procs.each())
    print(f"scan processes={len(table)}", file=OUT, flush=True)
    report("meminfo", timed(procs.meminfo))
    report("scan", timed(lambda: list(procs.each())))
    # the daemon's choice: the scan and the scores together (fields read on demand)
    report("scan+choice, no rules", timed(lambda: policy.choose(procs.each(), plain, me,
                                                                 ranking)))
    report("scan+choice, 3 rules", timed(lambda: policy.choose(procs.each(), ruled, me,
                                                                ranking)))
    parse_candidates = getattr(procs, "parse_candidates", None)   # 1.4.0 on
    if parse_candidates is not None and sources.LmwSource.candidates() is not None:
        def from_candidates(rules: config.Config) -> object:
            listed = parse_candidates(sources.LmwSource.candidates())
            return policy.choose_listed(listed.procs, listed.rest, rules, me, ranking)

        report("candidates+choice, no rules", timed(lambda: from_candidates(plain)))
        report("candidates+choice, 3 rules", timed(lambda: from_candidates(ruled)))
    report("log line", timed(lambda: log.warning("profile: a line as long as the daemon's "
                                                 "terminate line, %s", "x" * 200)))
    write_status = getattr(service, "write_status", None)   # 1.2.0 on
    if write_status is not None:
        fields = {"pid": me, "source": "lmw", "why": "lmw.ko is loaded", "level": "notify",
                  "state": "killing", "kills": 1, "last_action": "profile", "dry_run": False,
                  "config": plain.path}
        report("status file", timed(lambda: write_status(fields)))
    report("signal", sorted(signal_one() for _ in range(REPETITIONS)))


main()
