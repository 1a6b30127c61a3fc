"""lmw-terminator's real-time scheduling ([kill] realtime_priority), on the host.

run_first() runs in a child process of the test, as the daemon runs it
on itself; what the kernel then says of that process and of a child it
forks (/proc/PID/stat: rt_priority, policy) is the result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmw_terminator import config, killer
from lmw_terminator.errors import ConfigError

NOBODY = 65534
PACKAGE_DIR = Path(config.__file__).resolve().parent.parent
SCHED_OTHER, SCHED_FIFO = os.SCHED_OTHER, os.SCHED_FIFO

# A process that schedules itself as the daemon does, then forks a child
# (as the daemon forks its config parser, hooks and warn commands), and
# prints the policy and priority of both, as /proc/PID/stat gives them.
CHILD = """
import os, resource, sys
from lmw_terminator import service
first, then, drop = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "drop"
if drop:
    resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))
    os.setgid(65534)
    os.setuid(65534)
service.run_first(first)
if then != "-":
    service.run_first(int(then))
read, write = os.pipe()
child = os.fork()
if child == 0:
    os.close(write)
    os.read(read, 1)     # alive until the parent has read its stat
    os._exit(0)

def policy(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()   # from field 3
    return f"{fields[37]} {fields[38]}"   # rt_priority (field 40), policy (41)

print(policy(os.getpid()), policy(child))
os.close(write)
os.waitpid(child, 0)
"""


def run_as_daemon(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` run by a process of its own, with the daemon's package to
    import: what it does to its own scheduling is its, not the test's."""
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=60, check=True,
                          env={**os.environ, "PYTHONPATH": str(PACKAGE_DIR)})


def scheduled(first: int, then: int | None = None, *, drop: bool = False) -> tuple[
        tuple[int, int], tuple[int, int], str]:
    """((priority, policy) of the process, the same of its child, its stderr)."""
    result = run_as_daemon(CHILD, str(first), "-" if then is None else str(then),
                           "drop" if drop else "keep")
    self_prio, self_policy, child_prio, child_policy = (int(w) for w in result.stdout.split())
    return (self_prio, self_policy), (child_prio, child_policy), result.stderr


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("a real-time policy takes root (or RLIMIT_RTPRIO)")


def test_the_default_is_the_lowest_real_time_priority() -> None:
    assert config.parse("").kill.realtime_priority == 1
    assert config.parse("[kill]\nrealtime_priority = 0\n").kill.realtime_priority == 0
    assert config.parse("[kill]\nrealtime_priority = 99\n").kill.realtime_priority == 99
    assert "realtime_priority=1" in config.parse("").summary()[2]


