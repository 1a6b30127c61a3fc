"""scripts/flash: bmap parsing against real bmaptool output, real writes to loop devices,
read-back verification, and a clear exit-2 error for each way a flash can be refused.

The loop-device tests need root (CI runs as root); they skip, saying why,
where a loop device cannot be attached.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lmwtools.core.errors import UserError
from lmwtools.flash.bmap import Bmap, candidates, find_bmap, parse_bmap, verify_ranges
from lmwtools.flash.cli import flash_device
from lmwtools.flash.image import check_image
from lmwtools.flash.meter import human
from lmwtools.flash.verify import verify_device

FLASH = Path(__file__).resolve().parents[2] / "scripts" / "flash"
FILL = 0xA5          # what a fresh loop device holds, so that holes left alone show
Attach = Callable[..., Path]


def run_flash(*args: str | Path, path: str | None = None,
              prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([*prefix, sys.executable, str(FLASH), *map(str, args)], env=env,
                          text=True, capture_output=True, check=False, timeout=300)


def need_bmaptool() -> str:
    found = shutil.which("bmaptool")
    assert found, "bmaptool is needed for this test: apt-get install bmap-tools (make deps)"
    return found


def block_size_of(directory: Path) -> int:
    # bmaptool create maps in the file system's blocks; write whole ones
    return os.statvfs(directory).f_bsize


def sparse_image(path: Path, block_size: int, blocks: int, extents: list[tuple[int, int]],
                 *, tail: int = 0, seed: int = 1) -> bytes:
    """A sparse file of ``blocks`` blocks plus ``tail`` bytes, random data in the
    (first block, block count) ``extents`` and in the tail; returns its contents."""
    rng = random.Random(seed)
    content = bytearray(blocks * block_size + tail)
    with path.open("wb") as image:
        image.truncate(len(content))
        for first, count in extents:
            data = rng.randbytes(count * block_size)
            content[first * block_size:(first + count) * block_size] = data
            image.seek(first * block_size)
            image.write(data)
        if tail:
            data = rng.randbytes(tail)
            content[blocks * block_size:] = data
            image.seek(blocks * block_size)
            image.write(data)
    return bytes(content)


def bmaptool_create(image: Path, *, checksums: bool = True) -> Path:
    bmap = image.with_name(image.name + ".bmap")
    subprocess.run([need_bmaptool(), "create", *([] if checksums else ["--no-checksum"]),
                    "-o", str(bmap), str(image)], check=True, capture_output=True)
    return bmap


def mapped_extents(bmap: Bmap) -> list[tuple[int, int]]:
    return [bmap.extent(r) for r in bmap.ranges]


def read_device(device: Path, offset: int, length: int) -> bytes:
    fd = os.open(device, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


# -- the bmap parser --------------------------------------------------------------------

def test_parses_what_bmaptool_create_writes(tmp_path: Path) -> None:
    block = block_size_of(tmp_path)
    extents = [(0, 2), (5, 1), (40, 7)]
    image = tmp_path / "disk.wic"
    content = sparse_image(image, block, 64, extents, tail=100)

    bmap = parse_bmap(bmaptool_create(image))

    assert bmap.image_size == len(content)
    assert bmap.block_size == block
    assert bmap.blocks_count == 65                      # 64 whole blocks + the tail's
    assert bmap.checksum_type is not None
    expected = [(first, first + count - 1) for first, count in extents] + [(64, 64)]
    assert [(r.first, r.last) for r in bmap.ranges] == expected
    assert bmap.mapped_blocks == sum(last - first + 1 for first, last in expected)
    assert bmap.mapped_size == sum(count for _, count in extents) * block + 100
    for block_range in bmap.ranges:
        offset, length = bmap.extent(block_range)
        digest = hashlib.new(bmap.checksum_type, content[offset:offset + length]).hexdigest()
        assert block_range.checksum == digest, block_range


def render_v1_bmap(content: bytes, block: int, ranges: list[tuple[int, int]],
                   minor: int) -> bytes:
    """A bmap of format 1.<minor> as bmaptool wrote them before 2.0: SHA-1 in ``sha1``
    attributes and BmapFileSHA1 from 1.3 on, no checksums before."""
    lines = [f'<?xml version="1.0" ?>\n<bmap version="1.{minor}">',
             f"<ImageSize> {len(content)} </ImageSize>", f"<BlockSize> {block} </BlockSize>",
             f"<BlocksCount> {-(-len(content) // block)} </BlocksCount>",
             f"<MappedBlocksCount> {sum(b - a + 1 for a, b in ranges)} </MappedBlocksCount>"]
    if minor >= 3:
        lines.append(f"<BmapFileSHA1> {'0' * 40} </BmapFileSHA1>")
    lines.append("<BlockMap>")
    for first, last in ranges:
        text = f"{first}-{last}" if last > first else f"{first}"
        data = content[first * block:min((last + 1) * block, len(content))]
        sha1 = f' sha1="{hashlib.sha1(data).hexdigest()}"' if minor >= 3 else ""
        lines.append(f"<Range{sha1}> {text} </Range>")
    lines.append("</BlockMap>\n</bmap>\n")
    data = "\n".join(lines).encode()
    if minor >= 3:   # the file's own checksum is taken with its value all zeros
        data = data.replace(b"0" * 40, hashlib.sha1(data).hexdigest().encode(), 1)
    return data


@pytest.mark.parametrize("minor", [2, 3])
def test_parses_format_1(tmp_path: Path, minor: int) -> None:
    block = 1024
    content = random.Random(2).randbytes(10 * block + 10)
    ranges = [(1, 1), (3, 6), (10, 10)]
    path = tmp_path / "old.bmap"
    path.write_bytes(render_v1_bmap(content, block, ranges, minor))

    bmap = parse_bmap(path)

    assert (bmap.version, bmap.image_size, bmap.blocks_count) == (f"1.{minor}", len(content), 11)
    assert [(r.first, r.last) for r in bmap.ranges] == ranges
    if minor == 3:
        assert bmap.checksum_type == "sha1"
        assert verify_ranges(bmap, lambda offset, size: content[offset:offset + size]) is None
    else:
        assert bmap.checksum_type is None
        assert all(r.checksum is None for r in bmap.ranges)


def _replace(pattern: str, new: str) -> Callable[[str], str]:
    return lambda text: re.sub(pattern, new, text, count=1)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda text: text[: len(text) // 2], "is malformed: not XML"),
    (_replace(r"<ImageSize>[^<]*</ImageSize>", ""), "no <ImageSize>"),
    (_replace(r"<BlockSize>[^<]*<", "<BlockSize> four <"), "<BlockSize> is 'four'"),
    (_replace(r'version="2.0"', 'version="3.0"'), "has format 3.0"),
    (_replace(r"<MappedBlocksCount>\s*\d+", "<MappedBlocksCount> 1"),
     "the ranges hold"),
    (_replace(r"> 3 </Range>", "> 30000 </Range>"), "is past the image's"),
    (_replace(r"> 3 </Range>", "> 9-7 </Range>"), "ends before it starts"),
    (_replace(r"<ChecksumType>[^<]*<", "<ChecksumType> crc32 <"), "unknown <ChecksumType>"),
    (lambda text: re.sub(r'chksum="(.)', lambda m: 'chksum="' + "01"[m[1] == "0"], text,
                         count=1), "is damaged"),
])
def test_rejects_a_malformed_bmap(tmp_path: Path, damage: Callable[[str], str],
                                  message: str) -> None:
    block = block_size_of(tmp_path)
    image = tmp_path / "disk.wic"
    sparse_image(image, block, 16, [(3, 1), (8, 2)])
    bmap = bmaptool_create(image)
    text = bmap.read_text()
    damaged = damage(text)
    assert damaged != text, "the damage must change the file"
    bmap.write_text(damaged)

    with pytest.raises(UserError) as caught:
        parse_bmap(bmap)
    assert message in str(caught.value)
    assert str(bmap) in str(caught.value)


def test_finds_the_bmap_as_bmaptool_and_labgrid_do(tmp_path: Path) -> None:
    image = tmp_path / "lmw-image-rpi.rootfs.wic.bz2"
    assert [p.name for p in candidates(image)] == [
        "lmw-image-rpi.rootfs.wic.bz2.bmap", "lmw-image-rpi.rootfs.wic.bmap",
        "lmw-image-rpi.rootfs.bmap", "lmw-image-rpi.bmap"]
    assert find_bmap(image) is None
    (tmp_path / "lmw-image-rpi.rootfs.wic.bmap").touch()
    assert find_bmap(image) == tmp_path / "lmw-image-rpi.rootfs.wic.bmap"
    (tmp_path / "lmw-image-rpi.rootfs.wic.bz2.bmap").touch()
    assert find_bmap(image) == tmp_path / "lmw-image-rpi.rootfs.wic.bz2.bmap"


def test_verify_ranges_names_the_bad_range(tmp_path: Path) -> None:
    block = block_size_of(tmp_path)
    image = tmp_path / "disk.wic"
    content = bytearray(sparse_image(image, block, 32, [(1, 2), (10, 3), (20, 1)]))
    bmap = parse_bmap(bmaptool_create(image))

    def reader(data: bytes) -> Callable[[int, int], bytes]:
        return lambda offset, size: data[offset:offset + size]

    assert verify_ranges(bmap, reader(bytes(content))) is None
    second = bmap.ranges[1]
    offset, length = bmap.extent(second)
    content[offset + length // 2] ^= 0xFF
    mismatch = verify_ranges(bmap, reader(bytes(content)))
    assert mismatch is not None
    assert mismatch.block_range == second and (mismatch.offset, mismatch.length) == (offset, length)
    # a device that ends early is a mismatch too, not a crash
    short = verify_ranges(bmap, reader(bytes(content[: bmap.extent(bmap.ranges[0])[0] + 1])))
    assert short is not None and short.block_range == bmap.ranges[0]


# -- real writes to loop devices --------------------------------------------------------

@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[Attach]:
    """Attach loop devices over files in tmp_path; each is detached by name afterwards."""
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    if shutil.which("losetup") is None:
        pytest.skip("losetup not found (util-linux mount package)")
    attached: list[tuple[Path, Path]] = []

    def attach(size: int, *, partscan: bool = False, head: bytes = b"") -> Path:
        backing = tmp_path / f"backing{len(attached)}.img"
        backing.write_bytes(head + bytes([FILL]) * (size - len(head)))
        result = subprocess.run(
            ["losetup", "--find", "--show", *(["--partscan"] if partscan else []),
             str(backing)], text=True, capture_output=True, check=False)
        if result.returncode != 0:
            backing.unlink()
            pytest.skip(f"cannot attach a loop device: {result.stderr.strip()}")
        device = Path(result.stdout.strip())
        attached.append((device, backing))
        return device

    yield attach
    for device, backing in reversed(attached):
        subprocess.run(["losetup", "--detach", str(device)], check=False)
        backing.unlink(missing_ok=True)


def zstd_compress(data: bytes) -> bytes:
    zstd = shutil.which("zstd")
    assert zstd, "zstd is needed for this test: apt-get install zstd (make deps)"
    return subprocess.run([zstd, "-q", "-c"], input=data, capture_output=True,
                          check=True).stdout


def make_flashable(tmp_path: Path, compress: Callable[[bytes], bytes], suffix: str,
                   *, checksums: bool = True) -> tuple[Path, Path, bytes]:
    """X.wic<suffix> and X.wic.bmap (so the search strips one extension), and X.wic's bytes."""
    block = block_size_of(tmp_path)
    raw = tmp_path / "lmw-test.rootfs.wic"
    content = sparse_image(raw, block, 2048, [(0, 4), (100, 50), (1000, 1), (1500, 200)],
                           tail=4000)
    bmap = bmaptool_create(raw, checksums=checksums)
    image = raw.with_name(raw.name + suffix)
    image.write_bytes(compress(content))
    raw.unlink()
    return image, bmap, content


