"""The graces' and the kill interval's early end (lmw_terminator.pace): pure
arithmetic on figures; the line under the mark and PSI's stall total
(lmw_terminator.sources), and the reads that bring them: kept-open kernel
files and the keys of meminfo (lmw_terminator.procs)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lmw_terminator import pace, procs
from lmw_terminator.sources import Level, LmwSource, memory_stall_us

TOTAL_KB = 512 * 1024


def test_no_kill_yet_never_ends_an_interval() -> None:
    assert not pace.climbed(10 * TOTAL_KB, None, TOTAL_KB)


@pytest.mark.parametrize("total_kb", [64 * 1024, TOTAL_KB, 8 * 1024 * 1024])
def test_memory_still_or_falling_after_a_kill_keeps_the_interval(total_kb: int) -> None:
    """A kill that freed nothing, or little, with memory holding still: no spree."""
    at_choice = total_kb // 2
    for committed in (at_choice - total_kb // 10, at_choice, at_choice + 1):
        assert not pace.climbed(committed, at_choice, total_kb), committed


@pytest.mark.parametrize("total_kb", [64 * 1024, TOTAL_KB, 8 * 1024 * 1024])
def test_the_margin_is_a_share_of_ram_and_only_a_climb_past_it_counts(total_kb: int) -> None:
    at_choice = total_kb // 2
    margin = pace.climb_margin_kb(total_kb)
    # lmw.ko's hysteresis: 1% of RAM, whatever the size
    assert margin * 100 <= total_kb < (margin + 1) * 100
    assert not pace.climbed(at_choice + margin, at_choice, total_kb)
    assert pace.climbed(at_choice + margin + 1, at_choice, total_kb)


@pytest.mark.parametrize("total_kb", [64 * 1024, TOTAL_KB, 8 * 1024 * 1024])
def test_a_figure_read_before_the_crossing_was_accounted_ends_no_interval(
        total_kb: int) -> None:
    """The daemon woke inside the crossing commitment and read committed
    memory without it, far under the notify line; the victim it chose then
    freed less than the crossing took. Memory is under where it stood at
    the choice: no climb, though it is far above the figure read."""
    line = total_kb * 40 // 100
    crossing = total_kb // 4
    read = line - crossing + total_kb // 100     # the crossing not in it yet
    after_kill = read + crossing - total_kb // 50   # the crossing in, the victim out
    assert pace.climbed(after_kill, read, total_kb)    # what the figure alone did
    at_choice = pace.mark(read, line, crossing)
    assert at_choice == read + crossing
    assert not pace.climbed(after_kill, at_choice, total_kb)
    # memory that climbs past where it truly stood, by the margin, still ends it
    assert pace.climbed(at_choice + pace.climb_margin_kb(total_kb) + 1, at_choice, total_kb)
    # with nothing known of the crossing, the line
    assert pace.mark(read, line, None) == line


def test_a_figure_past_the_line_is_the_mark() -> None:
    """The crossing is in it (or the level comes from no line): no more is added."""
    assert pace.mark(300_000, 200_000, 150_000) == 300_000
    assert pace.mark(100_000, None, 150_000) == 100_000


@pytest.mark.parametrize("total_kb", [64 * 1024, TOTAL_KB, 8 * 1024 * 1024])
def test_memory_under_the_line_by_less_than_the_crossing_may_be_a_read_too_early(
        total_kb: int) -> None:
    """Under the line by less than the crossing asked for: the crossing may
    not be in the figure yet (look again before holding the kill back).
    Under it by more, or past it: the figure says where memory is."""
    line = total_kb * 90 // 100
    crossing = total_kb // 50
    assert pace.in_flight(line - crossing + 1, line, crossing)
    assert pace.in_flight(line, line, crossing)
    assert not pace.in_flight(line - crossing, line, crossing)   # even with it: under
    assert not pace.in_flight(line + 1, line, crossing)           # past the line
    # nothing known of the crossing (a module before 1.8.0): any figure under it
    assert pace.in_flight(line // 2, line, None)
    assert not pace.in_flight(line + 1, line, None)


@pytest.mark.parametrize("text", [None, "", "lots\n"])
def test_figures_that_cannot_be_read_are_none(tmp_path: Path, text: str | None) -> None:
    """A module gone meanwhile, or a file that says no number: no figures
    (the state, which woke the daemon, stands)."""
    (tmp_path / "notify_kb").write_text("186454\n")
    if text is not None:
        (tmp_path / "committed_kb").write_text(text)
    assert LmwSource.committed_and_notify(str(tmp_path)) is None
    (tmp_path / "committed_kb").write_text("186455\n")
    assert LmwSource.committed_and_notify(str(tmp_path)) == (186455, 186454)


def io_read(path: str) -> int:
    """rchar of this process, from /proc/self/io read through read_held."""
    text = procs.read_held(path, 4096)
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith(b"rchar:")))


def test_a_held_file_is_read_afresh_through_the_same_descriptor() -> None:
    """A pread at 0 has the kernel make the text again: this process's
    read count (rchar) has grown by the first read when the second is
    made, and no other descriptor was opened for it."""
    path = f"/proc/{os.getpid()}/io"
    first = io_read(path)
    fd = procs._held[path]
    second = io_read(path)
    assert second > first
    assert procs._held[path] == fd


def test_a_held_file_that_fails_its_read_is_opened_again(tmp_path: Path) -> None:
    """A removed module's attribute reads ENODEV through the descriptor
    kept: the path is opened anew (the module may be back), and a path
    that is gone raises, holding nothing."""
    path = tmp_path / "committed_kb"
    path.write_text("186455\n")
    procs._held[str(path)] = os.open(tmp_path, os.O_RDONLY)    # a directory's pread fails
    open_fds = len(os.listdir("/proc/self/fd"))
    assert procs.read_held(str(path), 64) == b"186455\n"
    assert stat.S_ISREG(os.fstat(procs._held[str(path)]).st_mode)
    assert len(os.listdir("/proc/self/fd")) == open_fds     # the directory's closed
    path.unlink()
    os.close(procs._held.pop(str(path)))
    with pytest.raises(FileNotFoundError):
        procs.read_held(str(path), 64)
    assert str(path) not in procs._held


def test_meminfo_gives_the_figures_the_daemon_goes_by(tmp_path: Path) -> None:
    """The keys wanted, wherever they stand; one the kernel lacks is left
    out; a key that only ends like one (SwapCommitted_AS) is not it; the
    last line is read whole, with or without its newline."""
    (tmp_path / "meminfo").write_text(
        "MemTotal:         507060 kB\nMemFree:           12000 kB\n"
        "SwapCommitted_AS:     7 kB\nCommitted_AS:     186455 kB\n")
    assert procs.meminfo(str(tmp_path)) == {"MemTotal": 507060, "Committed_AS": 186455}
    (tmp_path / "meminfo").write_text(
        "MemTotal:         507060 kB\nMemAvailable:      41000 kB\nCommitted_AS:     186455")
    assert procs.meminfo(str(tmp_path)) == {"MemTotal": 507060, "MemAvailable": 41000,
                                            "Committed_AS": 186455}


@pytest.mark.parametrize(("level", "expected"), [
    (Level.NOTIFY, 186454), (Level.DENY, 279681), (Level.NORMAL, None)])
def test_the_line_a_level_is_past(tmp_path: Path, level: int, expected: int | None) -> None:
    (tmp_path / "notify_kb").write_text("186454\n")
    (tmp_path / "deny_kb").write_text("279681\n")
    assert LmwSource.line_kb(level, str(tmp_path)) == expected


@pytest.mark.parametrize("text", [None, "", "lots\n"])
def test_a_line_that_cannot_be_read_is_none(tmp_path: Path, text: str | None) -> None:
    """A module gone meanwhile, or a file that says no number: the figure
    read stands alone (pace.mark)."""
    if text is not None:
        (tmp_path / "notify_kb").write_text(text)
    assert LmwSource.line_kb(Level.NOTIFY, str(tmp_path)) is None


@pytest.mark.parametrize(("stall_ms", "window_ms"), [(150, 1000), (10, 500), (1000, 1000)])
def test_a_stall_counts_past_the_psi_sources_share_only(stall_ms: int, window_ms: int) -> None:
    """Over a look of 0.1 s, the share is stall_ms / window_ms of it: a stall
    of exactly that share keeps the grace, one microsecond more ends it."""
    share_us = 100_000 * stall_ms // window_ms
    assert not pace.stalled(share_us, 0.1, stall_ms, window_ms)
    assert pace.stalled(share_us + 1, 0.1, stall_ms, window_ms)
    assert not pace.stalled(0, 0.1, stall_ms, window_ms)


def test_no_time_since_the_last_look_is_no_stall() -> None:
    assert not pace.stalled(10**9, 0.0, 150, 1000)


PSI_TEXT = ("some avg10=1.50 avg60=0.20 avg300=0.05 total={some}\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=123\n")


@pytest.mark.parametrize(("text", "expected"), [
    (PSI_TEXT.format(some="8765432"), 8765432),
    (PSI_TEXT.format(some="0"), 0),
    (PSI_TEXT.format(some="12x"), None),
    ("full avg10=0.00 avg60=0.00 avg300=0.00 total=123\n", None),
    ("some total=5\n", None),
    ("", None),
    (None, None),
])
def test_the_stall_total_is_psis_some_or_none(tmp_path: Path, text: str | None,
                                              expected: int | None) -> None:
    path = tmp_path / "memory"
    if text is not None:
        path.write_text(text)
    assert memory_stall_us(str(path)) == expected


@pytest.mark.parametrize("total_kb", [466_136, 1_000_000, 16_000_000])
@pytest.mark.parametrize("percent", [1, 5, 50])
def test_no_room_is_available_memory_under_the_share_of_ram(total_kb: int,
                                                             percent: int) -> None:
    """Exactly the share keeps the grace, a kB less ends it; 0 never does."""
    share_kb = -(-total_kb * percent // 100)       # the least that is not under it
    assert not pace.short_of_room(share_kb, total_kb, percent)
    assert pace.short_of_room(share_kb - 1, total_kb, percent)
    assert not pace.short_of_room(0, total_kb, 0)


@pytest.mark.parametrize("total_kb", [466_136, 1_000_000, 16_000_000])
def test_no_room_ends_the_interval_only_once_the_room_is_taken_again(total_kb: int) -> None:
    """Under the share of RAM, the interval ends early only when MemAvailable
    has fallen by more than the margin since the last kill ended: a kill
    that gave little back, with memory still, keeps the whole interval;
    above the share, no fall ends it; 0 never does; no kill, nothing."""
    percent, margin = 5, pace.climb_margin_kb(total_kb)
    share_kb = -(-total_kb * percent // 100)
    after_kill = share_kb - 1                   # a kill that left the device short
    assert not pace.room_taken(after_kill, after_kill, total_kb, percent)
    assert not pace.room_taken(after_kill - margin, after_kill, total_kb, percent)
    assert pace.room_taken(after_kill - margin - 1, after_kill, total_kb, percent)
    # a kill that gave room back: the rest take it and more, to under the share
    assert pace.room_taken(share_kb - 1, share_kb * 3, total_kb, percent)
    assert not pace.room_taken(share_kb, share_kb * 3, total_kb, percent)
    assert not pace.room_taken(0, share_kb * 3, total_kb, 0)
    assert not pace.room_taken(0, None, total_kb, percent)
