"""Block maps (.bmap) of disk images: find one beside an image, parse it, check data against it.

A bmap (written by ``bmaptool create``, or by Yocto for ``IMAGE_FSTYPES +=
"wic.bmap"``) lists the blocks of an image that hold data, each range with
a checksum; the holes between them need not be written. Formats 1.0 to 2.0
are read: 2.0 (and its mistaken twin 1.4) names its ``ChecksumType`` and
uses ``chksum`` attributes, 1.3 has SHA-1 only (``sha1`` attributes,
``BmapFileSHA1``), 1.0 to 1.2 have no checksums at all.

Nothing here touches a device: ``verify_ranges`` reads through a callable.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from xml.etree import ElementTree

from ..core.errors import UserError

# The hashes a bmap may name; hashlib has more, but none that bmaptool writes.
CHECKSUM_TYPES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
# Read ranges in pieces: a range can be as large as the image.
READ_CHUNK = 4 * 1024 * 1024
BMAP_HINT = "rebuild the image (IMAGE_FSTYPES += \"wic.bmap\"), or flash with --no-bmap"


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True)
class BlockRange:
    """Blocks ``first``..``last`` (inclusive) and their checksum, if the bmap has one."""

    first: int
    last: int
    checksum: str | None

    def describe(self) -> str:
        return f"blocks {self.first}-{self.last}" if self.last > self.first \
            else f"block {self.first}"


@dataclass(frozen=True, slots=True)
class Bmap:
    path: Path
    version: str
    image_size: int
    block_size: int
    blocks_count: int
    mapped_blocks: int
    checksum_type: str | None   # None: format 1.0-1.2, ranges carry no checksums
    ranges: tuple[BlockRange, ...]

    def extent(self, block_range: BlockRange) -> tuple[int, int]:
        """Byte offset and length of a range; the image's last block may be partial."""
        start = block_range.first * self.block_size
        end = min((block_range.last + 1) * self.block_size, self.image_size)
        return start, end - start

    @property
    def has_checksums(self) -> bool:
        """Whether every range has a checksum (not so for ``bmaptool create --no-checksum``)."""
        return self.checksum_type is not None and all(r.checksum for r in self.ranges)

    @property
    def mapped_size(self) -> int:
        """Bytes that a bmap-aware write writes."""
        return sum(self.extent(r)[1] for r in self.ranges)

    def new_hash(self) -> Hasher:
        if self.checksum_type is None:
            raise ValueError(f"bmap {self.path} (format {self.version}) has no checksums")
        return hashlib.new(self.checksum_type)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A range whose data does not hash to the bmap's checksum."""

    block_range: BlockRange
    offset: int
    length: int
    actual: str


def candidates(image: Path) -> list[Path]:
    """Where a bmap for ``image`` may be, in order: ``X.wic.bz2.bmap``, ``X.wic.bmap``, ...

    The search of bmaptool and of labgrid's USBStorageDriver: append
    ``.bmap``, then strip one extension at a time.
    """
    found: list[Path] = []
    stem = str(image)
    while True:
        found.append(Path(f"{stem}.bmap"))
        stem, ext = os.path.splitext(stem)
        if not ext:
            return found


def find_bmap(image: Path) -> Path | None:
    """The first existing candidate bmap of ``image``, or None."""
    return next((path for path in candidates(image) if path.is_file()), None)


def _malformed(path: Path, what: str) -> UserError:
    return UserError(f"bmap file {path} is malformed: {what}", hint=BMAP_HINT)


def _int_field(root: ElementTree.Element, tag: str, path: Path) -> int:
    element = root.find(tag)
    if element is None or element.text is None:
        raise _malformed(path, f"no <{tag}>")
    try:
        value = int(element.text.strip())
    except ValueError:
        raise _malformed(path, f"<{tag}> is {element.text.strip()!r}, not a number") from None
    if value < 0:
        raise _malformed(path, f"<{tag}> is negative ({value})")
    return value


def _text_field(root: ElementTree.Element, tag: str, path: Path) -> str:
    element = root.find(tag)
    if element is None or not (element.text or "").strip():
        raise _malformed(path, f"no <{tag}>")
    return (element.text or "").strip()


def _version(root: ElementTree.Element, path: Path) -> tuple[str, int, int]:
    if root.tag != "bmap":
        raise _malformed(path, f"the root element is <{root.tag}>, not <bmap>")
    version = root.get("version", "")
    major, _, minor = version.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise _malformed(path, f"version {version!r} is not MAJOR.MINOR")
    if int(major) > 2:
        raise UserError(f"bmap file {path} has format {version}; this tool reads 1.0 to 2.x",
                        hint="update bmap-tools and this script, or flash with --no-bmap")
    return version, int(major), int(minor)


