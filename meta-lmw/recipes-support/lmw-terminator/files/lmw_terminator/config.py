# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""Configuration: /etc/lmw/terminator.toml, validated into read-only objects.

Every key of [source], [warn] and [kill] has a default that works without
a file: DEFAULTS below holds them all, and is the one place they are written
(terminator.toml and the documentation show the same values; a unit test
holds them to it). RULE_ADJUST is the adjust of a rule that gives none. A
bad file fails as a whole with a ConfigError naming the file, the key, the
value and why: a daemon never runs on half a config (and a SIGHUP reload
keeps the old one).

A file names only what it changes. For example (values for illustration,
not the defaults):

    [source]
    kind = "psi"                  # auto | lmw | psi | meminfo
    psi_stall_ms = 100            # "some" stall per window...
    psi_window_ms = 500           # ...of this length raises the signal

    [warn]                        # before any kill: ask for memory back
    commands = ["systemctl restart cache.service"]
    signal = "SIGUSR2"            # sent to processes that opted in

    [kill]
    term_grace_ms = 5000          # SIGTERM, wait this long, then SIGKILL

    [[prefer]]                    # raise the score of matching processes
    exe = "/usr/lib/chromium/chromium"
    cmdline = "--type=renderer"   # read last, for the processes exe matches
    adjust = 500
    [[avoid]]                     # lower it
    exe = "/usr/bin/weston"       # exe, cgroup: the whole path
    adjust = -800
    [[protect]]                   # never choose
    cgroup = '/system\\.slice/sshd\\.service'

Two steps: validate() turns TOML text into plain data (dicts, lists,
strings, numbers) or a ConfigError; build() turns plain data into the
objects below. The daemon runs validate() in a short-lived child process
(load_isolated) so that tomllib never stays in its memory.
"""

from __future__ import annotations

import marshal
import os
import stat

from . import sig
from .errors import ConfigError

TYPE_CHECKING = False   # typing costs 1.6 MB of RSS: for mypy only
if TYPE_CHECKING:
    import re
    from typing import Any

DEFAULT_PATH = "/etc/lmw/terminator.toml"
SOURCE_KINDS = ("auto", "lmw", "psi", "meminfo")
# In the order a rule tries them (policy.matches stops at the first miss):
# cmdline last, the one field read through the process's own memory, which
# the process can make a read wait for (procs.CmdlineAside).
TEXT_FIELDS = ("comm", "exe", "cgroup", "cmdline")
# Who sets each field decides what a rule on it is worth. comm and cmdline
# are the process's own to choose (prctl, argv): a rule on them alone,
# protect or avoid, is any user's to take. exe is the path of the file it
# runs and cgroup the group it was placed in: a user cannot put a file in
# /usr/sbin or a process under /system.slice, but can make /tmp/x/usr/sbin
# and sub-groups of their own. So exe and cgroup patterns match the whole
# value, and in protect and avoid rules they start at the root ("/").
WHOLE_VALUE_FIELDS = ("exe", "cgroup")
USER_CHOSEN_FIELDS = ("comm", "cmdline")
RULE_KINDS = ("prefer", "avoid", "protect")
# oom_score runs 0..1000 (2000 with a positive oom_score_adj): an adjust of
# +-1000 can lift anything above or put it below everything else.
ADJUST_LIMIT = 1000
# A config is a few rules: more than this is not one (and would be read into
# the daemon's memory whole).
MAX_FILE_BYTES = 1 << 20
# A [[prefer]] rule without adjust raises the score by this; [[avoid]] lowers it.
RULE_ADJUST = 300
# SCHED_FIFO's highest priority (sched_get_priority_max(SCHED_FIFO) on Linux).
REALTIME_PRIORITY_MAX = 99

# The default of every key, the one place they are written: section -> key ->
# value as a file would spell it (a TOML array as a tuple). Read-only. The
# classes below and validate() take their defaults from here; terminator.toml
# and the documentation show the same values (a unit test compares them).
DEFAULTS: dict[str, dict[str, Any]] = {
    "source": {
        "kind": "auto",
        "psi_stall_ms": 150,
        "psi_window_ms": 1000,
        "psi_max_available_percent": 20,
        "meminfo_min_available_percent": 10,
        "meminfo_interval_ms": 1000,
    },
    "warn": {
        "commands": (),
        "signal": "SIGUSR1",
        "optin_dir": "/run/lmw/warn.d",
        "grace_ms": 1000,
    },
    "kill": {
        "term_grace_ms": 3000,
        "term_grace_min_available_percent": 5,
        "min_interval_ms": 1000,
        "service_cgroup": False,
        "before": (),
        "after": (),
        "realtime_priority": 1,
    },
}
_SOURCE, _WARN, _KILL = DEFAULTS["source"], DEFAULTS["warn"], DEFAULTS["kill"]


def _to_signal(name: str) -> int | None:
    """A signal's name, with or without SIG, as the file gives it; "" is None."""
    if name == "":
        return None
    return sig.number(name if name.startswith("SIG") else f"SIG{name}")