def test_flash_bz2_with_bmap_writes_only_the_mapped_ranges(
        tmp_path: Path, loop_device: Attach) -> None:
    image, bmap_path, content = make_flashable(tmp_path, bz2.compress, ".bz2")
    device = loop_device(len(content) + 1024 * 1024)

    result = run_flash(image, "--device", device)

    assert result.returncode == 0, result.stderr
    assert re.search(r"^flash: \d+% written$", result.stderr, re.M), \
        "progress lines must show without a terminal (CI logs)"
    assert "flash: 100% written" in result.stderr
    bmap = parse_bmap(bmap_path)
    assert f"bmap      {bmap_path}" in result.stdout
    assert f"verified {human(bmap.mapped_size)} in {len(bmap.ranges)} ranges" in result.stdout
    for offset, length in mapped_extents(bmap):
        assert read_device(device, offset, length) == content[offset:offset + length]
    # the holes were skipped: the device's old bytes are still there
    offset, length = mapped_extents(bmap)[0]
    assert read_device(device, offset + length, 4096) == bytes([FILL]) * 4096


@pytest.mark.parametrize(("compress", "suffix"), [(gzip.compress, ".gz"),
                                                (zstd_compress, ".zst")])
def test_flash_without_bmap_writes_the_whole_image(
        tmp_path: Path, loop_device: Attach, compress: Callable[[bytes], bytes],
        suffix: str) -> None:
    image, _, content = make_flashable(tmp_path, compress, suffix)
    device = loop_device(len(content) + 1024 * 1024)

    result = run_flash(image, "--device", device, "--no-bmap")

    assert result.returncode == 0, result.stderr
    assert "bmap      none" in result.stdout
    assert "verified" in result.stdout and "in 1 range" in result.stdout
    assert read_device(device, 0, len(content)) == content   # holes written as zeros


