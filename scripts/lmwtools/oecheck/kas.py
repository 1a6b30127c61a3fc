"""Running kas as the build user: the work folders, the environment, logged steps."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from ..core.paths import OE_CHECK_WORK, REPO, VENV_PYTHON
from .builduser import BuildUser, build_user
from .sources import gitconfig_text

WORK_ENV = "LMW_OE_WORK"
KAS_ENV = "LMW_KAS"
USER_ENV = "LMW_BUILD_USER"
DEFAULT_USER = "lmwbuild"
DEFAULT_WORK = OE_CHECK_WORK
FAILURE_TAIL_LINES = 30

# The first lines of the shell scripts that run bitbake here, so that the
# bitbake runs of one configuration parse its recipes once (a parse of
# oe-core is minutes of two cores). bitbake names its parse cache by a
# hash of the configuration, and two things change that hash between runs
# of one unchanged configuration, so that the next run parses every
# recipe again (seen in three of four wrynose runs):
# - the order of Python sets, which the interpreter's random hash seed
#   changes from run to run. FIXED_HASH_SEED fixes it (bitbake.conf
#   exports the same to every task); every script has it.
# - bitbake's code parser cache: a module function parsed afresh keeps
#   some of its dependencies, and the same function read back from that
#   cache has lost them, so the first run in a new build dir and the next
#   one name different caches. With RESIDENT_SERVER, the server stays up
#   between the runs of a script and keeps the first parse in memory; it
#   leaves 30 s after the last run. For scripts whose runs keep one
#   configuration (a changed one is parsed again anyway).
FIXED_HASH_SEED = "export PYTHONHASHSEED=0"
RESIDENT_SERVER = "export BB_SERVER_TIMEOUT=30"


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class Settings:
    repo: Path
    work: Path
    kas: Path
    user: BuildUser

    def kas_work(self, release: str) -> Path:
        return self.work / release

    def build_dir(self, release: str) -> Path:
        return self.work / release / "build"

    @property
    def gitconfig(self) -> Path:
        return self.user.home / ".gitconfig"

    @property
    def logs(self) -> Path:
        return self.work / "logs"


def find_kas(explicit: str | None) -> Path:
    """kas from --kas, $LMW_KAS, next to this interpreter, build/venv, or PATH."""
    beside = Path(sys.executable).parent / "kas"
    project_venv = VENV_PYTHON.with_name("kas")
    candidates = [explicit, os.environ.get(KAS_ENV), str(beside), str(project_venv),
                  shutil.which("kas")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).absolute()
    raise UserError("kas not found",
                    hint=f"make deps (kas goes into build/venv), or --kas PATH (or ${KAS_ENV})")


def prepare(work: Path, kas: Path, user_name: str, *, repo: Path = REPO,
            snapshots: Path | None = None, releases: Sequence[str] = ()) -> Settings:
    """Create the work dir (owned by the build user) with the private git config."""
    user = build_user(user_name)
    work = work.absolute()
    home = work / "home"
    per_release = [work / release for release in releases]
    directories = [work, home, work / "tmp", work / "logs", *per_release]
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(repo=repo, work=work, kas=kas, user=BuildUser(name=user, home=home))
    if snapshots is not None:
        settings.gitconfig.write_text(gitconfig_text(repo, snapshots, releases))
    # logs/ is written by us (root); the build user only needs to read it.
    gitconfig = [settings.gitconfig] if settings.gitconfig.exists() else []
    settings.user.give([*directories, *gitconfig])
    _check_readable(settings, [repo / "meta-lmw" / "conf" / "layer.conf",
                               *([snapshots] if snapshots is not None else [])])
    _check_kas_runs(settings)
    return settings


def _check_readable(settings: Settings, paths: Sequence[Path]) -> None:
    # bitbake runs as the build user: a checkout under a directory that
    # others cannot enter (root's home) fails deep inside kas otherwise.
    if settings.user.name is None:
        return
    for path in paths:
        argv = settings.user.argv(["test", "-r", str(path)], {})
        if subprocess.run(argv, check=False).returncode != 0:
            raise UserError(f"the build user {settings.user.name} cannot read {path}",
                            hint="a parent directory is closed to other users: chmod o+x it, "
                                 "or work in a directory that others may enter")


def _check_kas_runs(settings: Settings) -> None:
    # A venv made from root's own python (pyenv under /root) cannot run as
    # the build user: say so now rather than in the middle of the matrix.
    argv = settings.user.argv([str(settings.kas), "--version"], {})
    proc = subprocess.run(argv, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        raise UserError(f"{settings.kas} does not run as {settings.user.name or 'this user'}: "
                        + tail(proc.stderr or proc.stdout, 3),
                        hint="make its venv from Debian's python: /usr/bin/python3 -m venv <dir>")


def kas_env(settings: Settings, release: str) -> dict[str, str]:
    return {
        "KAS_WORK_DIR": str(settings.kas_work(release)),
        "KAS_BUILD_DIR": str(settings.build_dir(release)),
        # kas runs git with its own HOME; it copies this file there.
        "GITCONFIG_FILE": str(settings.gitconfig),
        # The locked commit only, not the whole history (the snapshots are
        # partial clones: some old blobs are missing, so a full clone fails).
        "KAS_CLONE_DEPTH": "1",
        **scratch_env(settings),
    }


def scratch_env(settings: Settings) -> dict[str, str]:
    """Where kas makes its temporary HOME (/tmp may not be writable by the build user).

    Not TMPDIR: kas passes that through to bitbake, where it would replace
    bitbake's own TMPDIR (the build's tmp). Python's tempfile reads TMP too.
    """
    return {"TMP": str(settings.work / "tmp")}


@dataclass(frozen=True, slots=True)
class Step:
    output: str
    seconds: float


def run_logged(settings: Settings, argv: Sequence[str], env: dict[str, str],
               log_name: str) -> tuple[int, str, float]:
    """Run one command as the build user; keep its whole output in logs/<log_name>."""
    start = time.monotonic()
    proc = subprocess.run(settings.user.argv(argv, env), cwd=settings.repo, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    (settings.logs / log_name).write_text(proc.stdout)
    return proc.returncode, proc.stdout, time.monotonic() - start


def run_step(settings: Settings, argv: Sequence[str], env: dict[str, str],
             log_name: str) -> Step:
    returncode, output, seconds = run_logged(settings, argv, env, log_name)
    if returncode != 0:
        raise UserError(f"{shlex.join(argv)} failed (exit {returncode}, {seconds:.0f} s; "
                        f"full log: {settings.logs / log_name}):\n"
                        + tail(output, FAILURE_TAIL_LINES))
    return Step(output, seconds)
