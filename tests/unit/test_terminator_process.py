"""The killer and the daemon as real processes on the host (no guest needed)."""

from __future__ import annotations

import ast
import errno
import itertools
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lmw_terminator import config, killer, log, policy, procs, sources

FILES = Path(__file__).resolve().parents[2] / "meta-lmw/recipes-support/lmw-terminator/files"
FAST = config.KillConfig(term_grace_ms=300, min_interval_ms=0)


def child(script: str) -> subprocess.Popen[bytes]:
    """A Python child that prints 'ready' once its signal handlers are set."""
    proc = subprocess.Popen([sys.executable, "-c", script + "\nprint('ready', flush=True)\n"
                             "import time\nwhile True: time.sleep(1)"], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def snapshot(pid: int) -> procs.Proc:
    proc = procs.read_proc(pid)
    assert proc is not None
    return proc


def test_sigterm_ends_a_willing_victim() -> None:
    victim = child("")
    outcome = killer.terminate(snapshot(victim.pid), FAST)
    assert outcome.ending == killer.Ending.TERMINATED
    assert victim.wait(5) == -signal.SIGTERM


def test_sigkill_after_the_grace_period() -> None:
    victim = child("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)")
    outcome = killer.terminate(snapshot(victim.pid), FAST)
    assert outcome.ending == killer.Ending.KILLED
    assert outcome.seconds >= FAST.term_grace_ms / 1000
    assert victim.wait(5) == -signal.SIGKILL


IGNORES_SIGTERM = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)"
# a grace that a test never waits out: an outcome sooner is the grace cut short
MINUTE = config.KillConfig(term_grace_ms=60_000, min_interval_ms=0)


def test_a_grace_cut_short_has_the_sigkill_go_then() -> None:
    """``cut_short`` is asked while the grace runs, with the victim still
    there; its first True sends the SIGKILL, not the grace's end."""
    victim = child(IGNORES_SIGTERM)
    asked: list[bool] = []

    def cut_short() -> bool:
        asked.append(victim.poll() is None)
        return len(asked) == 3

    outcome = killer.terminate(snapshot(victim.pid), MINUTE, cut_short=cut_short)
    assert outcome.ending == killer.Ending.KILLED
    assert asked == [True, True, True]
    assert outcome.seconds < MINUTE.term_grace_ms / 1000
    assert victim.wait(5) == -signal.SIGKILL


def test_a_grace_never_cut_short_runs_its_course() -> None:
    victim = child(IGNORES_SIGTERM)
    asked: list[bool] = []

    def cut_short() -> bool:
        asked.append(victim.poll() is None)
        return False

    outcome = killer.terminate(snapshot(victim.pid), FAST, cut_short=cut_short)
    assert outcome.ending == killer.Ending.KILLED
    assert outcome.seconds >= FAST.term_grace_ms / 1000
    assert asked and all(asked)     # asked in the grace, with the victim there
    assert victim.wait(5) == -signal.SIGKILL


@pytest.mark.skipif(os.geteuid() != 0, reason="a nice under 0 is root's to give")
def test_a_sigkilled_victim_runs_its_exit_first_and_a_gone_ones_pid_is_left() -> None:
    """_hasten gives the victim's main thread nice -20; with the pidfd of a
    process that has exited, the PID given (here another process's, as a
    reused PID would be) is left as it is."""
    victim, other = child(""), child("")
    pidfd = os.pidfd_open(victim.pid)
    try:
        killer._hasten(pidfd, victim.pid)
        assert os.getpriority(os.PRIO_PROCESS, victim.pid) == killer.HASTEN_NICE
        victim.kill()
        victim.wait(5)
        killer._hasten(pidfd, other.pid)
        assert os.getpriority(os.PRIO_PROCESS, other.pid) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        os.close(pidfd)
        other.kill()
        other.wait(5)


