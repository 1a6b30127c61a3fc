"""lmw-memory-monitor against a real dbus-daemon, heard by GLib's own client (gdbus).

A private bus of the reference implementation stands in for the system
bus, and a regular file for lmw.ko's state file. A regular file has no
POLLPRI: after each write a Ping wakes the daemon's loop, as lmw.ko's
notification would, and the daemon reads the state as it is then.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import lmw_memory_monitor
import pytest

MONITOR = (Path(__file__).resolve().parents[2] / "meta-lmw" / "recipes-support"
           / "lmw-memory-monitor" / "files" / "lmw_memory_monitor.py")
NAME = "org.freedesktop.LowMemoryMonitor"


OBJECT = "/org/freedesktop/LowMemoryMonitor"
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={path}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
"""

pytestmark = pytest.mark.skipif(not (shutil.which("dbus-daemon") and shutil.which("gdbus")),
                                reason="needs dbus-daemon and gdbus (make deps installs them)")


class Bed:
    def __init__(self, tmp: Path) -> None:
        self.socket = tmp / "bus"
        self.state = tmp / "state"
        self.state.write_text("normal\n")
        self.env = {**os.environ, "LMW_MEMORY_MONITOR_BUS": str(self.socket),
                    "LMW_MEMORY_MONITOR_STATE": str(self.state)}

    def gdbus(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["gdbus", *args[:1], "--address", f"unix:path={self.socket}",
                               *args[1:]], capture_output=True, text=True, timeout=30,
                              check=False)

    def monitor(self) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(MONITOR)], env=self.env, text=True,
                                stderr=subprocess.PIPE)

    def owned(self) -> bool:
        out = self.gdbus("call", "--dest", "org.freedesktop.DBus", "--object-path",
                         "/org/freedesktop/DBus", "--method",
                         "org.freedesktop.DBus.NameHasOwner", NAME).stdout
        return "true" in out

    def wait_owned(self) -> None:
        for _ in range(100):
            if self.owned():
                return
            time.sleep(0.1)
        raise AssertionError(f"{NAME} never owned")

    def ping(self) -> subprocess.CompletedProcess[str]:
        return self.gdbus("call", "--dest", NAME, "--object-path", OBJECT, "--method",
                          "org.freedesktop.DBus.Peer.Ping")


@pytest.fixture
def bed(tmp_path: Path) -> Iterator[Bed]:
    bed = Bed(tmp_path)
    config = tmp_path / "bus.conf"
    config.write_text(BUS_CONFIG.format(path=bed.socket))
    daemon = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork"],
                              stderr=subprocess.DEVNULL)
    for _ in range(100):
        if bed.socket.exists():
            break
        time.sleep(0.05)
    yield bed
    daemon.terminate()
    daemon.wait()


def test_each_low_state_reaches_glib_as_its_level(bed: Bed) -> None:
    monitor = bed.monitor()
    # stdbuf: gdbus writes through stdio, which holds lines back in a pipe
    listener = subprocess.Popen(["stdbuf", "-oL", "gdbus", "monitor", "--address",
                                 f"unix:path={bed.socket}", "--dest", NAME],
                                stdout=subprocess.PIPE, text=True)
    try:
        bed.wait_owned()
        assert listener.stdout is not None
        # gdbus monitor says when it sees the owner: from then on it hears
        while "is owned by" not in listener.stdout.readline():
            pass
        heard = []
        for state in ("notify", "deny", "normal", "notify"):
            bed.state.write_text(state + "\n")
            assert bed.ping().returncode == 0
            if state != "normal":
                heard.append(listener.stdout.readline().strip())
        assert heard == [f"{OBJECT}: {NAME}.LowMemoryWarning (byte 0x64,)",
                         f"{OBJECT}: {NAME}.LowMemoryWarning (byte 0xff,)",
                         f"{OBJECT}: {NAME}.LowMemoryWarning (byte 0x64,)"]
    finally:
        listener.terminate()
        monitor.terminate()
        assert monitor.wait(10) == 0


def _lines_until(stream: IO[str], wanted: str, deadline_s: float) -> list[str]:
    """The lines ``stream`` gives until one holds ``wanted``, or the deadline.
    Read from its file descriptor: a buffered readline() would hold lines
    that select() then no longer sees."""
    data = b""
    end = time.monotonic() + deadline_s
    while wanted.encode() not in data and time.monotonic() < end:
        ready, _, _ = select.select([stream.fileno()], [], [], end - time.monotonic())
        if not ready:
            break
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").splitlines()


