# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""The daemon: wait for the low-memory signal, warn, then terminate one victim at a time.

States of one low-memory episode (an explicit machine, as labgrid's
strategies are):

    WATCHING --signal--> WARNED --grace over, still low--> KILLING
       ^                    |                                  |
       +---- memory normal -+------- re-check, next victim ----+

- WATCHING: memory is fine; the loop sleeps in poll() with no timeout.
- WARNED:   the warn commands ran and the opted-in processes were
            signalled; memory has grace_ms to come back.
- KILLING:  one victim is terminated (SIGTERM, grace, SIGKILL), then the
            level is read again. The next victim waits at least
            min_interval_ms, so there is never a killing spree, unless
            committed memory climbs on past where it stood when the last
            victim was chosen (pace.py: the kill did not stop the climb),
            or, with no room left, the rest take back what it gave.

A climb in the warning's grace ends the grace the same way: past where
committed memory stood when the episode began, the warning did not stop
it, and a grace of a second is all the room there is to the line when
memory climbs fast (many committers at once). So does a climb in the
victim's grace, between its SIGTERM and its SIGKILL: past where
committed memory stood at its choice, the rest take memory faster than
the victim's clean exit gives it back; and so does a device that stalls
on memory meanwhile (PSI), where the climb stops with everything else.
No room left (MemAvailable under a share of RAM) ends both graces, and
the interval once the rest have taken back what the last kill gave: the
climb stops there too (pace.py). After the SIGKILL the victim's pages
are freed at once, and the daemon waits for its exit, which gives back
what it committed: a climb past where committed memory stood at the
choice, and past what the victim will give back on top, ends that wait
too. The victim is left on its way out, and the next one goes (the same
rule that ends the kill interval early); a victim left so is not chosen
again for KILL_WAIT_S, and chosen then, its exit is waited out (a tracer
that holds it goes, killer.py).

The process stays under 10 MiB RSS: it imports no logging, argparse,
dataclasses, pathlib, typing, enum, contextlib, socket.py (_socket does)
or signal.py (sig takes _signal's), re only when the config has rules
and syslog only where it logs there, and parses its TOML in a child
process.

The reaction, from the signal to the victim's SIGTERM, is on the path of
every kill: with no warning grace the first victim goes in the same turn
as the signal; the choice reads two small /proc files a process and
more only of those that could win (policy.choose); the reasons, the
victim's command line (its read waits on the victim's mmap_lock) and the
log come after the signal. The "reaction:" line of each kill says how
long it took.

Past the deny line anything may fail for a moment (a fork, a read of
/proc, a pidfd): an OSError or MemoryError in one turn of the loop is
logged, and the loop goes on after ERROR_BACKOFF_S; it never ends the
daemon. When the daemon does end, its init system starts it again:
systemd (Restart=always, no start limit) or, under sysvinit and busybox
init, the supervisor that --respawn runs (supervisor.py).

Exit codes: 0 on SIGTERM/SIGINT, 2 on a bad config or argument, 1 on an
internal error.
"""

from __future__ import annotations

import _socket  # socket.py's imports would cost 0.3 MiB of RSS
import os
import select
import sys
import time

from . import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USER,
    cgroups,
    config,
    hooks,
    killer,
    log,
    pace,
    policy,
    procs,
    sig,
    supervisor,
)
from .errors import UserError
from .sources import (
    LEVEL_NAMES,
    Level,
    LmwSource,
    ModuleWatch,
    SourceGone,
    memory_stall_us,
    open_source,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from .sources import Source

    # a record of a process that still_there() keeps: (start time, ...)
    Kept = TypeVar("Kept", bound=tuple[int, float])

# systemd sets RUNTIME_DIRECTORY for RuntimeDirectory=lmw; the init script makes /run/lmw
STATUS_FILE = os.path.join(os.environ.get("RUNTIME_DIRECTORY", "/run/lmw"), "terminator.status")
USAGE = """usage: lmw-terminator [--config PATH] [--check-config] [--dry-run] [--debug]
                      [--respawn]

Frees memory before the Low Memory Watermark's deny line is hit.

  --config PATH   config file (default /etc/lmw/terminator.toml; absent = defaults)
  --check-config  validate the config, print it, exit 0 (or 2 with the error)
  --dry-run       log what would be done; send no signal, run no command
  --debug         log more
  --respawn       run the daemon in a child, and again whenever it ends
                  (for init systems that restart nothing: sysvinit, busybox)
"""


class State:
    """Where the main loop is in an episode, as the status file says it."""

    WATCHING = "watching"
    WARNED = "warned"
    KILLING = "killing"


def sd_notify(message: str) -> None:
    """The systemd notify protocol: one datagram to $NOTIFY_SOCKET (no-op without it)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        sock.sendto(message.encode(), address)
    except OSError as error:
        log.warning("sd_notify(%s): %s", message, error.strerror)
    finally:
        sock.close()


def memory_figures(m: dict[str, int] | None = None) -> str:
    """What the log says of memory: from ``m`` (a meminfo() read) or read now."""
    m = procs.meminfo() if m is None else m
    return (f"committed {m['Committed_AS']} kB, available {m['MemAvailable']} kB "
            f"of {m['MemTotal']} kB")


# How long a kill's line waits for the victim's command line, read aside
# since its SIGTERM (procs.CmdlineAside). The victim has ended by then, or
# had its SIGKILL, and the read it held up has returned; one that has not
# is a stall of the victim's own making.
CMDLINE_WAIT_S = 0.2


# After an OSError or MemoryError in the loop: wait this long before the
# next turn, so that a failure that repeats (no memory for a while) is
# logged a few times a second at most rather than spun on.
ERROR_BACKOFF_S = 0.5