def sigterm_pending(pid: int) -> bool:
    """A SIGTERM sent to the process and held (it blocks SIGTERM): ShdPnd."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("ShdPnd:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    raise AssertionError(f"/proc/{pid}/status has no ShdPnd")


def test_what_may_wait_on_the_victim_is_read_after_the_sigterm() -> None:
    """``checked`` runs before the SIGTERM, ``signalled`` once after it and
    before the SIGKILL: there the victim's command line (whose read waits
    on the victim's mmap_lock) is still the victim's to read."""
    victim = child("import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})")
    chosen = snapshot(victim.pid)
    seen: list[tuple[str, bool, str]] = []
    outcome = killer.terminate(
        chosen, FAST,
        checked=lambda: seen.append(("checked", sigterm_pending(victim.pid), "")),
        signalled=lambda: seen.append(("signalled", sigterm_pending(victim.pid),
                                       chosen.cmdline)))
    assert outcome.ending == killer.Ending.KILLED
    assert [(when, pending) for when, pending, _ in seen] == [("checked", False),
                                                            ("signalled", True)]
    assert "pthread_sigmask" in seen[1][2]
    assert victim.wait(5) == -signal.SIGKILL


def test_the_kill_line_shows_a_command_line_quoted_or_says_why_not() -> None:
    victim = child("")
    chosen = snapshot(victim.pid)
    gone = snapshot(victim.pid)
    shown = procs.CmdlineAside(chosen).shown(5)
    assert ast.literal_eval(shown).startswith(sys.executable + " -c "), shown
    victim.kill()
    victim.wait()
    assert procs.CmdlineAside(gone).shown(5) == procs.CMDLINE_GONE


def stalled_cmdline(tmp_path: Path, pid: int) -> tuple[procs.Proc, Path]:
    """A process whose cmdline read never returns until the test lets it: a
    FIFO in its place, whose open waits for a writer, as a read of a FUSE
    file waits for its server. Returns the process and the FIFO."""
    (tmp_path / str(pid)).mkdir()
    fifo = tmp_path / str(pid) / "cmdline"
    os.mkfifo(fifo)
    return procs.Proc(pid=pid, start_time=1, comm="stall", oom_score_adj=0,
                      kernel_thread=False, root=str(tmp_path)), fifo


def let_go(fifo: Path, seconds: float = 5) -> None:
    """The stalled read returns: a writer comes, writes nothing and goes, once
    the read has opened its end (a read just started may not have yet); a
    read that has not come within ``seconds`` is not waited for."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            return
        except OSError as error:
            assert error.errno == errno.ENXIO, error     # no reader (yet)
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)


@contextmanager
def rescued(fifos: list[Path], after_s: float = 5) -> Iterator[None]:
    """Lets every stalled read go, over and over, once ``after_s`` have
    passed: a read made in the test's own thread (the bug these tests are
    for) would otherwise hang the test instead of failing it."""
    done = threading.Event()

    def rescue() -> None:
        if done.wait(after_s):
            return
        while not done.is_set():
            for fifo in fifos:
                let_go(fifo, seconds=0)
            time.sleep(0.05)

    rescuer = threading.Thread(target=rescue, daemon=True)
    rescuer.start()
    try:
        yield
    finally:
        done.set()
        rescuer.join()


def test_a_command_line_that_never_comes_costs_the_log_not_the_kill(tmp_path: Path) -> None:
    """A victim whose command line cannot be read (its own FUSE file under its
    arguments) still gets its SIGKILL in time; the line says why it has no
    command line, and a later victim's is read again."""
    stalled, fifo = stalled_cmdline(tmp_path, 1)
    victim = child("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)")
    chosen = snapshot(victim.pid)
    said: list[procs.CmdlineAside] = []
    with rescued([fifo]):
        outcome = killer.terminate(chosen, FAST,
                                   signalled=lambda: said.append(procs.CmdlineAside(stalled)))
        assert outcome.ending == killer.Ending.KILLED
        assert outcome.seconds < 2 * FAST.term_grace_ms / 1000 + 1, outcome.seconds
        assert victim.wait(5) == -signal.SIGKILL
        assert said[0].shown(0.2) == "unread (no answer in 0.2 s)"
        assert said[0].waiting
        other = child("")
        shown = procs.CmdlineAside(snapshot(other.pid)).shown(5)
        assert ast.literal_eval(shown).startswith(sys.executable + " -c "), shown
        other.kill()
        other.wait()
        let_go(fifo)
        wait_for(lambda: not said[0].waiting)
    assert said[0].shown(0) == procs.CMDLINE_GONE


def wait_for(done: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.01)


