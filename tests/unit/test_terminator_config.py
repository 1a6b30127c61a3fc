"""lmw-terminator's config: defaults without a file, one clear error per bad value."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from lmw_terminator import config
from lmw_terminator.errors import ConfigError


def test_no_file_means_defaults(tmp_path: Path) -> None:
    cfg = config.load(str(tmp_path / "absent.toml"))
    assert cfg.path == "(defaults)"
    assert cfg.source.kind == "auto" and cfg.warn.signal == signal.SIGUSR1
    assert cfg.prefer == cfg.avoid == cfg.protect == ()


def test_full_config_is_read() -> None:
    cfg = config.parse("""
[source]
kind = "psi"
psi_stall_ms = 100
psi_window_ms = 500
[warn]
commands = ["logger low"]
signal = "USR2"
grace_ms = 0
[kill]
term_grace_ms = 500
term_grace_min_available_percent = 0
min_interval_ms = 0
[[prefer]]
cmdline = "renderer"
adjust = 700
[[avoid]]
uid = 0
comm = "^sh$"
adjust = -50
[[protect]]
cgroup = "/system.slice/sshd.service"
""", "t.toml")
    assert (cfg.source.kind, cfg.source.psi_stall_ms, cfg.source.psi_window_ms) == ("psi", 100, 500)
    assert cfg.warn.commands == ("logger low",) and cfg.warn.signal == signal.SIGUSR2
    assert (cfg.kill.term_grace_ms, cfg.kill.min_interval_ms) == (500, 0)
    assert cfg.kill.term_grace_min_available_percent == 0
    assert cfg.prefer[0].adjust == 700 and cfg.avoid[0].uid == 0
    assert cfg.protect[0].describe() == "protect[0](cgroup~'/system.slice/sshd.service')"


@pytest.mark.parametrize(("text", "key", "why"), [
    ("[kill]\nterm_grace_ms = -1", "kill.term_grace_ms", "must be between 0 and 60000"),
    ("[kill]\nterm_grace_ms = \"3s\"", "kill.term_grace_ms", "must be an integer"),
    ("[kill]\nterm_grace_ms = true", "kill.term_grace_ms", "must be an integer"),
    ("[kill]\nterm_grace_min_available_percent = 51", "kill.term_grace_min_available_percent",
     "must be between 0 and 50"),
    ("[kill]\nterm_grace_min_available_percent = 2.5", "kill.term_grace_min_available_percent",
     "must be an integer"),
    ("[source]\nkind = \"magic\"", "source.kind", "must be one of auto, lmw, psi, meminfo"),
    ("[source]\npsi_stall_ms = 900\npsi_window_ms = 500", "source.psi_stall_ms",
     "must be shorter than psi_window_ms"),
    ("[source]\npsi_max_available_percent = 0", "source.psi_max_available_percent",
     "must be between 1 and 100"),
    ("[warn]\nsignal = \"SIGFOO\"", "warn.signal", "not a signal name"),
    ("[warn]\ncommands = \"logger\"", "warn.commands", "must be a list of non-empty strings"),
    ("[warn]\noptin_dir = \"run/x\"", "warn.optin_dir", "must be an absolute path"),
    ("[warn]\ncolour = 1", "warn.colour", "unknown key"),
    ("mystery = 1", "mystery", "unknown key"),
    ("[[prefer]]\ncomm = \"(\"", "prefer[0].comm", "not a regular expression"),
    ("[[prefer]]\ncomm = \"x\"\nadjust = -5", "prefer[0].adjust", "must raise the score"),
    ("[[avoid]]\ncomm = \"x\"\nadjust = 5", "avoid[0].adjust", "must lower the score"),
    ("[[avoid]]\ncomm = \"x\"\nadjust = -5000", "avoid[0].adjust", "between -1000 and 1000"),
    ("[[protect]]\nadjust = 0", "protect[0].adjust", "unknown key"),
    ("[[protect]]\n", "protect[0]", "a rule needs at least one of"),
    ("[[protect]]\nuid = -3", "protect[0].uid", "must be between 0"),
    ("prefer = 3", "prefer", "must be an array of tables"),
    ("[kill", "(file)", "not valid TOML"),
])
def test_each_bad_value_names_file_key_value_and_why(text: str, key: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse(text, "/etc/lmw/terminator.toml")
    assert caught.value.key == key
    assert why in caught.value.why
    assert str(caught.value).startswith(f"/etc/lmw/terminator.toml: {key} = ")


def test_isolated_load_gives_the_same_result_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[kill]\nterm_grace_ms = 1234\n[[prefer]]\ncomm = \"^hog$\"\n")
    cfg = config.load_isolated(str(good))
    assert cfg.kill.term_grace_ms == 1234 and cfg.prefer[0].patterns[0][1].pattern == "^hog$"
    bad = tmp_path / "bad.toml"
    bad.write_text("[kill]\nterm_grace_ms = -7\n")
    with pytest.raises(ConfigError, match=r"bad.toml: kill.term_grace_ms = -7: must be between"):
        config.load_isolated(str(bad))


DEEP = "[warn]\ncommands = " + "[" * 100_000 + "]" * 100_000 + "\n"


def test_nesting_too_deep_for_the_parser_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(DEEP)
    with pytest.raises(ConfigError, match="nested too deeply"):
        config.validate(DEEP, str(path))
    with pytest.raises(ConfigError, match="nested too deeply"):
        config.load_isolated(str(path))


def test_the_checking_child_never_returns_into_the_caller(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the child meets, it ends there: a child that returned would run
    the daemon's loop as a second daemon (here: the rest of this test twice)."""
    path = tmp_path / "t.toml"
    path.write_text("[kill]\nterm_grace_ms = 100\n")

    def broken(text: str, where: str) -> dict[str, object]:
        raise RuntimeError("a bug in the checker")

    monkeypatch.setattr(config, "validate", broken)
    parent = os.getpid()
    with pytest.raises(ConfigError, match="could not be checked"):
        config.load_isolated(str(path))
    assert os.getpid() == parent


