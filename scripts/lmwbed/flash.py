"""scripts/flash: write a Yocto image to a local block device, then read it back.

(``--place``, a board in a labgrid farm: lmwbed.flashplace.)

The write is ``bmaptool copy`` (Debian's bmap-tools): it decompresses the
image, writes only the blocks its bmap lists (the whole image without one)
and checks what it reads against the bmap's checksums. Before it the device
is checked (exists, a whole disk, not mounted, large enough, writable);
after it the data is read back from the device, past the page cache, and
compared with the bmap's checksums or, without a bmap, with the image.

Exit codes: see errors.py (0 ok, 1 internal, 2 user error, 130 interrupted).
"""

from __future__ import annotations

import argparse
import bz2
import collections
import errno
import fcntl
import gzip
import lzma
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from .bmap import Bmap, candidates, find_bmap, parse_bmap, verify_ranges
from .errors import EXIT_OK, BedError, run_command
from .farm import Place
from .flashplace import flash_place

PROGRAM = "flash"
# suffix -> (the program bmaptool runs to unpack it, its Debian package)
COMPRESSIONS: dict[str, tuple[str, str]] = {
    ".gz": ("gzip", "gzip"),
    ".bz2": ("bzip2", "bzip2"),
    ".xz": ("xz", "xz-utils"),
    ".zst": ("zstd", "zstd"),
}
# Packers bmaptool knows but this tool does not read back (nor does Yocto build wic.lz4 &c.
# for SD cards); named so that X.wic.lz4 is called a compression, not an image type.
OTHER_COMPRESSIONS = (".lz4", ".lzo", ".lzma", ".lz", ".zip", ".7z", ".Z", ".zstd")
# What may be written raw to a disk: wic disk images and filesystem images.
# Anything else (.tar, .vmdk, .qcow2, .manifest) is a mistake worth a stop.
RAW_SUFFIXES = (".wic", ".img", ".raw", ".iso", ".hddimg", ".sdimg", ".rpi-sdimg",
                ".ext2", ".ext3", ".ext4", ".btrfs", ".vfat", ".squashfs")
DEPLOY_HINT = "a kas build leaves its images in build/tmp/deploy/images/<machine>/"
DISK_GROUP_HINT = ("run as root (sudo scripts/flash ...), or add your user to the 'disk' "
                   "group: sudo usermod -aG disk $USER, then log in again")
LSBLK_HINT = "list the disks with: lsblk -d -o NAME,SIZE,MODEL,TRAN"
BAD_CARD_HINT = ("write it again; if it fails again, the card is failing or smaller than it "
                 "claims: use another card")
MISMATCH_HINT = ("the image and its bmap do not belong together, or the image is damaged: "
                 "build or fetch both again")
BLKFLSBUF = 0x1261        # <linux/fs.h> _IO(0x12, 97): drop a block device's buffers
SECTOR = 512              # the unit of /sys/class/block/*/size and */stat
CHUNK = 4 * 1024 * 1024
MiB = 1024 * 1024
# bmaptool 3.6 prints "bmaptool: info: 42% copied" on a terminal; otherwise nothing.
_PERCENT_LINE = re.compile(r"^bmaptool: info: (\d+)% copied$")
_SPINNER_LINE = re.compile(r"^[-\\|/]$")
_ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


def say(message: str) -> None:
    print(f"{PROGRAM}: {message}", file=sys.stderr, flush=True)


