"""The block device to write: a whole disk, unused, large enough and writable, or a clear no."""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from .meter import human

DISK_GROUP_HINT = ("run as root (sudo scripts/flash ...), or add your user to the 'disk' "
                   "group: sudo usermod -aG disk $USER, then log in again")
LSBLK_HINT = "list the disks with: lsblk -d -o NAME,SIZE,MODEL,TRAN"
SECTOR = 512              # the unit of /sys/class/block/*/size and */stat


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
    """The whole, unused, writable disk at ``path`` (at least ``need`` bytes), or a UserError."""
    try:
        mode = path.stat()
    except FileNotFoundError:
        raise UserError(f"device {path} does not exist", hint=LSBLK_HINT) from None
    if not stat.S_ISBLK(mode.st_mode):
        kind = "a directory" if stat.S_ISDIR(mode.st_mode) else \
            "a regular file" if stat.S_ISREG(mode.st_mode) else "not a block device"
        raise UserError(f"device {path} is {kind}, not a block device: give the SD card or "
                        "USB stick itself, e.g. /dev/sdX or /dev/mmcblkN", hint=LSBLK_HINT)
    sysfs = _sysfs_dir(mode.st_rdev)
    if (sysfs / "partition").is_file():
        disk = f"/dev/{sysfs.parent.name}"
        raise UserError(f"device {path} is partition {sysfs.name} of {disk}; an image holds "
                        "its own partition table, so it goes on the whole disk",
                        hint=f"scripts/flash IMAGE --device {disk}")
    in_use = users(sysfs)
    if in_use:
        raise UserError(f"device {path} is in use: " + "; ".join(in_use),
                        hint="unmount it first (umount DIR, swapoff DEV); "
                            "a desktop may have mounted the card when it was inserted")
    size = int((sysfs / "size").read_text()) * SECTOR
    if size == 0:
        raise UserError(f"device {path} has no medium (size 0)",
                        hint="insert the card into the reader, then try again")
    if need is not None and size < need:
        raise UserError(f"device {path} is too small: it holds {human(size)} ({size} bytes), "
                        f"the image needs {human(need)} ({need} bytes)",
                        hint="use a larger card, or build a smaller image")
    if (sysfs / "ro").read_text().strip() == "1":
        raise UserError(f"device {path} is read-only",
                        hint="slide the SD card's lock switch away from LOCK, then reinsert it")
    _check_writable(path)
    return Device(path, sysfs, size)


def _check_writable(path: Path) -> None:
    try:
        # O_EXCL on a block device: fails with EBUSY while the kernel holds
        # it (a mount, device-mapper, RAID) even where /proc shows nothing
        fd = os.open(path, os.O_RDWR | os.O_EXCL | os.O_CLOEXEC)
    except PermissionError:
        raise UserError(f"permission denied opening {path} for writing",
                        hint=DISK_GROUP_HINT) from None
    except OSError as error:
        if error.errno == errno.EBUSY:
            raise UserError(f"device {path} is busy: the kernel or a program holds it "
                            "(a mount, LVM, RAID, a partition editor)",
                            hint=f"lsblk -o NAME,MOUNTPOINTS,FSTYPE {path}") from None
        raise UserError(f"cannot open {path} for writing: {error.strerror}") from None
    os.close(fd)