# A warning runs the warn commands and signals the opted-in processes: at
# most one in this long. A process that commits and frees around the
# notify line starts an episode at each crossing, several a second, and
# each would otherwise run every command again.
WARN_MIN_INTERVAL_S = 10.0
# A turn that held back a kill (memory under the line, the state not yet)
# looks again no sooner than lmw.ko re-checks by itself (recheck_ms 100):
# the state still says low, and a loop that looked at once would spin. A
# signal from the source ends the wait: lmw.ko's state changes no faster
# than its re-checks let it fall.
HOLD_BACK_S = 0.1
# A turn that lmw.ko's signal woke may find memory back under the line in
# a read that came before the crossing was accounted (pace.in_flight):
# lmw.ko signals from inside the commitment that crosses, and the daemon
# (SCHED_FIFO) preempts the crosser, or runs beside it on another CPU. A
# hold-back then would delay the kill by HOLD_BACK_S for nothing, and on a
# kernel with full preemption (PREEMPT, PREEMPT_RT) at every crossing that
# wakes the daemon on the crosser's CPU. So the daemon gives the crosser up
# to IN_FLIGHT_S to run on and account its request, once for each signal,
# reading again in between. A running crosser needs microseconds for that;
# what it waits for is a CPU. Preempted by the daemon, an ordinary process
# waits for it behind the other ordinary tasks that the scheduler puts
# first: on one vCPU with full preemption, 1.9.0's wait of 5 ms was too
# short at 176 crossings of 200, whose kills came after a hold-back, 113
# ms after the crossing (p50); there the wait below ended 9 ms after the
# first read (p50), 26 ms at most. So the wait may last as long as a
# hold-back, which it spares.
IN_FLIGHT_S = HOLD_BACK_S
# The read again comes IN_FLIGHT_STEP_S after the first, and each wait
# doubles the one before (0.5, 1, 2 ... 32 ms: 8 reads in all): a crossing
# accounted at once ends the wait within half a millisecond, one accounted
# later within as long again as it took, and a crossing freed already (a
# flapper) costs 8 reads of two lmw.ko files.
IN_FLIGHT_STEP_S = 0.0005
# How many victims still there after their SIGKILL the daemon keeps track
# of, and passes over (policy.py says why it does). Each costs a read of
# its stat whenever another is added; more than a few is a kernel in
# trouble, and past this many the newest are chosen again.
SURVIVORS_MAX = 32
# How many victims left on their way out (Ending.LEFT) the daemon keeps
# out of its choice at once: as many as survivors. With no room left, the
# next victim's exit is waited out.
LEFT_MAX = SURVIVORS_MAX


class Episode:
    """One stretch of low memory, from the signal to memory back to normal."""

    __slots__ = ("committed_at_start", "held_back", "kills", "started", "warned_at")

    def __init__(self, started: float, committed_at_start: int | None) -> None:
        self.started = started
        self.warned_at = started
        # committed memory (kB) when the episode began: a climb past it ends
        # the warning's grace early (pace.py). None with no grace: nothing
        # to end early, and the mark's reads stay off the reaction's path
        # (a reload that gives a grace mid-episode lets that one run its
        # course).
        self.committed_at_start = committed_at_start
        self.kills = 0
        self.held_back = 0      # turns with no kill: memory under the line (_hold_back)


class KillWatch:
    """What the daemon reads of one kill as it goes (_grace_watch): the
    victim's command line, read aside after its SIGTERM; where committed
    memory stood at its choice (the mark, kB; None until the SIGTERM);
    what the victim gives back when it exits (kB); and the last look at
    PSI's stall total (when, the total; none without PSI)."""

    __slots__ = ("cmdline", "gives_back_kb", "looks", "mark_kb")

    def __init__(self) -> None:
        self.cmdline: procs.CmdlineAside | None = None
        self.mark_kb: int | None = None
        self.gives_back_kb = 0
        self.looks: list[tuple[float, int]] = []


