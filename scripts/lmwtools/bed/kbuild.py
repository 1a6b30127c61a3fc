"""Out-of-tree kernel modules, built and installed the way OE's module.bbclass does.

module.bbclass runs ``make KERNEL_SRC=<kernel> all`` and then
``make KERNEL_SRC=<kernel> INSTALL_MOD_PATH=<D> modules_install`` in the
module's own source folder; so does the bed, against the unpacked Debian
headers of the guest kernel, so the layer's Makefile is the one rule both use.
For a kernel built by a newer compiler than the host's, the same make
runs in a build root of its suite (buildenv.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ..core.errors import UserError
from ..core.host import require_tool, run
from . import buildenv
from .kernels import KernelTree

# Debian 12's host compiler; kernels built with an older gcc (5.10 used
# gcc-10, which bookworm lacks) build modules fine with it.
FALLBACK_GCC = "gcc-12"


def compiler(tree: KernelTree) -> str:
    """The compiler Debian's headers ask for (``$(CROSS_COMPILE)gcc-NN``), or gcc-12
    if absent (and for the kernels the bed builds, with gcc-12)."""
    debian = tree.headers / ".kernelvariables"
    variables = debian.read_text() if debian.exists() else ""
    match = re.search(r"^CC = .*?\)?(gcc-\d+)\s*$", variables, re.MULTILINE)
    wanted = tree.arch.cross_compile + (match.group(1) if match else FALLBACK_GCC)
    if tree.build_env is not None:
        if not buildenv.has_program(tree.build_env, wanted):
            raise UserError(f"{tree.release} is built by {wanted}, which the Debian "
                            f"{tree.build_env} build root lacks",
                            hint="add its package to PACKAGES in bed/buildenv.py")
        return wanted
    if shutil.which(wanted):
        return wanted
    return require_tool(tree.arch.cross_compile + FALLBACK_GCC)


def user_compiler(tree: KernelTree) -> str:
    """The C compiler for the guest's programs: the arch's gcc on the host, or
    the build root's gcc-14 (a Debian 13 root has no unversioned cross gcc)."""
    if tree.build_env is not None:
        return compiler(tree)
    return f"{tree.arch.cross_compile}gcc"


def make_vars(tree: KernelTree) -> list[str]:
    variables = [f"KERNEL_SRC={tree.headers}", f"ARCH={tree.arch.kernel_arch}",
                 f"CC={compiler(tree)}"]
    if tree.arch.cross_compile:
        variables.append(f"CROSS_COMPILE={tree.arch.cross_compile}")
    if tree.build_env is None and (tree.headers / "include" / "config" / "auto.conf").exists() \
            and "CONFIG_DEBUG_INFO_BTF_MODULES=y" in (tree.headers / ".config").read_text():
        require_tool("pahole")   # BTF for modules (6.12) needs pahole
    return variables


def make(tree: KernelTree, args: list[str | Path]) -> list[str]:
    """``make args`` where modules for ``tree`` are built (the host, or its build root)."""
    return buildenv.command(tree.build_env, ["make", *args])


def fresh_copy(source: Path, workdir: Path) -> None:
    """Copy ``source`` to an empty ``workdir``: builds never write into the layer,
    as bitbake builds in ${B}, not in the recipe's files."""
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(source, workdir)


def build_and_install(source: Path, workdir: Path, tree: KernelTree, destdir: Path) -> None:
    """Build the module in ``source`` (copied to ``workdir``) and install it under ``destdir``."""
    fresh_copy(source, workdir)
    variables = make_vars(tree)
    run(make(tree, ["-C", workdir, *variables, "all"]))
    run(make(tree, ["-C", workdir, *variables, f"INSTALL_MOD_PATH={destdir}",
                    "INSTALL_MOD_STRIP=1", "DEPMOD=true", "modules_install"]))


def warnings_of_build(source: Path, workdir: Path, tree: KernelTree) -> list[str]:
    """Build ``source`` with W=1 (extra warnings); return the warning and error lines."""
    fresh_copy(source, workdir)
    proc = subprocess.run(make(tree, ["-C", workdir, *make_vars(tree), "W=1", "all"]),
                          capture_output=True, text=True, check=False)
    lines = (proc.stdout + proc.stderr).splitlines()
    problems = [line for line in lines if re.search(r"\b(warning|error)\b", line, re.I)]
    if proc.returncode != 0 and not problems:
        problems = lines[-10:]
    return problems
