"""Reading meta-lmw's recipes and conf files as bitbake would, for the plain forms the layer uses.

The bed (which services start, which modules load), oe-check (which
releases the layer claims) and the layer's tests read the layer's own
assignments rather than keep a second list in step with them. Only
``NAME = "value"`` and ``NAME += "value"`` are read, values on one line or
continued with a backslash; ``${PN}`` stands for the recipe's name.
"""

from __future__ import annotations

import re
from pathlib import Path

_ASSIGNMENT = re.compile(r'^(?P<name>[A-Za-z0-9_:${}-]+)\s*(?P<op>\+?=)\s*"(?P<value>.*)"\s*$')


def assignments(path: Path) -> dict[str, str]:
    """The simple assignments of one recipe (``${PN}`` stands for its name) or conf file."""
    pn = path.name.split("_", 1)[0].removesuffix(".bb")
    text = re.sub(r"\\\n", " ", path.read_text())
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if not match:
            continue
        name = match["name"].replace("${PN}", pn)
        value = " ".join(match["value"].split())
        found[name] = f"{found.get(name, '')} {value}".strip() if match["op"] == "+=" else value
    return found


def recipes(layer: Path) -> list[Path]:
    """The layer's recipes (BBFILES in its layer.conf)."""
    return sorted(layer.glob("recipes-*/*/*.bb"))