class Terminator:
    def __init__(self, cfg: config.Config, config_path: str, source: Source, source_why: str,
                 dry_run: bool) -> None:
        self.cfg, self.config_path, self.dry_run = cfg, config_path, dry_run
        self.source, self.source_why = source, source_why
        self.state = State.WATCHING
        self.level = Level.NORMAL
        self.episode: Episode | None = None
        self.last_kill = -1e9
        # committed memory (kB) when the last victim that was signalled was
        # chosen: a climb past it ends the kill interval early (pace.py)
        self.committed_at_choice: int | None = None
        self.choice_said = "the last victim's choice"   # what that mark is, for the log
        # MemAvailable (kB) once the last kill had ended: taken back by more
        # than the margin, with no room left, it ends the interval early
        # (pace.room_taken)
        self.available_after_kill: int | None = None
        self.look_again_at = -1e9   # after a hold-back (HOLD_BACK_S)
        self.in_flight_checked = False  # since the source's last news (IN_FLIGHT_S)
        self.last_warned = -1e9
        # victims still there after their SIGKILL: pid -> (start time, how
        # many times); twice, and they are passed over in every choice while
        # they last (_pass_over)
        self.survivors: dict[int, tuple[int, int]] = {}
        # victims left on their way out (killer.Ending.LEFT): pid -> (start
        # time, when); not chosen again while they may still be exiting by
        # themselves (killer.KILL_WAIT_S)
        self.left: dict[int, tuple[int, float]] = {}
        # the last look at lmw.ko's candidates (at a warning, at each
        # choice): who grew since is ranked by its pace (policy.grown)
        self.looks = policy.Looks()
        self.kills = 0
        self.nobody_logged = False
        self.last_action = ""
        self.flags: set[str] = set()
        self.woke_at = 0.0      # when the last wait ended: the reaction's start
        # the daemon's CPU time then: what of the choice it spent running
        # (the rest it waited: preempted, or its CPU given to another)
        self.woke_cpu_s = 0.0
        # the last WATCHDOG=1 (_ping_watchdog)
        self.pinged_at = -1e9
        self.in_flight_s = 0.0  # of this turn's reaction, the wait for the accounting
        # Lines held back until the signal is sent (None: say them at once):
        # with no warning grace the first kill comes in the turn the episode
        # starts, and a line to the journal wakes the journal, which then
        # competes with the choice for the CPU.
        self.held_lines: list[tuple[int, str, tuple[object, ...]]] | None = None
        # [kill] service_cgroup: what it must never take (the daemon's own
        # cgroup), and whether this system can do it at all
        self.own_cgroup = cgroups.own_cgroup()
        self.whole_services = self._can_kill_services()

    def _can_kill_services(self) -> bool:
        if not self.cfg.kill.service_cgroup:
            return False
        why = cgroups.unavailable()
        if why is not None:
            log.warning("[kill] service_cgroup: %s; each victim is killed alone", why)
        return why is None

    # ---- main loop ------------------------------------------------------

    def run(self) -> int:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        sig.set_wakeup_fd(wake_w)
        sig.signal(sig.SIGHUP, lambda _n, _f: self.flags.add("reload"))
        sig.signal(sig.SIGTERM, lambda _n, _f: self.flags.add("stop"))
        sig.signal(sig.SIGINT, lambda _n, _f: self.flags.add("stop"))
        sig.signal(sig.SIGCHLD, lambda _n, _f: None)   # wakes the loop to reap
        poller = select.poll()
        poller.register(wake_r, select.POLLIN)
        if self.source.fd is not None:
            poller.register(self.source.fd, self.source.events)
        watch = self._watch_module(poller)
        watchdog_s = self._watchdog_interval()
        # Memory may be low already (a restart under pressure), or a turn
        # failed half-way: then the next turn looks at once rather than wait,
        # for the signal comes only with the next change of state.
        look_now, ready = True, False
        while "stop" not in self.flags:
            try:
                self._turn(poller, wake_r, watch, watchdog_s, wait=not look_now)
                look_now = False
            except (OSError, MemoryError) as error:
                log.error("%s in the main loop, going on in %.1f s: %s",
                          type(error).__name__, ERROR_BACKOFF_S, error)
                time.sleep(ERROR_BACKOFF_S)
                look_now = True
            if not ready:
                sd_notify("READY=1\nSTATUS=watching")
                ready = True
        sd_notify("STOPPING=1")
        log.info("stopping: %d kill(s) in this run", self.kills)
        if watch:
            watch.close()
        return EXIT_OK

    def _turn(self, poller: select.poll, wake_r: int, watch: ModuleWatch | None,
              watchdog_s: float | None, wait: bool) -> None:
        """One turn of the loop: wait for an event (if ``wait``), then act."""
        events: list[tuple[int, int]] = []
        if wait:
            timeout = self._next_timeout(watchdog_s)
            events = poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
        self.woke_at, self.in_flight_s = time.monotonic(), 0.0
        self.woke_cpu_s = time.thread_time()
        if any(fd == wake_r for fd, _ in events):
            os.read(wake_r, 512)
            killer.reap_children()
        if "reload" in self.flags:
            self.flags.discard("reload")
            self.reload()
        if watch and any(fd == watch.fd for fd, _ in events):
            overruns = watch.overruns
            actions = watch.actions()
            if watch.overruns != overruns:
                log.warning("uevents were lost (ENOBUFS): lmw.ko is %s now",
                            "loaded" if actions[-1] == "add" else "not loaded")
            self._module_came_or_went(poller, actions)
        woke = any(fd == self.source.fd for fd, _ in events)
        if woke:
            self.look_again_at = -1e9   # the source has news: no hold-back wait
            self.in_flight_checked = False
        self.level = self._read_level(poller, woke)
        self.step()
        self._say_held_lines()
        if watchdog_s:
            self._ping_watchdog(watchdog_s)
        self._write_status()

    def _ping_watchdog(self, watchdog_s: float) -> None:
        """WATCHDOG=1, once ``watchdog_s`` / 2 has passed since the last: a
        ping wakes PID 1, and in a low-memory episode the loop turns many
        times a second, each a wake-up of the service manager while memory
        is short. The loop wakes for the next ping by ``watchdog_s``
        (_next_timeout), half systemd's WatchdogSec."""
        now = time.monotonic()
        if now - self.pinged_at >= watchdog_s / 2:
            sd_notify("WATCHDOG=1")
            self.pinged_at = now

    # ---- the signal's source coming and going -----------------------------

    @staticmethod
    def _watch_module(poller: select.poll) -> ModuleWatch | None:
        try:
            watch = ModuleWatch()
        except OSError as error:
            log.warning("cannot watch for lmw.ko coming or going (uevents: %s): "
                        "a restart picks up a change", error.strerror)
            return None
        if watch.unfiltered:
            log.warning("cannot filter the uevents (%s): each one wakes the daemon",
                        watch.unfiltered)
        poller.register(watch.fd, select.POLLIN)
        return watch

    def _module_came_or_went(self, poller: select.poll, actions: list[str]) -> None:
        if not actions:
            return
        if actions[-1] == "remove" and self.source.name == "lmw":
            self._switch_source(poller, "lmw.ko was unloaded")
        elif actions[-1] == "add" and self.source.name != "lmw" \
                and self.cfg.source.kind in ("auto", "lmw"):
            self._switch_source(poller, "lmw.ko was loaded")

    def _switch_source(self, poller: select.poll, why: str) -> None:
        old = self.source
        if old.fd is not None:
            poller.unregister(old.fd)
        old.close()
        # raises UserError when the config insists on a kind that is gone
        self.source, self.source_why = open_source(self.cfg.source)
        log.warning("%s: watching %s from now on (%s)", why, self.source.name, self.source_why)
        if self.source.fd is not None:
            poller.register(self.source.fd, self.source.events)

    def _read_level(self, poller: select.poll, woke: bool) -> int:
        """The source's level; if the source went away, the next best one's."""
        try:
            return self.source.level(woke)
        except SourceGone as gone:
            self._switch_source(poller, str(gone))
            return self.source.level(woke=False)

    @staticmethod
    def _watchdog_interval() -> float | None:
        usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
        if not usec or (pid and int(pid) != os.getpid()):
            return None
        return int(usec) / 2e6

    def _next_timeout(self, watchdog_s: float | None) -> float | None:
        """Sleep until an event, unless a grace period, the kill interval, the
        source's own re-check or the watchdog needs a wake-up sooner."""
        now = time.monotonic()
        deadlines: list[float] = []
        if (source_s := self.source.max_sleep_s()) is not None:
            deadlines.append(source_s)
        if watchdog_s:
            # the next ping is due watchdog_s after the last (_ping_watchdog)
            deadlines.append(self.pinged_at + watchdog_s - now)
        if self.state == State.WARNED and self.episode:
            deadlines.append(self.episode.warned_at + self.cfg.warn.grace_ms / 1000 - now)
            deadlines.append(pace.CLIMB_CHECK_S)   # a climb may end the grace
        if self.state == State.KILLING:
            interval_ends = self._interval_ends()
            deadlines.append(max(interval_ends, self.look_again_at) - now)
            deadlines.append(1.0)   # re-read the level while acting
            if now < interval_ends and self.available_after_kill is not None:
                # a climb, or the room taken, may end the interval (both are
                # measured from figures that every kill leaves)
                deadlines.append(pace.CLIMB_CHECK_S)
        return min(deadlines) if deadlines else None

    # ---- the state machine ----------------------------------------------

    def step(self) -> None:
        now = time.monotonic()
        if self.level == Level.NORMAL:
            self._end_episode(now)
            return
        figures: dict[str, int] | None = None
        if self.state == State.WATCHING or self.episode is None:
            figures = self._start_episode(now)
            if self.cfg.warn.grace_ms > 0:
                return
            # no grace: the first victim in the same turn as the signal
        assert self.episode is not None
        if self.state == State.WARNED:
            if now - self.episode.warned_at < self.cfg.warn.grace_ms / 1000:
                figures = procs.meminfo() if figures is None else figures
                ends = "the grace ends, the first victim now"
                if not (self._climbed(figures, self.episode.committed_at_start,
                                      self.episode.warned_at, "the warning", ends)
                        or self._short_of_room(figures, ends)):
                    return
            self.state = State.KILLING
        if now < self.look_again_at:
            return
        if now < self._interval_ends():
            figures = procs.meminfo() if figures is None else figures
            ends = "the next victim without waiting min_interval_ms"
            if not (self._climbed(figures, self.committed_at_choice, self.last_kill,
                                  self.choice_said, ends)
                    or self._room_taken(figures, ends)):
                return
        self._kill_one(figures)

    def _interval_ends(self) -> float:
        """When the kill interval ends: min_interval_ms after the last kill,
        and not before each victim left on its way out that is still there
        has had KILL_WAIT_S to exit. Until then what it committed is on its
        way back, as a victim's that exits in the interval is: only a climb
        has the next victim go (pace.py)."""
        ends = self.last_kill + self.cfg.kill.min_interval_ms / 1000
        if not self.left:
            return ends
        self.left = still_there(self.left)
        return max([ends, *(at + killer.KILL_WAIT_S for _, at in self.left.values())])

    def _start_episode(self, now: float) -> dict[str, int]:
        """The signal, at rest: the warning (or, warned lately, that
        warning's grace). Returns the memory figures it read."""
        if self.cfg.warn.grace_ms == 0:
            self.held_lines = []    # the kill comes in this turn: say it all after
        # read once: a kill in this same turn logs and ranks by it
        figures = procs.meminfo()
        self.episode = Episode(started=now, committed_at_start=(
            self._mark(figures) if self.cfg.warn.grace_ms > 0 else None))
        self._say(log.WARNING, "low memory (%s, from %s): %s", LEVEL_NAMES[self.level],
                  self.source.name, memory_figures(figures))
        if now - self.last_warned < WARN_MIN_INTERVAL_S:
            # warned lately: this episode's grace runs from that warning
            self.episode.warned_at, self.state = self.last_warned, State.WARNED
            self._say(log.INFO, "warned %.1f s ago: not again (at most one warning in "
                      "%.0f s)", now - self.last_warned, WARN_MIN_INTERVAL_S)
        else:
            self._warn()
        if self.cfg.warn.grace_ms > 0:
            self._look()    # the grace's climbers are known by their pace at its end
        return figures

    def _look(self) -> procs.Candidates | None:
        """lmw.ko's candidates, now the last look (None: none to read)."""
        if not isinstance(self.source, LmwSource):
            return None
        listed = procs.parse_candidates(self.source.candidates())
        if listed is not None:
            self.looks.take(policy.Look(time.monotonic(), listed.procs))
        return listed

    def _end_episode(self, now: float) -> None:
        """Memory is back to normal: the episode's last line, and rest."""
        if self.episode is not None:
            held = (f" ({self.episode.held_back} held back: memory under the line)"
                    if self.episode.held_back else "")
            log.info("memory back to normal after %.1f s and %d kill(s)%s: %s",
                     now - self.episode.started, self.episode.kills, held, memory_figures())
        self.episode, self.state, self.nobody_logged = None, State.WATCHING, False

    def _climbed(self, figures: dict[str, int], mark_kb: int | None, since: float,
                 mark: str, outcome: str) -> bool:
        """Within a grace or the kill interval: whether committed memory in
        ``figures`` has climbed on past ``mark_kb`` (where it stood at
        ``mark``, ``since`` then; None: no mark; pace.py). A kill follows
        in this turn: the line that says why waits for its signal."""
        if not pace.climbed(figures["Committed_AS"], mark_kb, figures["MemTotal"]):
            return False
        self._say_before_the_kill("committed memory climbed on to %d kB, past the %d kB of %s "
                                  "%.2f s ago: %s", figures["Committed_AS"], mark_kb, mark,
                                  time.monotonic() - since, outcome)
        return True

    def _grace_watch(self, victim: procs.Proc, figures: dict[str, int], chosen_at: float,
                     watch: KillWatch, *, exit_waited: bool,
                     ) -> tuple[Callable[[], None], Callable[[], bool], Callable[[], bool]]:
        """What the kill calls right after the victim's SIGTERM, what it
        asks in the grace, and what it asks in the wait for the victim's
        exit after its SIGKILL. The first reads into ``watch``: the
        victim's command line (aside), where committed memory stood at the
        choice (a climb past it ends the grace, and later the kill
        interval, early; pace.py), what the victim gives back when it
        exits, and PSI's stall total (a device that stalls on memory ends
        the grace too). The second says whether the grace ends now (and a
        family's waves, before it: killer.FAMILY_WAVE); the
        third whether the victim is left on its way out now, which never
        happens when ``exit_waited``."""
        shown = f"{log.printable(victim.comm)}[{victim.pid}]"
        outcome = f"SIGKILL to {shown} without waiting out term_grace_ms"

        def signalled() -> None:
            watch.cmdline = procs.CmdlineAside(victim)
            if watch.mark_kb is None:   # else taken in a family's waves (cut_short)
                watch.mark_kb = self._mark(figures)
            watch.gives_back_kb = policy.ranked_kb(victim)
            stall = memory_stall_us()
            if stall is not None:
                watch.looks.append((time.monotonic(), stall))

        def cut_short() -> bool:
            try:
                if watch.mark_kb is None:   # a family's waves, before the head's SIGTERM
                    watch.mark_kb = self._mark(figures)
                now = procs.meminfo()
                return (self._climbed(now, watch.mark_kb, chosen_at, "the choice", outcome)
                        or self._short_of_room(now, outcome)
                        or self._stalled(watch.looks, outcome))
            except (OSError, MemoryError, KeyError):
                return False    # no figure to go by: the grace runs its course

        def exit_cut() -> bool:
            if exit_waited or watch.mark_kb is None:
                return False
            try:
                return self._climbed(
                    procs.meminfo(), watch.mark_kb + watch.gives_back_kb, chosen_at,
                    f"the choice and the {watch.gives_back_kb} kB that {shown} gives back when "
                    "it exits", f"the next victim while {shown} exits")
            except (OSError, MemoryError):
                return False    # no figure to go by: the exit is waited out

        return signalled, cut_short, exit_cut

    def _short_of_room(self, figures: dict[str, int], outcome: str) -> bool:
        """Whether MemAvailable is under term_grace_min_available_percent of
        RAM (pace.short_of_room): no grace, the warning's or a victim's. A
        kill follows in this turn: the line that says why waits for its
        signal."""
        percent = self.cfg.kill.term_grace_min_available_percent
        if not pace.short_of_room(figures["MemAvailable"], figures["MemTotal"], percent):
            return False
        self._say_before_the_kill("available %d kB of %d kB, under "
                                  "term_grace_min_available_percent %d%%: %s",
                                  figures["MemAvailable"], figures["MemTotal"], percent, outcome)
        return True

    def _room_taken(self, figures: dict[str, int], outcome: str) -> bool:
        """In the kill interval: whether MemAvailable is under
        term_grace_min_available_percent of RAM and has fallen by more than
        the margin since the last kill ended (pace.room_taken). A kill
        follows in this turn: the line that says why waits for its
        signal."""
        percent, after = self.cfg.kill.term_grace_min_available_percent, self.available_after_kill
        if not pace.room_taken(figures["MemAvailable"], after, figures["MemTotal"], percent):
            return False
        self._say_before_the_kill("available %d kB of %d kB, under "
                                  "term_grace_min_available_percent %d%%, and %d kB taken since "
                                  "the last kill ended: %s", figures["MemAvailable"],
                                  figures["MemTotal"], percent,
                                  (after or 0) - figures["MemAvailable"], outcome)
        return True

    def _stalled(self, looks: list[tuple[float, int]], outcome: str) -> bool:
        """In a victim's grace: whether some task waited on memory, since
        the last look (``looks[0]``: when, and PSI's stall total then; no
        look, no PSI), for more than the psi source's share (pace.stalled).
        The look is moved on to now. A kill follows in this turn: the line
        that says why waits for its signal."""
        stall = memory_stall_us() if looks else None
        if stall is None:
            return False
        (then, before), now = looks[0], time.monotonic()
        looks[0] = (now, stall)
        source = self.cfg.source
        if not pace.stalled(stall - before, now - then, source.psi_stall_ms,
                            source.psi_window_ms):
            return False
        self._say_before_the_kill("tasks waited on memory %.0f ms of the last %.0f ms (PSI), "
                                  "past psi_stall_ms %d of psi_window_ms %d: %s",
                                  (stall - before) / 1000, (now - then) * 1000,
                                  source.psi_stall_ms, source.psi_window_ms, outcome)
        return True

    def _mark(self, figures: dict[str, int]) -> int:
        """Where committed memory stands now, for a climb to be measured
        from: ``figures``' own, with lmw.ko's last crossing added when that
        was not in them yet (pace.mark)."""
        committed = figures["Committed_AS"]
        if not isinstance(self.source, LmwSource):
            return committed
        line = LmwSource.line_kb(self.level)
        if line is None or committed > line:
            return committed    # no more to read: the crossing is in the figure
        return pace.mark(committed, line, LmwSource.last_crossed_kb())

    def _warn(self) -> None:
        self.last_warned = time.monotonic()
        actions = killer.warn(self.cfg.warn, dry_run=self.dry_run)
        self.state = State.WARNED
        what = "; ".join(actions) if actions else "nothing configured"
        self.last_action = f"warned: {what}"
        self._say(log.INFO, "%swarning before any kill: %s", "[dry run] " if self.dry_run else "",
                  what)

    def _say(self, priority: int, message: str, *args: object) -> None:
        """A log line, held back while a reaction is on its way to the signal."""
        if self.held_lines is None:
            log.emit(priority, message, *args)
        else:
            self.held_lines.append((priority, message, args))

    def _say_before_the_kill(self, message: str, *args: object) -> None:
        """Why a kill comes now (a grace or the interval ended early): said
        with the kill's lines, after its signal, as the reaction's own
        lines are."""
        if self.held_lines is None:
            self.held_lines = []
        self._say(log.INFO, message, *args)

    def _say_held_lines(self) -> None:
        lines, self.held_lines = self.held_lines or [], None
        for priority, message, args in lines:
            log.emit(priority, message, *args)

    def _kill_one(self, figures: dict[str, int] | None = None) -> None:
        """Choose and terminate one victim. This is the reaction's path: what
        is not needed to choose and signal (the reasons, the log) comes after
        the signal, or is read once (meminfo: ``figures`` when this turn has
        read it already)."""
        assert self.episode is not None
        if self._back_to_normal():
            # the state still says low (it lags), but nothing is: nobody to
            # choose, and the choice would rank without the crossing to come
            self._hold_back()
            return
        figures = procs.meminfo() if figures is None else figures
        choice, among = self._choose(self._ranking(figures))
        chosen_at, ran_s = time.monotonic(), time.thread_time() - self.woke_cpu_s
        if choice is None:
            self._say_held_lines()
            if not self.nobody_logged:
                log.error("memory is low but no process may be chosen")
                self.nobody_logged = True
            return
        if self._back_to_normal():
            self._hold_back()
            return
        victim = choice.proc
        kill_cfg = self.cfg.kill
        if self._short_of_room(figures, f"SIGKILL to {log.printable(victim.comm)}"
                                        f"[{victim.pid}] right after its SIGTERM"):
            kill_cfg = kill_cfg.without_grace()
        service: list[str] = []    # the victim's service cgroup, if it is to go too
        facts: dict[str, object] = {}

        def checked() -> None:
            """The victim is pinned and is the one chosen: what needs it alive."""
            if self.whole_services and cgroups.is_service(victim.cgroup):
                service.append(victim.cgroup)
            if kill_cfg.before or kill_cfg.after:
                facts.update(self._facts(victim, choice))
                hooks.run(kill_cfg.before, "before", facts)

        # The victim's command line, for the log, is read from right after
        # the SIGTERM, while the victim is still there, and never before:
        # /proc/PID/cmdline waits for the victim's mmap_lock, and the
        # crosser holds it for writing in the very mmap that woke the
        # daemon. Preempted there, the crosser lets go of it only when the
        # scheduler runs it again, after whatever else woke (12 ms on the
        # bench's one-vCPU guest, the memory monitor's turn). A victim
        # quick to exit may be gone by then (on another CPU): the log says
        # so. The read runs aside (procs.CmdlineAside): one that fails or
        # stalls (a victim's own FUSE file under its arguments) costs the
        # log the command line, never the kill its SIGKILL.
        watch = KillWatch()
        signalled, cut_short, exit_cut = self._grace_watch(
            victim, figures, chosen_at, watch, exit_waited=not self._may_leave(victim))
        family = ""
        if victim.family is None:
            outcome = killer.terminate(victim, kill_cfg, dry_run=self.dry_run, checked=checked,
                                       signalled=signalled, spare=self._spared,
                                       cut_short=cut_short, exit_cut=exit_cut)
        else:
            outcome, children = killer.terminate_family(
                victim, kill_cfg, self._spared, dry_run=self.dry_run, checked=checked,
                signalled=signalled, cut_short=cut_short, exit_cut=exit_cut)
            family = f" with {children} child(ren) of its family"
        self._say_held_lines()
        self.last_kill = time.monotonic()
        self.committed_at_choice, self.choice_said = watch.mark_kb, "the last victim's choice"
        if outcome.ending == killer.Ending.LEFT and watch.mark_kb is not None:
            # what it gives back is on its way: a climb must take that too
            self.committed_at_choice = watch.mark_kb + watch.gives_back_kb
            self.choice_said += f" and the {watch.gives_back_kb} kB it gives back when it exits"
        self.source.forget()
        self._follow_up(outcome, service, facts)
        after = procs.meminfo()
        self.available_after_kill = after["MemAvailable"]
        self._log_kill(choice, outcome, family=family, cmdline=watch.cmdline, figures=figures,
                       after=after, chosen_at=chosen_at, ran_s=ran_s, among=among)
        if outcome.ending == killer.Ending.SURVIVED:
            self._pass_over(victim)
        elif outcome.ending == killer.Ending.LEFT:
            self.left[victim.pid] = (victim.start_time, self.last_kill)

    def _may_leave(self, victim: procs.Proc) -> bool:
        """Whether ``victim`` may be left on its way out once its SIGKILL has
        gone (killer.Ending.LEFT): not when it was left so before (it has
        not exited since: a victim held on its way out, whose tracer then
        goes), nor with no room to keep it out of the next choice."""
        self.left = still_there(self.left)
        record = self.left.get(victim.pid)
        if record is not None and record[0] == victim.start_time:
            return False
        return len(self.left) < LEFT_MAX

    def _follow_up(self, outcome: killer.Outcome, service: list[str],
                   facts: dict[str, object]) -> None:
        """What follows a kill: the counts, the rest of the victim's service
        (``service``: its cgroup, if it is to go too), the after hook (run
        when ``facts`` were gathered for the before hook)."""
        assert self.episode is not None
        if outcome.ending in (killer.Ending.TERMINATED, killer.Ending.KILLED, killer.Ending.LEFT):
            self.kills += 1
            self.episode.kills += 1
        taken = ""
        if service and outcome.ending in killer.ENDED:
            taken = self._take_service(service[0])
        if facts:
            hooks.run(self.cfg.kill.after, "after",
                      {**facts, "outcome": killer.WORDS[outcome.ending], "service_cgroup": taken})

    def _spared(self, proc: procs.Proc) -> str | None:
        """Why a child of the victim's family, or a tracer that holds the
        victim on its way out, must not go with it (None: it may)."""
        return policy.spared(proc, self.cfg)

    def _pass_over(self, victim: procs.Proc) -> None:
        """A victim still there after its SIGKILL a second time is passed
        over in every choice while it lasts (policy.py says why). Once is
        not enough: a victim may be slow to exit, not stuck (it waits for
        a CPU in a device that crawls), and passed over at once it would
        have the next victim go for memory already on its way back."""
        # a survivor that has exited, or whose PID is another's now, leaves
        # its place to this one
        self.survivors = still_there(self.survivors)
        times = self.survivors.get(victim.pid, (0, 0))[1]
        if times == 0 and len(self.survivors) >= SURVIVORS_MAX:
            return
        self.survivors[victim.pid] = (victim.start_time, times + 1)
        if times + 1 != 2:
            return
        log.warning("%s[%d] is passed over while it lasts: its pages are freed, and what it "
                    "committed goes when it exits", log.printable(victim.comm), victim.pid)

    def _log_kill(self, choice: policy.Choice, outcome: killer.Outcome, *, family: str,
                  cmdline: procs.CmdlineAside | None, figures: dict[str, int],
                  after: dict[str, int], chosen_at: float, ran_s: float, among: str) -> None:
        """The kill's lines: the victim, its score and why, how it ended,
        memory before (``figures``) and after; then the reaction.
        ``cmdline``: the command line's read since the SIGTERM, if one
        went."""
        victim = choice.proc
        comm = log.printable(victim.comm)
        # no signal, no read after it: a dry run reads it now, while a PID
        # found reused or gone has nothing of the victim's left to read
        if cmdline is None and self.dry_run:
            cmdline = procs.CmdlineAside(victim)
        shown = cmdline.shown(CMDLINE_WAIT_S) if cmdline is not None else repr("")
        self.last_action = f"{comm}[{victim.pid}]: {outcome.ending}"
        log.warning(
            "%sterminate %s[%d]%s uid %d rss %d kB committed %d kB cmdline %s: score %d (%s): "
            "%s in %.2f s; before: %s; after: %s", "[dry run] " if self.dry_run else "", comm,
            victim.pid, family, victim.uid, victim.rss_kb, victim.committed_kb,
            shown, choice.score, choice.why, outcome.ending, outcome.seconds,
            memory_figures(figures), memory_figures(after))
        if outcome.signalled_at is not None:
            # the reaction, as make bench's profile reads it from the log; the
            # wake-up's CLOCK_MONOTONIC time places it among other clocks'
            # records (the victim's own, ftrace's mono clock)
            waited = (f"; {self.in_flight_s * 1000:.1f} ms waiting for the crossing to be "
                      "accounted" if self.in_flight_s else "")
            log.info("reaction: SIGTERM %.1f ms after the wake-up; choice %.1f ms over %d "
                     "processes (%s), %.1f ms of it running%s; woke at %.6f s",
                     (outcome.signalled_at - self.woke_at) * 1000,
                     (chosen_at - self.woke_at) * 1000, choice.seen, among, ran_s * 1000,
                     waited, self.woke_at)

    def _facts(self, victim: procs.Proc, choice: policy.Choice) -> dict[str, object]:
        """What a kill hook is told of the victim (hooks.py names them)."""
        return {"pid": victim.pid, "uid": victim.uid, "comm": victim.comm,
                "rss_kb": victim.rss_kb, "committed_kb": victim.committed_kb,
                "score": choice.score, "reason": choice.why, "source": self.source.name,
                "level": LEVEL_NAMES[self.level]}

    def _take_service(self, path: str) -> str:
        """The rest of the victim's service, through cgroup.kill; the cgroup's
        path when it was killed, else "" (and the log says why not)."""
        shown = log.printable(path)
        why = cgroups.refusal(path, self.cfg, self.own_cgroup)
        if why is not None:
            log.warning("service cgroup %s not killed whole: %s", shown, log.printable(why))
            return ""
        try:
            count = cgroups.kill(path)
        except OSError as error:
            log.error("cgroup.kill of %s: %s", shown, error.strerror)
            return ""
        log.warning("killed the rest of its service with it: cgroup %s (%d process(es) left "
                    "in it)", shown, count)
        return path

    def _choose(self, ranking: policy.Ranking) -> tuple[policy.Choice | None, str]:
        """The victim, and where it was chosen from: lmw.ko's candidates
        when they settle the choice (one file read, where /proc takes two
        a process), else every process in /proc."""
        # a survivor that has exited since matches nobody: a (pid, start
        # time) is never another process's; nor does a victim left on its
        # way out (_may_leave), which is passed over for KILL_WAIT_S
        passed_over = ({(pid, start) for pid, (start, times) in self.survivors.items()
                        if times >= 2} if self.survivors else set())
        if self.left:
            now = time.monotonic()
            passed_over |= {(pid, start) for pid, (start, at) in self.left.items()
                            if now - at < killer.KILL_WAIT_S}
        listed = self._look()
        if listed is not None:
            # one growth ranks every process, from the list or from /proc
            ranking.grown = self.looks.grown()
            # the few that weigh more than lmw.ko saw, read and listed, or
            # found gone (a record outlives its process): else their weight
            # alone sends the choice to /proc, a second's scan of thousands
            # of processes under pressure
            weighed = policy.weighed_unlisted(listed.procs, ranking)
            extra = procs.read_with_children(weighed, {proc.pid for proc in listed.procs})
            settled, choice = policy.choose_listed([*listed.procs, *extra], listed.rest,
                                                   self.cfg, os.getpid(), ranking,
                                                   passed_over=passed_over, looked_up=weighed)
            if settled:
                return choice, "lmw.ko's candidates"
        return policy.choose(procs.each(), self.cfg, os.getpid(), ranking,
                             passed_over=passed_over), "/proc"

    def _hold_back(self) -> None:
        """No kill this turn: committed memory is under the notify line. Said
        once an episode (a process flapping across the line would have it
        said at each of its crossings); the episode's last line counts them."""
        assert self.episode is not None
        self._say_held_lines()
        if not self.episode.held_back:
            log.info("memory back to normal before the kill (%s): nobody terminated",
                     memory_figures())
        self.episode.held_back += 1
        self.look_again_at = time.monotonic() + HOLD_BACK_S

    def _back_to_normal(self) -> bool:
        """Committed memory once more, right before the signal: a process
        that crossed the line and freed its memory while the victim was
        being chosen has ended the episode, and a kill now would be for
        nothing. lmw.ko's state lags on the way down (its re-check, its
        hysteresis), so this reads the figures; the other sources' levels
        are what woke the daemon. A figure under the line that the crossing
        which woke the daemon would take past it may have been read before
        the kernel accounted that crossing: once for each signal, the
        daemon reads again after IN_FLIGHT_STEP_S, then after twice as long
        as the wait before, up to IN_FLIGHT_S in all, until a figure is past
        the line."""
        if not isinstance(self.source, LmwSource):
            return False
        figures = self.source.committed_and_notify()
        if figures is None or figures[0] > figures[1]:
            return False    # unreadable: the state, which woke the daemon, stands
        if self.in_flight_checked or not pace.in_flight(*figures, LmwSource.last_crossed_kb()):
            return True
        self.in_flight_checked = True
        started, step = time.monotonic(), IN_FLIGHT_STEP_S
        while True:
            time.sleep(max(0.0, min(step, started + IN_FLIGHT_S - time.monotonic())))
            figures = self.source.committed_and_notify()
            waited = time.monotonic() - started
            if figures is None or figures[0] > figures[1] or waited >= IN_FLIGHT_S:
                break
            step *= 2
        self.in_flight_s += waited
        return figures is not None and figures[0] <= figures[1]

    def _ranking(self, figures: dict[str, int]) -> policy.Ranking:
        """Rank by what raised the signal: committed memory for lmw.ko."""
        if not isinstance(self.source, LmwSource):
            return policy.RESIDENT
        return policy.Ranking(total_kb=figures["MemTotal"],
                              last_denied=self.source.last_denied(),
                              last_crossed=self.source.last_crossed(),
                              crossed_kb=self.source.last_crossed_kb())

    # ---- reload and status ----------------------------------------------

    def reload(self) -> None:
        try:
            new = config.load_isolated(self.config_path)
        except (UserError, OSError, MemoryError) as error:
            # a bad file, or no pipe or memory to check it with: never fatal
            log.error("reload failed, keeping the old config: %s", error or type(error).__name__)
            return
        self.cfg = new
        prepare_runtime(new)
        run_first(new.kill.realtime_priority)
        self.whole_services = self._can_kill_services()
        log.info("reloaded %s", new.path)

    def _write_status(self) -> None:
        write_status({"pid": os.getpid(), "source": self.source.name, "why": self.source_why,
                      "level": LEVEL_NAMES[self.level], "state": self.state,
                      "kills": self.kills, "last_action": self.last_action,
                      "dry_run": self.dry_run, "config": self.cfg.path})


