"""The stress's monitor, in the guest: one process that samples memory every 100 ms.

    python3 stress-monitor.py WORK SECONDS NOTIFY_KB WORKLOAD CULPRIT...

stress.sh starts it before the window. Once ready it writes WORK/monitor.ready
and waits for SIGUSR1; then it reads "START_MS OOM_KILLS" from WORK/window
(the window's start on /proc/uptime's clock, in ms, and the kernel's OOM
kill count then) and samples until SECONDS after START_MS:

- every 100 ms, "T COMMITTED_KB AVAILABLE_KB" to WORK/monitor;
- the moments, on its stdout at the end, "PRESSURE ACTION BACK BURST" (ms
  since the start, or "none"): pressure, committed memory first past
  NOTIFY_KB; the first action, the first refusal a culprit meets, a
  culprit stopped (SIGSTOP: lmw-terminator stops a family's head before it
  ends the children, and the head exits only once they are gone), a
  process of the workload gone (the culprits named, the services, the
  heartbeat: WORK/NAME.status exists), or a kernel OOM kill; back, committed
  memory under NOTIFY_KB again once both came; the standard workload's fork
  burst, started here once its hog reached 128 MiB.

Why a process and not a shell loop: the loop ran awk, grep and sleep at each
sample, several forks and execs, and in a TCG guest a fork and exec holds
the other vCPU back for up to about 140 ms. Beside the heartbeat in an idle
guest, over 40 s, that loop made its worst wake-up 104 to 141 ms, three to
five of them past 25 ms, and took 0.4 s a sample; with this monitor beside
it instead, 6 to 13 ms, none past 25 ms, a sample every 100 ms; with the
heartbeat alone, 3 to 10 ms (once 53). This one forks nothing in the window
but the fork burst, once.
"""

import os
import signal
import sys
import time

WORK, SECONDS, NOTIFY_KB, WORKLOAD = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
CULPRITS = sys.argv[5:]
PERIOD_S = 0.1
BURST_AT = b"size_kb=131072"    # the hog's line at 128 MiB
NOBODY = "65534"


def now_ms() -> int:
    """/proc/uptime's clock, as the window's start was read."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000)


def figures(path: str, *keys: bytes) -> list[int]:
    """The figure after each key (a line's start) in the /proc file at
    ``path``, each found by a search of the text, not a parse of every
    line: the guest's CPU is what the bench measures."""
    with open(path, "rb") as stream:
        text = b"\n" + stream.read()
    found = []
    for key in keys:
        at = text.find(b"\n" + key)
        if at < 0:
            raise SystemExit(f"stress-monitor.py: no {key.decode()!r} in {path}")
        at += len(key) + 1
        found.append(int(text[at:at + 32].split(maxsplit=1)[0]))
    return found


def meminfo() -> tuple[int, int]:
    committed, available = figures("/proc/meminfo", b"Committed_AS:", b"MemAvailable:")
    return committed, available


def oom_kills() -> int:
    return figures("/proc/vmstat", b"oom_kill ")[0]


class Tail:
    """A process's output file, read on from where the last read ended."""

    def __init__(self, name: str) -> None:
        self.path, self.offset, self.seen = f"{WORK}/{name}.out", 0, b""

    def has(self, words: bytes) -> bool:
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self.offset)
                new = stream.read()
        except FileNotFoundError:
            return False
        self.offset += len(new)
        # what was read before keeps a line cut in two by the read
        self.seen = self.seen[-len(words):] + new
        return words in self.seen


def ended(name: str) -> bool:
    return os.path.exists(f"{WORK}/{name}.status")


class Culprit:
    """A culprit's process: the one child of the subshell that stress.sh's
    run() started it in (WORK/NAME.pid), found once it is there."""

    def __init__(self, name: str) -> None:
        self.name, self.stat = name, ""

    def stopped(self) -> bool:
        """Whether the process is stopped by a signal (state T): two small
        reads a sample, and only until the first action."""
        if not self.stat and not self._find():
            return False
        try:
            with open(self.stat, "rb") as stream:
                text = stream.read()
        except (FileNotFoundError, ProcessLookupError):
            return False    # gone: its status file says so
        # the state follows the comm, which may hold anything but ends at the last ")"
        return text[text.rfind(b")") + 2:][:1] == b"T"

    def _find(self) -> bool:
        try:
            with open(f"{WORK}/{self.name}.pid", encoding="ascii") as stream:
                shell = stream.read().strip()
            with open(f"/proc/{shell}/task/{shell}/children", encoding="ascii") as stream:
                pids = stream.read().split()
        except (FileNotFoundError, ProcessLookupError):
            return False    # not started yet, or its shell has ended
        if pids:
            self.stat = f"/proc/{pids[0]}/stat"
        return bool(pids)


def main() -> None:
    # the instrument outlives every scenario: a kernel OOM kill takes a
    # process of the device, never the record of what happened to it
    with open("/proc/self/oom_score_adj", "w", encoding="ascii") as stream:
        stream.write("-1000")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    with open(f"{WORK}/monitor.ready", "w", encoding="ascii"):
        pass
    signal.sigwait({signal.SIGUSR1})
    with open(f"{WORK}/window", encoding="ascii") as stream:
        start_ms, oom_before = (int(word) for word in stream.read().split())

    refusals = [Tail(name) for name in CULPRITS]
    culprits = [Culprit(name) for name in CULPRITS]
    hog = Tail("hog")
    gone = [*CULPRITS, "svc1", "svc2", "beat"]
    pressure = action = back = burst = None
    fork_burst = None
    tick = time.monotonic()
    with open(f"{WORK}/monitor", "w", encoding="ascii") as samples:
        while True:
            t = now_ms() - start_ms
            committed, available = meminfo()
            samples.write(f"{t} {committed} {available}\n")
            samples.flush()
            if pressure is None and committed >= NOTIFY_KB:
                pressure = t
            if action is None and (any(tail.has(b"refused") for tail in refusals)
                                   or any(culprit.stopped() for culprit in culprits)
                                   or any(ended(name) for name in gone)
                                   or oom_kills() != oom_before):
                action = t
            # back: under the line again after the pressure and the action (a
            # protection that acts before the pressure, strict overcommit's
            # first refusal, must not stop the clock before it starts)
            if pressure is not None and action is not None and back is None \
                    and committed < NOTIFY_KB:
                back = t
            if WORKLOAD == "standard" and burst is None and hog.has(BURST_AT):
                fork_burst = start_fork_burst()
                burst = t
            if fork_burst is not None:
                fork_burst = reap(fork_burst)
            if t >= SECONDS * 1000:
                break
            tick += PERIOD_S
            pause = tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                tick = time.monotonic()     # late: the next sample a period on
    print(*("none" if moment is None else moment for moment in (pressure, action, back, burst)))


def start_fork_burst() -> int:
    """lmwbench forkburst as stress.sh's run() starts a process: output to
    WORK/burst.out, its exit status to WORK/burst.status once it ends."""
    out = os.open(f"{WORK}/burst.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.execv(f"{WORK}/lmwfork", [f"{WORK}/lmwfork", "-u", NOBODY, "forkburst", "200",
                                         "8", "1024"])
        finally:
            os._exit(127)   # never back into the monitor's loop
    os.close(out)
    return pid


def reap(pid: int) -> int | None:
    """None once the burst has ended and its status is written (a shell's
    figure: 128 + the signal that ended it)."""
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        return pid
    code = os.waitstatus_to_exitcode(status)
    with open(f"{WORK}/burst.status", "w", encoding="ascii") as stream:
        stream.write(f"{128 - code if code < 0 else code}\n")
    return None


main()
