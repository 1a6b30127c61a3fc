"""scripts/br-check: check the Buildroot tree (br2-external/) with the real Buildroot, offline.

    scripts/br-check                          every check, every defconfig
    scripts/br-check --defconfig lmw_qemu_x86_64_defconfig

Buildroot comes from ``$LMW_UPSTREAM``, a directory of git snapshots laid
out as ``<owner>+<name>/repo``: ``buildroot+buildroot/repo`` must hold the
tag named in ``br2-external/buildroot.version``. It is checked out once
into the work dir (``$LMW_BR_WORK``, default ``build/br-check``); each
defconfig is configured in its own output dir there. Nothing is
downloaded and nothing is built: what a build needs the network for is in
docs/buildroot.md.

The checks (checks.py): Buildroot's ``utils/check-package`` on every file
of the tree; per defconfig, ``make <defconfig>`` keeps every line (kconfig
drops a symbol with unmet dependencies silently) and ``savedefconfig``
gives it back unchanged; ``show-info`` lists our packages with licence and
dependencies; ``printvars`` shows lmw-module's kernel config fixups
setting every option of the layer's fragment.

The modules: tree (what the tree holds), core.buildroot (the pinned
release: checkout, make; the bed's Buildroot userland uses it too), checks,
and this CLI. Exit status: 0 all passed, 2 a user error or a failed check
(each named), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from ..core.buildroot import checkout
from ..core.errors import EXIT_OK, UserError, run_command
from ..core.paths import BUILD
from ..core.progress import say
from . import tree
from .checks import check_package, fixups_missing, inspect, load

WORK_ENV = "LMW_BR_WORK"
DEFAULT_WORK = BUILD / "br-check"
FIXUPS = "LMW_MODULE_LINUX_CONFIG_FIXUPS"


def work_dir() -> Path:
    return Path(os.environ.get(WORK_ENV) or DEFAULT_WORK).absolute()


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="br-check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--defconfig", action="append", choices=tree.defconfigs(),
                        help="only this defconfig (repeatable; default: all)")
    return parser


def check(args: argparse.Namespace) -> int:
    buildroot = checkout(work_dir())
    failed: list[str] = []
    warnings = check_package(buildroot)
    say(f"check-package on {len(tree.files())} files: "
        + ("clean" if not warnings else f"{len(warnings)} warnings"))
    for line in warnings:
        print(f"  {line}")
    if warnings:
        failed.append("check-package")
    for defconfig in args.defconfig or tree.defconfigs():
        loaded = load(buildroot, defconfig)
        inspected = inspect(buildroot, loaded.output, [FIXUPS])
        info = inspected.info
        ours = " ".join(f"{name} {info[name]['version']}"
                        for name in tree.packages() if name in info)
        missing = (fixups_missing(inspected.variables.get(FIXUPS, ""),
                                  tree.fragment_options()) if "lmw-module" in info else [])
        say(f"{defconfig}: load {'ok' if not loaded.dropped else 'DROPPED LINES'}, "
            f"savedefconfig {'round-trips' if not loaded.round_trip else 'DIFFERS'}, "
            f"packages {ours}, "
            f"kernel fixups {'complete' if not missing else 'MISSING ' + ' '.join(missing)}")
        for line in [*loaded.dropped, *loaded.round_trip]:
            print(f"  {line}")
        if not loaded.ok or missing:
            failed.append(defconfig)
    if failed:
        raise UserError(f"failed: {', '.join(failed)}",
                        hint=f"output dirs in {buildroot.work / 'output'}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("br-check", lambda: check(args))
