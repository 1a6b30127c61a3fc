# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""When the next victim may go: the warning's grace, the victim's grace and the
kill interval, and their early end (pure functions).

After a kill, the next one waits ``[kill] min_interval_ms`` (1 s): what a
victim frees takes a moment to show, and a daemon that killed again at
once would take a second process for memory that is already on its way
back. That wait is right when memory falls or holds still after a kill,
and wrong when it climbs on: many committers at once, or a fork storm,
take back what the victim freed within the interval, and the line is
reached while the daemon waits.

So the interval ends early when committed memory has climbed past where
it stood when the last victim was chosen, by more than CLIMB_MARGIN_PERMILLE of
RAM: despite the kill, memory is worse than it was when a kill was
needed. Each early end therefore needs the whole of what the last victim
freed taken back, and that margin on top: a kill that freed nothing (a
victim whose memory was shared), with memory holding still, never ends
the interval early. With lmw.ko the climb is committed memory's own: an
unprivileged process cannot push it past the deny line, so a user can
make the daemon no faster than memory itself gets worse, and the victim
is still the policy's choice. A refusal at the deny line is no reason
for an early kill: any user can have a request refused (one too large
for the room left), at will.

The warning's grace (``[warn] grace_ms``, 1 s) ends early by the same
rule, with where committed memory stood when the episode began in place
of the last choice: memory that climbs on by more than the margin after
the warning has not been given back, and it is still on its way to the
line. Sixteen processes that commit and touch 1 MiB every 100 ms each
take 160 MiB a second: on a device of 512 MiB, a grace of a second at
the notify line (90%) ends with its memory gone and the device no longer
answering. Memory that holds still or falls, because the warned
applications give some back, keeps the whole grace.