@pytest.mark.parametrize(("value", "why"), [
    ("100", "must be between 0 and 99"),
    ("-1", "must be between 0 and 99"),
    ('"1"', "must be an integer"),
    ("true", "must be an integer"),
])
def test_a_bad_priority_is_refused(value: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as raised:
        config.parse(f"[kill]\nrealtime_priority = {value}\n")
    assert "kill.realtime_priority" in str(raised.value)


@pytest.mark.usefixtures("as_root")
def test_the_daemon_runs_fifo_and_its_children_do_not() -> None:
    daemon, child, err = scheduled(1)
    assert daemon == (1, SCHED_FIFO), err
    # RESET_ON_FORK: a hook or warn command is an ordinary process
    assert child == (0, SCHED_OTHER)


@pytest.mark.usefixtures("as_root")
def test_the_priority_is_the_configured_one() -> None:
    daemon, _, err = scheduled(42)
    assert daemon == (42, SCHED_FIFO), err


@pytest.mark.usefixtures("as_root")
def test_zero_and_a_reload_to_zero_mean_ordinary_scheduling() -> None:
    assert scheduled(0)[0] == (0, SCHED_OTHER)
    # a reload from 1 to 0 gives the CPU back to the ordinary scheduler
    assert scheduled(1, 0)[0] == (0, SCHED_OTHER)


@pytest.mark.usefixtures("as_root")
def test_without_the_right_it_warns_and_runs_on() -> None:
    # neither CAP_SYS_NICE nor RLIMIT_RTPRIO: the kernel says EPERM
    daemon, _, err = scheduled(1, drop=True)
    assert daemon == (0, SCHED_OTHER)
    assert "SCHED_FIFO 1: Operation not permitted" in err


# A daemon at SCHED_FIFO 1 that kills a victim which ignores its SIGTERM,
# and notes its own policy as process_mrelease() is called; then its policy
# and priority after the kill.
KILLS_A_VICTIM = """
import os, subprocess, sys
from lmw_terminator import config, killer, procs, service
service.run_first(1)
during = []
release = killer._process_mrelease
def noting(pidfd):
    during.append(os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK)
    release(pidfd)
killer._process_mrelease = noting
victim = subprocess.Popen([sys.executable, "-c", "import signal, time\\n"
                           "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
                           "print('ready', flush=True)\\nwhile True: time.sleep(1)"],
                          stdout=subprocess.PIPE)
assert victim.stdout.readline() == b"ready\\n"
outcome = killer.terminate(procs.read_proc(victim.pid),
                           config.KillConfig(term_grace_ms=100, min_interval_ms=0))
print(outcome.ending == killer.Ending.KILLED, *during,
      os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
"""


def test_a_victims_pages_are_freed_by_an_ordinary_process(as_root: None) -> None:
    """process_mrelease() frees a SIGKILLed victim's pages in the daemon's
    own context, tens of milliseconds for a large victim. At SCHED_FIFO no
    ordinary process would run on that CPU meanwhile (the kernel's
    cond_resched() gives way only to its own class and higher): the
    daemon calls it as an ordinary process, and is real-time again, at
    its priority and with RESET_ON_FORK, once the kill is over."""
    result = run_as_daemon(KILLS_A_VICTIM)
    killed, during, after, priority = result.stdout.split()
    assert killed == "True", result.stderr
    assert int(during) == SCHED_OTHER, result.stderr
    assert (int(after), int(priority)) == (SCHED_FIFO | os.SCHED_RESET_ON_FORK, 1), result.stderr


# A daemon at SCHED_FIFO 1 that ends a family, all on one CPU beside a
# bystander: an ordinary process that never sleeps and counts as it runs.
# At each SIGTERM the daemon sends, the bystander's count is noted; the
# children die by SIGTERM's default action, as a fork storm's do.
ENDS_A_FAMILY_BESIDE_A_BYSTANDER = """
import mmap, os, signal, sys
from lmw_terminator import config, killer, procs, service
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})   # one CPU for all
count = mmap.mmap(-1, 8)
bystander = os.fork()
if bystander == 0:
    n = 0
    while True:
        n += 1
        count[0:8] = n.to_bytes(8, "little")
ready_r, ready_w = os.pipe()
head = os.fork()
if head == 0:
    for _ in range(int(sys.argv[1])):
        if os.fork() == 0:
            signal.pause()
            os._exit(0)
    os.write(ready_w, b"x")
    while True:
        signal.pause()
os.read(ready_r, 1)
service.run_first(1)
counts = []
send = killer._send
def noting(pidfd, signum):
    if signum == signal.SIGTERM:
        counts.append(int.from_bytes(count[0:8], "little"))
    return send(pidfd, signum)
killer._send = noting
outcome, children = killer.terminate_family(
    procs.read_proc(head), config.KillConfig(term_grace_ms=5000, min_interval_ms=0),
    lambda proc: None)
os.kill(bystander, signal.SIGKILL)
os.waitpid(bystander, 0)
os.waitpid(head, 0)
print(outcome.ending == killer.Ending.TERMINATED, children, *counts)
"""


def test_a_task_that_waits_for_the_cpu_runs_between_a_familys_waves(as_root: None) -> None:
    """Each child that a SIGTERM wakes is placed ahead of the tasks that
    already wait for the CPU, and the daemon at SCHED_FIFO wakes as soon
    as a wave has exited: without a pause between waves, a task that
    waits behind the first waits for every wave. The bystander, always
    runnable on the same CPU, must run between each wave and the next."""
    waves = 4
    result = run_as_daemon(ENDS_A_FAMILY_BESIDE_A_BYSTANDER, str(waves * killer.FAMILY_WAVE))
    terminated, children, *words = result.stdout.split()
    assert terminated == "True" and int(children) == waves * killer.FAMILY_WAVE, result.stderr
    counts = [int(word) for word in words][:-1]     # the last SIGTERM is the head's
    firsts = counts[killer.FAMILY_WAVE::killer.FAMILY_WAVE]
    lasts = counts[killer.FAMILY_WAVE - 1:-1:killer.FAMILY_WAVE]
    assert len(firsts) == len(lasts) == waves - 1, counts
    assert all(first > last for first, last in zip(firsts, lasts, strict=True)), counts
