"""contrib/ci/: the hardware-in-the-loop CI templates name what this repository has.

They cannot run here (no farm, no kas build); what can rot is checked:
every repository path they name exists, the kas files they build are a
combination tests/yocto checks, and their `scripts/farm` command line is
one the real parser accepts. The reserve-then-run flow itself runs
against the loopback farm in tests/farm.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from lmwtools.farm.cli import make_parser

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO / "contrib" / "ci").glob("*.yml"))


def variables(template: dict[str, Any]) -> dict[str, str]:
    return {**template.get("variables", {}), **template.get("env", {})}


def commands(template: Any) -> list[str]:
    """Every shell line under a script/run key, anywhere in the template."""
    found: list[str] = []
    if isinstance(template, dict):
        for key, value in template.items():
            if key in ("script", "after_script", "run"):
                lines = value if isinstance(value, list) else str(value).splitlines()
                found += [str(line).strip() for line in lines if str(line).strip()]
            else:
                found += commands(value)
    elif isinstance(template, list):
        for item in template:
            found += commands(item)
    return found


def expand(text: str, names: dict[str, str]) -> str:
    text = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", r"${\1}", text)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: names.get(m.group(1), m.group(0)), text)


def test_there_are_templates_for_gitlab_and_github() -> None:
    assert {t.name for t in TEMPLATES} >= {"gitlab-ci.yml", "github-hil.yml"}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_names_existing_files_and_builds_a_checked_kas_combination(path: Path) -> None:
    template = yaml.safe_load(path.read_text())
    names = variables(template)
    for kas_file in names["KAS_FILES"].split(":"):
        assert (REPO / kas_file).is_file(), f"{path.name}: no {kas_file}"
    assert (REPO / names["BOARD_ENV"]).is_file()
    machine = names["MACHINE"]
    assert f"kas/machine/{machine}.yml" in names["KAS_FILES"]
    assert machine in (REPO / names["BOARD_ENV"]).read_text(), "env file is for another board"
    text = path.read_text()
    for named in set(re.findall(r"\b(?:requirements-[\w-]+\.txt|scripts/[\w-]+)", text)):
        assert (REPO / named).exists(), f"{path.name} names {named}, which does not exist"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_runs_the_suite_with_a_command_line_scripts_farm_accepts(path: Path) -> None:
    template = yaml.safe_load(path.read_text())
    names = variables(template)
    runs = [line for line in commands(template) if "scripts/farm test" in line]
    assert runs, f"{path.name} does not run scripts/farm test"
    for line in runs:
        argv = shlex.split(expand(line, names))
        args = make_parser().parse_args(argv[argv.index("scripts/farm") + 1:])
        assert args.verb == "test" and args.place == "+"
        assert (REPO / args.env).is_file()
    reserve = [line for line in commands(template) if "labgrid-client reserve" in line]
    assert reserve and all("--wait --shell" in line for line in reserve)


def test_the_buildroot_job_builds_a_defconfig_of_the_tree_at_its_release() -> None:
    """contrib/ci/buildroot/: the Buildroot release the tree pins, one of its
    defconfigs, an env file that exists, and the test helper enabled."""
    path = REPO / "contrib" / "ci" / "buildroot" / "gitlab-ci.yml"
    template = yaml.safe_load(path.read_text())
    names = variables(template)
    pinned = (REPO / "br2-external" / "buildroot.version").read_text().strip()
    assert names["BUILDROOT_VERSION"] == pinned
    assert (REPO / "br2-external" / "configs" / names["DEFCONFIG"]).is_file()
    assert (REPO / names["BOARD_ENV"]).is_file()
    lines = commands(template)
    assert any("BR2_PACKAGE_LMWTEST=y" in line for line in lines)
    assert any("--lg-env" in line and "tests/image" in line for line in lines)
    for named in set(re.findall(r"\b(?:requirements-[\w-]+\.txt|scripts/[\w-]+)",
                                path.read_text())):
        assert (REPO / named).exists(), named
