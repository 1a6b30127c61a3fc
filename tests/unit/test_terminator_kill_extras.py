"""lmw-terminator's kill hooks and whole-service kills, on the host with real processes.

The hooks run as the daemon runs them (posix_spawn, no shell reads the
victim's facts); the service cgroup logic reads a cgroup tree laid out
as the kernel lays it out (cgroup.procs, cgroup.kill) in a temporary
directory, with real processes as members.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lmw_terminator import cgroups, config, hooks, killer, policy, procs
from lmw_terminator.errors import ConfigError

NOBODY = 65534
FAST = config.KillConfig(term_grace_ms=300, min_interval_ms=0)


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user takes root")


def write_hook(tmp_path: Path) -> tuple[Path, Path]:
    """A hook that writes its arguments and environment, NUL-separated, to a file."""
    out = tmp_path / "hook.out"
    hook = tmp_path / "hook"
    hook.write_text(f"#!/bin/sh\n{{ printf '%s\\0' \"$@\"; printf '\\0'; env -0; }} > {out}.tmp "
                    f"&& mv {out}.tmp {out}\n")
    hook.chmod(0o755)
    return hook, out


def read_hook(out: Path) -> tuple[list[str], dict[str, str]]:
    for _ in range(200):
        if out.exists():
            break
        time.sleep(0.05)
    args_part, _, env_part = out.read_bytes().partition(b"\0\0")
    args = [a.decode(errors="surrogateescape") for a in args_part.split(b"\0") if a]
    env = dict(item.decode(errors="surrogateescape").split("=", 1)
               for item in env_part.split(b"\0") if b"=" in item)
    return args, env


# ---- config --------------------------------------------------------------

def test_hooks_and_service_cgroup_are_read(tmp_path: Path) -> None:
    hook, _ = write_hook(tmp_path)
    cfg = config.parse(f'[kill]\nservice_cgroup = true\nbefore = ["{hook}", "a b"]\n'
                       f'after = ["{hook}"]\n')
    assert cfg.kill.service_cgroup is True
    assert cfg.kill.before == (str(hook), "a b") and cfg.kill.after == (str(hook),)
    assert "service_cgroup=true" in cfg.summary()[2]


@pytest.mark.parametrize(("value", "why"), [
    ('before = ["hook"]', "must be an absolute path"),
    ('before = ["/nonexistent/hook"]', "No such file or directory"),
    ('before = "/bin/true"', "must be a list of non-empty strings"),
    ('after = ["/etc"]', "is not an executable file"),
    ('service_cgroup = 1', "must be true or false"),
])
def test_a_bad_hook_or_switch_is_refused(value: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        config.parse(f"[kill]\n{value}\n")


def test_a_hook_others_could_replace_is_refused(tmp_path: Path) -> None:
    hook, _ = write_hook(tmp_path)
    hook.chmod(0o777)
    with pytest.raises(ConfigError, match=r"kill\.before.*is writable by others \(mode 0777\)"):
        config.parse(f'[kill]\nbefore = ["{hook}"]\n')
    hook.chmod(0o755)
    tmp_path.chmod(0o777)
    try:
        with pytest.raises(ConfigError, match=f"{tmp_path} is writable by others"):
            config.parse(f'[kill]\nbefore = ["{hook}"]\n')
    finally:
        tmp_path.chmod(0o755)


def test_a_hook_a_user_owns_is_refused(tmp_path: Path, as_root: None) -> None:
    hook, _ = write_hook(tmp_path)
    os.chown(hook, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match=f"is owned by uid {NOBODY}"):
        config.parse(f'[kill]\nafter = ["{hook}"]\n')
    link = tmp_path / "link"
    link.symlink_to(hook)
    with pytest.raises(ConfigError, match=f"{hook} is owned by uid {NOBODY}"):
        config.parse(f'[kill]\nafter = ["{link}"]\n')


# ---- hooks ---------------------------------------------------------------

HOSTILE_COMM = "$(touch pwned)"


def test_a_hook_gets_the_facts_in_its_environment_and_no_shell_reads_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook, out = write_hook(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECRET_OF_THE_DAEMON", "1")
    facts: dict[str, object] = {"pid": 42, "comm": HOSTILE_COMM + "\n;`id`", "uid": NOBODY,
                                "reason": "committed 1 kB: 667"}
    hooks.run((str(hook), "$LMW_COMM", "two words"), "before", facts)
    args, env = read_hook(out)
    assert args == ["$LMW_COMM", "two words"]
    assert env["LMW_COMM"] == HOSTILE_COMM + "\n;`id`"
    assert env["LMW_EVENT"] == "before" and env["LMW_PID"] == "42"
    assert env["LMW_UID"] == str(NOBODY) and env["LMW_REASON"] == "committed 1 kB: 667"
    assert "SECRET_OF_THE_DAEMON" not in env and env["PATH"] == hooks.PATH
    assert not (tmp_path / "pwned").exists()
    killer.reap_children()


def test_hooks_that_never_end_do_not_pile_up(tmp_path: Path) -> None:
    sleeper = tmp_path / "sleeper"
    sleeper.write_text("#!/bin/sh\nexec sleep 30\n")
    sleeper.chmod(0o755)
    started = []
    try:
        for _ in range(hooks.MAX_RUNNING + 3):
            before = set(hooks._running)
            hooks.run((str(sleeper),), "after", {})
            started += list(set(hooks._running) - before)
        assert len(started) == hooks.MAX_RUNNING
    finally:
        for pid in started:
            os.killpg(pid, 9)
        time.sleep(0.2)
        killer.reap_children()
    assert not hooks._running


# ---- whole-service kills -------------------------------------------------

def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A cgroup v2 tree as the kernel lays one out (files only)."""
    root = tmp_path / "cgroup"
    (root / "system.slice" / "forker.service").mkdir(parents=True)
    (root / "system.slice" / "lmw-terminator.service").mkdir()
    (root / "cgroup.controllers").write_text("memory pids\n")
    for service in ("forker", "lmw-terminator"):
        (root / "system.slice" / f"{service}.service" / "cgroup.kill").write_text("")
    return root


