"""scripts/lint-versions: a component's sources never change under the same version."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from lmwtools.core.errors import UserError
from lmwtools.core.paths import LAYER
from lmwtools.versions import cli


@pytest.fixture
def layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the layer's conf and recipes, with the tool pointed at it."""
    copy = tmp_path / "meta-lmw"
    shutil.copytree(LAYER / "conf", copy / "conf")
    shutil.copytree(LAYER / "classes-recipe", copy / "classes-recipe")
    for recipe in LAYER.glob("recipes-*/*/*.bb"):
        target = copy / recipe.relative_to(LAYER)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(recipe, target)
        if (recipe.parent / "files").is_dir() and not (target.parent / "files").exists():
            shutil.copytree(recipe.parent / "files", target.parent / "files")
    monkeypatch.setattr(cli, "LAYER", copy)
    monkeypatch.setattr(cli, "REPO", tmp_path)
    monkeypatch.setattr(cli, "VERSION_FILE", copy / "classes-recipe" / "lmw_source.bbclass")
    monkeypatch.setattr(cli, "RECORD_FILE", copy / "conf" / "lmw-sources.sha256")
    return copy


def _check(record: bool = False) -> int:
    return cli.check(argparse.Namespace(record=record))


def test_the_tree_as_committed_is_consistent() -> None:
    assert _check() == 0


def test_a_changed_source_needs_a_new_version(layer: Path) -> None:
    assert _check() == 0
    source = layer / "recipes-kernel" / "lmw-module" / "files" / "lmw.c"
    source.write_text(source.read_text() + "\n")
    with pytest.raises(UserError) as caught:
        _check()
    assert "lmw-module: sources changed, version still" in str(caught.value)
    assert "lmw-sysctl" not in str(caught.value)
    conf = layer / "classes-recipe" / "lmw_source.bbclass"
    conf.write_text(conf.read_text().replace(f'"{cli.version()}"', '"99.0.0"'))
    with pytest.raises(UserError, match="recorded for"):
        _check()                       # bumped, not yet recorded
    assert _check(record=True) == 0
    assert _check() == 0


def test_a_mode_change_counts_and_caches_do_not(layer: Path) -> None:
    files = layer / "recipes-support" / "lmw-terminator" / "files"
    cache = files / "lmw_terminator" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    assert _check() == 0
    (files / "Makefile").chmod(0o755)
    with pytest.raises(UserError, match="lmw-terminator"):
        _check()
