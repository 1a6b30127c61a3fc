"""A labgrid farm on loopback: coordinator, exporter and bed guests as boards.

What a farm runs on its servers, started here on 127.0.0.1 with the real
labgrid programs: ``labgrid-coordinator``, one ``labgrid-exporter`` whose
config exports each guest's console (NetworkSerialPort) and power switch
(NetworkPowerPort, served by farm/board.py), and one place per board,
made and tagged with ``labgrid-client`` as a farm admin would. The suite
then reaches a board only through the coordinator (RemotePlace), the code
path of a real farm.

``LoopbackFarm`` is a context manager: every process it started is ended
on the way out, by its PID, whether the block succeeded or raised.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from ..core.errors import UserError
from ..core.paths import SCRIPTS
from ..lab.places import Place, labgrid_tool

EXPORTER_NAME = "lmw-loopback"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass
class FarmBoard:
    """A board to export: a group name in the exporter and QEMU's command line."""

    name: str
    qemu_argv: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    serial_port: int = 0
    power_port: int = 0


def exporter_config(boards: list[FarmBoard], host: str = "127.0.0.1") -> str:
    """The exporter YAML: per board a group with its console and its power switch."""
    lines = []
    for board in boards:
        lines += [
            f"{board.name}:",
            "  location: loopback farm (lmwtools.farm.board)",
            "  NetworkSerialPort:",
            f"    host: {host}",
            f"    port: {board.serial_port}",
            "    protocol: raw",
            "  NetworkPowerPort:",
            "    model: simplerest",
            f"    host: 'http://{host}:{board.power_port}/relay/{{index}}/{{value}}'",
            "    index: 0",
        ]
    return "\n".join(lines) + "\n"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class LoopbackFarm:
    def __init__(self, workdir: Path, boards: list[FarmBoard],
                 more_exports: Path | None = None) -> None:
        """``more_exports``: an exporter config whose groups are exported too
        (real boards' configs: their USB resources show up as unavailable)."""
        self.workdir = workdir
        self.boards = boards
        self.more_exports = more_exports
        self.coordinator = ""
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    # -- processes ----------------------------------------------------------

    def _start(self, name: str, argv: list[str], *, pipe_stdout: bool = False,
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        process = subprocess.Popen(argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE if pipe_stdout else log, stderr=log,
                                   env=env)
        self.processes[name] = process
        return process

    def _check_alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            log = (self.workdir / f"{name}.log").read_text(errors="replace").strip()
            tail = "\n".join(log.splitlines()[-8:])
            raise UserError(f"{name} exited with status {process.returncode}:\n{tail}")

    def pids(self) -> list[int]:
        """Every process of the farm, QEMU guests included (children of the boards)."""
        pids = [p.pid for p in self.processes.values() if p.poll() is None]
        for name, process in self.processes.items():
            if name.startswith("board-") and process.poll() is None:
                pids += _children(process.pid)
        return pids

    def stop(self) -> None:
        """End every process, the last started first; SIGKILL what does not go."""
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()

    # -- the farm -----------------------------------------------------------

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.coordinator = f"127.0.0.1:{port}"
        self._start("coordinator", [labgrid_tool("labgrid-coordinator"),
                                    "--listen", self.coordinator])
        self._wait_for_port(port, "coordinator")
        for board in self.boards:
            self._start_board(board)
        config = self.workdir / "exporter.yaml"
        more = self.more_exports.read_text() if self.more_exports else ""
        config.write_text(exporter_config(self.boards) + more)
        self._start("exporter", [labgrid_tool("labgrid-exporter"), "-c", self.coordinator,
                                 "--name", EXPORTER_NAME, str(config)])
        self._wait_for_resources()
        for board in self.boards:
            self._make_place(board)

    def _wait_for_port(self, port: int, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive(name)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise UserError(f"{name} did not listen on port {port} within {START_TIMEOUT_S:.0f} s")

    def _start_board(self, board: FarmBoard) -> None:
        name = f"board-{board.name}"
        env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
        process = self._start(name, [sys.executable, "-m", "lmwtools.farm.board", "--",
                                     *board.qemu_argv], pipe_stdout=True, env=env)
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        line = process.stdout.readline().decode().split() if readable else []
        # "ready serial=N power=M"
        if line[:1] != ["ready"]:
            self._check_alive(name)
            raise UserError(f"{name} did not report ready: {' '.join(line)!r}")
        ports = dict(word.split("=", 1) for word in line[1:])
        board.serial_port, board.power_port = int(ports["serial"]), int(ports["power"])

    def groups(self) -> list[str]:
        """Every group the exporter publishes: the boards', then ``more_exports``'."""
        import yaml

        more = yaml.safe_load(self.more_exports.read_text()) if self.more_exports else {}
        return [board.name for board in self.boards] + list(more or {})

    def _wait_for_resources(self) -> None:
        """Until the coordinator lists every group (-vv: with unavailable resources)."""
        wanted = {f"{EXPORTER_NAME}/{group}" for group in self.groups()}
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive("exporter")
            done = subprocess.run([labgrid_tool("labgrid-client"), "-x", self.coordinator,
                                   "-vv", "resources"], capture_output=True, text=True,
                                  check=False)
            # "  Group 'rpi4-1' (lmw-loopback/rpi4-1/*):"
            published = {line.split("(")[1].removesuffix("/*):") for line in
                         done.stdout.splitlines() if line.strip().startswith("Group '")}
            if wanted <= published:
                return
            time.sleep(0.5)
        raise UserError(f"the exporter did not publish {sorted(wanted)} "
                        f"within {START_TIMEOUT_S:.0f} s")

    def _make_place(self, board: FarmBoard) -> None:
        place = self.place(board.name)
        place.client("create")
        place.client("add-match", f"{EXPORTER_NAME}/{board.name}/*")
        if board.tags:
            place.client("set-tags", *(f"{k}={v}" for k, v in board.tags.items()))

    def place(self, name: str) -> Place:
        return Place(name, self.coordinator)

    def __enter__(self) -> LoopbackFarm:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return children
