"""What oe-check covers: the releases the layer claims x machines x init managers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from ..core.layer import assignments
from ..core.paths import REPO

IMAGE = "lmw-image"
# What lmw-image must pull in (its pn-buildlist is checked for them).
IMAGE_CONTENT = ("lmw-module", "lmw-sysctl", "lmw-terminator", "packagegroup-lmw")
# Our recipes with local sources only: their fetch, unpack and license
# check run offline (kas/opt/offline.yml drops their patch-tool dependency).
# lmwtest goes into test images only (kas/opt/test.yml).
LOCAL_RECIPES = (*IMAGE_CONTENT, "lmwtest")
MACHINES = ("qemux86-64", "qemuarm64", "qemuarm", "qemuriscv64")
INIT_MANAGERS = ("systemd", "sysvinit")
# Machines whose BSP layer is optional: the dump check always covers them,
# bitbake only when asked (--machine), and only with a snapshot of the BSP.
OPTIONAL_MACHINES = ("raspberrypi4-64",)


@dataclass(frozen=True, slots=True)
class Config:
    """One kas configuration: release x machine x init manager."""

    release: str
    machine: str
    init: str

    @property
    def name(self) -> str:
        return f"{self.release}/{self.machine}/{self.init}"

    def kas_files(self, *options: str) -> list[str]:
        # The release file comes first: kas applies the lock file next to it.
        files = [f"kas/release/{self.release}.yml", "kas/base.yml",
                 f"kas/machine/{self.machine}.yml", f"kas/init/{self.init}.yml"]
        return files + [f"kas/opt/{option}.yml" for option in options]

    def kas_arg(self, *options: str) -> str:
        return ":".join(self.kas_files(*options))


def claimed_releases(repo: Path = REPO) -> list[str]:
    """The release names in LAYERSERIES_COMPAT_lmw; each needs its kas release file."""
    layer_conf = repo / "meta-lmw" / "conf" / "layer.conf"
    if not layer_conf.is_file():
        raise UserError(f"{layer_conf} not found: the layer has no layer.conf yet")
    releases = assignments(layer_conf).get("LAYERSERIES_COMPAT_lmw", "").split()
    if not releases:
        raise UserError(f"{layer_conf}: no LAYERSERIES_COMPAT_lmw = \"<releases>\" line")
    for release in releases:
        for suffix in (".yml", ".lock.yml"):
            kas_file = repo / "kas" / "release" / f"{release}{suffix}"
            if not kas_file.is_file():
                raise UserError(f"the layer claims {release}, but {kas_file} is missing")
    return releases


def matrix(releases: Sequence[str], machines: Sequence[str],
           inits: Sequence[str]) -> list[Config]:
    return [Config(r, m, i) for r, m, i in itertools.product(releases, machines, inits)]


def diagonal(releases: Sequence[str], machines: Sequence[str],
             inits: Sequence[str]) -> list[Config]:
    """One configuration per release, each with the next machine and init manager.

    What make test runs (tests/yocto): every release parsed, and across
    releases as many machines and init managers as there are releases.
    """
    return [Config(release, machines[i % len(machines)], inits[i % len(inits)])
            for i, release in enumerate(releases)]