NOBODY = 65534


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user takes root")


def test_a_config_writable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[kill]\nterm_grace_ms = 100\n")
    assert config.load(str(path)).kill.term_grace_ms == 100
    path.chmod(0o646)
    with pytest.raises(ConfigError,
                       match=r"(?s)is writable by others \(mode 0646\).*hint: chmod go-w"):
        config.load(str(path))
    path.chmod(0o644)
    tmp_path.chmod(0o777)       # anyone could replace the file
    try:
        with pytest.raises(ConfigError, match=f"{tmp_path} is writable by others"):
            config.load(str(path))
    finally:
        tmp_path.chmod(0o755)


def test_a_symlink_to_a_users_file_is_refused(tmp_path: Path, as_root: None) -> None:
    theirs = tmp_path / "theirs.toml"
    theirs.write_text("[kill]\nterm_grace_ms = 100\n")
    os.chown(theirs, NOBODY, NOBODY)
    link = tmp_path / "terminator.toml"
    link.symlink_to(theirs)
    with pytest.raises(ConfigError, match=f"{theirs} is owned by uid {NOBODY}"):
        config.load(str(link))
    with pytest.raises(ConfigError, match=f"is owned by uid {NOBODY}"):
        config.load_isolated(str(link))


def test_a_config_in_a_users_directory_is_refused(tmp_path: Path, as_root: None) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "t.toml").write_text("[kill]\n")
    os.chown(home, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match=f"{home} is owned by uid {NOBODY}"):
        config.load(str(home / "t.toml"))


@pytest.mark.parametrize(("data", "why"), [
    (b"\xff\xfe[kill]\n", "not UTF-8 text (byte 0)"),
    (b"#" * (config.MAX_FILE_BYTES + 1), "larger than"),
])
def test_bytes_that_are_no_config_are_refused(tmp_path: Path, data: bytes, why: str) -> None:
    path = tmp_path / "t.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=re.escape(why)):
        config.load(str(path))


def test_a_config_that_is_no_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)     # would block a reader that opened it without O_NONBLOCK
    with pytest.raises(ConfigError, match="not a regular file"):
        config.load(str(fifo))


@pytest.mark.parametrize(("rule", "why"), [
    ('[[protect]]\ncomm = "^sshd$"', "comm and cmdline are the process's own to choose"),
    ('[[avoid]]\ncmdline = "weston"\nadjust = -500', "comm and cmdline are the process's own"),
    ('[[protect]]\nexe = "usr/sbin/sshd"', "protect[0].exe = 'usr/sbin/sshd': must start with /"),
    ('[[avoid]]\ncgroup = ".*/sshd.service"', "avoid[0].cgroup = '.*/sshd.service': must start"),
])
def test_a_rule_any_user_could_match_is_refused(rule: str, why: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(why)):
        config.parse(rule, "t.toml")


@pytest.mark.parametrize("rule", [
    '[[protect]]\nuid = 0\ncomm = "^sshd$"',
    '[[protect]]\nexe = "/usr/sbin/sshd"',
    '[[avoid]]\ncgroup = "/system\\\\.slice/.*"',
    '[[prefer]]\ncomm = "renderer"',        # prefer: a user can only put themselves first
])
def test_a_rule_on_what_a_user_cannot_choose_is_taken(rule: str) -> None:
    config.parse(rule, "t.toml")


def test_a_kill_without_grace_keeps_everything_else() -> None:
    kill = config.parse('[kill]\nterm_grace_ms = 700\nmin_interval_ms = 20\n'
                        'term_grace_min_available_percent = 9\nrealtime_priority = 3\n'
                        'before = ["/bin/true"]\n', "t.toml").kill
    bare = kill.without_grace()
    assert bare.term_grace_ms == 0 and kill.term_grace_ms == 700
    assert [getattr(bare, key) for key in kill.__slots__ if key != "term_grace_ms"] == \
        [getattr(kill, key) for key in kill.__slots__ if key != "term_grace_ms"]
