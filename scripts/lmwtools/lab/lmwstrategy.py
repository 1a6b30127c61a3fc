"""LmwStrategy: one labgrid strategy for every meta-lmw target.

The suite asks for ``strategy.transition("shell")`` and nothing else, so
the same tests run on a QEMU guest, a board on the desk and a place in a
farm; what differs lives here and in the env file's drivers.

States, each reached from any other::

    off      console detached, power off
    flashed  off, then the image written to the board's boot medium:
               USB-SD-Mux or SDWire bound: switch the card to the host,
                 write, switch it to the board;
               U-Boot bound (eMMC over UMS): power on, stop U-Boot, run
                 ``ums`` so the eMMC shows up as USB storage, write,
                 Ctrl-C, power off;
               no storage driver (QEMU, loopback farm): nothing to write.
    shell    flashed once per session, then console, power on, root
             login; on systemd, wait until start-up has finished. A
             boot that shows no login prompt within the ShellDriver's
             login_timeout, or whose shell then stops answering or whose
             start-up does not finish within it, is tried again, powered
             off and on, up to ``boot_attempts`` boots in all (1 unless
             the env file says); each hung boot's last console lines go
             into the warning (a retry) or the error (the last boot).

Writing uses labgrid's USBStorageDriver in bmaptool mode: it copies the
image to the exporter and runs bmaptool there, with ``<image>.bmap``
when one lies beside the image. A board that already carries the image
skips the write: ``pytest --lg-initial-state flashed``.

Registered with labgrid by the env files in tests/env/:
``imports: [../../scripts/lmwtools/lab/lmwstrategy.py]``.
"""

from __future__ import annotations

import enum
import warnings
from typing import Any, ClassVar

import attr
from labgrid.driver.usbstoragedriver import Mode
from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.strategy import Strategy, StrategyError, never_retry
from pexpect import EOF, TIMEOUT

CTRL_C = b"\x03"
# eMMC via U-Boot's UMS gadget: the medium appears on the exporter a few
# seconds after the command; give slow USB enumeration room.
UMS_APPEAR_TIMEOUT_S = 60.0
# How much of a hung boot's console a warning or an error quotes.
CONSOLE_TAIL_LINES = 25


class Status(enum.Enum):
    unknown = 0
    off = 1
    flashed = 2
    shell = 3


def _known(status: Status | str) -> Status:
    """A state to go to or to force: any but unknown."""
    try:
        state = status if isinstance(status, Status) else Status[status]
    except KeyError:
        raise StrategyError(f"no state {status!r}: one of off, flashed, shell") from None
    if state == Status.unknown:
        raise StrategyError("a target cannot be sent to or forced into the unknown state")
    return state


