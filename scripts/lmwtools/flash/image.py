"""The image to flash: which files are images, and their bytes, unpacked as a stream."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from ..core.errors import UserError
from ..core.host import require_tool

# suffix -> the program bmaptool runs to unpack it (core.host knows its package)
COMPRESSIONS: dict[str, str] = {
    ".gz": "gzip",
    ".bz2": "bzip2",
    ".xz": "xz",
    ".zst": "zstd",
}
# Packers bmaptool knows but this tool does not read back (nor does Yocto build wic.lz4 &c.
# for SD cards); named so that X.wic.lz4 is called a compression, not an image type.
OTHER_COMPRESSIONS = (".lz4", ".lzo", ".lzma", ".lz", ".zip", ".7z", ".Z", ".zstd")
# What may be written raw to a disk: wic disk images and filesystem images.
# Anything else (.tar, .vmdk, .qcow2, .manifest) is a mistake worth a stop.
RAW_SUFFIXES = (".wic", ".img", ".raw", ".iso", ".hddimg", ".sdimg", ".rpi-sdimg",
                ".ext2", ".ext3", ".ext4", ".btrfs", ".vfat", ".squashfs")
DEPLOY_HINT = "a kas build leaves its images in build/tmp/deploy/images/<machine>/"


@dataclass(frozen=True, slots=True)
class Image:
    path: Path
    compression: str | None     # a key of COMPRESSIONS, None when raw

    @property
    def raw_size(self) -> int | None:
        """The size written without a bmap, when it is known without unpacking."""
        return None if self.compression else self.path.stat().st_size


def check_image(path: Path) -> Image:
    """The image as given, or a UserError saying why it cannot be flashed."""
    if not path.exists():
        raise UserError(f"image {path} not found", hint=DEPLOY_HINT)
    if not path.is_file():
        raise UserError(f"image {path} is not a file", hint=DEPLOY_HINT)
    if not os.access(path, os.R_OK):
        raise UserError(f"permission denied reading image {path}",
                        hint="make it readable (chmod a+r) or run as its owner")
    if path.suffix == ".bmap":
        raise UserError(f"{path} is a block map, not an image",
                        hint="give the image (e.g. X.wic.bz2); its .bmap is found beside it")
    compression = path.suffix if path.suffix in COMPRESSIONS else None
    inner = Path(path.stem) if compression else path      # X.wic.bz2 -> X.wic
    if inner.suffix in RAW_SUFFIXES:
        return Image(path, compression)
    known = (f"flash writes disk and filesystem images ({', '.join(RAW_SUFFIXES[:4])}, ...) "
             f"as they are or compressed with {', '.join(COMPRESSIONS)}")
    if path.suffix in OTHER_COMPRESSIONS:
        raise UserError(f"image {path}: unknown compression suffix '{path.suffix}'; {known}",
                        hint=f"unpack it first (e.g. to {path.stem})")
    raise UserError(f"image {path}: unknown image type '{inner.suffix or '(none)'}'; {known}",
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
    proc = subprocess.Popen([require_tool("zstd"), "-dcq", "--", str(path)],
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
        raise UserError(f"zstd cannot unpack image {path}: {errors}",
                        hint="the file is damaged or truncated: build or fetch it again")


def read_image(stream: Readable, size: int, image: Image) -> bytes:
    try:
        return stream.read(size)
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise UserError(f"cannot unpack image {image.path}: {error}",
                        hint="the file is damaged or truncated: build or fetch it again") from None
