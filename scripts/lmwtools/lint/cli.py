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
On a cold cache most of the time goes to fetching the kernels (a download
that waits on the network, an unpack that is xz on one core): the next
kernels are fetched on two threads while the builds run, in the matrix's
order, on this one.

Exit status: 0 clean, 1 any finding (each printed as ``<module>
<release>: <line>`` or checkpatch's ``FILE:LINE: TYPE: message``), 2 a
user error (a missing host tool, no Debian mirror), 130 interrupted.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ..bed import payload
from ..bed.catalog import MATRIX, arch, kernel_series
from ..bed.kbuild import warnings_of_build
from ..bed.kernels import KernelTree, fetch
from ..core import progress
from ..core.errors import EXIT_OK, run_command
from ..core.paths import cache_root
from .checkpatch import run_checkpatch

# Kernels fetched ahead of the builds. The bed's cache locks every download
# and unpack across processes (the suite's sessions share it), so threads
# are safe; two keep both cores busy without holding many unpacked trees
# half-written at once.
FETCHED_AHEAD = 2


def w1_builds(modules: list[payload.Component], style_check: Callable[[], bool]) -> bool:
    """Each kernel module with W=1 on each claimed (kernel, arch), the kernels
    fetched from the start, ``style_check`` run meanwhile; True when all are clean."""
    pool = ThreadPoolExecutor(max_workers=FETCHED_AHEAD, thread_name_prefix="fetch")
    try:
        trees: list[tuple[str, Future[KernelTree]]] = [
            (arch_name, pool.submit(fetch, kernel_series(series_name), arch(arch_name)))
            for series_name, arch_name in MATRIX]
        clean = style_check()
        for arch_name, tree_future in trees:
            clean = _w1_on(tree_future.result(), arch_name, modules) and clean
    finally:
        # on an error or ^C: start no further fetch, let the running ones end
        pool.shutdown(wait=True, cancel_futures=True)
    return clean


def _w1_on(tree: KernelTree, arch_name: str, modules: list[payload.Component]) -> bool:
    """Each of ``modules`` with W=1 against ``tree``; True when all are clean."""
    clean = True
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
    clean = w1_builds([c for c in parts if c.is_kernel_module],
                      lambda: run_checkpatch(c_files))
    return EXIT_OK if clean else 1


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lint-kernel",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", metavar="FILE.c",
                        help="checkpatch these files only (default: every component's C)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("lint-kernel", lambda: lint(args))
