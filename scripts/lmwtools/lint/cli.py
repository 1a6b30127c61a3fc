"""scripts/lint-kernel (part of make lint): the kernel C checks, on every claimed kernel.

    scripts/lint-kernel              checkpatch --strict, then W=1 builds
    scripts/lint-kernel FILE.c ...   checkpatch --strict on these files only

checkpatch.pl --strict (kernel coding style) runs over every C file and
header of the payload's components: the layer's (lmw.ko, the lmwtest
helpers) and the tests' (tests/payload). checkpatch.pl is taken from
Debian's linux-source package once and cached with the bed's downloads.

Then every kernel-module component is built with W=1 (the kernel's extra
warnings) against each (kernel, arch) of the bed's matrix, with the
compiler that kernel asks for; any warning fails the check. The builds
happen in the bed's cache (build/bed/kernelcheck/), never in the layer.

Exit status: 0 clean, 1 any finding (each printed as ``<module>
<release>: <line>`` or checkpatch's ``FILE:LINE: TYPE: message``), 2 a
user error (a missing host tool, no Debian mirror), 130 interrupted.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..bed import payload
from ..bed.catalog import MATRIX, arch, kernel_series
from ..bed.kbuild import warnings_of_build
from ..bed.kernels import fetch
from ..core import progress
from ..core.errors import EXIT_OK, run_command
from ..core.paths import cache_root
from .checkpatch import run_checkpatch


def w1_builds(modules: list[payload.Component]) -> bool:
    """Each kernel module with W=1 on each claimed (kernel, arch); True when all are clean."""
    clean = True
    for series_name, arch_name in MATRIX:
        tree = fetch(kernel_series(series_name), arch(arch_name))
        for module in modules:
            work = cache_root() / "kernelcheck" / f"{arch_name}-{tree.release}" / module.name
            problems = warnings_of_build(module.source, work, tree)
            verdict = "clean" if not problems else f"{len(problems)} problem(s)"
            progress.say(f"W=1 {module.name} on {tree.release} ({arch_name}): {verdict}")
            for line in problems:
                print(f"{module.name} {tree.release}: {line}")
            clean = clean and not problems
    return clean


def lint(args: argparse.Namespace) -> int:
    if args.files:
        return EXIT_OK if run_checkpatch(args.files) else 1
    parts = payload.components()
    c_files = sorted(str(f) for c in parts for pattern in ("*.c", "*.h")
                     for f in c.source.glob(pattern))
    style_clean = run_checkpatch(c_files)
    builds_clean = w1_builds([c for c in parts if c.is_kernel_module])
    return EXIT_OK if style_clean and builds_clean else 1


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lint-kernel",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", metavar="FILE.c",
                        help="checkpatch these files only (default: every component's C)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("lint-kernel", lambda: lint(args))
