"""Fuzzing the terminator's two inputs from the command line: its config file and
lmwctl's arguments. Each input must end in ok or a message and exit status,
never in a traceback. Seeded: a failure names its seed and input, and runs
the same again.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lmw_terminator import config, lmwctl, service

INPUTS = 10_000
SECTIONS = ("source", "warn", "kill")
RULES = config.RULE_KINDS
KEYS = [key for section in SECTIONS for key in config.DEFAULTS[section]]
RULE_KEYS = [*config.TEXT_FIELDS, "uid", "adjust"]
# what a hand-written file gets wrong: regular expressions that do not compile,
# paths, signal names, values just outside a range and far outside
STRINGS = ["", "auto", "lmw", "psi", "meminfo", "SIGUSR1", "USR2", "SIGKILL", "KILL", "NOPE",
           "/run/lmw/warn.d", "relative/dir", "^sshd$", "(", "[a-", "\\", "a{99999}", "/",
           "/system\\.slice/.*", ".*", "²", "\x00", "\x1b[2J", "é" * 50, "x" * 5000]


def a_value(rng: random.Random, depth: int = 0) -> object:
    """A TOML value of any type, often a plausible one of the wrong type or range."""
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.choice([0, 1, -1, 49, 50, 99, 100, 101, 499, 500, 999, 1000, 1001, 10_000,
                           60_000, 600_001, 2**31, 2**32, -(2**63), 2**63 - 1])
    if kind == 1:
        return rng.randrange(-(2**20), 2**20)
    if kind == 2:
        return rng.choice([0.5, -1.0, 1e300, float("inf"), float("nan")])
    if kind == 3:
        return rng.choice([True, False])
    if kind in (4, 5):
        return rng.choice(STRINGS)
    if kind in (6, 7):
        return [a_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS + RULE_KEYS): a_value(rng, depth + 1) for _ in range(rng.randrange(3))}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"inf": "inf", "nan": "nan"}.get(str(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)     # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def a_config(rng: random.Random) -> bytes:
    """Valid TOML with keys of ours (and some that are not), values of any type;
    one time in four, its bytes mangled, or random bytes."""
    lines: list[str] = []
    for section in rng.sample(SECTIONS, rng.randrange(len(SECTIONS) + 1)):
        lines.append(f"[{section}]")
        for key in rng.sample(sorted(config.DEFAULTS[section]), rng.randrange(3)):
            lines.append(f"{key} = {toml_value(a_value(rng))}")
        if rng.random() < 0.1:
            lines.append(f"unknown_{rng.randrange(9)} = 1")
    for _ in range(rng.randrange(3)):
        lines.append(f"[[{rng.choice(RULES)}]]")
        for key in rng.sample(RULE_KEYS, rng.randrange(4)):
            lines.append(f"{key} = {toml_value(a_value(rng))}")
    data = bytearray("\n".join(lines).encode())
    roll = rng.random()
    if roll < 0.05:
        return rng.randbytes(rng.randrange(200))
    if roll < 0.25 and data:
        for _ in range(rng.randrange(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def test_random_config_files_end_in_ok_or_a_message(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(13)
    path = tmp_path / "terminator.toml"
    outcomes = {0: 0, 2: 0}
    for n in range(INPUTS):
        data = a_config(rng)
        path.write_bytes(data)
        try:
            status = service.main(["--check-config", "--config", str(path)])
        except Exception as error:  # noqa: BLE001 - the finding, with its input
            pytest.fail(f"input {n} raised {error!r}:\n{data!r}")
        _, err = capsys.readouterr()
        assert status in outcomes, (n, status, data)
        if status == 2:
            assert err.startswith("lmw-terminator: error: "), (n, err, data)
        outcomes[status] += 1
    # both answers came many times: the inputs were neither all good nor all bad
    assert min(outcomes.values()) > INPUTS // 50, outcomes


WORDS = ["status", "set", "watch", "deny", "notify", "colour", "--count", "--help", "-h", "0",
         "5", "90", "1000", "1001", "-1", "²", "٣", "1e3", "0x10", " 7", "", "--", "=", "\x00x"]


def test_random_lmwctl_arguments_end_in_a_status_and_a_message(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    # a machine without lmw.ko: nothing is written; "watch" returns at once
    monkeypatch.setattr(lmwctl, "SYSFS", tmp_path / "no-module")
    monkeypatch.setattr(lmwctl, "SYSCTL", tmp_path / "no-sysctl")
    monkeypatch.setattr(lmwctl, "STATUS_FILE", tmp_path / "no-status")
    rng = random.Random(17)
    seen: set[int] = set()
    for n in range(INPUTS):
        argv = [rng.choice(WORDS) for _ in range(rng.randrange(6))]
        if argv and rng.random() < 0.7:
            argv[0] = rng.choice(["status", "set", "watch"])
        try:
            status = lmwctl.main(argv)
        except SystemExit as leaving:   # argparse: a usage error, or --help
            status = leaving.code if isinstance(leaving.code, int) else -1
        except Exception as error:  # noqa: BLE001 - the finding, with its input
            pytest.fail(f"input {n} {argv!r} raised {error!r}")
        out, err = capsys.readouterr()
        assert status in (0, 1, 2), (n, argv, status)
        assert status == 0 or err or out, (n, argv, "failed without a word")
        seen.add(status)
    assert seen == {0, 1, 2}