_WARN_SIGNAL = _to_signal(_WARN["signal"])


class Rule:
    """Matches a process on one or more fields (every one given must match)."""

    __slots__ = ("adjust", "name", "patterns", "uid")

    def __init__(self, name: str, patterns: tuple[tuple[str, re.Pattern[str]], ...],
                 uid: int | None, adjust: int) -> None:
        self.name, self.patterns, self.uid, self.adjust = name, patterns, uid, adjust

    def describe(self) -> str:
        parts = [f"{key}~{rx.pattern!r}" for key, rx in self.patterns]
        if self.uid is not None:
            parts.append(f"uid={self.uid}")
        return f"{self.name}({', '.join(parts)})"


class SourceConfig:
    __slots__ = ("kind", "meminfo_interval_ms", "meminfo_min_available_percent",
                 "psi_max_available_percent", "psi_stall_ms", "psi_window_ms")

    def __init__(self, kind: str = _SOURCE["kind"], *,
                 psi_stall_ms: int = _SOURCE["psi_stall_ms"],
                 psi_window_ms: int = _SOURCE["psi_window_ms"],
                 psi_max_available_percent: int = _SOURCE["psi_max_available_percent"],
                 meminfo_min_available_percent: int = _SOURCE["meminfo_min_available_percent"],
                 meminfo_interval_ms: int = _SOURCE["meminfo_interval_ms"]) -> None:
        self.kind, self.psi_stall_ms, self.psi_window_ms = kind, psi_stall_ms, psi_window_ms
        self.psi_max_available_percent = psi_max_available_percent
        self.meminfo_min_available_percent = meminfo_min_available_percent
        self.meminfo_interval_ms = meminfo_interval_ms


class WarnConfig:
    __slots__ = ("commands", "grace_ms", "optin_dir", "signal")

    def __init__(self, commands: tuple[str, ...] = tuple(_WARN["commands"]),
                 signal_: int | None = _WARN_SIGNAL,
                 optin_dir: str = _WARN["optin_dir"], grace_ms: int = _WARN["grace_ms"]) -> None:
        self.commands, self.signal = commands, signal_
        self.optin_dir, self.grace_ms = optin_dir, grace_ms