def members_file(root: Path, pids: list[int]) -> None:
    (root / "system.slice/forker.service/cgroup.procs").write_text(
        "".join(f"{pid}\n" for pid in pids))


@pytest.mark.parametrize(("path", "service"), [
    ("/system.slice/sshd.service", True),
    ("/user.slice/user-1000.slice/user@1000.service/app.slice/x.service", True),
    ("/user.slice/user-1000.slice/session-3.scope", False),
    ("/system.slice/.service", False),
    ("/", False),
    ("/service", False),
])
def test_what_is_a_service_cgroup(path: str, service: bool) -> None:
    assert cgroups.is_service(path) is service


def test_a_service_of_plain_processes_is_killed_whole(tree: Path) -> None:
    workers = [sleeper(), sleeper()]
    try:
        members_file(tree, [w.pid for w in workers])
        path = "/system.slice/forker.service"
        own = "/system.slice/lmw-terminator.service"
        assert cgroups.refusal(path, config.Config(), own, root=str(tree)) is None
        assert cgroups.kill(path, root=str(tree)) == 2
        assert (tree / "system.slice/forker.service/cgroup.kill").read_text() == "1"
    finally:
        for w in workers:
            w.kill()
            w.wait()


def test_a_service_that_holds_what_is_never_killed_is_not_killed_whole(tree: Path) -> None:
    worker = sleeper()
    path, own = "/system.slice/forker.service", "/system.slice/lmw-terminator.service"
    try:
        members_file(tree, [worker.pid, 1])
        assert "PID 1" in str(cgroups.refusal(path, config.Config(), own, root=str(tree)))
        members_file(tree, [worker.pid])
        me = procs.read_proc(worker.pid)
        assert me is not None
        rule = config.parse(f'[[protect]]\nuid = {me.uid}\ncomm = "^{me.comm}$"\n')
        why = cgroups.refusal(path, rule, own, root=str(tree))
        assert why is not None and "protect[0]" in why and str(worker.pid) in why
        # the terminator's own cgroup, and any above it
        assert cgroups.refusal(path, config.Config(), path, root=str(tree)) == \
            "the terminator's own cgroup"
        assert cgroups.refusal("/system.slice", config.Config(), own, root=str(tree)) == \
            "the terminator's own cgroup"
        assert cgroups.refusal("/", config.Config(), own, root=str(tree)) == "the root cgroup"
    finally:
        worker.kill()
        worker.wait()


