"""scripts/flash: write a Yocto image to an SD card (or any block device), then read it back.

    scripts/flash IMAGE --device /dev/sdX        a card in this machine's reader
    scripts/flash IMAGE --place rpi4-1 --env tests/env/rpi4-64-remote.yaml
                                                 a board of a labgrid farm (place.py)

IMAGE is what a kas build leaves in build/tmp/deploy/images/<machine>/:
a wic or filesystem image, as it is or compressed (.gz, .bz2, .xz, .zst).
Its bmap is found beside it (X.wic.bz2 -> X.wic.bz2.bmap, X.wic.bmap), or
given with --bmap; --no-bmap writes the whole image.

The write is ``bmaptool copy`` (Debian's bmap-tools): it decompresses the
image, writes only the blocks its bmap lists (the whole image without one)
and checks what it reads against the bmap's checksums. Before it the device
is checked (exists, a whole disk, not mounted, large enough, writable);
after it the data is read back from the device, past the page cache, and
compared with the bmap's checksums or, without a bmap, with the image.

With --place the place is locked for the whole job; the board's env file
says how its medium is reached, bmaptool runs on the exporter, and the
check is a boot of the written image and a login on its console.

Every refusal comes before anything is written, with exit status 2 and a
hint: a missing image or bmap, an unknown image type, a bmap that does
not belong to the image, a missing device, a partition (it names the
disk), a mounted or swap device (it says where), one too small or
read-only, no permission, a missing or taken place. Exit status: 0 done,
1 internal error, 2 user error, 130 interrupted.

The modules: image (types, unpacking), device (the checks), bmap (block
maps), bmaptool (the write), verify (the read-back), meter (progress
lines), place (--place), and this CLI.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import EXIT_OK, UserError, run_command
from ..core.host import require_tool
from ..core.progress import say
from ..lab.places import Place
from .bmap import candidates, find_bmap, parse_bmap
from .bmaptool import run_bmaptool
from .device import SECTOR, check_device
from .image import COMPRESSIONS, check_image
from .meter import human
from .place import flash_place
from .verify import verify_device

PROGRAM = "flash"


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
        raise UserError(f"bmap {block_map.path} does not belong to image {image}: it says "
                        f"{block_map.image_size} bytes, the image has {source.raw_size}",
                        hint="give the matching --bmap FILE, or --no-bmap")
    bmaptool = require_tool("bmaptool")
    if source.compression is not None:
        require_tool(COMPRESSIONS[source.compression])
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
            raise UserError("--place needs the board's env file",
                            hint="--env tests/env/<board>-remote.yaml")
        if args.bmap is not None or args.no_bmap:
            raise UserError("--bmap and --no-bmap are for --device: a place writes with "
                            "bmaptool on the exporter, with the bmap beside the image")
        flash_place(image, Place(args.place, args.coordinator), args.env,
                    verify=not args.no_verify)
        return EXIT_OK
    if args.env is not None or args.coordinator is not None:
        raise UserError("--env and --coordinator go with --place")
    bmap = resolve_bmap(image, args.bmap, args.no_bmap)
    flash_device(image, args.device, bmap, verify=not args.no_verify)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command(PROGRAM, lambda: _run(args))