def _ranges(root: ElementTree.Element, path: Path, attribute: str | None,
            digest_len: int, blocks_count: int) -> tuple[BlockRange, ...]:
    block_map = root.find("BlockMap")
    if block_map is None:
        raise _malformed(path, "no <BlockMap>")
    ranges: list[BlockRange] = []
    for element in block_map.findall("Range"):
        text = (element.text or "").strip()
        first_text, _, last_text = (part.strip() for part in text.partition("-"))
        if not first_text.isdigit() or not (last_text.isdigit() or last_text == ""):
            raise _malformed(path, f"range {text!r} is neither 'A-B' nor 'A'")
        first = int(first_text)
        last = int(last_text) if last_text else first
        if last < first:
            raise _malformed(path, f"range {text!r} ends before it starts")
        if last >= blocks_count:
            raise _malformed(path, f"range {text!r} is past the image's {blocks_count} blocks")
        if ranges and first <= ranges[-1].last:
            raise _malformed(path, f"range {text!r} overlaps or precedes the one before it")
        checksum = element.get(attribute) if attribute else None
        if checksum is not None and (len(checksum) != digest_len or
                                     any(c not in "0123456789abcdef" for c in checksum)):
            raise _malformed(path, f"range {text!r} has a bad checksum {checksum!r}")
        ranges.append(BlockRange(first, last, checksum))
    return tuple(ranges)


def _check_own_checksum(data: bytes, path: Path, tag: str, checksum_type: str,
                        root: ElementTree.Element) -> None:
    """The bmap's checksum of itself, computed with that value set to all zeros."""
    expected = _text_field(root, tag, path)
    position = data.find(expected.encode())
    if position < 0:   # ElementTree found it, so only odd encodings get here
        raise _malformed(path, f"cannot locate the <{tag}> value in the file")
    zeroed = data[:position] + b"0" * len(expected) + data[position + len(expected):]
    actual = hashlib.new(checksum_type, zeroed).hexdigest()
    if actual != expected:
        raise UserError(f"bmap file {path} is damaged: <{tag}> says {expected}, "
                        f"the file hashes to {actual}", hint=BMAP_HINT)


def parse_bmap(path: Path) -> Bmap:
    """Read and check a bmap file; a UserError names the file and what is wrong."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"bmap file {path} not found",
                        hint="give the right --bmap FILE, or drop --bmap to search beside "
                            "the image, or flash with --no-bmap") from None
    except OSError as error:
        raise UserError(f"cannot read bmap file {path}: {error.strerror}") from None
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise _malformed(path, f"not XML ({error})") from None
    version, major, minor = _version(root, path)

    image_size = _int_field(root, "ImageSize", path)
    block_size = _int_field(root, "BlockSize", path)
    blocks_count = _int_field(root, "BlocksCount", path)
    mapped_blocks = _int_field(root, "MappedBlocksCount", path)
    if block_size == 0:
        raise _malformed(path, "<BlockSize> is 0")
    if blocks_count != -(-image_size // block_size):
        raise _malformed(path, f"<BlocksCount> {blocks_count} does not cover <ImageSize> "
                               f"{image_size} in blocks of {block_size}")

    # 1.4 is 2.0 released under a wrong number (bmaptool's own comment says so)
    checksum_type: str | None
    if major == 2 or (major, minor) == (1, 4):
        checksum_type = _text_field(root, "ChecksumType", path).lower()
        attribute, own_tag = "chksum", "BmapFileChecksum"
    elif (major, minor) == (1, 3):
        checksum_type, attribute, own_tag = "sha1", "sha1", "BmapFileSHA1"
    else:
        checksum_type, attribute, own_tag = None, None, None
    if checksum_type is not None and checksum_type not in CHECKSUM_TYPES:
        raise _malformed(path, f"unknown <ChecksumType> {checksum_type!r}")
    digest_len = len(hashlib.new(checksum_type).hexdigest()) if checksum_type else 0

    ranges = _ranges(root, path, attribute, digest_len, blocks_count)
    in_ranges = sum(r.last - r.first + 1 for r in ranges)
    if in_ranges != mapped_blocks:
        raise _malformed(path, f"<MappedBlocksCount> is {mapped_blocks}, "
                               f"the ranges hold {in_ranges} blocks")
    if checksum_type is not None and own_tag is not None:
        _check_own_checksum(data, path, own_tag, checksum_type, root)
    return Bmap(path=path, version=version, image_size=image_size, block_size=block_size,
                blocks_count=blocks_count, mapped_blocks=mapped_blocks,
                checksum_type=checksum_type, ranges=ranges)


def verify_ranges(bmap: Bmap, read_at: Callable[[int, int], bytes],
                  on_progress: Callable[[int], None] | None = None) -> Mismatch | None:
    """Hash every mapped range as ``read_at(offset, size)`` returns it; the first bad one.

    ``on_progress`` gets the bytes checked so far after each chunk. A short
    read counts as a mismatch (it hashes what was read).
    """
    done = 0
    for block_range in bmap.ranges:
        if block_range.checksum is None:
            raise ValueError(f"bmap {bmap.path}: {block_range.describe()} has no checksum")
        offset, length = bmap.extent(block_range)
        hasher = bmap.new_hash()
        position, short = offset, False
        while position < offset + length and not short:
            size = min(READ_CHUNK, offset + length - position)
            data = read_at(position, size)
            hasher.update(data)
            short = len(data) < size
            position += len(data)
            done += len(data)
            if on_progress is not None:
                on_progress(done)
        actual = hasher.hexdigest()
        if short or actual != block_range.checksum:
            return Mismatch(block_range, offset, length, actual)
    return None