def test_a_user_flapping_at_the_line_gets_every_signal_sent_and_one_log_line(bed: Bed) -> None:
    """Anyone can flip lmw.ko's state as fast as they map and unmap across
    the notify line: each change still reaches GLib, but the journal gets
    the first signal's line and, once the window has ended, their count."""
    monitor = bed.monitor()
    listener = subprocess.Popen(["stdbuf", "-oL", "gdbus", "monitor", "--address",
                                 f"unix:path={bed.socket}", "--dest", NAME],
                                stdout=subprocess.PIPE, text=True)
    flips = 12
    try:
        bed.wait_owned()
        assert listener.stdout is not None and monitor.stderr is not None
        while "is owned by" not in listener.stdout.readline():
            pass
        for _ in range(flips):
            for state in ("notify", "normal"):
                bed.state.write_text(state + "\n")
                assert bed.ping().returncode == 0
        heard = [listener.stdout.readline().strip() for _ in range(flips)]
        assert heard == [f"{OBJECT}: {NAME}.LowMemoryWarning (byte 0x64,)"] * flips
        logged = _lines_until(monitor.stderr, "more signal(s)",
                              lmw_memory_monitor.LOG_WINDOW_S + 10)
        signals = [line for line in logged if "LowMemoryWarning" in line]
        assert signals[:1] == ["notify: LowMemoryWarning 100"], logged
        assert f"{flips - 1} more signal(s) in " in signals[-1], logged
        assert len(signals) == 2, logged
    finally:
        listener.terminate()
        monitor.terminate()
        monitor.wait(10)


def test_the_signal_log_never_wakes_the_daemon_at_rest() -> None:
    """poll() waits for ever unless a count is due; after the count, again."""
    log = lmw_memory_monitor.SignalLog(window_s=10)
    assert log.timeout_ms(0) is None
    assert log.sent("notify", 100) == ["notify"]
    assert log.timeout_ms(101) is None, "nothing held: nothing due"
    assert log.sent("deny", 103) == []
    assert 6000 <= (log.timeout_ms(104) or 0) <= 6001
    assert log.due(109) == []
    (count,) = log.due(110)
    assert "1 more signal(s) in 10.0 s" in count and "deny" in count
    assert log.timeout_ms(111) is None
    assert log.sent("notify", 125) == ["notify"], "a window long over: logged at once"


def test_what_others_send_it_is_answered_and_cannot_grow_it(bed: Bed) -> None:
    monitor = bed.monitor()
    try:
        bed.wait_owned()
        xml = bed.gdbus("introspect", "--dest", NAME, "--object-path", OBJECT).stdout
        assert "LowMemoryWarning(y level)" in xml
        unknown = bed.gdbus("call", "--dest", NAME, "--object-path", OBJECT, "--method",
                            "x.y.Reboot")
        assert "org.freedesktop.DBus.Error.UnknownMethod" in unknown.stderr
        # a message far larger than anything it is ever sent: read and dropped
        huge = bed.gdbus("call", "--dest", NAME, "--object-path", OBJECT, "--method",
                         "x.y.Z", "'" + "a" * 120_000 + "'")   # a string; at most 128 KiB
        assert "org.freedesktop.DBus.Error.LimitsExceeded" in huge.stderr
        assert bed.ping().returncode == 0, "it no longer answers"
        rss_kb = int(next(line.split()[1] for line in
                          Path(f"/proc/{monitor.pid}/status").read_text().splitlines()
                          if line.startswith("VmRSS:")))
        assert rss_kb < 32 * 1024, f"{rss_kb} kB after a message of 120 kB"
    finally:
        monitor.terminate()
        monitor.wait(10)


def test_a_second_owner_is_refused_and_a_missing_bus_is_said(bed: Bed) -> None:
    first = bed.monitor()
    try:
        bed.wait_owned()
        second = bed.monitor()
        _, err = second.communicate(timeout=30)
        assert second.returncode == 1
        assert f"{NAME} is owned by another process" in err
    finally:
        first.terminate()
        first.wait(10)
    gone = subprocess.run([sys.executable, str(MONITOR)], capture_output=True, text=True,
                          env={**bed.env, "LMW_MEMORY_MONITOR_BUS": "/nonexistent/bus"},
                          timeout=30, check=False)
    assert gone.returncode == 1 and "/nonexistent/bus" in gone.stderr
    bad = subprocess.run([sys.executable, str(MONITOR), "--now"], capture_output=True,
                         text=True, timeout=30, check=False)
    assert bad.returncode == 2 and "usage" in bad.stderr
