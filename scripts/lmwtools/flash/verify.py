"""Reading a written device back, past the page cache, against the bmap's checksums or the image."""

from __future__ import annotations

import fcntl
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from .bmap import Bmap, verify_ranges
from .bmaptool import MISMATCH_HINT
from .image import Image, open_image, read_image
from .meter import MiB, Reporter, human

BAD_CARD_HINT = ("write it again; if it fails again, the card is failing or smaller than it "
                 "claims: use another card")
BLKFLSBUF = 0x1261        # <linux/fs.h> _IO(0x12, 97): drop a block device's buffers
CHUNK = 4 * 1024 * 1024


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
    """Read the image back from ``device``; a UserError names the first bad range or byte."""
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
                raise UserError(
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
                    raise UserError(f"image {image.path} ends at byte {position}, before "
                                    f"the bmap's range at byte {offset}", hint=MISMATCH_HINT)
                position += len(skipped)
            end = offset + length if length >= 0 else None
            while end is None or position < end:
                data = read_image(stream, CHUNK if end is None else min(CHUNK, end - position),
                                  image)
                if not data:
                    if end is None:
                        break
                    raise UserError(f"image {image.path} ends at byte {position}, inside "
                                    "a range of its bmap", hint=MISMATCH_HINT)
                on_device = os.pread(fd, len(data), position)
                if on_device != data:
                    first = next((i for i, (a, b) in enumerate(zip(data, on_device, strict=False))
                                  if a != b), len(on_device))
                    where = position + first
                    raise UserError(f"verification failed: {device} differs from the image at "
                                    f"byte {where} (MiB {where // MiB})"
                                    + (" (the device ends there)" if first == len(on_device)
                                      else ""), hint=BAD_CARD_HINT)
                position += len(data)
                done += len(data)
                reporter.bytes_done(done)
    return Verified(done, len(extents) if extents is not None else 1)
