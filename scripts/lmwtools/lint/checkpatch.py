"""checkpatch.pl --strict over our kernel-style C, from Debian's own kernel source package.

checkpatch.pl is not packaged on its own; linux-source-6.12 (backports)
carries it in its source tarball. The three files it needs are taken out
once and cached with the rest of the bed's downloads.
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from ..bed.catalog import ARCHES, KERNELS
from ..bed.kernels import apt_for
from ..core import progress
from ..core.artifact import build_once, fingerprint
from ..core.errors import UserError
from ..core.host import require_tool
from ..core.paths import cache_root

SERIES = "6.12"
NEEDED = ("scripts/checkpatch.pl", "scripts/spelling.txt", "scripts/const_structs.checkpatch")


def checkpatch() -> Path:
    """Path of a cached checkpatch.pl with its data files beside it."""
    apt = apt_for(KERNELS[SERIES], ARCHES["x86_64"])
    apt.update()
    package = f"linux-source-{SERIES}"
    deb = apt.download([package], cache_root() / "debs")[0]
    out = cache_root() / "checkpatch"

    def extract(dest: Path) -> None:
        (dest / "scripts").mkdir(parents=True)
        # the deb holds usr/src/linux-source-6.12.tar.xz: stream it, keep three files
        data = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        assert data.stdout is not None
        with tarfile.open(fileobj=data.stdout, mode="r|") as outer:
            for member in outer:
                if not member.name.endswith(".tar.xz"):
                    continue
                inner_file = outer.extractfile(member)
                assert inner_file is not None
                with tarfile.open(fileobj=inner_file, mode="r|xz") as inner:
                    found = 0
                    for item in inner:
                        name = item.name.split("/", 1)[-1]
                        if name in NEEDED:
                            source = inner.extractfile(item)
                            assert source is not None
                            (dest / name).write_bytes(source.read())
                            found += 1
                            if found == len(NEEDED):
                                break
                break
        data.terminate()
        data.wait()
        missing = [n for n in NEEDED if not (dest / n).exists()]
        if missing:
            raise UserError(f"{deb.name} lacks {', '.join(missing)}")

    build_once(out, fingerprint([Path(__file__), deb.name]), extract,
               f"taking checkpatch.pl out of {deb.name}")
    return out / "scripts" / "checkpatch.pl"


def run_checkpatch(files: list[str]) -> bool:
    """checkpatch --strict over ``files``, its findings on stdout; True when clean."""
    script = checkpatch()
    perl = require_tool("perl")
    progress.say(f"checkpatch --strict {' '.join(files)}")
    proc = subprocess.run([perl, str(script), "--strict", "--no-tree", "--terse",
                           "--show-types", "-f", *files], check=False, text=True,
                          capture_output=True)
    print(proc.stdout, end="")
    return proc.returncode == 0