def os_threads() -> int:
    """This process's threads, as the kernel counts them (threading knows
    only its own)."""
    return len(os.listdir("/proc/self/task"))


def test_stalled_command_line_reads_cannot_pile_up_threads(tmp_path: Path) -> None:
    """Once ASIDE_READS_MAX reads stall, the next victim's is not started (its
    line says why); when they return, reads start again."""
    stalled = [stalled_cmdline(tmp_path, pid) for pid in range(1, procs.ASIDE_READS_MAX + 2)]
    with rescued([fifo for _, fifo in stalled], after_s=10):
        threads = os_threads()
        reads = [procs.CmdlineAside(proc) for proc, _ in stalled[:-1]]
        assert all(read.waiting for read in reads)
        refused = procs.CmdlineAside(stalled[-1][0])
        assert not refused.waiting
        assert os_threads() == threads + procs.ASIDE_READS_MAX
        assert refused.shown(0) == (f"unread ({procs.ASIDE_READS_MAX} reads of earlier "
                                    "victims still wait)")
        for _, fifo in stalled[:-1]:
            let_go(fifo)
        wait_for(lambda: not any(read.waiting for read in reads))
        wait_for(lambda: os_threads() == threads)
        again = procs.CmdlineAside(stalled[-1][0])
        assert again.waiting
        let_go(stalled[-1][1])
    assert again.shown(5) == procs.CMDLINE_GONE


def test_nothing_is_signalled_nor_read_after_for_a_reused_pid() -> None:
    bystander = child("")
    real = snapshot(bystander.pid)
    real.start_time -= 1        # the one chosen started earlier: another process
    called: list[str] = []
    outcome = killer.terminate(real, FAST, checked=lambda: called.append("checked"),
                               signalled=lambda: called.append("signalled"))
    assert outcome.ending == killer.Ending.PID_REUSED and called == []
    assert bystander.poll() is None
    bystander.kill()
    bystander.wait()


def test_a_different_start_time_means_another_process_and_nothing_is_sent() -> None:
    bystander = child("")
    real = snapshot(bystander.pid)
    stale = procs.Proc(pid=real.pid, start_time=real.start_time - 1, comm=real.comm,
                       cmdline=real.cmdline, exe=real.exe, uid=real.uid, cgroup=real.cgroup,
                       oom_score=real.oom_score, oom_score_adj=real.oom_score_adj,
                       rss_kb=real.rss_kb, kernel_thread=False)
    assert killer.terminate(stale, FAST).ending == killer.Ending.PID_REUSED
    assert bystander.poll() is None
    bystander.kill()
    bystander.wait()


def test_dry_run_sends_nothing() -> None:
    victim = child("")
    assert killer.terminate(snapshot(victim.pid), FAST, dry_run=True).ending \
        == killer.Ending.DRY_RUN
    assert victim.poll() is None
    victim.kill()
    victim.wait()


# A tracer that holds its child on the child's way out (killer.py's
# docstring): it traces the child with PTRACE_O_TRACEEXIT, prints the
# child's pid, passes every other stop's signal on, and prints "held" once
# the child has stopped in its exit, where it leaves it.
HOLDER = r"""
import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
TRACEME, CONT, SETOPTIONS, O_TRACEEXIT, EVENT_EXIT = 0, 7, 0x4200, 0x40, 6
child = os.fork()
if child == 0:
    libc.ptrace(TRACEME, 0, None, None)
    os.kill(os.getpid(), signal.SIGSTOP)
    while True:
        time.sleep(1)
os.waitpid(child, 0)
assert libc.ptrace(SETOPTIONS, child, None, O_TRACEEXIT) == 0
libc.ptrace(CONT, child, None, None)
print(child, flush=True)
while True:
    _, status = os.waitpid(child, 0)
    if not os.WIFSTOPPED(status):
        break
    if status >> 8 == signal.SIGTRAP | EVENT_EXIT << 8:
        print("held", flush=True)
        continue
    libc.ptrace(CONT, child, None, os.WSTOPSIG(status))
"""