class KillConfig:
    """How a victim is stopped. ``before`` and ``after`` are commands (argv,
    no shell) run around each kill, with the victim in their environment
    (hooks.py); ``service_cgroup``: a victim in a service's cgroup takes
    the whole cgroup with it (cgroups.py); ``realtime_priority``: the
    daemon's SCHED_FIFO priority, 0 for none (service.run_first);
    ``term_grace_min_available_percent``: under this much MemAvailable,
    the warning's grace and a victim's end, and the kill interval once
    the room is taken again (service.py, pace.short_of_room,
    pace.room_taken)."""

    __slots__ = ("after", "before", "min_interval_ms", "realtime_priority", "service_cgroup",
                 "term_grace_min_available_percent", "term_grace_ms")

    def __init__(self, term_grace_ms: int = _KILL["term_grace_ms"],
                 min_interval_ms: int = _KILL["min_interval_ms"],
                 service_cgroup: bool = _KILL["service_cgroup"],
                 before: tuple[str, ...] = tuple(_KILL["before"]),
                 after: tuple[str, ...] = tuple(_KILL["after"]), *,
                 realtime_priority: int = _KILL["realtime_priority"],
                 term_grace_min_available_percent: int =
                 _KILL["term_grace_min_available_percent"]) -> None:
        self.term_grace_ms, self.min_interval_ms = term_grace_ms, min_interval_ms
        self.service_cgroup, self.before, self.after = service_cgroup, before, after
        self.realtime_priority = realtime_priority
        self.term_grace_min_available_percent = term_grace_min_available_percent

    def without_grace(self) -> KillConfig:
        """The same, with no time between a victim's SIGTERM and its SIGKILL."""
        return KillConfig(0, self.min_interval_ms, self.service_cgroup, self.before, self.after,
                          realtime_priority=self.realtime_priority,
                          term_grace_min_available_percent=self.term_grace_min_available_percent)


class Config:
    __slots__ = ("avoid", "kill", "path", "prefer", "protect", "source", "warn")

    def __init__(self, *, path: str = "(defaults)", source: SourceConfig | None = None,
                 warn: WarnConfig | None = None, kill: KillConfig | None = None,
                 prefer: tuple[Rule, ...] = (), avoid: tuple[Rule, ...] = (),
                 protect: tuple[Rule, ...] = ()) -> None:
        self.path = path
        self.source = source or SourceConfig()
        self.warn = warn or WarnConfig()
        self.kill = kill or KillConfig()
        self.prefer, self.avoid, self.protect = prefer, avoid, protect

    def summary(self) -> list[str]:
        s, w, k = self.source, self.warn, self.kill
        lines = [
            f"source: kind={s.kind} psi={s.psi_stall_ms}/{s.psi_window_ms} ms "
            f"while available<{s.psi_max_available_percent}% "
            f"meminfo<{s.meminfo_min_available_percent}% every {s.meminfo_interval_ms} ms",
            f"warn: commands={list(w.commands)} signal={sig.name(w.signal) if w.signal else None} "
            f"optin_dir={w.optin_dir} grace={w.grace_ms} ms",
            f"kill: term_grace={k.term_grace_ms} ms while available>="
            f"{k.term_grace_min_available_percent}% min_interval={k.min_interval_ms} ms "
            f"service_cgroup={str(k.service_cgroup).lower()} before={list(k.before)} "
            f"after={list(k.after)} realtime_priority={k.realtime_priority}",
        ]
        lines += [f"rule {r.describe()} adjust {r.adjust:+d}"
                  for r in (*self.prefer, *self.avoid, *self.protect)]
        return lines


# ---- validate: TOML text -> plain data -----------------------------------

