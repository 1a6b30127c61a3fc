"""The one user-facing error of the test bed, and the exit codes.

Exit codes of every bed command (kept in one place, as kas does):

- 0   success (for ``exec``: the guest command's own status otherwise)
- 1   internal error: a bug or an unexpected failure; a traceback is printed
- 2   user error: a bad argument, a missing host tool, an unknown kernel
- 130 interrupted (SIGINT)
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USER = 2
EXIT_INTERRUPTED = 130


class BedError(Exception):
    """Something the user can fix: the message says what and how.

    ``hint`` is an optional second line that names the command to run.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def run_command(program: str, body: Callable[[], int]) -> int:
    """Run a command's body; map what escapes it to the exit codes above."""
    try:
        return body()
    except BedError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - the one place that maps crashes to exit 1
        traceback.print_exc()
        return EXIT_INTERNAL
