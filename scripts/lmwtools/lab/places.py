"""Places in a labgrid farm: find one, lock it around a job (a test run, a flash).

A farm is a labgrid coordinator (gRPC, labgrid 25 and later) that
exporters report their boards' resources to; a *place* names one board's
resources, and whoever holds its lock owns the board. The pytest plugin
does not lock: a run against a place must lock it first and unlock it
after, whatever happens in between (``locked``). Everything goes through
``labgrid-client``, the interface farm users type too, so a message
from here can name the command that fixes it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError

DEFAULT_COORDINATOR = "127.0.0.1:20408"   # labgrid's own default
CLIENT_TIMEOUT_S = 60


def labgrid_tool(name: str) -> str:
    """A labgrid command next to this interpreter (build/venv), else from PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def coordinator_address(explicit: str | None = None) -> str:
    return explicit or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR


def identity() -> str:
    """host/user, as the coordinator records who holds a place (LG_HOSTNAME, LG_USERNAME)."""
    import getpass
    import socket

    host = os.environ.get("LG_HOSTNAME", socket.gethostname())
    return f"{host}/{os.environ.get('LG_USERNAME', getpass.getuser())}"


@dataclass(frozen=True, slots=True)
class PlaceState:
    exists: bool
    acquired_by: str | None = None   # host/user, None when free


class Place:
    """One place on one coordinator, handled through labgrid-client."""

    def __init__(self, name: str, coordinator: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        if not name or name.startswith("-"):
            raise UserError(f"not a place name: {name!r}", hint="labgrid-client places")
        self.name = name
        self.coordinator = coordinator_address(coordinator)
        self.env = {**os.environ, **(env or {})}

    def client(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``labgrid-client -x COORDINATOR -p PLACE ARGS``; UserError if it fails and check."""
        argv = [labgrid_tool("labgrid-client"), "-x", self.coordinator, "-p", self.name, *args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=self.env,
                                  timeout=CLIENT_TIMEOUT_S, check=False)
        except FileNotFoundError:
            raise UserError("labgrid-client is not installed",
                            hint="make deps (installs labgrid into build/venv)") from None
        except subprocess.TimeoutExpired:
            raise UserError(f"coordinator {self.coordinator} did not answer within "
                            f"{CLIENT_TIMEOUT_S} s") from None
        if "Could not connect to coordinator" in done.stderr + done.stdout:
            raise UserError(f"no labgrid coordinator answers at {self.coordinator}",
                            hint="start one (labgrid-coordinator), or name it: "
                                "--coordinator HOST:PORT or LG_COORDINATOR")
        if check and done.returncode != 0:
            raise UserError(f"labgrid-client {' '.join(args)} on place {self.name}: "
                            f"{_last_error(done)}")
        return done

    def state(self) -> PlaceState:
        done = self.client("show", check=False)
        if done.returncode != 0:
            if "matches nothing" in done.stderr:
                return PlaceState(exists=False)
            raise UserError(f"cannot read place {self.name}: {_last_error(done)}")
        for line in done.stdout.splitlines():
            key, _, value = line.strip().partition(": ")
            if key == "acquired":
                return PlaceState(exists=True,
                                  acquired_by=None if value in ("", "None") else value)
        raise UserError(f"labgrid-client show {self.name} printed no 'acquired:' line")

    def check_free(self) -> None:
        """UserError naming the fix when the place is missing or held by someone else."""
        state = self.state()
        if not state.exists:
            raise UserError(f"place {self.name} does not exist on coordinator {self.coordinator}",
                            hint="labgrid-client places lists them (docs/boards-and-farms.md)")
        if state.acquired_by is not None and state.acquired_by != identity():
            raise UserError(f"place {self.name} is taken: locked by {state.acquired_by}",
                            hint="try again later, or queue for any free board with a tag: "
                                 "labgrid-client reserve --wait board=<board> "
                                 "(docs/boards-and-farms.md)")

    def lock(self) -> None:
        self.check_free()
        done = self.client("lock", check=False)
        if done.returncode != 0:
            self.check_free()   # taken between the two calls: say by whom
            raise UserError(f"cannot lock place {self.name}: {_last_error(done)}")

    def unlock(self) -> None:
        self.client("unlock")

    def reservation_token(self) -> str | None:
        """The reservation this place name stands for: "+" (LG_TOKEN) or "+TOKEN"."""
        if not self.name.startswith("+"):
            return None
        return self.name[1:] or self.env.get("LG_TOKEN") or None

    def end_reservation(self) -> None:
        """Give a reserved board back at once, for the next job in the queue
        (a reservation otherwise holds the board until it expires)."""
        token = self.reservation_token()
        if token is not None:
            self.client("cancel-reservation", token)


def _last_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    text = lines[-1] if lines else f"exit status {done.returncode}"
    return text.removeprefix("labgrid-client: ").removeprefix("Error: ")


@contextmanager
def locked(place: Place) -> Iterator[Place]:
    """Hold ``place`` for the block; unlock (and end its reservation, if it
    was reserved) however the block ends."""
    place.lock()
    try:
        yield place
    finally:
        try:
            place.unlock()
        finally:
            place.end_reservation()