def still_there(records: dict[int, Kept]) -> dict[int, Kept]:
    """Those of ``records`` (pid -> (start time, a count or a time)) whose
    process is still there."""
    return {pid: record for pid, record in records.items()
            if procs.start_time_of(pid) == record[0]}


def write_status(status: dict[str, object]) -> None:
    """key=value lines for lmwctl status (json would cost the daemon 1 MiB),
    replaced whole: a reader never sees half a file."""
    text = "".join(f"{k}={str(v).replace(chr(10), ' ')}\n" for k, v in status.items())
    try:
        tmp = STATUS_FILE + ".tmp"
        with open(tmp, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(tmp, STATUS_FILE)
    except OSError as error:
        log.debug("status file: %s", error.strerror)


MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4


def lock_in_memory() -> None:
    """Keep every page the daemon touches resident: under the very pressure it acts on,
    the kernel would otherwise evict its code and make it slow to act. ONFAULT locks
    pages as they are touched, so RSS stays what it is."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
        log.warning("mlockall: %s (pages may be evicted under pressure)",
                    os.strerror(ctypes.get_errno()))


def run_first(priority: int) -> None:
    """Run before any ordinary process whenever the daemon wakes: SCHED_FIFO
    at ``priority`` (0: back to ordinary scheduling, under the nice the init
    system gave). Nice -20 alone shares the CPU in proportion: against the
    hundreds of processes of a fork storm the daemon gets a fraction of a
    CPU, and the reaction waits on it. A real-time task that wakes runs at
    once and until it sleeps again; the daemon sleeps in poll() between
    turns and does a bounded piece of work in each, and the kernel's
    real-time throttling keeps 5% of every second for everyone else even
    then. RESET_ON_FORK: its children (the config's parser, hooks, warn
    commands) run as ordinary processes."""
    try:
        if priority == 0:
            if os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK != os.SCHED_OTHER:
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            return
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK,
                              os.sched_param(priority))
    except OSError as error:
        log.warning("SCHED_FIFO %d: %s (the reaction waits for the CPU like any process)",
                    priority, error.strerror)


def prepare_runtime(cfg: config.Config) -> None:
    """Never be the one killed, nor refused; give applications a place to opt in
    to warnings."""
    supervisor.mark_exempt("lmw-terminator")
    for path, mode in ((os.path.dirname(STATUS_FILE), 0o755), (cfg.warn.optin_dir, 0o1777)):
        try:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)   # opt-in dir like /tmp: anyone opts in, nobody else's file
        except OSError as error:
            log.warning("%s: %s", path, error.strerror)


def parse_args(argv: list[str]) -> dict[str, object]:
    """--config PATH, --check-config, --dry-run, --debug, --respawn (argparse would
    cost 1.3 MiB)."""
    options: dict[str, object] = {"config": config.DEFAULT_PATH, "check_config": False,
                                  "dry_run": False, "debug": False, "respawn": False}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            print(USAGE, end="")
            raise SystemExit(EXIT_OK)
        if arg == "--config" and args:
            options["config"] = args.pop(0)
        elif arg.startswith("--config="):
            options["config"] = arg.split("=", 1)[1]
        elif arg in ("--check-config", "--dry-run", "--debug", "--respawn"):
            options[arg[2:].replace("-", "_")] = True
        else:
            raise UserError(f"unknown argument {arg!r}\n{USAGE}")
    return options


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        options = parse_args(args)
        path = str(options["config"])
        if options["respawn"] and not options["check_config"]:
            log.setup(bool(options["debug"]))
            daemon_args = [arg for arg in args if arg != "--respawn"]
            return supervisor.Supervisor(lambda: main(daemon_args)).run()
        if options["check_config"]:
            cfg = config.load(path)
            print(f"{cfg.path}: ok")
            print("\n".join(cfg.summary()))
            return EXIT_OK
        cfg = config.load_isolated(path)
        where = log.setup(bool(options["debug"]))
        source, why = open_source(cfg.source)
    except UserError as error:
        print(f"lmw-terminator: error: {error}", file=sys.stderr)
        return EXIT_USER
    dry_run = bool(options["dry_run"])
    log.info("started: source %s (%s); config %s; logging to %s%s", source.name, why, cfg.path,
             where, "; DRY RUN" if dry_run else "")
    prepare_runtime(cfg)
    lock_in_memory()
    run_first(cfg.kill.realtime_priority)
    terminator = Terminator(cfg, path, source, why, dry_run)
    try:
        return terminator.run()
    except UserError as error:
        log.error("%s", error)
        return EXIT_USER
    except Exception as error:  # noqa: BLE001 - the one place that maps crashes to exit 1
        import traceback

        log.error("internal error: %r\n%s", error, traceback.format_exc())
        return EXIT_INTERNAL
    finally:
        terminator.source.close()   # the one in use: lmw.ko may have gone meanwhile