@contextmanager
def held_on_its_way_out() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The tracer (HOLDER) and the pid of the child it will hold."""
    tracer = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE)
    assert tracer.stdout is not None
    try:
        yield tracer, int(tracer.stdout.readline())
    finally:
        tracer.kill()
        tracer.wait()


def test_a_victim_its_tracer_holds_on_its_way_out_goes_with_the_tracer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Held in its exit, the victim drops the SIGKILL; its tracer's SIGKILL lets it go."""
    monkeypatch.setattr(killer, "KILL_WAIT_S", 0.5)
    with held_on_its_way_out() as (tracer, pid):
        outcome = killer.terminate(snapshot(pid), FAST, spare=lambda proc: None)
        assert tracer.stdout is not None and tracer.stdout.readline() == b"held\n"
        assert outcome.ending == killer.Ending.KILLED
        assert tracer.wait(5) == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while procs.state_of(pid) not in (None, *procs.EXITED_STATES):
            assert time.monotonic() < deadline, f"{pid} still there after its tracer"
            time.sleep(0.05)


def test_a_victim_on_its_way_out_is_left_there_when_the_wait_is_cut(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Held in its exit after its SIGKILL, the victim is left there at the
    first ask of ``exit_cut`` that says so, long before KILL_WAIT_S; its
    tracer is not touched: that is for a later kill, whose wait is not cut."""
    monkeypatch.setattr(killer, "KILL_WAIT_S", 60.0)
    asked: list[bool] = []

    def exit_cut() -> bool:
        asked.append(procs.state_of(pid) == b"t")
        return len(asked) == 3

    with held_on_its_way_out() as (tracer, pid):
        outcome = killer.terminate(snapshot(pid), FAST, spare=lambda proc: None,
                                   exit_cut=exit_cut)
        assert outcome.ending == killer.Ending.LEFT
        assert asked == [True, True, True]
        assert outcome.seconds < 10
        assert tracer.poll() is None and procs.state_of(pid) == b"t"


def test_a_tracer_the_policy_spares_is_not_killed_for_the_victim_it_holds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(killer, "KILL_WAIT_S", 0.5)
    with held_on_its_way_out() as (tracer, pid):
        outcome = killer.terminate(
            snapshot(pid), FAST,
            spare=lambda proc: "a protect rule" if proc.pid == tracer.pid else None)
        assert outcome.ending == killer.Ending.SURVIVED
        assert tracer.poll() is None
        assert procs.state_of(pid) == b"t"      # still held in its exit


def test_a_tracer_whose_pid_is_reused_is_never_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tracer is pinned, then must still be the victim's tracer: here
    the victim's TracerPid names a bystander (as a tracer gone and its PID
    reused would) only until the pin, and the bystander gets nothing."""
    bystander = child("")
    reads: list[int] = []

    def tracer_of(pid: int, root: str = procs.PROC) -> int:
        reads.append(pid)
        return bystander.pid if len(reads) == 1 else 0

    monkeypatch.setattr(procs, "tracer_of", tracer_of)
    try:
        assert not killer._end_tracers(os.getpid(), lambda proc: None, procs.PROC)
        assert reads == [os.getpid(), os.getpid()]
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_warn_signals_opted_in_processes_and_forgets_dead_ones(tmp_path: Path) -> None:
    got = tmp_path / "got"
    app = child(f"import signal\nsignal.signal(signal.SIGUSR1, "
                f"lambda *a: open({str(got)!r}, 'w').write('warned'))")
    optin = tmp_path / "warn.d"
    optin.mkdir()
    (optin / str(app.pid)).touch()
    (optin / "999999").touch()           # a process that is gone
    marker = tmp_path / "ran"
    cfg = config.WarnConfig(commands=(f"touch {marker}",), optin_dir=str(optin))
    actions = killer.warn(cfg)
    assert actions == [f"ran 'touch {marker}'", f"SIGUSR1 to {app.pid}"]
    deadline = time.monotonic() + 5
    while not (got.exists() and marker.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got.read_text() == "warned" and marker.exists()
    assert not (optin / "999999").exists()
    app.kill()
    app.wait()


def daemon(tmp_path: Path, conf: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "RUNTIME_DIRECTORY": str(tmp_path),
           "PYTHONPATH": str(FILES)}
    env.pop("JOURNAL_STREAM", None)
    env.pop("INVOCATION_ID", None)
    return subprocess.Popen([sys.executable, "-I", "-c",
                             f"import sys; sys.path.insert(0, {str(FILES)!r}); "
                             "from lmw_terminator.service import main; sys.exit(main())",
                             "--config", str(conf), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(proc: subprocess.Popen[str], text: str) -> str:
    assert proc.stderr is not None
    seen = ""
    for line in proc.stderr:
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never came; got:\n{seen}")


QUIET = ('[source]\nkind = "meminfo"\nmeminfo_interval_ms = 60000\n'
         '[warn]\noptin_dir = "{dir}/warn.d"\n')


def test_sighup_reload_keeps_the_old_config_when_the_new_one_is_bad(tmp_path: Path) -> None:
    conf = tmp_path / "terminator.toml"
    conf.write_text(QUIET.format(dir=tmp_path))
    proc = daemon(tmp_path, conf)
    try:
        read_until(proc, "started: source meminfo")
        status = tmp_path / "terminator.status"
        deadline = time.monotonic() + 10
        while not status.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "state=watching" in status.read_text()
        conf.write_text(QUIET.format(dir=tmp_path) + "[kill]\nterm_grace_ms = -1\n")
        proc.send_signal(signal.SIGHUP)
        line = read_until(proc, "reload failed")
        assert f"keeping the old config: {conf}: kill.term_grace_ms = -1" in line
        conf.write_text(QUIET.format(dir=tmp_path) + "[kill]\nterm_grace_ms = 10\n")
        proc.send_signal(signal.SIGHUP)
        read_until(proc, f"reloaded {conf}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()


LMW_COMES, LMW_GOES = b"add@/module/lmw\0", b"remove@/module/lmw\0"
SO_DETACH_FILTER = 27


@pytest.mark.parametrize(("message", "kept"), [
    (LMW_COMES + b"ACTION=add\0DEVPATH=/module/lmw\0SUBSYSTEM=module\0SEQNUM=1\0", True),
    (LMW_GOES + b"ACTION=remove\0DEVPATH=/module/lmw\0", True),
    (LMW_COMES, True),
    (b"change@/kernel/lmw/watermark\0ACTION=change\0LMW_STATE=notify\0", False),
    (b"add@/module/lmwx\0ACTION=add\0", False),        # another module, lmw's name a prefix
    (b"add@/module/lm\0ACTION=add\0DEVPATH=/module/lm\0", False),
    (b"remove@/module/lmw", False),                     # no NUL: too short to be read
    (b"bind@/module/lmw\0", False),
    (b"add@/devices/virtual/mem/null\0ACTION=add\0", False),
    (b"", False),
])
def test_the_uevent_filter_keeps_only_lmw_coming_and_going(message: bytes, kept: bool) -> None:
    """ModuleWatch's filter, run by the kernel: on a socket pair, as it runs
    on the uevent socket; a message that passes it is one the daemon wakes for."""
    sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with sender, receiver:
        sources.attach_filter(receiver, sources.header_filter(sources.ModuleWatch.HEADERS))
        sender.send(message)
        sender.send(LMW_GOES + b"the end")      # kept: what came before it is in
        received = [receiver.recv(256)]
        while received[-1] != LMW_GOES + b"the end":
            received.append(receiver.recv(256))
    assert received[:-1] == ([message] if kept else [])


def test_a_uevent_of_another_device_does_not_wake_the_module_watch() -> None:
    """A real uevent from the kernel (a "change" of /dev/null, as root):
    an unfiltered uevent socket gets it, ModuleWatch's socket does not."""
    trigger = Path("/sys/devices/virtual/mem/null/uevent")
    control = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, sources.NETLINK_KOBJECT_UEVENT)
    try:
        control.bind((0, 1))
        trigger.write_text("change\n")
    except OSError as error:
        control.close()
        pytest.skip(f"no kernel uevents to trigger here: {error}")
    watch = sources.ModuleWatch()
    try:
        trigger.write_text("change\n")
        control.settimeout(10)
        seen = b""
        while not seen.startswith(b"change@/devices/virtual/mem/null\0"):
            seen = control.recv(8192)     # the first write's, then this one's
        while True:                        # this one's, delivered to both in one broadcast
            control.settimeout(0.5)
            try:
                control.recv(8192)
            except TimeoutError:
                break
        assert not select.select([watch.fd], [], [], 0)[0]
        assert watch.actions() == []
    finally:
        watch.close()
        control.close()


def test_lost_uevents_are_read_as_a_look_at_the_state_file(tmp_path: Path) -> None:
    """Without its filter (a kernel that refused it), ModuleWatch's socket
    takes every uevent: a flood it cannot hold overflows it (ENOBUFS), and
    what is true now, lmw.ko's state file there or not, stands for what
    was lost."""
    trigger = Path("/sys/devices/virtual/mem/null/uevent")
    state = tmp_path / "state"
    watch = sources.ModuleWatch(state_path=str(state))
    try:
        watch.sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
        try:
            for _ in range(3000):
                trigger.write_text("change\n")
        except OSError as error:
            pytest.skip(f"no kernel uevents to trigger here: {error}")
        assert watch.actions() == ["remove"] and watch.overruns == 1
        state.write_text("normal\n")
        for _ in range(3000):
            trigger.write_text("change\n")
        assert watch.actions() == ["add"] and watch.overruns == 2
    finally:
        watch.close()


def test_the_watchdog_is_pinged_at_its_pace_not_at_every_turn(tmp_path: Path) -> None:
    """WATCHDOG=1 wakes PID 1: the daemon sends it once half its interval
    has passed since the last (WATCHDOG_USEC 2 s: a ping every 0.5 to 1 s),
    however often its loop turns, and at rest it wakes for it by itself."""
    conf = tmp_path / "terminator.toml"
    conf.write_text(QUIET.format(dir=tmp_path))
    notify = tmp_path / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(10)
    os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"] = str(notify), "2000000"
    try:
        proc = daemon(tmp_path, conf)
    finally:
        del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
    pings: list[float] = []

    def collect(until: float) -> None:
        listener.settimeout(max(0.01, until - time.monotonic()))
        while time.monotonic() < until:
            try:
                message = listener.recv(256)
            except TimeoutError:
                return
            if b"WATCHDOG=1" in message.split(b"\n"):
                pings.append(time.monotonic())
            listener.settimeout(max(0.01, until - time.monotonic()))

    try:
        while not listener.recv(256).startswith(b"READY=1"):    # after the first turn's ping
            pass
        # 60 turns of the loop in 3 s: each SIGCHLD wakes it (to reap)
        for _ in range(60):
            proc.send_signal(signal.SIGCHLD)
            collect(time.monotonic() + 0.05)
        busy = len(pings)
        assert 2 <= busy <= 7, pings
        # at rest, nothing wakes the loop but the ping that is due
        collect(time.monotonic() + 5)
        assert len(pings) >= busy + 2, pings
        gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
        assert min(gaps) >= 0.4, gaps    # 0.5 s, less the datagrams' own delays
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        listener.close()
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(("text", "status", "says"), [
    ("[kill]\nmin_interval_ms = 5\n", 0, ": ok"),
    ("[kill]\nmin_interval_ms = \"soon\"\n", 2,
     "kill.min_interval_ms = 'soon': must be an integer"),
])
def test_check_config(tmp_path: Path, text: str, status: int, says: str) -> None:
    conf = tmp_path / "t.toml"
    conf.write_text(text)
    proc = daemon(tmp_path, conf, "--check-config")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == status
    assert says in (err or "") + (out or "")


def test_bad_argument_is_exit_2(tmp_path: Path) -> None:
    proc = daemon(tmp_path, tmp_path / "none.toml", "--frobnicate")
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and "unknown argument '--frobnicate'" in err


def test_a_command_line_is_read_only_so_far() -> None:
    """Arguments are the user's to make megabytes long; the daemon reads every
    process at each choice, so it reads CMDLINE_MAX bytes of each."""
    # a process that stays: sleep(1) would refuse these arguments and exit,
    # and an exited process has no command line left to read
    resident = [sys.executable, "-c", "import time; time.sleep(600)"]
    long = subprocess.Popen([*resident, *["x" * 100_000] * 20])
    try:
        deadline = time.monotonic() + 10
        # until the exec is done: the comm changes before the arguments are in place
        proc = snapshot(long.pid)
        while not proc.cmdline.startswith(resident[0]) and time.monotonic() < deadline:
            time.sleep(0.01)
            proc = snapshot(long.pid)
        assert proc.cmdline.startswith(" ".join(resident) + " xxx")
        assert len(proc.cmdline.encode()) <= procs.CMDLINE_MAX
    finally:
        long.kill()
        long.wait()


@pytest.mark.parametrize(("comm", "shown"), [
    ("lmwtest", "lmwtest"),
    ("x\nforged: pid=1", "x\\nforged: pid=1"),
    ("a\x1cb\x1b[2J", "a\\x1cb\\x1b[2J"),
    ("u\u2028v", "u\\u2028v"),
])
def test_a_users_text_cannot_start_a_log_line(comm: str, shown: str) -> None:
    assert log.printable(comm) == shown


def test_lmwctl_status_survives_a_hostile_status_value(tmp_path: Path) -> None:
    me = os.getpid()
    (tmp_path / "terminator.status").write_text(
        f"pid={me}\nsource=lmw\nlast_action=a\x1cb\u2028c[7]: exited after SIGTERM\n")
    env = {**os.environ, "RUNTIME_DIRECTORY": str(tmp_path), "PYTHONPATH": str(FILES)}
    done = subprocess.run([sys.executable, "-c", "import sys; from lmw_terminator.lmwctl "
                           "import main; sys.exit(main())", "status"], env=env,
                          capture_output=True, text=True, check=False)
    assert f"terminator: running, pid {me}" in done.stdout, done.stdout + done.stderr


def test_a_pid_that_is_a_thread_now_is_never_signalled() -> None:
    """Between the choice and the signal, the PID went to a thread of another
    process: pidfd_open says EINVAL, and that is a reused PID, not a crash."""
    started, done = threading.Event(), threading.Event()
    tids: list[int] = []

    def thread() -> None:
        tids.append(threading.get_native_id())
        started.set()
        done.wait(60)

    worker = threading.Thread(target=thread)
    worker.start()
    try:
        started.wait(10)
        start_time = procs.start_time_of(tids[0])
        assert start_time is not None
        victim = procs.Proc(pid=tids[0], start_time=start_time, comm="t", cmdline="", exe="",
                            uid=0, cgroup="", oom_score=0, oom_score_adj=0, rss_kb=0,
                            kernel_thread=False)
        outcome = killer.terminate(victim, config.KillConfig(term_grace_ms=100))
        assert outcome.ending == killer.Ending.PID_REUSED
    finally:
        done.set()
        worker.join()


# A child whose main thread ends, while a thread of its holds 64 MiB
# committed (and touched) and sleeps: its own files show no memory at all.
MAIN_THREAD_GONE = """
import ctypes, mmap, sys, threading, time
def hold():
    held = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    held.write(b"x" * (64 << 20))
    print("ready", flush=True)
    while True:
        time.sleep(1)
threading.Thread(target=hold).start()
time.sleep(0.2)
ctypes.CDLL(None).pthread_exit(None)
"""


def main_thread_gone() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", MAIN_THREAD_GONE], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    # the main thread's exit is what is under test: wait for it
    for _ in range(100):
        if (Path(f"/proc/{proc.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z"):
            return proc
        time.sleep(0.05)
    raise AssertionError("the child's main thread did not exit")


def test_a_process_whose_main_thread_exited_is_ranked_and_stopped_by_what_it_holds() -> None:
    """Its stat, status and statm show nothing once the main thread is gone;
    read there, a hog would hide any amount from the choice by ending it."""
    hider, bystander = main_thread_gone(), child("")
    try:
        seen = snapshot(hider.pid)
        assert not seen.zombie and seen.committed_kb >= 64 << 10, seen.committed_kb
        assert seen.vsize_kb is not None and seen.vsize_kb >= seen.committed_kb
        assert seen.rss_kb >= 64 << 10
        assert "python" in seen.cmdline and seen.exe
        # 256 MiB of RAM: 64 MiB committed outranks a bare interpreter
        choice = policy.choose([seen, snapshot(bystander.pid)], config.parse(""), os.getpid(),
                               policy.Ranking(total_kb=256 << 10))
        assert choice is not None and choice.proc.pid == hider.pid, choice and choice.why
        assert killer.terminate(seen, FAST).ending == killer.Ending.TERMINATED
        assert hider.wait(5) == -signal.SIGTERM
    finally:
        for proc in (hider, bystander):
            proc.kill()
            proc.wait()


def test_a_zombie_is_never_chosen_whatever_its_oom_score_adj() -> None:
    """An exited, unreaped child that raised its oom_score_adj to 1000 would
    outrank everyone; a kill would end at once, free nothing, and the next
    turn would choose it again while the real hog went on."""
    bystander = child("")
    zombie = os.fork()
    if zombie == 0:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as adj:
            adj.write("1000")
        os._exit(0)
    try:
        for _ in range(100):
            seen = procs.read_proc(zombie)
            if seen is not None and seen.zombie:
                break
            time.sleep(0.05)
        assert seen is not None and seen.zombie and seen.oom_score_adj == 1000
        choice = policy.choose([seen, snapshot(bystander.pid)], config.parse(""), os.getpid(),
                               policy.Ranking(total_kb=256 << 10))
        assert choice is not None and choice.proc.pid == bystander.pid, choice and choice.why
        assert policy.choose([seen], config.parse(""), os.getpid(),
                             policy.Ranking(total_kb=256 << 10)) is None
    finally:
        os.waitpid(zombie, 0)
        bystander.kill()
        bystander.wait()


SUPERVISED = """
import os, sys, time
from lmw_terminator import supervisor
supervisor.RESPAWN_DELAY_S = 0.05
def daemon():
    with open(sys.argv[1], "a") as log:
        log.write(f"{os.getpid()}\\n")
    if sys.argv[2] == "bad-config":
        return 2
    time.sleep(600)
    return 0
sys.exit(supervisor.Supervisor(daemon).run())
"""


def supervised(tmp_path: Path, behaviour: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "starts"
    log.touch()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", SUPERVISED, str(log), behaviour],
                            env=env), log


def starts(log: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while len(pids := [int(x) for x in log.read_text().split()]) < count:
        assert time.monotonic() < deadline, pids
        time.sleep(0.02)
    return pids


def test_the_supervisor_starts_the_daemon_again_and_stops_with_it(tmp_path: Path) -> None:
    supervisor, log = supervised(tmp_path, "runs")
    try:
        first = starts(log, 1)[0]
        os.kill(first, signal.SIGKILL)
        second = starts(log, 2)[1]
        assert second != first
        supervisor.send_signal(signal.SIGTERM)     # passed on: the daemon ends, then it
        assert supervisor.wait(20) == 0
        with pytest.raises(ProcessLookupError):
            os.kill(second, 0)
    finally:
        supervisor.kill()
        supervisor.wait()


def test_the_supervisor_gives_up_on_a_bad_config(tmp_path: Path) -> None:
    supervisor, log = supervised(tmp_path, "bad-config")
    try:
        assert supervisor.wait(20) == 2
        assert len(starts(log, 1)) == 1
    finally:
        supervisor.kill()
        supervisor.wait()


# What the daemon's RSS is spared (the footprint in docs/benchmarks.md):
# each of these costs from 0.3 to 1.6 MiB and the daemon needs none of them.
HEAVY_MODULES = {"enum", "signal", "contextlib", "typing", "dataclasses", "pathlib", "logging",
                 "argparse", "socket", "tomllib", "re", "functools", "collections"}


def test_the_daemon_imports_none_of_the_heavy_modules() -> None:
    """As the launcher runs it (-I, no site), with the default config (no rules: no re)."""
    script = ("import sys\nsys.path.insert(0, sys.argv[1])\nimport lmw_terminator.service\n"
              "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(FILES)],
                         capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert "lmw_terminator.service" in loaded
    assert not HEAVY_MODULES & loaded, sorted(HEAVY_MODULES & loaded)


def test_signal_names_as_signal_py_gives_them() -> None:
    from lmw_terminator import sig

    for member in signal.Signals:
        assert sig.name(member.value) == member.name
    for name, member in signal.Signals.__members__.items():   # aliases too: SIGIOT
        assert sig.number(name) == member.value
    with pytest.raises(KeyError):
        sig.number("SIGNOPE")
    assert sig.name(32) == "signal 32"      # glibc's own, no name
