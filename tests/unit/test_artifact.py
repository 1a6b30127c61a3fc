"""Cached artifacts are reused while their inputs hold and rebuilt when they change."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmwtools.core.artifact import build_once, fingerprint


def test_fingerprint_follows_file_contents(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.c").write_text("int a;\n")
    before = fingerprint(["x", source])
    assert fingerprint(["x", source]) == before
    (source / "a.c").write_text("int b;\n")
    assert fingerprint(["x", source]) != before
    assert fingerprint(["y", source]) != fingerprint(["x", source])


def test_reused_while_key_holds_rebuilt_when_it_changes(tmp_path: Path) -> None:
    builds: list[str] = []

    def make(dest: Path) -> None:
        builds.append(dest.name)
        dest.write_text(str(len(builds)))

    out = tmp_path / "thing"
    build_once(out, "k1", make, "thing")
    build_once(out, "k1", make, "thing")
    assert out.read_text() == "1" and len(builds) == 1
    build_once(out, "k2", make, "thing")
    assert out.read_text() == "2" and builds == ["thing.tmp", "thing.tmp"]


def test_failed_build_leaves_nothing_that_looks_current(tmp_path: Path) -> None:
    out = tmp_path / "thing"
    build_once(out, "k1", lambda d: d.write_text("old"), "thing")

    def broken(dest: Path) -> None:
        dest.write_text("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        build_once(out, "k2", broken, "thing")
    rebuilt = build_once(out, "k2", lambda d: d.write_text("new"), "thing")
    assert rebuilt.read_text() == "new"