def human(size: int) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", MiB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class Reporter:
    """Progress lines for CI logs and terminals alike: every 10 %, or every 5 s
    when the total is unknown."""

    def __init__(self, verb: str, total: int | None) -> None:
        self.verb = verb
        self.total = total
        self.last_step = 0          # tens of percent already reported
        self.last_time = time.monotonic()

    def percent(self, value: int) -> None:
        if value // 10 > self.last_step:
            self.last_step = value // 10
            say(f"{value}% {self.verb}")

    def bytes_done(self, done: int) -> None:
        if self.total:
            self.percent(min(100, done * 100 // self.total))
        elif time.monotonic() - self.last_time >= 5:
            self.last_time = time.monotonic()
            say(f"{human(done)} {self.verb}")


# -- the image --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Image:
    path: Path
    compression: str | None     # a key of COMPRESSIONS, None when raw

    @property
    def raw_size(self) -> int | None:
        """The size written without a bmap, when it is known without unpacking."""
        return None if self.compression else self.path.stat().st_size


def check_image(path: Path) -> Image:
    """The image as given, or a BedError saying why it cannot be flashed."""
    if not path.exists():
        raise BedError(f"image {path} not found", hint=DEPLOY_HINT)
    if not path.is_file():
        raise BedError(f"image {path} is not a file", hint=DEPLOY_HINT)
    if not os.access(path, os.R_OK):
        raise BedError(f"permission denied reading image {path}",
                       hint="make it readable (chmod a+r) or run as its owner")
    if path.suffix == ".bmap":
        raise BedError(f"{path} is a block map, not an image",
                       hint="give the image (e.g. X.wic.bz2); its .bmap is found beside it")
    compression = path.suffix if path.suffix in COMPRESSIONS else None
    inner = Path(path.stem) if compression else path      # X.wic.bz2 -> X.wic
    if inner.suffix in RAW_SUFFIXES:
        return Image(path, compression)
    known = (f"flash writes disk and filesystem images ({', '.join(RAW_SUFFIXES[:4])}, ...) "
             f"as they are or compressed with {', '.join(COMPRESSIONS)}")
    if path.suffix in OTHER_COMPRESSIONS:
        raise BedError(f"image {path}: unknown compression suffix '{path.suffix}'; {known}",
                       hint=f"unpack it first (e.g. to {path.stem})")
    raise BedError(f"image {path}: unknown image type '{inner.suffix or '(none)'}'; {known}",
                   hint="give the disk image from the deploy directory (X.wic, X.wic.bz2), "
                        "not an archive, a VM disk or a manifest")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@contextmanager
def open_image(image: Image) -> Iterator[Readable]:
    """The image's uncompressed bytes as a stream."""
    path = image.path
    with ExitStack() as stack:
        stream: Readable
        if image.compression is None:
            stream = stack.enter_context(path.open("rb"))
        elif image.compression == ".gz":
            stream = stack.enter_context(gzip.open(path, "rb"))
        elif image.compression == ".bz2":
            stream = stack.enter_context(bz2.open(path, "rb"))
        elif image.compression == ".xz":
            stream = stack.enter_context(lzma.open(path, "rb"))
        else:
            stream = stack.enter_context(_zstd_stream(path))
        yield stream


@contextmanager
def _zstd_stream(path: Path) -> Iterator[IO[bytes]]:
    # the standard library of 3.11 has no zstd; the zstd program is a bed tool
    proc = subprocess.Popen([require_tool("zstd", "zstd"), "-dcq", "--", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        yield proc.stdout
    finally:
        # a reader may stop before the end (the last bmap range, a mismatch):
        # zstd then dies of SIGPIPE or is killed, neither of which is an error
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        status = proc.wait()
        errors = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
    if status not in (0, -signal.SIGPIPE, -signal.SIGKILL):
        raise BedError(f"zstd cannot unpack image {path}: {errors}",
                       hint="the file is damaged or truncated: build or fetch it again")


def read_image(stream: Readable, size: int, image: Image) -> bytes:
    try:
        return stream.read(size)
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise BedError(f"cannot unpack image {image.path}: {error}",
                       hint="the file is damaged or truncated: build or fetch it again") from None


# -- the device -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Device:
    path: Path
    sysfs: Path         # /sys/devices/.../block/<name>
    size: int

    def sectors_written(self) -> int:
        return int((self.sysfs / "stat").read_text().split()[6])


def _sysfs_dir(rdev: int) -> Path:
    return Path(f"/sys/dev/block/{os.major(rdev)}:{os.minor(rdev)}").resolve()


def _family(sysfs: Path) -> dict[str, str]:
    """'major:minor' -> name of a block device, its partitions and what is stacked on them
    (dm-crypt, LVM, RAID), recursively."""
    found: dict[str, str] = {}
    todo = [sysfs]
    while todo:
        node = todo.pop()
        dev_file = node / "dev"
        node_id = dev_file.read_text().strip() if dev_file.is_file() else None
        if node_id is None or node_id in found:
            continue
        found[node_id] = node.name
        todo += [child for child in node.iterdir() if (child / "partition").is_file()]
        holders = node / "holders"
        if holders.is_dir():
            todo += [holder.resolve() for holder in holders.iterdir()]
    return found


def _unescape(field: str) -> str:
    # /proc/self/mountinfo writes space, tab, newline and backslash as \ooo
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _node_id(path: str) -> str | None:
    if not path.startswith("/"):      # "proc", "tmpfs", "none": not a device node
        return None
    try:
        rdev = os.stat(path).st_rdev
    except OSError:
        return None
    return f"{os.major(rdev)}:{os.minor(rdev)}" if rdev else None


def users(sysfs: Path) -> list[str]:
    """'<name> is mounted on <dir>' / 'is swap' for the device and its family."""
    family = _family(sysfs)
    found: list[str] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        source = fields[fields.index("-") + 2] if "-" in fields else ""
        # btrfs reports an anonymous major:minor; its source names the device
        node = fields[2] if fields[2] in family else _node_id(source)
        if node in family:
            found.append(f"/dev/{family[node]} is mounted on {_unescape(fields[4])}")
    swaps = Path("/proc/swaps")
    for line in swaps.read_text().splitlines()[1:] if swaps.exists() else []:
        node = _node_id(_unescape(line.split()[0]))
        if node in family:
            found.append(f"/dev/{family[node]} is in use as swap")
    return found


def check_device(path: Path, need: int | None) -> Device:
    """The whole, unused, writable disk at ``path`` (at least ``need`` bytes), or a BedError."""
    try:
        mode = path.stat()
    except FileNotFoundError:
        raise BedError(f"device {path} does not exist", hint=LSBLK_HINT) from None
    if not stat.S_ISBLK(mode.st_mode):
        kind = "a directory" if stat.S_ISDIR(mode.st_mode) else \
            "a regular file" if stat.S_ISREG(mode.st_mode) else "not a block device"
        raise BedError(f"device {path} is {kind}, not a block device: give the SD card or "
                       "USB stick itself, e.g. /dev/sdX or /dev/mmcblkN", hint=LSBLK_HINT)
    sysfs = _sysfs_dir(mode.st_rdev)
    if (sysfs / "partition").is_file():
        disk = f"/dev/{sysfs.parent.name}"
        raise BedError(f"device {path} is partition {sysfs.name} of {disk}; an image holds "
                       "its own partition table, so it goes on the whole disk",
                       hint=f"scripts/flash IMAGE --device {disk}")
    in_use = users(sysfs)
    if in_use:
        raise BedError(f"device {path} is in use: " + "; ".join(in_use),
                       hint="unmount it first (umount DIR, swapoff DEV); "
                            "a desktop may have mounted the card when it was inserted")
    size = int((sysfs / "size").read_text()) * SECTOR
    if size == 0:
        raise BedError(f"device {path} has no medium (size 0)",
                       hint="insert the card into the reader, then try again")
    if need is not None and size < need:
        raise BedError(f"device {path} is too small: it holds {human(size)} ({size} bytes), "
                       f"the image needs {human(need)} ({need} bytes)",
                       hint="use a larger card, or build a smaller image")
    if (sysfs / "ro").read_text().strip() == "1":
        raise BedError(f"device {path} is read-only",
                       hint="slide the SD card's lock switch away from LOCK, then reinsert it")
    _check_writable(path)
    return Device(path, sysfs, size)


def _check_writable(path: Path) -> None:
    try:
        # O_EXCL on a block device: fails with EBUSY while the kernel holds
        # it (a mount, device-mapper, RAID) even where /proc shows nothing
        fd = os.open(path, os.O_RDWR | os.O_EXCL | os.O_CLOEXEC)
    except PermissionError:
        raise BedError(f"permission denied opening {path} for writing",
                       hint=DISK_GROUP_HINT) from None
    except OSError as error:
        if error.errno == errno.EBUSY:
            raise BedError(f"device {path} is busy: the kernel or a program holds it "
                           "(a mount, LVM, RAID, a partition editor)",
                           hint=f"lsblk -o NAME,MOUNTPOINTS,FSTYPE {path}") from None
        raise BedError(f"cannot open {path} for writing: {error.strerror}") from None
    os.close(fd)


# -- writing ----------------------------------------------------------------------------

def require_tool(program: str, package: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise BedError(f"host tool '{program}' not found on PATH",
                       hint=f"apt-get install {package}   (or: make deps)")
    return found


class _TerminalLines:
    """Lines from bmaptool's terminal: escapes dropped, \\r and \\n both end a line."""

    def __init__(self) -> None:
        self.pending = b""
        self.tail: collections.deque[str] = collections.deque(maxlen=12)

    def feed(self, data: bytes) -> list[str]:
        parts = re.split(rb"[\r\n]", _ANSI.sub(b"", self.pending + data))
        self.pending = parts.pop()
        lines = [part.decode(errors="replace") for part in parts if part.strip()]
        self.tail.extend(line for line in lines if not _SPINNER_LINE.match(line)
                         and not _PERCENT_LINE.match(line))
        return lines


def run_bmaptool(argv: list[str], device: Device, total: int | None) -> None:
    """Run bmaptool copy, turning its progress into lines of our own.

    bmaptool 3.6 prints progress only when stdout and stderr are terminals,
    and its --psplash-pipe raises NameError (fixed in 3.7); so it gets a
    pseudo-terminal, and its percent lines are read from there. Without a
    known size it only spins a wheel; then the device's own count of
    written sectors tells the progress (bmaptool fsyncs every 6 MiB).
    """
    reporter = Reporter("written", total)
    sectors_before = device.sectors_written()
    lines = _TerminalLines()
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    try:
        while _relay(master, lines, reporter):
            if total is None:
                reporter.bytes_done((device.sectors_written() - sectors_before) * SECTOR)
        status = proc.wait()
    finally:
        if proc.poll() is None:       # interrupted: do not leave it writing
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        os.close(master)
    if status != 0:
        # its ERROR lines say it; the traceback it prints with them was shown above
        errors = [line for line in lines.tail if line.startswith("bmaptool: ERROR:")
                  and "here is the traceback" not in line]
        tail = "\n".join(f"  {line}" for line in errors or lines.tail)
        said = "\n".join(lines.tail)
        hint = MISMATCH_HINT if "checksum mismatch" in said else \
            "the unpacked image is larger than the device: use a larger card" \
            if "No space left on device" in said else None
        raise BedError(f"bmaptool failed (exit {status}): {' '.join(argv)}\n{tail}", hint=hint)


def _relay(master: int, lines: _TerminalLines, reporter: Reporter) -> bool:
    """Pass on what bmaptool printed within a second; False once it closed its terminal."""
    ready, _, _ = select.select([master], [], [], 1.0)
    if not ready:
        return True
    try:
        data = os.read(master, 65536)
    except OSError:       # EIO: every writer of the terminal has gone
        return False
    for line in lines.feed(data):
        match = _PERCENT_LINE.match(line)
        if match:
            reporter.percent(int(match.group(1)))
        elif not _SPINNER_LINE.match(line):
            print(f"  {line}", file=sys.stderr, flush=True)
    return bool(data)


# -- reading back -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Verified:
    size: int
    ranges: int

    def __str__(self) -> str:
        noun = "range" if self.ranges == 1 else "ranges"
        return f"verified {human(self.size)} in {self.ranges} {noun}"


def drop_cache(fd: int) -> None:
    """Make the next reads of ``fd`` come from the device, not from memory."""
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    # BLKFLSBUF needs CAP_SYS_ADMIN and a block device; fadvise did most of it
    with suppress(OSError):
        fcntl.ioctl(fd, BLKFLSBUF)


def verify_device(device: Path, image: Image, bmap: Bmap | None) -> Verified:
    """Read the image back from ``device``; a BedError names the first bad range or byte."""
    fd = os.open(device, os.O_RDONLY | os.O_CLOEXEC)
    try:
        drop_cache(fd)
        if bmap is not None and bmap.has_checksums:
            total = bmap.mapped_size
            reporter = Reporter("verified", total)
            mismatch = verify_ranges(bmap, lambda offset, size: os.pread(fd, size, offset),
                                     reporter.bytes_done)
            if mismatch is not None:
                block_range = mismatch.block_range
                raise BedError(
                    f"verification failed: {block_range.describe()} of {device} (bytes "
                    f"{mismatch.offset}-{mismatch.offset + mismatch.length - 1}) read back "
                    f"with {bmap.checksum_type} {mismatch.actual}, the bmap {bmap.path} says "
                    f"{block_range.checksum}", hint=BAD_CARD_HINT)
            return Verified(total, len(bmap.ranges))
        # no checksums to go by (no bmap, or one without them): the image is the reference
        extents = [bmap.extent(r) for r in bmap.ranges] if bmap is not None else None
        return compare_with_image(fd, device, image, extents)
    finally:
        os.close(fd)


def compare_with_image(fd: int, device: Path, image: Image,
                       extents: list[tuple[int, int]] | None) -> Verified:
    """Compare the device with the image's bytes: within ``extents`` (offset, length),
    or all of it when None."""
    total = sum(length for _, length in extents) if extents is not None else image.raw_size
    reporter = Reporter("verified", total)
    done = 0
    with open_image(image) as stream:
        position = 0
        for offset, length in extents if extents is not None else [(0, -1)]:
            while position < offset:    # a hole: not written, not compared
                skipped = read_image(stream, min(CHUNK, offset - position), image)
                if not skipped:
                    raise BedError(f"image {image.path} ends at byte {position}, before "
                                   f"the bmap's range at byte {offset}", hint=MISMATCH_HINT)
                position += len(skipped)
            end = offset + length if length >= 0 else None
            while end is None or position < end:
                data = read_image(stream, CHUNK if end is None else min(CHUNK, end - position),
                                  image)
                if not data:
                    if end is None:
                        break
                    raise BedError(f"image {image.path} ends at byte {position}, inside "
                                   "a range of its bmap", hint=MISMATCH_HINT)
                on_device = os.pread(fd, len(data), position)
                if on_device != data:
                    first = next((i for i, (a, b) in enumerate(zip(data, on_device, strict=False))
                                  if a != b), len(on_device))
                    where = position + first
                    raise BedError(f"verification failed: {device} differs from the image at "
                                   f"byte {where} (MiB {where // MiB})"
                                   + (" (the device ends there)" if first == len(on_device)
                                      else ""), hint=BAD_CARD_HINT)
                position += len(data)
                done += len(data)
                reporter.bytes_done(done)
    return Verified(done, len(extents) if extents is not None else 1)


# -- the command ------------------------------------------------------------------------

def resolve_bmap(image: Path, given: Path | None, no_bmap: bool) -> Path | None:
    """The bmap to use: --bmap, else the first found beside the image, else none."""
    if no_bmap or given is not None:
        return given
    found = find_bmap(image)
    if found is None:
        looked = ", ".join(path.name for path in candidates(image))
        say(f"no bmap beside the image (looked for {looked}); writing the whole image")
    return found


def flash_device(image: Path, device: Path, bmap: Path | None, verify: bool) -> None:
    """Write ``image`` to the local block device ``device``, read it back, print a summary."""
    source = check_image(image)
    block_map = parse_bmap(bmap) if bmap is not None else None
    if block_map is not None and source.raw_size is not None \
            and source.raw_size != block_map.image_size:
        raise BedError(f"bmap {block_map.path} does not belong to image {image}: it says "
                       f"{block_map.image_size} bytes, the image has {source.raw_size}",
                       hint="give the matching --bmap FILE, or --no-bmap")
    bmaptool = require_tool("bmaptool", "bmap-tools")
    if source.compression is not None:
        require_tool(*COMPRESSIONS[source.compression])
    target = check_device(device, block_map.image_size if block_map else source.raw_size)

    argv = [bmaptool, "copy", *(["--bmap", str(bmap)] if bmap else ["--nobmap"]),
            str(image), str(device)]
    to_write = block_map.mapped_size if block_map else source.raw_size
    say(f"writing {image.name} to {device} ({human(target.size)})"
        + (f", {human(to_write)}" if to_write is not None else "")
        + (f" as mapped by {block_map.path.name}" if block_map else ""))
    sectors_before = target.sectors_written()
    started = time.monotonic()
    run_bmaptool(argv, target, to_write)
    write_time = time.monotonic() - started
    written = to_write if to_write is not None \
        else (target.sectors_written() - sectors_before) * SECTOR

    result = "skipped (--no-verify)"
    if verify:
        say(f"reading {device} back")
        started = time.monotonic()
        verified = verify_device(device, source, block_map)
        result = f"{verified} ({time.monotonic() - started:.1f} s)"
        say(str(verified))

    if block_map is not None:
        map_line = f"{block_map.path} (format {block_map.version}, " \
                   f"{block_map.checksum_type or 'no checksums'})"
    else:
        map_line = "none: the whole image was written"
    rate = f", {human(int(written / write_time))}/s" if write_time > 0 else ""
    print(f"{PROGRAM}: done\n"
          f"  image     {image}\n"
          f"  device    {device} ({human(target.size)})\n"
          f"  bmap      {map_line}\n"
          f"  written   {human(written)} ({written} bytes) in {write_time:.1f} s{rate}\n"
          f"  verify    {result}", flush=True)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Write a Yocto image (.wic, .wic.bz2/.gz/.xz/.zst, .ext4, ...) to a\n"
                    "local block device with bmaptool, then read it back and compare;\n"
                    "or to a board of a labgrid farm (--place), then boot it.",
        epilog="Example: scripts/flash build/tmp/deploy/images/raspberrypi4-64/"
               "lmw-image-raspberrypi4-64.rootfs.wic.bz2 --device /dev/sdX\n"
               "         scripts/flash <same image> --place rpi4-1 "
               "--env tests/env/rpi4-64-remote.yaml\n"
               "Exit codes: 0 ok, 1 internal error, 2 user error, 130 interrupted.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path, help="the image file")
    # where the image goes: one of these
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--device", type=Path, metavar="DEV",
                        help="a local block device, the whole disk: /dev/sdX, /dev/mmcblkN, "
                             "/dev/loopN; everything on it is overwritten")
    target.add_argument("--place", metavar="NAME",
                        help="a place of a labgrid farm (locked while flashing): the image "
                             "goes to the board's medium through its exporter, then the "
                             "board boots it")
    parser.add_argument("--env", type=Path, metavar="FILE",
                        help="with --place: the board's labgrid env file "
                             "(tests/env/<board>-remote.yaml)")
    parser.add_argument("--coordinator", metavar="HOST:PORT",
                        help="with --place: the farm's coordinator (default: $LG_COORDINATOR)")
    block_map = parser.add_mutually_exclusive_group()
    block_map.add_argument("--bmap", type=Path, metavar="FILE",
                           help="the image's block map (default: IMAGE.bmap, then with one "
                                "extension at a time stripped: X.wic.bz2 -> X.wic.bmap)")
    block_map.add_argument("--no-bmap", action="store_true",
                           help="write the whole image, ignoring any bmap")
    parser.add_argument("--no-verify", action="store_true",
                        help="do not read the device back after writing")
    return parser


def _run(args: argparse.Namespace) -> int:
    # the image first: a wrong path is the likeliest mistake, and the bmap
    # search would otherwise report on a file that is not there
    image = check_image(args.image).path
    if args.place is not None:
        if args.env is None:
            raise BedError("--place needs the board's env file",
                           hint="--env tests/env/<board>-remote.yaml")
        if args.bmap is not None or args.no_bmap:
            raise BedError("--bmap and --no-bmap are for --device: a place writes with "
                           "bmaptool on the exporter, with the bmap beside the image")
        flash_place(image, Place(args.place, args.coordinator), args.env,
                    verify=not args.no_verify)
        return EXIT_OK
    if args.env is not None or args.coordinator is not None:
        raise BedError("--env and --coordinator go with --place")
    bmap = resolve_bmap(image, args.bmap, args.no_bmap)
    flash_device(image, args.device, bmap, verify=not args.no_verify)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command(PROGRAM, lambda: _run(args))
