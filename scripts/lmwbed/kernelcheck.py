"""The kernel C checks of make lint: checkpatch --strict, and W=1 builds on every claimed kernel.

Every kernel-module component of the payload (the layer's and the
tests') is built with W=1 against each (kernel, arch) of the matrix; any
warning fails the check. checkpatch.pl --strict runs over all the C
files of those components and of the test helper.

    python3 -m lmwbed.kernelcheck
"""

from __future__ import annotations

import sys

from . import checkpatch, payload, progress
from .aptcache import cache_root
from .catalog import MATRIX, arch, kernel_series
from .errors import EXIT_USER, BedError
from .kbuild import warnings_of_build
from .kernels import fetch


def main() -> int:
    parts = payload.components()
    modules = [c for c in parts if c.is_kernel_module]
    c_files = sorted(str(f) for c in parts for f in c.source.glob("*.c"))
    failed = checkpatch.main(c_files) != 0
    try:
        for series_name, arch_name in MATRIX:
            tree = fetch(kernel_series(series_name), arch(arch_name))
            for module in modules:
                work = cache_root() / "kernelcheck" / f"{arch_name}-{tree.release}" / module.name
                problems = warnings_of_build(module.source, work, tree)
                verdict = "clean" if not problems else f"{len(problems)} problem(s)"
                progress.say(f"W=1 {module.name} on {tree.release} ({arch_name}): {verdict}")
                for line in problems:
                    print(f"{module.name} {tree.release}: {line}")
                failed = failed or bool(problems)
    except BedError as error:
        print(f"kernelcheck: error: {error}", file=sys.stderr)
        return EXIT_USER
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
