"""kas dump and the kas JSON schema on every combination of kas files (no sources needed)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import UserError
from ..core.host import run
from .kas import FAILURE_TAIL_LINES, tail
from .matrix import INIT_MANAGERS, MACHINES, OPTIONAL_MACHINES, Config, matrix
from .sources import locked_commits

KAS_SKIP_CHECKOUT = ("--skip", "finish_setup_repos", "--skip", "repos_checkout")


def dump_configs(releases: Sequence[str]) -> list[Config]:
    return matrix(releases, [*MACHINES, *OPTIONAL_MACHINES], INIT_MANAGERS)


_SCHEMA_CHECK = """
import json, sys, yaml, jsonschema
from kas.configschema import CONFIGSCHEMA
for name in sys.argv[1:]:
    with open(name) as f:
        jsonschema.validate(yaml.safe_load(f), CONFIGSCHEMA)
print(json.dumps(sys.argv[1:]))
"""


def dump_check(repo: Path, kas: Path, releases: Sequence[str], work: Path) -> list[str]:
    """kas dump of every combination (all opt files too) and the schema on every file.

    kas dump normally clones the repos first; skipping its checkout steps
    keeps it offline, and the config it prints is still the merged one
    (lock overrides included). Returns the combinations checked.
    """
    kas_python = kas.parent / "python3"
    files = sorted(str(p.relative_to(repo)) for p in (repo / "kas").rglob("*.yml"))
    run([kas_python, "-c", _SCHEMA_CHECK, *files], cwd=repo)
    env = {**os.environ, "KAS_WORK_DIR": str(work), "KAS_BUILD_DIR": str(work / "build")}
    work.mkdir(parents=True, exist_ok=True)
    checked: list[str] = []
    # Each combination as a product build (no opt files) and as a test build.
    for config, options in itertools.product(dump_configs(releases), [(), ("offline", "test")]):
        arg = config.kas_arg(*options)
        proc = subprocess.run([str(kas), "dump", *KAS_SKIP_CHECKOUT, arg], cwd=repo, env=env,
                              text=True, capture_output=True, check=False)
        if proc.returncode != 0:
            raise UserError(f"kas dump {arg} failed:\n{tail(proc.stderr, FAILURE_TAIL_LINES)}")
        _check_dump(config, proc.stdout, locked_commits(repo, config.release))
        checked.append(arg)
    return checked


def _check_dump(config: Config, dumped: str, locks: dict[str, str]) -> None:
    # The dump is YAML; the few facts we need are plain lines.
    if f"machine: {config.machine}" not in dumped:
        raise UserError(f"kas dump of {config.name} does not set machine {config.machine}")
    if f'INIT_MANAGER = "{config.init}"' not in dumped:
        raise UserError(f"kas dump of {config.name} does not set INIT_MANAGER {config.init}")
    for name, commit in locks.items():
        if commit not in dumped:
            raise UserError(f"kas dump of {config.name}: the lock of {name} ({commit}) "
                            "is not applied (is the release file first?)")