@attr.s(eq=False)
class LmwStrategy(Strategy):  # type: ignore[misc]
    """off → flashed → shell, for QEMU, boards on the desk and farm places."""

    bindings: ClassVar[dict[str, object]] = {
        "power": "PowerProtocol",
        "console": "ConsoleProtocol",
        "shell": "ShellDriver",
        "storage": {"USBStorageDriver", None},
        # the SD card's switch: a USB-SD-Mux, or an SDWire (either generation)
        "sdmux": {"USBSDMuxDriver", "USBSDWireDriver", "USBSDWire3Driver", None},
        "uboot": {"UBootDriver", None},
    }

    status: Status = attr.ib(default=Status.unknown)
    # U-Boot command that exposes the boot medium over USB (board flashed via UMS)
    ums_command: str = attr.ib(default="ums 0 mmc 0", validator=attr.validators.instance_of(str))
    # Boots to try before a missing login prompt fails. A board's boot
    # that hangs is a finding: 1. The bed's QEMU env files say 2: a TCG
    # guest's boot hung once in a cold run (riscv64, at 120 s, where it
    # takes 10 s on an idle host and 30 s beside four busy threads), and
    # booting again costs seconds; the hung boot's console stays in the
    # warning, so it is seen, not hidden.
    boot_attempts: int = attr.ib(default=1, validator=[attr.validators.instance_of(int),
                                                       attr.validators.ge(1)])

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.written = False

    @never_retry  # type: ignore[untyped-decorator]
    @step(args=["status"])  # type: ignore[untyped-decorator]
    def transition(self, status: Status | str, *, step: Any) -> None:
        status = _known(status)
        if status == self.status:
            step.skip("nothing to do")
            return
        if status == Status.off:
            self._power_off()
        elif status == Status.flashed:
            self._power_off()
            self._write_image(step)
        elif status == Status.shell:
            if not self.written:
                self.transition(Status.flashed)
            self._boot_to_shell()
        self.status = status

    @never_retry  # type: ignore[untyped-decorator]
    @step(args=["status"])  # type: ignore[untyped-decorator]
    def force(self, status: Status | str, *, step: Any) -> None:
        """Take the target as being in ``status`` already (``--lg-initial-state``)."""
        status = _known(status)
        self.target.activate(self.power)
        if status == Status.shell:
            self.target.activate(self.console)
            self.target.activate(self.shell)
        self.written = status in (Status.flashed, Status.shell)
        self.status = status

    @never_retry  # type: ignore[untyped-decorator]
    @step(args=["filename"])  # type: ignore[untyped-decorator]
    def flash(self, filename: str | None = None, *, step: Any) -> None:
        """Power off and write ``filename`` (default: the env file's image) to the
        board's medium; ``scripts/flash --place`` uses this."""
        if self.storage is None:
            raise StrategyError("this target has no storage driver (USBStorageDriver): "
                                "nothing here can write its boot medium")
        self._power_off()
        self._write_image(step, filename)
        self.status = Status.flashed

    def _power_off(self) -> None:
        if self.uboot is not None:
            self.target.deactivate(self.uboot)
        self.target.deactivate(self.shell)
        self.target.deactivate(self.console)
        self.target.activate(self.power)
        self.power.off()

    def _boot_to_shell(self) -> None:
        for attempt in range(1, self.boot_attempts + 1):
            self._power_off()
            self.target.activate(self.console)
            self.target.activate(self.power)
            self.power.on()
            logged_in = False
            try:
                self.target.activate(self.shell)
                logged_in = True
                # systemd: start-up goes on after the login prompt; a test
                # that starts before it has finished races the boot's units
                # (busybox init: no systemctl, the command fails at once)
                self.shell.run("systemctl is-system-running --wait",
                               timeout=float(self.shell.login_timeout))
                return
            except (TIMEOUT, EOF) as error:
                # EOF: QEMU or the serial server went away mid-boot
                hung = ("logged in, then its shell stopped answering or its start-up did "
                        "not finish" if logged_in else "showed no login prompt")
                what = (f"boot {attempt} of {self.boot_attempts} {hung} within "
                        f"{self.shell.login_timeout} s; its console ended with:\n"
                        f"{self._console_tail()}")
                if attempt == self.boot_attempts:
                    raise StrategyError(what) from error
                warnings.warn(f"{what}\npowered off, booting again", stacklevel=2)
                self._forget_console()

    def _forget_console(self) -> None:
        """Drop what the hung boot left unmatched: the next boot's login must
        not match a prompt that the last one printed."""
        expect = getattr(self.console, "_expect", None)
        if expect is not None:
            expect.buffer = b""

    def _console_tail(self) -> str:
        """The last lines that the console received and no pattern matched."""
        # labgrid's console drivers keep them in their pexpect spawn, which
        # has no public accessor: read it if it is there.
        unmatched = getattr(getattr(self.console, "_expect", None), "before", None)
        if not isinstance(unmatched, bytes):
            return "(the console driver keeps no unmatched output)"
        # without the blank lines: the shell driver's newlines, echoed
        lines = [line.rstrip() for line in unmatched.decode(errors="replace").splitlines()]
        shown = [line for line in lines if line][-CONSOLE_TAIL_LINES:]
        return "\n".join(f"| {line}" for line in shown) or "(nothing)"

    def _write_image(self, step: Any, filename: str | None = None) -> None:
        if self.storage is None:
            step.skip("no storage driver: the target boots what it has")
        elif self.sdmux is not None:
            self.target.activate(self.sdmux)
            self.sdmux.set_mode("host")
            self.target.activate(self.storage)
            self.storage.write_image(filename, mode=Mode.BMAPTOOL)
            self.target.deactivate(self.storage)
            self.sdmux.set_mode("dut")
        elif self.uboot is not None:
            self._write_over_ums(filename)
        else:
            raise StrategyError("a storage driver needs a USBSDMuxDriver, USBSDWireDriver or "
                                "UBootDriver to reach the board's medium")
        self.written = True

    def _write_over_ums(self, filename: str | None) -> None:
        self.target.activate(self.console)
        self.power.on()
        self.target.activate(self.uboot)        # interrupts autoboot, waits for the prompt
        self.uboot.console.sendline(self.ums_command)   # runs until Ctrl-C: no run()
        self.target.await_resources([self.storage.storage], timeout=UMS_APPEAR_TIMEOUT_S)
        self.target.activate(self.storage)
        self.storage.write_image(filename, mode=Mode.BMAPTOOL)
        self.target.deactivate(self.storage)
        self.uboot.console.write(CTRL_C)
        self._power_off()


# labgrid executes this file again for every env file that imports it, and
# a process may load several (tests/farm does): register the class once.
if "LmwStrategy" not in target_factory.all_classes:
    target_factory.reg_driver(LmwStrategy)
