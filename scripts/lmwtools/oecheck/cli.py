"""scripts/oe-check (make oe-check): check meta-lmw with the real bitbake, offline, through kas.

    scripts/oe-check                         every release, machine and init manager
    scripts/oe-check --check-layer           ... and yocto-check-layer per release
    scripts/oe-check --release wrynose --machine qemuarm64 --init sysvinit
    scripts/oe-check --dump-only             kas dump + schema only (no sources needed)

For every release the layer claims (LAYERSERIES_COMPAT_lmw, one
``kas/release/<release>.yml`` each), every QEMU machine and every init
manager, it runs through ``kas shell`` and the committed kas files plus
``kas/opt/offline.yml``:

1. ``bitbake -p``: every recipe of oe-core and meta-lmw parses;
2. ``bitbake -g lmw-image``: the image's whole dependency tree resolves
   (our recipes must be in pn-buildlist);
3. ``bitbake <our recipes> -c populate_lic``: the real do_fetch,
   do_unpack and LIC_FILES_CHKSUM check of our local-source recipes.

``--check-layer`` adds yocto-check-layer per release, in a fresh build
dir. ``--dump-only`` just runs ``kas dump`` and the kas JSON schema on
every combination of kas files (no sources, no network, no bitbake).

Where the upstream sources come from: nothing here may use the network,
so ``$LMW_UPSTREAM`` names a directory of git snapshots laid out as
``<owner>+<name>/repo`` (a bare git dir; ``<owner>+<name>.git`` works
too), for every GitHub URL in ``kas/``.
A private gitconfig (kas's ``GITCONFIG_FILE``) rewrites those URLs to the
snapshots with ``url.<snapshot>.insteadOf``, so kas itself clones them and
checks out the commits of ``kas/release/<release>.lock.yml``. Nothing in
the system's or the user's git config changes.

bitbake refuses to run as root: as root, everything runs as the build
user (``lmwbuild``, created when missing) through runuser, with a clean
environment. Build dirs go to ``$LMW_OE_WORK`` (default ``build/oe-check``,
git-ignored): one kas work dir per release, its build dir shared by all
machines and init managers of that release (bitbake keeps one parse cache
per configuration, so reruns are warm).

The modules, in the order a run uses them: matrix (what is covered),
sources (snapshots and lock files), builduser, kas (work dirs, logged
steps), checks (the three checks), checklayer, dump, and this CLI.

Exit status: 0 all passed, 2 a user error or any failed check (the
summary names each; full logs in the work dir's logs/), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import EXIT_OK, UserError, run_command
from ..core.paths import REPO
from ..core.progress import say
from .checklayer import CheckLayerResult, check_layer
from .checks import ConfigResult, check_config, checked_out_commit, checkout
from .dump import dump_check
from .kas import (
    DEFAULT_USER,
    DEFAULT_WORK,
    KAS_ENV,
    USER_ENV,
    WORK_ENV,
    Settings,
    find_kas,
    prepare,
)
from .matrix import (
    IMAGE,
    IMAGE_CONTENT,
    INIT_MANAGERS,
    MACHINES,
    OPTIONAL_MACHINES,
    Config,
    claimed_releases,
    matrix,
)
from .sources import locked_commits, snapshot_dir


def run_matrix(settings: Settings, configs: Sequence[Config],
               check_layer_too: bool) -> tuple[list[ConfigResult], list[CheckLayerResult]]:
    results: list[ConfigResult] = []
    layer_results: list[CheckLayerResult] = []
    for release in dict.fromkeys(c.release for c in configs):
        step = checkout(settings, release)
        _verify_checkout(settings, release)
        say(f"{release}: kas checkout from the snapshots in {step.seconds:.0f} s")
        results += [check_config(settings, c) for c in configs if c.release == release]
        if check_layer_too:
            say(f"{release}: yocto-check-layer (7 to 13 minutes)")
            layer_results.append(check_layer(settings, release))
    return results, layer_results


def _verify_checkout(settings: Settings, release: str) -> None:
    for name, commit in locked_commits(settings.repo, release).items():
        actual = checked_out_commit(settings, release, name)
        if actual not in (None, commit):
            raise UserError(f"{release}: kas checked out {name} at {actual}, "
                            f"the lock says {commit}")


def report(results: Sequence[ConfigResult], layer_results: Sequence[CheckLayerResult]) -> None:
    for result in results:
        print(f"== {result.config.name}")
        parse = result.parse.seconds if result.parse else 0.0
        graph = result.graph.seconds if result.graph else 0.0
        lic = result.licenses.seconds if result.licenses else 0.0
        print(f"   times: parse {parse:.0f} s, -g {graph:.0f} s, populate_lic {lic:.0f} s")
        print("   bitbake -g lmw-image (last lines):")
        for line in result.graph_tail.splitlines():
            print(f"     {line}")
        missing = [r for r in (*IMAGE_CONTENT, IMAGE) if r not in result.buildlist]
        print(f"   pn-buildlist: {len(result.buildlist)} recipes; ours missing: "
              f"{', '.join(missing) or 'none'}")
        print(f"   populate_lic: {result.licenses_summary}")
        if result.error:
            print(f"   FAILED: {result.error}")
    for layer in layer_results:
        print(f"== yocto-check-layer {layer.release}: {'PASS' if layer.passed else 'FAIL'} "
              f"({layer.seconds:.0f} s)")
        for line in layer.summary.splitlines():
            print(f"     {line}")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oe-check", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--release", action="append",
                        help="release to check (default: all of LAYERSERIES_COMPAT_lmw)")
    parser.add_argument("--machine", action="append", choices=[*MACHINES, *OPTIONAL_MACHINES],
                        help=f"machine (default: {', '.join(MACHINES)})")
    parser.add_argument("--init", action="append", choices=INIT_MANAGERS,
                        help="init manager (default: both)")
    parser.add_argument("--check-layer", action="store_true",
                        help="also run yocto-check-layer per release (7 to 13 min each)")
    parser.add_argument("--dump-only", action="store_true",
                        help="only kas dump + schema of every combination (no sources needed)")
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get(WORK_ENV, DEFAULT_WORK)),
                        help=f"build dirs and logs (default ${WORK_ENV} or {DEFAULT_WORK})")
    parser.add_argument("--kas", help=f"the kas executable (default ${KAS_ENV}, or PATH)")
    parser.add_argument("--user", default=os.environ.get(USER_ENV, DEFAULT_USER),
                        help=f"build user when run as root (default {DEFAULT_USER})")
    return parser


def _selected_releases(args: argparse.Namespace) -> list[str]:
    claimed = claimed_releases()
    chosen: list[str] = args.release or claimed
    unknown = [r for r in chosen if r not in claimed]
    if unknown:
        raise UserError(f"release {', '.join(unknown)} is not claimed by the layer",
                        hint=f"one of: {', '.join(claimed)}")
    return chosen


# Host tools that bitbake's sanity check demands (oe-core's HOSTTOOLS) and
# that a plain Debian or Ubuntu may lack, with their packages. make deps
# (scripts/install-deps) installs all of them.
BITBAKE_HOST_TOOLS = {"chrpath": "chrpath", "diffstat": "diffstat", "gawk": "gawk",
                      "lz4c": "lz4", "pzstd": "zstd", "rpcgen": "rpcsvc-proto",
                      "cpio": "cpio", "file": "file", "wget": "wget", "git": "git",
                      "g++": "g++", "gcc": "gcc", "make": "make", "patch": "patch",
                      "diff": "diffutils", "bzip2": "bzip2", "xz": "xz-utils",
                      "perl": "perl", "python3": "python3", "unzip": "unzip",
                      "runuser": "util-linux"}
LOCALE_COMMANDS = ("sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen "
                   "&& locale-gen")


def preflight_host() -> None:
    """Everything bitbake's sanity check wants, said at once, before any clone."""
    missing = sorted({package for tool, package in BITBAKE_HOST_TOOLS.items()
                      if not shutil.which(tool)})
    locale = shutil.which("locale")
    listed = (subprocess.run([locale, "-a"], capture_output=True, text=True, check=False).stdout
              if locale else "")
    no_locale = not re.search(r"^en_US\.utf-?8$", listed, re.IGNORECASE | re.MULTILINE)
    if no_locale and "locales" not in missing and not Path("/etc/locale.gen").exists():
        missing.append("locales")
    if not missing and not no_locale:
        return
    wants = [f"host packages {' '.join(missing)}"] if missing else []
    wants += ["the en_US.UTF-8 locale"] if no_locale else []
    commands = [f"apt-get install {' '.join(missing)}"] if missing else []
    commands += [LOCALE_COMMANDS] if no_locale else []
    raise UserError(f"bitbake needs {' and '.join(wants)}",
                    hint=f"make deps (scripts/install-deps), or: {' && '.join(commands)}")


def check(args: argparse.Namespace) -> int:
    releases = _selected_releases(args)
    kas = find_kas(args.kas)
    if args.dump_only:
        for arg in dump_check(REPO, kas, releases, args.work_dir.absolute() / "dump"):
            print(f"kas dump ok: {arg}")
        return EXIT_OK
    preflight_host()
    snapshots = snapshot_dir()
    settings = prepare(args.work_dir, kas, args.user, snapshots=snapshots, releases=releases)
    configs = matrix(releases, args.machine or MACHINES, args.init or INIT_MANAGERS)
    results, layer_results = run_matrix(settings, configs, args.check_layer)
    report(results, layer_results)
    failed = [r.config.name for r in results if r.error]
    failed += [f"yocto-check-layer {layer.release}" for layer in layer_results
               if not layer.passed]
    if failed:
        raise UserError(f"failed: {', '.join(failed)}; logs in {settings.logs}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("oe-check", lambda: check(args))

