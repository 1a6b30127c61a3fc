"""lmw-terminator's defaults are written once, in config.DEFAULTS.

terminator.toml (its commented ``# key = value`` lines) and the defaults
table of docs/terminator.md must show exactly those values, every key and
no other; the classes and validate() must take theirs from DEFAULTS.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

from lmw_terminator import config, sig

ROOT = Path(__file__).resolve().parents[2]
TOML = ROOT / "meta-lmw" / "recipes-support" / "lmw-terminator" / "files" / "terminator.toml"
DOC = ROOT / "docs" / "terminator.md"
BEGIN, END = "<!-- terminator-defaults:begin -->", "<!-- terminator-defaults:end -->"
SLOTS = {"source": config.SourceConfig.__slots__, "warn": config.WarnConfig.__slots__,
         "kill": config.KillConfig.__slots__}

LIVE_TABLE = re.compile(r"\s*\[")                   # [source], [[prefer]]
COMMENTED_TABLE = re.compile(r"#\s*\[")             # # [[prefer]]: an example rule follows
COMMENTED_KEY = re.compile(r"#\s*(?=[A-Za-z0-9_-]+\s*=\s*\S)")   # # key = value


def file_form(value: object, key: str = "") -> object:
    """A default or a config attribute as a file spells it: signals by name, arrays as lists."""
    if value is None:           # WarnConfig.signal: none
        return ""
    if key == "signal" and isinstance(value, int):
        return sig.name(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def expected() -> dict[str, dict[str, object]]:
    return {section: {key: file_form(value, key) for key, value in table.items()}
            for section, table in config.DEFAULTS.items()}


def built(cfg: config.Config) -> dict[str, dict[str, object]]:
    """Every attribute of the section objects, keyed like DEFAULTS."""
    return {section: {key: file_form(getattr(getattr(cfg, section), key), key)
                      for key in slots}
            for section, slots in SLOTS.items()}


def dotted(tables: dict[str, dict[str, object]]) -> set[str]:
    return {f"{section}.{key}" if key else section
            for section, table in tables.items() for key in table}


def test_the_objects_and_validate_take_their_defaults_from_DEFAULTS() -> None:
    assert built(config.Config()) == expected()          # no file
    assert built(config.parse("", "empty.toml")) == expected()   # a file that sets nothing


# ---- terminator.toml ---------------------------------------------------------

def uncomment_defaults(text: str) -> str:
    """The file with its commented ``# key = value`` lines made live.

    Prose comments stay comments, and so does a commented example table
    (``# [[prefer]]``) with the ``# key = value`` lines that follow it, up to
    the next live table header.
    """
    lines, in_example = [], False
    for line in text.splitlines():
        if LIVE_TABLE.match(line):
            in_example = False
        elif COMMENTED_TABLE.match(line):
            in_example = True
        elif not in_example and (commented := COMMENTED_KEY.match(line)):
            lines.append(line[commented.end():])
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_the_toml_file_shows_every_default_and_nothing_else(tmp_path: Path) -> None:
    text = uncomment_defaults(TOML.read_text(encoding="utf-8"))
    raw = tomllib.loads(text)
    shown = {section: dict(table) if isinstance(table, dict) else {"": table}
             for section, table in raw.items()}
    missing = sorted(dotted(expected()) - dotted(shown))
    assert not missing, f"defaults missing from terminator.toml: {missing}"
    extra = sorted(dotted(shown) - dotted(expected()))
    assert not extra, f"terminator.toml shows keys that have no default: {extra}"
    assert raw == expected()
    # the daemon's own path: validate() then build(), in this process and in its child
    cfg = config.parse(text, str(TOML))
    assert built(cfg) == expected()
    assert cfg.prefer == cfg.avoid == cfg.protect == ()    # the example rules stayed comments
    live = tmp_path / "terminator.toml"
    live.write_text(text, encoding="utf-8")
    assert built(config.load_isolated(str(live))) == expected()


def test_uncommenting_leaves_prose_and_example_rules_alone() -> None:
    text = uncomment_defaults(
        "[kill]\n# Prose: wait term_grace_ms, then SIGKILL.\n# term_grace_ms = 3000\n"
        "# [[prefer]]\n# adjust = 300\n[warn]\n#grace_ms=1000\n")
    assert tomllib.loads(text) == {"kill": {"term_grace_ms": 3000}, "warn": {"grace_ms": 1000}}


# ---- docs/terminator.md --------------------------------------------------------

def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] == "`" else text


def _doc_value(text: str, like: object) -> object:
    """A default as the table writes it, read as the type of the default in DEFAULTS."""
    if isinstance(like, bool):
        return {"true": True, "false": False}.get(text, text)
    if isinstance(like, int):
        return int(text) if re.fullmatch(r"-?\d+", text) else text
    if isinstance(like, tuple | list):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return text
    return "" if text == '""' else text


def doc_table(text: str) -> tuple[dict[str, object], list[str]]:
    """The table between the markers: {"section.key": default}, and the rule rows' names.

    A row names one key or two separated by " / " (the second may leave out
    the section), and as many defaults, " / "-separated, maybe in backticks.
    Rows for ``[[rule]]`` tables have the default "none".
    """
    lines = [line.strip() for line in text.splitlines()]
    assert lines.count(BEGIN) == 1 and lines.count(END) == 1, f"{BEGIN} ... {END} once each"
    rows = [line for line in lines[lines.index(BEGIN) + 1:lines.index(END)] if line]
    assert all(row.startswith("|") for row in rows), "only the table between the markers"
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    assert cells[0] == ["key", "default", "meaning"]
    assert all(set(cell) <= set("-: ") for cell in cells[1])
    defaults: dict[str, object] = {}
    rules: list[str] = []
    for row in cells[2:]:
        assert len(row) >= 3, row
        if "[[" in row[0]:
            assert row[1] == "none", row
            rules += re.findall(r"\[\[(\w+)\]\]", row[0])
            continue
        names, values = row[0].split(" / "), row[1].split(" / ")
        assert len(names) == len(values), f"as many defaults as keys: {row}"
        previous = ""
        for written, value in zip(names, values, strict=True):
            section, _, name = _unquote(written).rpartition(".")
            section = section or previous
            assert section, f"{written}: no section"
            previous, key = section, f"{section}.{name}"
            assert key not in defaults, f"{key} twice"
            like = config.DEFAULTS.get(section, {}).get(name)
            defaults[key] = _doc_value(_unquote(value), like)
    return defaults, rules


def test_the_documented_defaults_are_the_defaults() -> None:
    assert DOC.is_file(), f"{DOC.relative_to(ROOT)} (with the defaults table) is missing"
    documented, rules = doc_table(DOC.read_text(encoding="utf-8"))
    want = {f"{section}.{key}": value
            for section, table in expected().items() for key, value in table.items()}
    missing = sorted(want.keys() - documented.keys())
    assert not missing, f"defaults missing from the table: {missing}"
    extra = sorted(documented.keys() - want.keys())
    assert not extra, f"the table names keys that have no default: {extra}"
    assert documented == want
    assert sorted(rules) == sorted(config.RULE_KINDS)


def test_doc_table_reads_two_keys_a_row() -> None:
    documented, rules = doc_table(f"""{BEGIN}
| key | default | meaning |
| --- | --- | --- |
| `source.psi_stall_ms` / `psi_window_ms` | 150 / 1000 | stall per window |
| `warn.signal` / `warn.optin_dir` | `SIGUSR1` / `/run/lmw/warn.d` | opted in |
| `warn.commands` | `[]` | commands |
| `[[prefer]]`, `[[avoid]]` | none | rules |
{END}
""")
    assert documented == {"source.psi_stall_ms": 150, "source.psi_window_ms": 1000,
                          "warn.signal": "SIGUSR1", "warn.optin_dir": "/run/lmw/warn.d",
                          "warn.commands": []}
    assert rules == ["prefer", "avoid"]


# ---- config.py's docstring -------------------------------------------------------

def test_the_module_docstring_example_states_no_default() -> None:
    example = textwrap.dedent("\n".join(
        line for line in (config.__doc__ or "").splitlines() if line.startswith("    ")))
    config.validate(example, "docstring")          # a file that works
    data = tomllib.loads(example)
    same = [f"{section}.{key}" for section, table in config.DEFAULTS.items()
            for key, value in data.get(section, {}).items()
            if key in table and value == file_form(table[key], key)]
    same += [f"{kind}.adjust" for kind, sign in (("prefer", 1), ("avoid", -1))
             for rule in data.get(kind, []) if rule.get("adjust") == sign * config.RULE_ADJUST]
    assert not same, "the docstring's example repeats defaults: DEFAULTS is the one place"
