"""The checks, each a function returning what it found (the CLI and tests/buildroot report it).

- check-package: Buildroot's own style checker over every file of the tree;
- load: ``make <defconfig>`` keeps every line of the defconfig (kconfig
  silently drops a symbol whose dependencies are not met: our packages
  would vanish from the image without a word);
- round trip: ``savedefconfig`` writes the defconfig back unchanged;
- show-info: our packages, their versions, licences and dependencies;
- printvars: the kernel config fixups, from the layer's fragment.
"""

from __future__ import annotations

import difflib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.buildroot import TREE, Buildroot, make_ok, parse_printvars
from ..core.errors import UserError
from ..core.paths import REPO, VENV_PYTHON
from . import tree


def check_package(buildroot: Buildroot) -> list[str]:
    """check-package's warnings over the whole tree (empty: clean)."""
    checker = buildroot.source / "utils" / "check-package"
    files = [str(p.relative_to(REPO)) for p in tree.files()]
    # check-package imports magic and flake8: the venv has both (make deps).
    proc = subprocess.run([str(VENV_PYTHON), str(checker), "-b", *files], cwd=REPO,
                          text=True, capture_output=True, check=False)
    if proc.returncode not in (0, 1) or "lines processed" not in proc.stderr + proc.stdout:
        raise UserError(f"check-package did not run (exit {proc.returncode}): "
                        f"{(proc.stderr or proc.stdout).strip()[-800:]}", hint="make deps")
    return [line for line in proc.stdout.splitlines() if line.strip()]


@dataclass(frozen=True, slots=True)
class Loaded:
    defconfig: str
    output: Path
    dropped: list[str]         # defconfig lines missing from the .config
    round_trip: list[str]      # a unified diff, defconfig -> savedefconfig

    @property
    def ok(self) -> bool:
        return not self.dropped and not self.round_trip


def load(buildroot: Buildroot, defconfig: str) -> Loaded:
    """Configure ``defconfig`` in its own output dir; compare .config and savedefconfig."""
    output = buildroot.output(defconfig)
    make_ok(buildroot, output, [defconfig])
    config = set((output / ".config").read_text().splitlines())
    wanted = tree.config_lines(TREE / "configs" / defconfig)
    dropped = [line for line in wanted if line not in config]
    saved = output / "saved_defconfig"
    make_ok(buildroot, output, ["savedefconfig"], {"BR2_DEFCONFIG": str(saved)})
    diff = list(difflib.unified_diff(wanted, tree.config_lines(saved), defconfig,
                                     "savedefconfig", lineterm=""))
    return Loaded(defconfig, output, dropped, diff)


@dataclass(frozen=True, slots=True)
class Inspected:
    info: dict[str, Any]       # make show-info: package name -> its record
    variables: dict[str, str]  # make printvars: name -> value (multi-line kept)


def inspect(buildroot: Buildroot, output: Path, names: list[str]) -> Inspected:
    """``make show-info printvars VARS=...`` of a configured output dir, in one make run
    (each run reads every package's .mk: about 10 s)."""
    text = make_ok(buildroot, output, ["show-info", "printvars"], {"VARS": " ".join(names)})
    start = text.find("{")
    if start < 0:
        raise UserError(f"make show-info printed no JSON in {output}: {text[-400:]}")
    info, end = json.JSONDecoder().raw_decode(text, start)
    return Inspected(info, parse_printvars(text[end:], names))


def fixups_missing(fixups: str, options: dict[str, bool]) -> list[str]:
    """The fragment's options that the printed LINUX_CONFIG_FIXUPS do not set as asked."""
    missing = []
    for option, on in options.items():
        wanted = f"'{option}=y'" if on else f"'# {option} is not set'"
        if wanted not in fixups:
            missing.append(f"{option}={'y' if on else 'n'}")
    return missing