def corrupt(device: Path, offset: int) -> None:
    fd = os.open(device, os.O_RDWR)
    try:
        old = os.pread(fd, 1, offset)
        os.pwrite(fd, bytes([old[0] ^ 0xFF]), offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def test_verification_catches_corruption(tmp_path: Path, loop_device: Attach) -> None:
    image, bmap_path, content = make_flashable(tmp_path, bz2.compress, ".bz2")
    device = loop_device(len(content) + 1024 * 1024)
    flash_device(image, device, bmap_path, verify=True)
    bmap = parse_bmap(bmap_path)
    bad = bmap.ranges[2]
    offset, length = bmap.extent(bad)
    corrupt(device, offset + length - 1)

    with pytest.raises(UserError) as caught:
        verify_device(device, check_image(image), bmap)
    assert f"verification failed: {bad.describe()} of {device}" in str(caught.value)
    assert f"bytes {offset}-{offset + length - 1}" in str(caught.value)

    # without a bmap the image itself is the reference, and the byte is named
    flash_device(image, device, None, verify=True)
    corrupt(device, offset + length - 1)
    with pytest.raises(UserError) as caught:
        verify_device(device, check_image(image), None)
    assert f"differs from the image at byte {offset + length - 1}" in str(caught.value)


def test_a_bmap_without_checksums_is_verified_against_the_image(
        tmp_path: Path, loop_device: Attach) -> None:
    image, bmap_path, content = make_flashable(tmp_path, lzma.compress, ".xz", checksums=False)
    bmap = parse_bmap(bmap_path)
    assert not bmap.has_checksums           # bmaptool create --no-checksum
    device = loop_device(len(content) + 1024 * 1024)

    result = run_flash(image, "--device", device)

    assert result.returncode == 0, result.stderr
    assert f"verified {human(bmap.mapped_size)} in {len(bmap.ranges)} ranges" in result.stdout
    offset = bmap.extent(bmap.ranges[1])[0]
    corrupt(device, offset + 7)
    with pytest.raises(UserError) as caught:
        verify_device(device, check_image(image), bmap)
    assert f"differs from the image at byte {offset + 7}" in str(caught.value)


def test_bmaptool_failure_shows_its_last_lines(tmp_path: Path, loop_device: Attach) -> None:
    image, _, content = make_flashable(tmp_path, bz2.compress, ".bz2")
    # same size and holes, other data: the bmap no longer belongs to the image
    other = tmp_path / "other.wic"
    sparse_image(other, block_size_of(tmp_path), 2048,
                 [(0, 4), (100, 50), (1000, 1), (1500, 200)], tail=4000, seed=9)
    image.write_bytes(bz2.compress(other.read_bytes()))
    device = loop_device(len(content) + 1024 * 1024)

    result = run_flash(image, "--device", device)

    assert result.returncode == 2, result.stderr
    error = result.stderr[result.stderr.index("flash: error:"):]
    assert "bmaptool failed (exit 1)" in error
    assert "checksum mismatch" in error, "bmaptool's own words must be in the error"
    assert "do not belong together" in error


# -- refusals through the command line --------------------------------------------------

def small_image(tmp_path: Path, size: int = 64 * 1024) -> Path:
    image = tmp_path / "small.wic"
    image.write_bytes(random.Random(3).randbytes(size))
    return image


def expect_refusal(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "flash: error:" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_a_missing_image(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.wic.bz2"
    expect_refusal(run_flash(missing, "--device", "/dev/null"),
                   f"image {missing} not found", "hint:")


@pytest.mark.parametrize(("name", "message"), [
    ("disk.wic.lz4", "unknown compression suffix '.lz4'"),
    ("rootfs.tar.gz", "unknown image type '.tar'"),
    ("disk.wic.vmdk", "unknown image type '.vmdk'"),
])
def test_refuses_an_unknown_suffix(tmp_path: Path, name: str, message: str) -> None:
    image = tmp_path / name
    image.write_bytes(b"x")
    expect_refusal(run_flash(image, "--device", "/dev/null"), message)


@pytest.mark.parametrize("kind", ["regular file", "directory"])
def test_refuses_a_device_that_is_not_a_block_device(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_bytes(bytes(1024 * 1024))
    result = run_flash(small_image(tmp_path), "--device", target)
    expect_refusal(result, f"device {target} is a {kind}, not a block device", "lsblk")
    if kind == "regular file":
        assert target.read_bytes() == bytes(1024 * 1024), "nothing may be written"


def test_refuses_a_missing_device(tmp_path: Path) -> None:
    expect_refusal(run_flash(small_image(tmp_path), "--device", "/dev/lmw-no-such-disk"),
                   "device /dev/lmw-no-such-disk does not exist")


def test_refuses_a_malformed_or_missing_bmap(tmp_path: Path) -> None:
    image = small_image(tmp_path)
    broken = tmp_path / "broken.bmap"
    broken.write_text('<bmap version="2.0"><ImageSize>1</ImageSize>')
    expect_refusal(run_flash(image, "--bmap", broken, "--device", "/dev/null"),
                   f"bmap file {broken} is malformed", "--no-bmap")
    missing = tmp_path / "missing.bmap"
    expect_refusal(run_flash(image, "--bmap", missing, "--device", "/dev/null"),
                   f"bmap file {missing} not found")


def test_missing_bmaptool_says_which_package(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    expect_refusal(run_flash(small_image(tmp_path), "--device", "/dev/null", path=str(empty)),
                   "host tool 'bmaptool' not found", "apt-get install bmap-tools")


def _wait_for(path: Path, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return path.exists()


def mbr_with_one_partition(start: int, sectors: int) -> bytes:
    mbr = bytearray(512)
    mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\xff\xff\xff", 0x83, b"\xff\xff\xff",
                               start, sectors)
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def test_refuses_a_partition(tmp_path: Path, loop_device: Attach) -> None:
    device = loop_device(8 * 1024 * 1024, partscan=True,
                         head=mbr_with_one_partition(2048, 4096))
    partition = Path(f"{device}p1")
    added = False
    # a kernel without the MBR parser (some VM kernels) still takes a partition
    # told to it directly (BLKPG), which is what addpart does
    if not _wait_for(partition) and shutil.which("addpart"):
        added = subprocess.run(["addpart", str(device), "1", "2048", "4096"],
                               check=False).returncode == 0
    try:
        if not _wait_for(partition):
            pytest.skip(f"{partition} did not appear (no partition support for loop devices)")
        result = run_flash(small_image(tmp_path), "--device", partition)
        expect_refusal(result, f"device {partition} is partition {partition.name} of {device}",
                       f"--device {device}")
    finally:
        if added:
            subprocess.run(["delpart", str(device), "1"], check=False)


def test_refuses_a_device_smaller_than_the_image(tmp_path: Path, loop_device: Attach) -> None:
    image, _, content = make_flashable(tmp_path, bz2.compress, ".bz2")
    size = len(content) // 2 // 512 * 512       # loop devices are whole sectors
    device = loop_device(size)
    expect_refusal(run_flash(image, "--device", device),
                   f"device {device} is too small", f"({size} bytes)", f"({len(content)} bytes)")


def test_refuses_a_mounted_device(tmp_path: Path, loop_device: Attach) -> None:
    device = loop_device(16 * 1024 * 1024)
    mkfs = shutil.which("mkfs.ext4")
    if mkfs is None:
        pytest.skip("mkfs.ext4 not found (e2fsprogs)")
    subprocess.run([mkfs, "-q", str(device)], check=True)
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", str(device), str(mount_point)], capture_output=True,
                             text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount here: {mounted.stderr.strip()}")
    try:
        expect_refusal(run_flash(small_image(tmp_path), "--device", device),
                       f"{device} is mounted on {mount_point}", "umount")
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_refuses_without_permission(loop_device: Attach) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv not found (util-linux)")
    device = loop_device(1024 * 1024)
    # tmp_path is root's own; the unprivileged user reads the image from here
    with tempfile.TemporaryDirectory(prefix="flash-test-") as shared:
        os.chmod(shared, 0o755)
        image = small_image(Path(shared))
        image.chmod(0o644)
        result = run_flash(image, "--device", device, prefix=(
            setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"))
    expect_refusal(result, f"permission denied opening {device}", "disk")
