"""The warning opt-in directory as an unprivileged user fills it: real processes, real uids.

Every entry below is made the way a local user can make one (the
directory is world-writable); the daemon's side runs as root, as it does
on a device. A bystander is a process with no SIGUSR1 handler: if it were
signalled, it would die.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmw_terminator import optin, procs

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="plays two users: needs root")

USER = 65534      # the attacker, and the owner of the app that opts in
OTHER = 65533     # another unprivileged user


def sleeper(uid: int = 0) -> subprocess.Popen[bytes]:
    """A process of ``uid`` with the default action for SIGUSR1 (it dies of it)."""
    def drop() -> None:
        if uid:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return subprocess.Popen(["sleep", "600"], preexec_fn=drop)  # noqa: PLW1509 - a test child


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


@pytest.fixture
def warn_dir(tmp_path: Path) -> Path:
    path = tmp_path / "warn.d"
    path.mkdir(mode=0o1777)
    path.chmod(0o1777)
    return path


def entry(warn_dir: Path, name: str, owner: int) -> Path:
    path = warn_dir / name
    path.touch()
    os.chown(path, owner, owner)
    return path


def died_of_usr1(proc: subprocess.Popen[bytes]) -> bool:
    try:
        return proc.wait(2) == -signal.SIGUSR1
    except subprocess.TimeoutExpired:
        return False


def test_an_entry_works_only_where_its_owner_could_signal(
        warn_dir: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    root_bystander, other_bystander, own = sleeper(), sleeper(OTHER), sleeper(USER)
    processes += [root_bystander, other_bystander, own]
    for proc in processes:
        entry(warn_dir, str(proc.pid), USER)
    actions = optin.signal_opted_in(str(warn_dir), signal.SIGUSR1)
    assert died_of_usr1(own), actions
    assert root_bystander.poll() is None and other_bystander.poll() is None
    assert f"refused an opt-in of uid {USER} for pid {root_bystander.pid} of uid 0" in actions
    assert f"refused an opt-in of uid {USER} for pid {other_bystander.pid} of uid {OTHER}" \
        in actions
    assert sorted(p.name for p in warn_dir.iterdir()) == [str(own.pid)]


def test_root_may_opt_in_any_process(warn_dir: Path,
                                     processes: list[subprocess.Popen[bytes]]) -> None:
    app = sleeper(OTHER)
    processes.append(app)
    entry(warn_dir, str(app.pid), 0)
    assert optin.signal_opted_in(str(warn_dir), signal.SIGUSR1) == [f"SIGUSR1 to {app.pid}"]
    assert died_of_usr1(app)


def test_no_name_or_kind_of_entry_crashes_or_misleads(
        warn_dir: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    bystander = sleeper()
    processes.append(bystander)
    odd = ["\u00b2", "abc", "1", "0001", str(os.getpid()), "12345678901", "-5", " 7",
           "bad\nname", "\udcff".encode("utf-8", "surrogateescape").decode("latin-1")]
    for name in odd:
        entry(warn_dir, name, USER)
    (warn_dir / "4194303").mkdir()                      # a directory: not a regular file
    (warn_dir / str(bystander.pid)).symlink_to(warn_dir / "abc")
    os.mkfifo(warn_dir / "4194302")
    actions = optin.signal_opted_in(str(warn_dir), signal.SIGUSR1)
    assert actions == []
    assert bystander.poll() is None
    # the directory stays (unlink cannot remove it); every other entry is gone
    assert [p.name for p in warn_dir.iterdir()] == ["4194303"]


def test_an_entry_older_than_its_process_is_stale(
        warn_dir: Path, tmp_path: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    """PID reuse: the entry was made for an earlier process with this PID. A
    proc tree whose boot time lies in the future makes the process younger
    than the entry, as a process that got a reused PID is."""
    app = sleeper(USER)
    processes.append(app)
    entry(warn_dir, str(app.pid), USER)
    fake_proc = tmp_path / "proc"
    shutil.copytree(f"/proc/{app.pid}", fake_proc / str(app.pid),
                    ignore=lambda d, names: [n for n in names if n not in ("stat", "status")])
    (fake_proc / "stat").write_text(f"btime {int(time.time()) + 3600}\n")
    assert procs.owner_of(app.pid, str(fake_proc)) is not None, "the fake tree must be readable"
    assert optin.signal_opted_in(str(warn_dir), signal.SIGUSR1,
                                 proc_root=str(fake_proc)) == []
    assert app.poll() is None and not list(warn_dir.iterdir())


def test_entries_read_per_warning_are_bounded(warn_dir: Path) -> None:
    for number in range(optin.MAX_ENTRIES + 50):
        entry(warn_dir, str(4_000_000 + number), USER)    # no such processes
    actions = optin.signal_opted_in(str(warn_dir), signal.SIGUSR1)
    assert actions == [f"stopped at {optin.MAX_ENTRIES} opt-in entries"]
    assert len(list(warn_dir.iterdir())) == 50            # the rest, for the next warning


def test_a_missing_or_symlinked_directory_is_nothing_to_do(tmp_path: Path,
                                                          warn_dir: Path) -> None:
    assert optin.signal_opted_in(str(tmp_path / "absent"), signal.SIGUSR1) == []
    link = tmp_path / "link"
    link.symlink_to(warn_dir)
    entry(warn_dir, "999999", USER)
    assert optin.signal_opted_in(str(link), signal.SIGUSR1) == []
    assert (warn_dir / "999999").exists(), "a symlinked directory must not be followed"
