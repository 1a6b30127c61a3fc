"""The tooling's layout holds: the layers of scripts/lmwtools, one wrapper shape, a manual per tool.

The layers (scripts/lmwtools/__init__.py states them): core imports
nothing of ours; bed and lab import only core; the tools import core,
bed and lab, and no other tool, except farm, which runs the suite's
pytest. Imports are read from the source (ast), top-level and inside
functions alike, so a late import cannot slip past.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from lmwtools.core.paths import SCRIPTS

PACKAGE = SCRIPTS / "lmwtools"
FOUNDATIONS = {"core": set(), "bed": {"core"}, "lab": {"core"}}
TOOLS = ("suite", "lint", "versions", "oecheck", "brcheck", "flash", "farm", "bench")
# what each part may import, besides itself
ALLOWED = {**FOUNDATIONS, **{tool: {"core", "bed", "lab"} for tool in TOOLS}}
ALLOWED["farm"] = ALLOWED["farm"] | {"suite"}
# wrapper name -> the module whose main() it runs
WRAPPERS = {"testbed": "bed.cli", "run-tests": "suite.cli", "demo": "suite.demo",
            "bench": "bench.cli", "oe-check": "oecheck.cli", "flash": "flash.cli",
            "farm": "farm.cli", "lint-kernel": "lint.cli", "br-check": "brcheck.cli",
            "lint-versions": "versions.cli"}


def part_of(module: str) -> str:
    """lmwtools.<part>.x -> <part>."""
    return module.split(".")[1]


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SCRIPTS).with_suffix("").parts)


def imported_modules(source: str, module: str) -> set[str]:
    """The lmwtools modules that ``source`` (of ``module``, a dotted name) imports,
    as absolute dotted names."""
    package = module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            found.update(n for n in [target, *names] if n.startswith("lmwtools."))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lmwtools."))
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_part() -> None:
    parts = {p.relative_to(PACKAGE).parts[0] for p in sources() if p.parent != PACKAGE}
    assert parts == set(ALLOWED), "a new subpackage: give it a place in ALLOWED and the map"


def test_imports_follow_the_layers() -> None:
    wrong: list[str] = []
    for path in sources():
        if path.parent == PACKAGE:
            continue
        part = path.relative_to(PACKAGE).parts[0]
        wrong += [f"{path.relative_to(PACKAGE)} imports {m} ({part}/ may import "
                  f"{', '.join(sorted(ALLOWED[part])) or 'nothing of ours'})"
                  for m in sorted(imported_modules(path.read_text(), module_name(path)))
                  if part_of(m) != part and part_of(m) not in ALLOWED[part]]
    assert not wrong, "\n".join(wrong)


def test_the_layer_check_sees_every_form_of_import() -> None:
    # the check itself: relative, absolute and late imports are all seen
    source = ("from ..farm.cli import main\nfrom . import bmap\nimport lmwtools.bench.cli\n"
              "def f() -> None:\n    from ...lmwtools.suite import runner\n")
    found = imported_modules(source, "lmwtools.flash.example")
    assert {"lmwtools.farm.cli.main", "lmwtools.flash.bmap", "lmwtools.bench.cli"} <= found
    assert "lmwtools.suite.runner" in found


def test_the_map_names_every_part() -> None:
    doc = (PACKAGE / "__init__.py").read_text()
    missing = [part for part in ALLOWED if f"{part}/" not in doc]
    assert not missing, f"scripts/lmwtools/__init__.py's map lacks {missing}"


def wrapper_body(name: str) -> str:
    """A wrapper's text with its own name and module taken out."""
    text = (SCRIPTS / name).read_text()
    module = WRAPPERS[name]
    return text.replace(module, "MODULE").replace(module.replace(".", "/"), "MODULE").replace(
        f"scripts/{name}:", "scripts/NAME:")


def test_the_wrappers_differ_only_in_the_module_they_run() -> None:
    python_wrappers = sorted(p.name for p in SCRIPTS.iterdir()
                             if p.is_file() and p.read_text().startswith("#!/usr/bin/env python3"))
    assert python_wrappers == sorted(WRAPPERS)
    bodies = {name: wrapper_body(name) for name in WRAPPERS}
    assert len(set(bodies.values())) == 1, bodies
    for name, module in WRAPPERS.items():
        assert f'run_tool("lmwtools.{module}", __file__)' in (SCRIPTS / name).read_text()


def test_each_tool_opens_with_its_manual() -> None:
    """The module a wrapper runs opens with a docstring that names the command,
    shows how it is used (an indented example line) and says its exit statuses."""
    lacking: list[str] = []
    for name, module in sorted(WRAPPERS.items()):
        path = PACKAGE / (module.replace(".", "/") + ".py")
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if not doc.startswith(f"scripts/{name}"):
            lacking.append(f"{path.name} of {name}: the docstring does not open with the command")
        if not re.search(r"^    \S", doc, re.MULTILINE):
            lacking.append(f"{module}: no usage example")
        if not re.search(r"[Ee]xit\s+status", doc):
            lacking.append(f"{module}: the exit statuses are not said")
    assert not lacking, "\n".join(lacking)
