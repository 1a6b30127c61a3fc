"""The one user error of every tool, the exit codes, and the one place that maps them.

Exit codes of every command under scripts/ (kept in one place, as kas does):

- 0   success (``testbed exec``: the guest command's own status; ``run-tests``
      and ``farm test``: the tests' status)
- 1   internal error: a bug or an unexpected failure; a traceback is printed
- 2   user error: a bad argument, a missing host tool, an unknown kernel,
      a device or place that cannot be used
- 130 interrupted (SIGINT, and SIGTERM where a tool says so)
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from . import progress

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USER = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Something the user can fix: the message says what, the hint how.

    ``hint`` is an optional second line that names the command to run.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def run_command(program: str, body: Callable[[], int]) -> int:
    """Run a command's body as ``program`` (the prefix of its progress lines);
    map what escapes it to the exit codes above."""
    progress.set_program(program)
    try:
        return body()
    except UserError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        return EXIT_USER
    except ModuleNotFoundError as error:
        # A Python package of build/venv (labgrid, yaml, ...) imported by a
        # step that needs it, with another interpreter and no venv yet.
        if (error.name or "").startswith("lmwtools"):
            raise
        print(f"{program}: error: this step needs the Python package '{error.name}', "
              f"which {sys.executable} lacks\n  hint: make deps (it installs every tool "
              "into build/venv, which the scripts/ commands then use by themselves)",
              file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - the one place that maps crashes to exit 1
        traceback.print_exc()
        return EXIT_INTERNAL
