"""lmw-terminator's config: defaults without a file, one clear error per bad value."""

from __future__ import annotations

import os
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
min_interval_ms = 0
[[prefer]]
cmdline = "renderer"
adjust = 700
[[avoid]]
uid = 0
comm = "^sh$"
adjust = -50
[[protect]]
cgroup = "sshd"
""", "t.toml")
    assert (cfg.source.kind, cfg.source.psi_stall_ms, cfg.source.psi_window_ms) == ("psi", 100, 500)
    assert cfg.warn.commands == ("logger low",) and cfg.warn.signal == signal.SIGUSR2
    assert (cfg.kill.term_grace_ms, cfg.kill.min_interval_ms) == (500, 0)
    assert cfg.prefer[0].adjust == 700 and cfg.avoid[0].uid == 0
    assert cfg.protect[0].describe() == "protect[0](cgroup~'sshd')"


@pytest.mark.parametrize(("text", "key", "why"), [
    ("[kill]\nterm_grace_ms = -1", "kill.term_grace_ms", "must be between 0 and 60000"),
    ("[kill]\nterm_grace_ms = \"3s\"", "kill.term_grace_ms", "must be an integer"),
    ("[kill]\nterm_grace_ms = true", "kill.term_grace_ms", "must be an integer"),
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