The victim's own grace, from its SIGTERM to its SIGKILL (``[kill]
term_grace_ms``, 3 s), is cut short by the same rule, with where
committed memory stood at its choice as the mark: memory that climbs on
past it while the victim cleans up is memory that the rest take faster
than the victim gives it back. A process that ends on its SIGTERM may
take half a second for it on a device that crawls (it needs a CPU to
run its handler on, among the processes that climb), and the sixteen
committers above take 80 MiB in that half second; its SIGKILL, with
process_mrelease(), frees its pages at once, and the next victim's
choice may follow (the interval's early end). Memory that holds still
leaves the victim its whole grace: the standard case, one leak that
its SIGTERM stops.

A device that stalls on memory cuts the victim's grace short too,
whether committed memory climbs or not (stalled()): where every
committed page is also touched, committed memory at the notify line may
leave the page cache too little room (35 MiB of the bench's 512 MiB),
and the kernel evicts and reads back the pages that programs run from.
Processes then wait on memory, the climbers with the rest, and the
figure may hold still while the victim, which needs a CPU and its own
pages back to run its handler, takes seconds to exit (its whole 3 s
and its SIGKILL, measured, with committed memory still). The share of
the time that some task waited on memory (PSI's "some" total, read at
every look) is held to the psi source's own threshold, psi_stall_ms
per psi_window_ms (15%): past it, the SIGKILL goes, and
process_mrelease() gives the pages back at once.

A device with no room left skips the victim's grace, or ends it
(short_of_room()): MemAvailable under ``[kill]
term_grace_min_available_percent`` of RAM (5%), at the choice or at any
look in the grace. A clean exit needs memory too (the handler's pages,
the files it writes), and where committed pages are all touched the
kernel's OOM killer strikes within a few hundred milliseconds of such a
figure: measured on the bench's 512 MiB guest, 160 ms after a
committer's SIGTERM, with 7 MiB available at its choice, before its
handler had run. Its SIGKILL, with process_mrelease(), frees its pages at
once. The figure is resident memory, which an unprivileged process can
use up too: what it buys is its own victim's SIGKILL without a grace, a
victim still the policy's choice, as the kernel's OOM killer's would be.

No room left ends the warning's grace too, and the kill interval once
the rest have taken back what the last kill gave (room_taken()). Where
every committed page is touched, committed memory does not climb once
room runs out: the climbers wait on memory with everyone else, and the
climb that would end the interval never comes. Measured on the bench's
guest, the committers sat at the line with 7 to 13 MiB available for
the last 0.2 to 0.8 s of each interval, and the device stalled for 0.9
and 1.7 s (the heartbeat's worst). So MemAvailable under the same share of RAM
ends the interval early when it has fallen by more than the margin
since the last kill ended: a kill that gave little back, with memory
still, keeps the whole interval, and each early end needs that margin
of RAM taken from what is available, by processes that the policy then
weighs.

After a victim's SIGKILL the daemon waits for its exit, which gives back
what it committed (its pages are freed already). A climb past the mark
and past what the victim gives back when it exits (its committed memory
at the choice, with its family's) ends that wait: the rest have taken
back all that the exit would give, as an early end of the interval
needs, and the victim is left on its way out while the next one goes.
The interval then runs until the victim has had KILL_WAIT_S to exit
(killer.py), with that mark: memory on its way back takes nobody more.

While a grace or the interval runs and a climb could end it, the daemon
reads committed memory every CLIMB_CHECK_S (only then: at rest it sleeps
with no timeout).

Where committed memory stood (the mark) is read with the crossing in it
(mark()). lmw.ko signals from inside the commitment that crosses, before
the kernel accounts it; the daemon (SCHED_FIFO) may run first, preempting
the crosser or beside it on another CPU, and then reads Committed_AS
without that request: as much as the whole of it, far under the line.
Measured from there, a climb would be any memory above that figure: the
grace or the interval would end at once, and a victim go for a climb that
never was. A figure under the line that the level is past is such a
read, as with the crossing in it the figure would be past the line: the
crossing's request (lmw.ko's last_crossed_kb) is added, and the mark is
the line at least.

The same read can make memory look back under the line before any kill
(in_flight()): the service then gives the crosser up to a hold-back's
time to account its request, reading again in between, before it holds
the kill back.
"""

from __future__ import annotations

# 1% of RAM: lmw.ko's own hysteresis (hysteresis_permille 10), the
# smallest step of committed memory that it takes for a change.
CLIMB_MARGIN_PERMILLE = 10
# How often committed memory is read while the interval may end early:
# lmw.ko's own re-check (recheck_ms 100). A climb that ends the interval
# is seen at most this late.
CLIMB_CHECK_S = 0.1


def climb_margin_kb(total_kb: int) -> int:
    """How far committed memory must climb past the last choice's figure."""
    return total_kb * CLIMB_MARGIN_PERMILLE // 1000


def climbed(committed_kb: int, mark_kb: int | None, total_kb: int) -> bool:
    """Whether committed memory is past ``mark_kb`` (where it stood at the
    last victim's choice, or when the episode began) by more than the
    margin (None: no kill to compare with)."""
    if mark_kb is None:
        return False
    return committed_kb > mark_kb + climb_margin_kb(total_kb)


def mark(committed_kb: int, line_kb: int | None, crossed_kb: int | None) -> int:
    """Where committed memory stood, for a later climb to be measured from:
    the figure read, unless it is under ``line_kb``, the line the level
    is past (None: a source without lines). Then the crossing was not in
    it yet, and ``crossed_kb``, what the crossing asked for, is added; the
    line at least (None: nothing known of the crossing). A level that
    lags on the way down (lmw.ko's hysteresis) makes the same case, and
    the mark too high: an early end then needs a larger climb, and the
    grace or the interval runs its course as it would without one."""
    if line_kb is None or committed_kb > line_kb:
        return committed_kb
    return max(line_kb, committed_kb + (crossed_kb or 0))


def stalled(stall_us: int, elapsed_s: float, stall_ms: int, window_ms: int) -> bool:
    """Whether some task waited on memory (PSI "some", ``stall_us`` of the
    last ``elapsed_s``) for more than ``stall_ms`` per ``window_ms``: the
    share at which the psi source's trigger raises the signal."""
    if elapsed_s <= 0:
        return False
    return stall_us * window_ms > elapsed_s * 1_000_000 * stall_ms


def short_of_room(available_kb: int, total_kb: int, min_percent: int) -> bool:
    """Whether MemAvailable (``available_kb``) is under ``min_percent`` of
    RAM (0: never): a victim then gets no grace (the module docstring)."""
    return available_kb * 100 < total_kb * min_percent


def room_taken(available_kb: int, after_kill_kb: int | None, total_kb: int,
               min_percent: int) -> bool:
    """Whether the device is short of room (short_of_room) and MemAvailable
    (``available_kb``) has fallen by more than the margin since the last
    kill ended (``after_kill_kb``; None: no kill to compare with)."""
    if after_kill_kb is None or not short_of_room(available_kb, total_kb, min_percent):
        return False
    return available_kb < after_kill_kb - climb_margin_kb(total_kb)


def in_flight(committed_kb: int, line_kb: int, crossed_kb: int | None) -> bool:
    """Whether a figure at or under ``line_kb`` may have been read before the
    crossing that woke the daemon was accounted: the crossing's request
    (``crossed_kb``, lmw.ko's last_crossed_kb; None: not known) would take
    it past the line. False for a figure past the line, and for one that
    even the crossing would leave under it: memory is back."""
    if committed_kb > line_kb:
        return False
    return crossed_kb is None or committed_kb + crossed_kb > line_kb
