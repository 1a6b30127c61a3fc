"""What OE's packaging classes do with meta-lmw's recipes at rootfs time, for the bed.

The recipes say how their services start and which modules load at boot
(INITSCRIPT_NAME/INITSCRIPT_PARAMS for update-rc.d.bbclass,
KERNEL_MODULE_AUTOLOAD for kernel-module-split.bbclass). The bed reads
those same assignments, so the guests start things the way a Yocto image
built from the layer does, with no second list to keep in step.

The assignments are read by core.layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from ..core.layer import assignments, recipes


@dataclass(frozen=True, slots=True)
class InitScript:
    name: str
    links: tuple[tuple[str, int], ...]   # (runlevel, start sequence number)


def start_links(params: str) -> tuple[tuple[str, int], ...]:
    """update-rc.d's start links for INITSCRIPT_PARAMS (the start half only).

    ``defaults NN`` starts in 2 3 4 5; ``start NN L... .`` in the levels listed.
    """
    words = params.split()
    if words[:1] == ["defaults"]:
        number = int(words[1]) if len(words) > 1 else 20
        return tuple((level, number) for level in ("2", "3", "4", "5"))
    links: list[tuple[str, int]] = []
    while len(words) >= 2:
        action, sequence, *rest = words
        levels = rest[:rest.index(".")] if "." in rest else rest
        if action == "start":
            links += [(level, int(sequence)) for level in levels]
        words = rest[len(levels) + 1:]
    return tuple(links)


def init_scripts(layer: Path) -> list[InitScript]:
    """Every init script a recipe registers with update-rc.d.bbclass."""
    scripts: list[InitScript] = []
    for recipe in recipes(layer):
        variables = assignments(recipe)
        name = variables.get("INITSCRIPT_NAME")
        if not name:
            continue
        params = variables.get("INITSCRIPT_PARAMS")
        if not params:
            raise UserError(f"{recipe}: INITSCRIPT_NAME without INITSCRIPT_PARAMS")
        scripts.append(InitScript(name=name, links=start_links(params)))
    return scripts


def autoload_modules(layer: Path) -> list[str]:
    """The modules the layer's recipes load at boot (KERNEL_MODULE_AUTOLOAD)."""
    return [module for recipe in recipes(layer)
            for module in assignments(recipe).get("KERNEL_MODULE_AUTOLOAD", "").split()]


def modules_load_dir(init_manager: str) -> str:
    """kernel-module-split.bbclass's modulesloaddir for the init manager."""
    return "usr/lib/modules-load.d" if init_manager == "systemd" else "etc/modules-load.d"