def test_cgroup_kill_missing_from_the_kernel_is_said(tree: Path) -> None:
    (tree / "system.slice/forker.service/cgroup.kill").unlink()
    members_file(tree, [])
    with pytest.raises(OSError, match=r"no cgroup\.kill"):
        cgroups.kill("/system.slice/forker.service", root=str(tree))
    # a cgroup gone meanwhile (its last process ended): nothing to do
    assert cgroups.kill("/system.slice/gone.service", root=str(tree)) == 0


def test_a_system_without_cgroup_v2_or_cgroup_kill_is_said(tmp_path: Path) -> None:
    assert "no cgroup v2 hierarchy" in str(cgroups.unavailable(root=str(tmp_path)))
    (tmp_path / "cgroup.controllers").write_text("")
    (tmp_path / "child").mkdir()
    assert "no cgroup.kill" in str(cgroups.unavailable(root=str(tmp_path),
                                                       proc_root="/nonexistent"))
    (tmp_path / "child" / "cgroup.kill").write_text("")
    assert cgroups.unavailable(root=str(tmp_path), proc_root="/nonexistent") is None


# ---- families ------------------------------------------------------------

# A head that forks its children as the arguments say ("plain", "nobody":
# drops to uid 65534, "keeper": named so, for a protect rule, "slow": exits
# 10 ms after its SIGTERM), each sleeping, and writes their PIDs; "hostile"
# makes the head and its children ignore SIGTERM and the head fork three
# more children when it gets one. Those that act on a SIGTERM take it with
# sigwait(), not a handler: Python runs a handler between two bytecodes,
# so a SIGTERM that came (say, after a SIGSTOP and its SIGCONT) just as
# time.sleep(60) was being entered would be acted on a minute later.
FAMILY_HEAD = r"""
import os, signal, sys, time
out, hostile, kinds = sys.argv[1], sys.argv[2] == "hostile", sys.argv[3:]
TERM = {signal.SIGTERM}
def child(kind):
    pid = os.fork()
    if pid:
        return pid
    if kind == "slow":
        signal.sigwait(TERM)
        time.sleep(0.01)
        os._exit(0)
    if hostile:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, TERM)
    if kind == "keeper":
        with open("/proc/self/comm", "w") as comm:
            comm.write("keeper")
    if kind == "nobody":
        os.setgid(65534)
        os.setuid(65534)
    while True:
        time.sleep(60)
# blocked from the start, in the head and (until they unblock it) its children
signal.pthread_sigmask(signal.SIG_BLOCK, TERM)
pids = [child(kind) for kind in kinds]
with open(out + ".tmp", "w") as stream:
    stream.write(" ".join(map(str, pids)))
os.rename(out + ".tmp", out)
if not hostile:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, TERM)
    while True:
        time.sleep(60)
while True:
    signal.sigwait(TERM)
    with open(out + ".more.tmp", "w") as stream:
        stream.write(" ".join(str(child("plain")) for _ in range(3)))
    os.rename(out + ".more.tmp", out + ".more")
"""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended: its parent has not reaped it yet)."""
    stat = procs.read_bytes(f"/proc/{pid}/stat")
    return stat is not None and stat[stat.rindex(b")") + 2:][:1] not in procs.EXITED_STATES


def start_family(tmp_path: Path, mode: str, *kinds: str) -> tuple[subprocess.Popen[bytes],
                                                                   list[int]]:
    out = tmp_path / "children"
    head = subprocess.Popen([sys.executable, "-c", FAMILY_HEAD, str(out), mode, *kinds])
    for _ in range(400):
        if out.exists():
            return head, [int(word) for word in out.read_text().split()]
        time.sleep(0.025)
    head.kill()
    raise AssertionError("the family never started")


def end_all(head: subprocess.Popen[bytes], pids: list[int]) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, 9)
    head.kill()
    head.wait()


def test_a_family_goes_whole_but_for_what_is_not_its_to_take(tmp_path: Path,
                                                               as_root: None) -> None:
    """The head and its children of its uid end; a child that became another
    user, and one the policy spares (a protect rule), live on."""
    head, children = start_family(tmp_path, "plain", "plain", "plain", "plain", "nobody",
                                  "keeper")
    try:
        victim = procs.read_proc(head.pid)
        assert victim is not None
        outcome, signalled = killer.terminate_family(
            victim, FAST, lambda proc: policy.spared(
                proc, config.parse('[[protect]]\ncomm = "^keeper$"\nuid = 0\n')))
        head.wait(5)
        assert outcome.ending == killer.Ending.TERMINATED and outcome.signalled_at is not None
        assert signalled == 3
        assert [alive(pid) for pid in children] == [False, False, False, True, True]
    finally:
        end_all(head, children)


def test_a_family_that_ignores_sigterm_and_forks_in_the_grace_is_killed_whole(
        tmp_path: Path) -> None:
    """The head forks three more children on its SIGTERM, and none of them
    heeds one: after the grace, SIGKILL takes them all, those born in the
    grace too (the head is stopped before they are looked for)."""
    head, children = start_family(tmp_path, "hostile", "plain", "plain")
    more: list[int] = []
    try:
        victim = procs.read_proc(head.pid)
        assert victim is not None
        outcome, signalled = killer.terminate_family(victim, FAST, lambda proc: None)
        head.wait(5)
        more = [int(word) for word in (tmp_path / "children.more").read_text().split()]
        assert outcome.ending == killer.Ending.KILLED
        assert signalled == 5 and len(more) == 3
        assert not any(alive(pid) for pid in children + more)
    finally:
        end_all(head, children + more)


def test_a_familys_grace_cut_short_has_the_sigkill_go_to_all_then(tmp_path: Path) -> None:
    """The grace of a family that ignores its SIGTERM, cut short once the
    head has forked on it: the SIGKILL takes the head, its children and
    those it forked in the grace, long before the grace (a minute) would
    have ended."""
    head, children = start_family(tmp_path, "hostile", "plain", "plain")
    more: list[int] = []
    minute = config.KillConfig(term_grace_ms=60_000, min_interval_ms=0)
    asked: list[bool] = []
    forked = tmp_path / "children.more"

    def cut_short() -> bool:
        asked.append(alive(head.pid))
        return forked.exists() and len(forked.read_text().split()) == 3

    try:
        victim = procs.read_proc(head.pid)
        assert victim is not None
        outcome, signalled = killer.terminate_family(victim, minute, lambda proc: None,
                                                     cut_short=cut_short)
        head.wait(5)
        more = [int(word) for word in forked.read_text().split()]
        assert outcome.ending == killer.Ending.KILLED and asked and all(asked)
        assert outcome.seconds < minute.term_grace_ms / 1000
        assert signalled == 5 and len(more) == 3
        assert not any(alive(pid) for pid in children + more)
    finally:
        end_all(head, children + more)


def pid_of(pidfd: int) -> int:
    """The PID behind a pidfd (its fdinfo's Pid: line)."""
    with open(f"/proc/self/fdinfo/{pidfd}", encoding="ascii") as fdinfo:
        for line in fdinfo:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    raise AssertionError(f"fd {pidfd} is no pidfd")


def test_a_wait_with_no_time_left_still_looks_who_has_exited() -> None:
    """A graceless family (its waves cut short) is waited on for 0 s: what
    has exited by then is not counted as running, so it gets no SIGKILL."""
    gone = subprocess.Popen(["true"])
    running = sleeper()
    pidfds = [os.pidfd_open(gone.pid), os.pidfd_open(running.pid)]
    try:
        gone.wait(5)
        for seconds in (0.0, -1.0):
            assert killer._wait_all(pidfds, seconds) == ([pidfds[1]], False)
        assert killer._wait_all(pidfds, 0.0, lambda: True) == ([pidfds[1]], False), \
            "no time left: nothing to cut short"
    finally:
        running.kill()
        running.wait(5)
        for pidfd in pidfds:
            os.close(pidfd)


def terminate_head(head: subprocess.Popen[bytes], kill: config.KillConfig = FAST,
                   cut_short: Callable[[], bool] | None = None) -> tuple[killer.Outcome, int]:
    """terminate_family on ``head``, sparing none; once the head has exited."""
    victim = procs.read_proc(head.pid)
    assert victim is not None
    ended = killer.terminate_family(victim, kill, lambda proc: None, cut_short=cut_short)
    head.wait(5)
    return ended


def on_their_way(monkeypatch: pytest.MonkeyPatch, children: list[int]) -> list[int]:
    """Filled in as the kill goes: at each child's SIGTERM, how many of
    the children signalled before it are still there."""
    signalled: list[int] = []
    counts: list[int] = []
    send = killer._send

    def counting_send(pidfd: int, signum: int) -> bool:
        pid = pid_of(pidfd)
        if signum == signal.SIGTERM and pid in children:
            counts.append(sum(alive(each) for each in signalled))
            signalled.append(pid)
        return send(pidfd, signum)

    monkeypatch.setattr(killer, "_send", counting_send)
    return counts


def test_a_familys_children_go_in_waves_each_once_the_last_has_exited(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Children that take 10 ms to exit on their SIGTERM: each wave of
    FAMILY_WAVE is sent its SIGTERM once the last has exited, so that at no
    child's SIGTERM do FAMILY_WAVE others still stand on their way out (all
    at once, the last would find every other one there)."""
    head, children = start_family(tmp_path, "plain", *["slow"] * (3 * killer.FAMILY_WAVE))
    counts = on_their_way(monkeypatch, children)
    try:
        outcome, signalled = terminate_head(head)
        assert outcome.ending == killer.Ending.TERMINATED
        assert signalled == len(counts) == len(children)
        assert max(counts) == killer.FAMILY_WAVE - 1, counts
        assert not any(alive(pid) for pid in children)
    finally:
        end_all(head, children)


def test_a_familys_waves_never_outlast_its_grace(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With a grace of 1 ms the first wave of children that take 10 ms to
    exit uses it all: the rest get their SIGTERM at once, and more than a
    wave stands on its way out."""
    head, children = start_family(tmp_path, "plain", *["slow"] * (3 * killer.FAMILY_WAVE))
    counts = on_their_way(monkeypatch, children)
    try:
        terminate_head(head, config.KillConfig(term_grace_ms=1, min_interval_ms=0))
        assert len(counts) == len(children)
        assert max(counts) >= killer.FAMILY_WAVE, counts
        assert not any(alive(pid) for pid in children)
    finally:
        end_all(head, children)


def test_a_climb_ends_a_familys_waves_and_its_grace(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``cut_short`` (memory climbs on) is asked after the first wave has
    exited: the rest get their SIGTERM at once, and the head, with no
    grace, its SIGKILL, long before the grace (a minute) would end. The
    head handles its SIGTERM (and forks on it), so only a SIGKILL ends it."""
    head, children = start_family(tmp_path, "hostile", *["slow"] * (3 * killer.FAMILY_WAVE))
    counts = on_their_way(monkeypatch, children)
    asked: list[int] = []

    def cut_short() -> bool:
        asked.append(len(counts))
        return True

    try:
        outcome, _ = terminate_head(head, config.KillConfig(term_grace_ms=60_000,
                                                            min_interval_ms=0), cut_short)
        assert asked == [killer.FAMILY_WAVE], asked
        assert max(counts) >= killer.FAMILY_WAVE, counts
        assert outcome.ending == killer.Ending.KILLED and outcome.seconds < 60
        assert not any(alive(pid) for pid in children)
    finally:
        end_all(head, children)


def test_a_family_that_ignores_its_sigterm_holds_back_its_waves_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Children that ignore SIGTERM keep their wave there: the sweep waits
    for it once, WAVE_WAIT_S, and sends the rest their SIGTERM at once,
    rather than waiting a wave at a time for a family to hold back its own
    end."""
    head, children = start_family(tmp_path, "hostile", *["plain"] * (3 * killer.FAMILY_WAVE))
    more: list[int] = []
    events: list[str] = []
    send, wait_all = killer._send, killer._wait_all

    def noting_send(pidfd: int, signum: int) -> bool:
        if signum == signal.SIGTERM and pid_of(pidfd) == head.pid:
            events.append("head's SIGTERM")
        return send(pidfd, signum)

    def noting_wait_all(pidfds: list[int], seconds: float, cut_short: object = None
                        ) -> tuple[list[int], bool]:
        running, cut = wait_all(pidfds, seconds, cut_short)  # type: ignore[arg-type]
        events.append(f"{len(running)} of {len(pidfds)} still there")
        return running, cut

    monkeypatch.setattr(killer, "_send", noting_send)
    monkeypatch.setattr(killer, "_wait_all", noting_wait_all)
    try:
        outcome, count = terminate_head(head)
        more = [int(word) for word in (tmp_path / "children.more").read_text().split()]
        assert outcome.ending == killer.Ending.KILLED and count == len(children) + len(more)
        sweep = events[:events.index("head's SIGTERM")]
        wave = killer.FAMILY_WAVE
        assert sweep == [f"{wave} of {wave} still there"], events
        assert not any(alive(pid) for pid in children + more)
    finally:
        end_all(head, children + more)


def test_a_familys_head_is_read_for_the_log_after_its_sigterm(tmp_path: Path) -> None:
    """``signalled`` runs once, after the head's SIGTERM and before the
    grace ends: the head (which ignores SIGTERM) is still there, and its
    command line still its own."""
    head, children = start_family(tmp_path, "hostile", "plain")
    seen: list[str] = []
    try:
        victim = procs.read_proc(head.pid)
        assert victim is not None
        outcome, _ = killer.terminate_family(
            victim, FAST, lambda proc: None,
            checked=lambda: seen.append("checked"),
            signalled=lambda: seen.append(f"signalled {alive(head.pid)} {victim.cmdline}"))
        head.wait(5)
        assert outcome.ending == killer.Ending.KILLED
        assert len(seen) == 2 and seen[0] == "checked"
        assert seen[1].startswith("signalled True ") and "hostile" in seen[1]
    finally:
        end_all(head, children)


def sigterm_sent(pid: int) -> bool:
    """A SIGTERM reached ``pid``: still pending (ShdPnd), or it has ended by it."""
    status = procs.read_bytes(f"/proc/{pid}/status")
    if status is None or not alive(pid):
        return True
    pending = next(line for line in status.decode().splitlines() if line.startswith("ShdPnd:"))
    return bool(int(pending.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def test_a_familys_children_get_their_sigterm_as_they_are_found(tmp_path: Path) -> None:
    """Each child is sent its SIGTERM as soon as it is pinned, before the
    next one is looked at: the first are on their way out while the rest
    are found. ``spare`` is asked once a child, before its pin."""
    head, children = start_family(tmp_path, "plain", "plain", "plain", "plain")
    looked: list[int] = []
    before_had_theirs: list[bool] = []

    def spare(proc: procs.Proc) -> None:
        before_had_theirs.append(all(sigterm_sent(pid) for pid in looked))
        looked.append(proc.pid)

    try:
        victim = procs.read_proc(head.pid)
        assert victim is not None
        outcome, signalled = killer.terminate_family(victim, FAST, spare)
        head.wait(5)
        assert outcome.ending == killer.Ending.TERMINATED and signalled == 3
        assert sorted(looked) == sorted(children) and before_had_theirs == [True] * 3
    finally:
        end_all(head, children)


def fake_task_dir(root: Path, pid: int, children_by_thread: dict[int, str | None]) -> None:
    """/proc/PID/task/TID/children files under ``root`` (None: no such file)."""
    for tid, children in children_by_thread.items():
        (root / str(pid) / "task" / str(tid)).mkdir(parents=True)
        if children is not None:
            (root / str(pid) / "task" / str(tid) / "children").write_text(children)


def fake_stat(root: Path, pid: int, ppid: int) -> None:
    (root / str(pid)).mkdir(parents=True, exist_ok=True)
    (root / str(pid) / "stat").write_text(f"{pid} (x) S {ppid} " + "0 " * 40 + "\n")


def test_a_heads_children_are_read_from_each_threads_children_file(tmp_path: Path) -> None:
    # the files say 101, 102 and 103; a search of every stat would say 104
    fake_task_dir(tmp_path, 100, {100: "103 101 ", 107: "102 "})
    fake_stat(tmp_path, 104, 100)
    assert procs.children_of(100, str(tmp_path)) == [101, 102, 103]


def test_where_the_files_cannot_say_every_process_is_searched(tmp_path: Path) -> None:
    """A kernel without the files (CONFIG_PROC_CHILDREN), a head gone, a
    head with more threads than are read: its children are searched for."""
    fake_stat(tmp_path, 201, 200)
    fake_stat(tmp_path, 202, 200)
    fake_stat(tmp_path, 203, 1)
    fake_task_dir(tmp_path, 200, {200: "201 ", 201: None})
    assert sorted(procs.children_of(200, str(tmp_path))) == [201, 202]
    fake_stat(tmp_path, 301, 300)
    assert procs.children_of(300, str(tmp_path)) == [301]
    fake_stat(tmp_path, 401, 400)
    fake_task_dir(tmp_path, 400, {tid: "" for tid in range(400, 401 + procs.CHILDREN_THREADS_MAX)})
    assert procs.children_of(400, str(tmp_path)) == [401]


def test_children_files_count_only_when_two_reads_in_a_row_agree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that exits while the files are read may hide a sibling: the
    list is the first that the next read repeats; when no two reads agree,
    every process is searched."""
    fake_task_dir(tmp_path, 100, {100: ""})
    fake_stat(tmp_path, 105, 100)
    reads = iter([[1, 3], [1, 2, 3], [1, 2, 3], [9]])
    monkeypatch.setattr(procs, "_children_listed", lambda task_dir, threads: next(reads))
    assert procs.children_of(100, str(tmp_path)) == [1, 2, 3]
    count = iter(range(100))
    monkeypatch.setattr(procs, "_children_listed", lambda task_dir, threads: [next(count)])
    assert procs.children_of(100, str(tmp_path)) == [105]
    assert next(count) == procs.CHILDREN_READS_MAX


def test_a_family_whose_head_pid_was_reused_is_left_alone(tmp_path: Path) -> None:
    head, children = start_family(tmp_path, "plain", "plain")
    try:
        victim = procs.read_proc(head.pid)
        assert victim is not None
        victim.start_time -= 1      # the one chosen started earlier: another process
        outcome, signalled = killer.terminate_family(victim, FAST, lambda proc: None)
        assert outcome.ending == killer.Ending.PID_REUSED and signalled == 0
        assert alive(head.pid) and alive(children[0])
    finally:
        end_all(head, children)
