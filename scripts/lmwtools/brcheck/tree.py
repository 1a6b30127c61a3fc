"""The BR2_EXTERNAL tree: where it is, what it holds, which Buildroot it is checked against."""

from __future__ import annotations

import re
from pathlib import Path

from ..core.buildroot import TREE
from ..core.paths import LAYER

# The kernel fragment that lmw-module's LINUX_CONFIG_FIXUPS are read from.
KCONFIG_FRAGMENT = LAYER / "recipes-kernel" / "linux" / "linux-yocto" / "lmw.cfg"


def defconfigs() -> list[str]:
    """The tree's defconfig names, as `make <name>` takes them."""
    return sorted(p.name for p in (TREE / "configs").glob("*_defconfig"))


def packages() -> list[str]:
    """The tree's package names (package/<name>/<name>.mk)."""
    return sorted(p.parent.name for p in (TREE / "package").glob("*/*.mk")
                  if p.stem == p.parent.name)


def files() -> list[Path]:
    """Every file of the tree, for Buildroot's check-package."""
    return sorted(p for p in TREE.rglob("*") if p.is_file())


def fragment_options(fragment: Path = KCONFIG_FRAGMENT) -> dict[str, bool]:
    """CONFIG_X -> on (``CONFIG_X=y``) or off (``# CONFIG_X is not set``)."""
    options: dict[str, bool] = {}
    for line in fragment.read_text().splitlines():
        if match := re.fullmatch(r"(CONFIG_[A-Z0-9_]+)=y", line):
            options[match.group(1)] = True
        elif match := re.fullmatch(r"# (CONFIG_[A-Z0-9_]+) is not set", line):
            options[match.group(1)] = False
    return options


def config_lines(path: Path) -> list[str]:
    """A defconfig's settings, blank lines dropped (``# X is not set`` is a setting)."""
    return [line for line in path.read_text().splitlines() if line.strip()]