class _Table:
    """Takes keys out of one TOML table, checking each; leftovers are errors."""

    def __init__(self, path: str, prefix: str, table: object) -> None:
        if not isinstance(table, dict):
            raise ConfigError(path, prefix, table, "must be a table")
        self.path, self.prefix, self.table = path, prefix, dict(table)

    def fail(self, name: str, value: object, why: str) -> ConfigError:
        return ConfigError(self.path, f"{self.prefix}.{name}" if self.prefix else name, value,
                           why)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.table.pop(name, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(name, value, "must be an integer")
        if not low <= value <= high:
            raise self.fail(name, value, f"must be between {low} and {high}")
        return value

    def text(self, name: str, default: str, choices: tuple[str, ...] | None = None) -> str:
        value = self.table.pop(name, default)
        if not isinstance(value, str):
            raise self.fail(name, value, "must be a string")
        if choices and value not in choices:
            raise self.fail(name, value, f"must be one of {', '.join(choices)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.table.pop(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, value, "must be true or false")
        return value

    def strings(self, name: str, default: tuple[str, ...]) -> list[str]:
        value = self.table.pop(name, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(name, value, "must be a list of non-empty strings")
        return list(value)

    def done(self) -> None:
        for name, value in self.table.items():
            raise self.fail(name, value, "unknown key")


def _signal_number(table: _Table, name: str, default: str) -> int:
    value = table.text(name, default)
    try:
        number = _to_signal(value)
    except KeyError:
        raise table.fail(name, value, 'not a signal name (e.g. SIGUSR1), or "" for none') \
            from None
    return 0 if number is None else number


def _hook(table: _Table, name: str, default: tuple[str, ...]) -> list[str]:
    """A kill hook: a program and its arguments, run as root with the
    victim in its environment. Its program is trusted as the config is
    (root's, in root's directories, written by nobody else): whoever could
    replace it would run as root at the next kill."""
    argv = table.strings(name, default)
    if not argv:
        return argv
    program = argv[0]
    if not program.startswith("/"):
        raise table.fail(name, argv, "the program (the first word) must be an absolute path")
    try:
        fd = os.open(program, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        raise table.fail(name, argv, f"{program}: {error.strerror}") from None
    try:
        st = os.fstat(fd)
        real = os.readlink(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") \
            else os.path.realpath(program)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
        raise table.fail(name, argv, f"{program} is not an executable file")
    problem = _untrusted_chain(table.path, real, st)
    if problem is not None:
        raise table.fail(name, argv, problem.why)
    return argv


def _check_unspoofable(table: _Table, patterns: list[list[str]], uid: int | None) -> None:
    """A protect or avoid rule spares what it matches at others' cost: no user
    may be able to make their own process match it."""
    for name, pattern in patterns:
        if name in WHOLE_VALUE_FIELDS and not pattern.startswith("/"):
            raise table.fail(name, pattern, "must start with / (the pattern matches the whole "
                             "path; one that may begin anywhere matches paths a user makes)")
    if uid is None and all(name in USER_CHOSEN_FIELDS for name, _ in patterns):
        raise ConfigError(table.path, table.prefix, dict(patterns),
                          "comm and cmdline are the process's own to choose, so any user "
                          "could take this rule\nhint: add uid, exe or cgroup, e.g. "
                          "uid = 0, or exe = \"/usr/sbin/sshd\"")


def _rule(path: str, kind: str, index: int, raw: object) -> dict[str, Any]:
    table = _Table(path, f"{kind}[{index}]", raw)
    patterns: list[list[str]] = []
    for name in TEXT_FIELDS:
        if name in table.table:
            pattern = table.text(name, "")
            import re  # only where there are rules: 0.4 MiB of the daemon's RSS

            try:
                re.compile(pattern)
            except re.error as error:
                raise table.fail(name, pattern, f"not a regular expression: {error}") from None
            patterns.append([name, pattern])
    uid = table.integer("uid", 0, 0, 2**32 - 1) if "uid" in table.table else None
    adjust = 0
    if kind != "protect":
        sign = 1 if kind == "prefer" else -1
        adjust = table.integer("adjust", sign * RULE_ADJUST, -ADJUST_LIMIT, ADJUST_LIMIT)
        if adjust * sign <= 0:
            raise table.fail("adjust", adjust,
                             f"a {kind} rule must {'raise' if sign > 0 else 'lower'} the score")
    table.done()
    if not patterns and uid is None:
        raise ConfigError(path, f"{kind}[{index}]", raw,
                          f"a rule needs at least one of {', '.join(TEXT_FIELDS)}, uid")
    if kind != "prefer":
        _check_unspoofable(table, patterns, uid)
    return {"name": f"{kind}[{index}]", "patterns": patterns, "uid": uid, "adjust": adjust}


def validate(text: str, path: str) -> dict[str, Any]:
    """TOML text -> plain data, or ConfigError on the first problem."""
    import tomllib  # only here: the daemon runs this in a short-lived child

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "(file)", "", f"not valid TOML: {error}") from None
    except RecursionError:   # tomllib recurses per level of nested arrays and tables
        raise ConfigError(path, "(file)", "", "not valid TOML: nested too deeply") from None
    top = _Table(path, "", data)
    source = _Table(path, "source", top.table.pop("source", {}))
    d = _SOURCE
    plain: dict[str, Any] = {"path": path, "source": {
        "kind": source.text("kind", d["kind"], SOURCE_KINDS),
        "psi_stall_ms": source.integer("psi_stall_ms", d["psi_stall_ms"], 1, 10_000),
        "psi_window_ms": source.integer("psi_window_ms", d["psi_window_ms"], 500, 10_000),
        "psi_max_available_percent": source.integer(
            "psi_max_available_percent", d["psi_max_available_percent"], 1, 100),
        "meminfo_min_available_percent": source.integer(
            "meminfo_min_available_percent", d["meminfo_min_available_percent"], 1, 90),
        "meminfo_interval_ms": source.integer(
            "meminfo_interval_ms", d["meminfo_interval_ms"], 50, 60_000),
    }}
    if plain["source"]["psi_stall_ms"] >= plain["source"]["psi_window_ms"]:
        raise source.fail("psi_stall_ms", plain["source"]["psi_stall_ms"],
                          "must be shorter than psi_window_ms")
    source.done()
    warn = _Table(path, "warn", top.table.pop("warn", {}))
    d = _WARN
    plain["warn"] = {"commands": warn.strings("commands", d["commands"]),
                     "signal": _signal_number(warn, "signal", d["signal"]),
                     "optin_dir": warn.text("optin_dir", d["optin_dir"]),
                     "grace_ms": warn.integer("grace_ms", d["grace_ms"], 0, 60_000)}
    if not plain["warn"]["optin_dir"].startswith("/"):
        raise warn.fail("optin_dir", plain["warn"]["optin_dir"], "must be an absolute path")
    warn.done()
    kill = _Table(path, "kill", top.table.pop("kill", {}))
    d = _KILL
    plain["kill"] = {"term_grace_ms": kill.integer("term_grace_ms", d["term_grace_ms"], 0, 60_000),
                     "term_grace_min_available_percent": kill.integer(
                         "term_grace_min_available_percent",
                         d["term_grace_min_available_percent"], 0, 50),
                     "min_interval_ms": kill.integer(
                         "min_interval_ms", d["min_interval_ms"], 0, 600_000),
                     "service_cgroup": kill.boolean("service_cgroup", d["service_cgroup"]),
                     "before": _hook(kill, "before", d["before"]),
                     "after": _hook(kill, "after", d["after"]),
                     "realtime_priority": kill.integer(
                         "realtime_priority", d["realtime_priority"], 0, REALTIME_PRIORITY_MAX)}
    kill.done()
    for kind in RULE_KINDS:
        tables = top.table.pop(kind, [])
        if not isinstance(tables, list):
            raise ConfigError(path, kind, tables, f"must be an array of tables ([[{kind}]])")
        plain[kind] = [_rule(path, kind, i, t) for i, t in enumerate(tables)]
    top.done()
    return plain


# ---- build: plain data -> objects -----------------------------------------

def build(plain: dict[str, Any]) -> Config:
    warn = plain["warn"]
    rules: dict[str, tuple[Rule, ...]] = {kind: () for kind in RULE_KINDS}
    if any(plain[kind] for kind in RULE_KINDS):
        import re  # only where there are rules: 0.4 MiB of the daemon's RSS

        rules = {kind: tuple(Rule(r["name"], tuple((k, re.compile(p)) for k, p in r["patterns"]),
                                  r["uid"], r["adjust"]) for r in plain[kind])
                 for kind in RULE_KINDS}
    return Config(
        path=plain["path"], source=SourceConfig(**plain["source"]),
        warn=WarnConfig(tuple(warn["commands"]),
                        warn["signal"] or None,
                        warn["optin_dir"], warn["grace_ms"]),
        kill=KillConfig(plain["kill"]["term_grace_ms"], plain["kill"]["min_interval_ms"],
                        plain["kill"]["service_cgroup"], tuple(plain["kill"]["before"]),
                        tuple(plain["kill"]["after"]),
                        realtime_priority=plain["kill"]["realtime_priority"],
                        term_grace_min_available_percent=plain["kill"][
                            "term_grace_min_available_percent"]),
        prefer=rules["prefer"], avoid=rules["avoid"], protect=rules["protect"])


def parse(text: str, path: str = "(text)") -> Config:
    """Validate and build in this process (tests, --check-config)."""
    return build(validate(text, path))


def _untrusted(path: str, st: os.stat_result, what: str) -> ConfigError | None:
    """Why the file or directory ``st`` may not be trusted, or None. A config
    decides whom a root daemon kills: only root (or whoever runs this, for
    --check-config) may own it or any directory above it, and nobody else
    may write to them (a directory with the sticky bit, like /tmp, only
    keeps others from replacing what is not theirs: its file is checked)."""
    owners = {0, os.geteuid()}
    if st.st_uid not in owners:
        return ConfigError(path, "(file)", "", f"{what} is owned by uid {st.st_uid}, who could "
                           "rewrite it\nhint: only root may own the config and its directories")
    if st.st_mode & 0o022 and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
        return ConfigError(path, "(file)", "", f"{what} is writable by others (mode "
                           f"{stat.S_IMODE(st.st_mode):04o})\nhint: chmod go-w {what}")
    return None


def _untrusted_chain(path: str, real: str, st: os.stat_result) -> ConfigError | None:
    """Why the file ``real`` (resolved, its stat ``st``) or a directory
    above it may not be trusted, or None."""
    problem = _untrusted(path, st, real)
    directory = os.path.dirname(real)
    while problem is None:
        problem = _untrusted(path, os.stat(directory), directory)
        if directory == "/":
            break
        directory = os.path.dirname(directory)
    return problem


def _read(path: str) -> str | None:
    """The file's text, None when there is none; ConfigError when it cannot be
    read or trusted (a symlink is followed, and what it leads to is checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(path, "(file)", "", f"cannot read: {error.strerror}") from None
    with os.fdopen(fd, "rb") as stream:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(path, "(file)", "", "not a regular file")
        real = os.readlink(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") \
            else os.path.realpath(path)
        problem = _untrusted_chain(path, real, st)
        if problem is not None:
            raise problem
        try:
            data = stream.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise ConfigError(path, "(file)", "", f"cannot read: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(path, "(file)", "", f"larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(path, "(file)", "", f"not UTF-8 text (byte {error.start})") from None


def load(path: str) -> Config:
    """The config at ``path`` (the defaults when there is none), in this process."""
    text = _read(path)
    return Config() if text is None else parse(text, path)


def load_isolated(path: str) -> Config:
    """Like load(), but tomllib runs in a child that exits: the daemon stays small.

    Whatever happens in the child, it ends there (os._exit): it must never
    return into the daemon's code as a second daemon. When no child can be
    made (past the deny line, fork may be refused), the file is checked
    here, at the cost of tomllib staying in memory.
    """
    text = _read(path)
    if text is None:
        return Config()
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return build(validate(text, path))
    if child == 0:   # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            try:
                reply: Any = ("ok", validate(text, path))
            except ConfigError as error:
                reply = ("error", error.path, error.key, repr(error.value), error.why)
            with os.fdopen(write_end, "wb") as out:
                out.write(marshal.dumps(reply))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    os.waitpid(child, 0)
    try:
        answer: Any = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        raise ConfigError(path, "(file)", "", "could not be checked (the checking "
                          "process failed)") from None
    if answer[0] == "error":
        raise ConfigError(answer[1], answer[2], _Literal(answer[3]), answer[4])
    return build(answer[1])


class _Literal:
    """A value already in repr() form (from the child), printed as is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text
