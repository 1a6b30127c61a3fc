"""The yocto-check-layer rules that hold without bitbake, checked on meta-lmw's files.

yocto-check-layer itself needs bitbake and openembedded-core
(scripts/oe-check runs it where those exist); these are the rules it
applies that can be read off the files, so CI catches them everywhere.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from lmwtools.core.layer import assignments

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "meta-lmw"
RECIPES = sorted(LAYER.glob("recipes-*/*/*.bb"))
BBAPPENDS = sorted(LAYER.rglob("*.bbappend"))
CLAIMED_RELEASES = {"scarthgap", "wrynose"}

# a bbappend may only pull its content in through the distro feature gate
GATE = re.compile(r"^require \$\{@bb\.utils\.contains\('DISTRO_FEATURES', 'lmw', "
                  r"'[^']+\.inc', '', d\)\}$")
UPSTREAM_STATUS = re.compile(r"^Upstream-Status: (Pending|Submitted|Accepted|Backport|Denied"
                             r"|Inactive-Upstream|Inappropriate)", re.MULTILINE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def logical_lines(path: Path) -> list[str]:
    """Non-comment lines, backslash continuations joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def variable(path: Path, name: str) -> str:
    """One variable as the bed reads it (packaging.assignments)."""
    return assignments(path).get(name, "")


def test_the_layer_readme_names_a_maintainer_patches_and_an_address() -> None:
    readmes = sorted(LAYER.glob("README*"), key=lambda p: len(p.name))
    assert readmes, "yocto-check-layer wants a README in the layer folder"
    text = readmes[0].read_text()
    assert text.strip()
    # the word "README" makes yocto-check-layer skip the content checks
    assert "readme" not in text.lower(), "it would count as a pointer to another README"
    assert "maintainer" in text.lower()
    assert "patch" in text.lower()
    assert EMAIL.search(text)


def test_a_security_policy_exists() -> None:
    policies = [*REPO.glob("SECURITY*"), *LAYER.glob("SECURITY*")]
    assert any(p.read_text().strip() for p in policies)


def test_it_stays_a_software_layer() -> None:
    # a conf/distro/*.conf makes it a distro layer, conf/machine/*.conf a BSP
    assert not list(LAYER.glob("conf/distro/*.conf"))
    assert not list(LAYER.glob("conf/machine/*.conf"))


def test_layer_conf_claims_both_lts_releases() -> None:
    conf = LAYER / "conf/layer.conf"
    assert variable(conf, "BBFILE_COLLECTIONS") == "lmw"
    assert set(variable(conf, "LAYERSERIES_COMPAT_lmw").split()) == CLAIMED_RELEASES
    assert variable(conf, "LAYERDEPENDS_lmw") == "core"


def test_layer_conf_changes_no_global_build_setting() -> None:
    """Only the layer's own bookkeeping, and an event-only class: nothing a task reads."""
    allowed = re.compile(r"^(BBPATH|BBFILES|BBFILES_DYNAMIC|BBFILE_COLLECTIONS|"
                         r"BBFILE_PATTERN_lmw|BBFILE_PRIORITY_lmw|LAYERVERSION_lmw|"
                         r"LAYERDEPENDS_lmw|LAYERSERIES_COMPAT_lmw|LMW_LAYERDIR|"
                         r"INHERIT)\s")
    for line in logical_lines(LAYER / "conf/layer.conf"):
        assert allowed.match(line), f"layer.conf sets a global: {line}"
    inherited = variable(LAYER / "conf/layer.conf", "INHERIT").split()
    assert inherited, "layer.conf inherits no sanity class"
    for name in inherited:
        body = logical_lines(LAYER / "classes-global" / f"{name}.bbclass")
        assert any(line.startswith("addhandler ") for line in body)
        assert not [line for line in body if line.startswith(("addtask", "do_", "INHERIT"))]


@pytest.mark.parametrize("bbappend", BBAPPENDS, ids=lambda p: p.name)
def test_every_bbappend_is_gated_on_the_distro_feature(bbappend: Path) -> None:
    lines = logical_lines(bbappend)
    assert lines
    for line in lines:
        assert GATE.match(line), f"{bbappend.name}: ungated line: {line}"


def test_every_patch_says_its_upstream_status() -> None:
    for patch in LAYER.rglob("*.patch"):
        assert UPSTREAM_STATUS.search(patch.read_text()), patch


def src_uri_files(recipe: Path) -> list[str]:
    return [entry.removeprefix("file://").split(";")[0]
            for entry in variable(recipe, "SRC_URI").split() if entry.startswith("file://")]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_src_uri_and_the_files_folder_agree(recipe: Path) -> None:
    """Every file:// exists, and nothing in files/ is left out of SRC_URI."""
    files = recipe.parent / "files"
    named = src_uri_files(recipe)
    for name in named:
        assert (files / name).exists(), f"{recipe.name}: file://{name} is missing"
    if files.is_dir():
        present = {p.name for p in files.iterdir() if p.name != "__pycache__"}
        assert present == set(named), f"{recipe.name}: not in SRC_URI: {present - set(named)}"


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_lic_files_chksum_matches(recipe: Path) -> None:
    """What do_populate_lic checks: the md5 of the named lines of each license file."""
    for entry in variable(recipe, "LIC_FILES_CHKSUM").split():
        path, *params = entry.removeprefix("file://").split(";")
        fields = dict(p.split("=", 1) for p in params)
        if path.startswith("${COMMON_LICENSE_DIR}"):
            continue
        lines = (recipe.parent / "files" / path).read_bytes().splitlines(keepends=True)
        begin = int(fields.get("beginline", 1))
        end = int(fields.get("endline", len(lines)))
        digest = hashlib.md5(b"".join(lines[begin - 1:end])).hexdigest()
        assert digest == fields["md5"], f"{recipe.name}: {path} lines {begin}-{end}"


def test_machine_specific_packagegroup_for_a_kernel_module() -> None:
    group = LAYER / "recipes-core/packagegroups/packagegroup-lmw.bb"
    lines = logical_lines(group)
    arch = lines.index('PACKAGE_ARCH = "${MACHINE_ARCH}"')
    inherit = next(i for i, line in enumerate(lines) if line.startswith("inherit "))
    assert arch < inherit, "PACKAGE_ARCH must be set before inherit packagegroup"
    assert "kernel-module-lmw" in variable(group, "RDEPENDS:packagegroup-lmw").split()
