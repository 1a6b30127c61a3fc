"""The unprivileged build user bitbake needs (it refuses root), and a clean environment."""

from __future__ import annotations

import os
import pwd
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.host import run
from ..core.progress import say


@dataclass(frozen=True, slots=True)
class BuildUser:
    """Runs commands in a clean environment, as the build user when we are root
    (``name`` None: as ourselves)."""

    name: str | None
    home: Path
    path: str = "/usr/local/bin:/usr/bin:/bin"

    def argv(self, command: Sequence[str], env: dict[str, str]) -> list[str]:
        # env -i: no root PATH (pyenv), no stray BB_* or KAS_* from the caller.
        base = {"PATH": self.path, "HOME": str(self.home), "LANG": "en_US.UTF-8",
                "LC_ALL": "en_US.UTF-8", "SHELL": "/bin/bash", "USER": self.name or "",
                "TERM": "dumb", **env}
        clean = ["env", "-i", *(f"{k}={v}" for k, v in base.items()), *command]
        if self.name is None:
            return clean
        return ["runuser", "-u", self.name, "--", *clean]

    def give(self, paths: Sequence[Path]) -> None:
        """Make ``paths`` the build user's (not recursive: what the build
        user creates inside them is its own already)."""
        if self.name is None:
            return
        account = pwd.getpwnam(self.name)
        for path in paths:
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)


def build_user(name: str) -> str | None:
    """The user to run bitbake as: None if we are not root, else ``name`` (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        say(f"creating the unprivileged build user '{name}' (bitbake refuses root)")
        run(["useradd", "--create-home", "--shell", "/bin/bash", name])
    return name

