"""A QEMU guest dressed as a farm board: a serial console on TCP, a power switch on HTTP.

A board in a labgrid farm is reached through two things its exporter
publishes: a serial console (ser2net turns the USB-serial adapter into a
TCP port: labgrid's NetworkSerialPort) and a network power switch
(NetworkPowerPort). This process gives a bed guest the same two, so the
loopback farm (farm/loopback.py) drives it through the code path a real farm
uses:

- the console: a TCP port that stays up whether the board is on or off,
  as a serial adapter does. Bytes go both ways between the one connected
  client and the guest's first serial port (a unix socket QEMU connects
  to at start, so nothing the guest prints early is lost). Output while
  no client is connected is dropped, as on a real line.
- the power switch: the HTTP protocol of labgrid's ``simplerest`` model.
  ``GET /relay/0/1`` starts QEMU, ``GET /relay/0/0`` kills it (power cut:
  no shutdown), ``GET /relay/0`` answers ``1`` or ``0``.

Started as ``python -m lmwtools.farm.board [options] -- QEMU ARGV…``, it
prints one line ``ready serial=PORT power=PORT`` once both listen, and
ends QEMU with itself (SIGTERM/SIGINT; PR_SET_PDEATHSIG if it is killed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1
# How long a powered-off QEMU gets to go before SIGKILL (SIGTERM is
# already abrupt for the guest: no shutdown runs).
QEMU_EXIT_TIMEOUT_S = 10.0
SERIAL_CHUNK = 4096


def _die_with_parent() -> None:
    """In QEMU's child: get SIGKILL when the board process dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Board:
    """One QEMU guest, its power state and its serial line."""

    def __init__(self, qemu_argv: Sequence[str], socket_dir: Path) -> None:
        self.qemu_argv = list(qemu_argv)
        self.serial_socket = socket_dir / "serial.sock"
        self.qemu: asyncio.subprocess.Process | None = None
        self.guest_writer: asyncio.StreamWriter | None = None
        self.client_writer: asyncio.StreamWriter | None = None
        self.power_lock = asyncio.Lock()

    @property
    def powered(self) -> bool:
        return self.qemu is not None and self.qemu.returncode is None

    def qemu_command(self) -> list[str]:
        # -serial replaces the console that -nographic would put on stdio;
        # the monitor stays off (QEMU's stdin is /dev/null).
        return [*self.qemu_argv,
                "-chardev", f"socket,id=boardserial,path={self.serial_socket}",
                "-serial", "chardev:boardserial", "-monitor", "none"]

    async def power_on(self) -> None:
        async with self.power_lock:
            if self.powered:
                return
            self.qemu = await asyncio.create_subprocess_exec(
                *self.qemu_command(), stdin=asyncio.subprocess.DEVNULL,
                stdout=sys.stderr, stderr=sys.stderr, preexec_fn=_die_with_parent)
            print(f"farmboard: power on (QEMU pid {self.qemu.pid})", file=sys.stderr, flush=True)

    async def power_off(self) -> None:
        async with self.power_lock:
            qemu, self.qemu = self.qemu, None
            if qemu is None or qemu.returncode is not None:
                return
            qemu.terminate()
            try:
                await asyncio.wait_for(qemu.wait(), QEMU_EXIT_TIMEOUT_S)
            except TimeoutError:
                qemu.kill()
                await qemu.wait()
            print("farmboard: power off", file=sys.stderr, flush=True)

    # -- serial line -------------------------------------------------------

    async def guest_connected(self, reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
        """QEMU's serial port: relay what the guest prints to the client."""
        self.guest_writer = writer
        try:
            await _relay(reader, lambda: self.client_writer)
        finally:
            if self.guest_writer is writer:
                self.guest_writer = None
            writer.close()

    async def client_connected(self, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        """The console's TCP client (labgrid's SerialDriver): one at a time, like ser2net."""
        if self.client_writer is not None and not self.client_writer.is_closing():
            writer.close()
            return
        self.client_writer = writer
        try:
            await _relay(reader, lambda: self.guest_writer)
        finally:
            if self.client_writer is writer:
                self.client_writer = None
            writer.close()

    # -- power switch (labgrid NetworkPowerPort, model simplerest) --------

    async def power_request(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        try:
            request = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()).strip():
                pass   # headers: nothing in them matters here
            status, body = await self.answer(request)
            payload = body.encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                         f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
                         .encode() + payload)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def answer(self, request: list[str]) -> tuple[str, str]:
        if len(request) < 2 or request[0] != "GET":
            return "405 Method Not Allowed", "GET only\n"
        parts = request[1].strip("/").split("/")
        if parts[:2] != ["relay", "0"] or len(parts) > 3:
            return "404 Not Found", "one relay: /relay/0[/0|/1]\n"
        if len(parts) == 3:
            if parts[2] not in ("0", "1"):
                return "400 Bad Request", "value is 0 or 1\n"
            await (self.power_on() if parts[2] == "1" else self.power_off())
        return "200 OK", "1" if self.powered else "0"


async def _relay(reader: asyncio.StreamReader,
                 other_end: Callable[[], asyncio.StreamWriter | None]) -> None:
    """Copy what ``reader`` receives to whatever ``other_end()`` is at that
    moment; with nobody there, the bytes are dropped, as on a serial line."""
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(SERIAL_CHUNK):
            peer = other_end()
            if peer is not None and not peer.is_closing():
                peer.write(data)
                with contextlib.suppress(ConnectionError):
                    await peer.drain()


async def serve(board: Board, host: str) -> None:
    guest_server = await asyncio.start_unix_server(board.guest_connected,
                                                   path=str(board.serial_socket))
    console = await asyncio.start_server(board.client_connected, host, 0)
    power = await asyncio.start_server(board.power_request, host, 0)
    serial_port = console.sockets[0].getsockname()[1]
    power_port = power.sockets[0].getsockname()[1]
    print(f"ready serial={serial_port} power={power_port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await board.power_off()
        for server in (console, power, guest_server):
            server.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="farmboard", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("qemu", nargs=argparse.REMAINDER, help="after --: QEMU's argv")
    args = parser.parse_args(argv)
    qemu = args.qemu[1:] if args.qemu[:1] == ["--"] else args.qemu
    if not qemu:
        parser.error("QEMU's command line is missing (after --)")
    with tempfile.TemporaryDirectory(prefix="lmw-farmboard-") as socket_dir:
        asyncio.run(serve(Board(qemu, Path(socket_dir)), args.host))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
