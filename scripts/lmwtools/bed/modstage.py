"""Put a kernel's modules into a guest tree: only those the guest needs.

A full Debian module tree is ~400 MB; a guest needs a dozen boot drivers
plus the payload's modules. The dozen are found by name and closed over
the kernel's own modules.dep, decompressed (busybox cannot load .ko.xz),
and depmod then indexes them together with the payload's modules, so
``modprobe`` works in the guest as on a real device.
"""

from __future__ import annotations

import lzma
import shutil
from pathlib import Path

from ..core.errors import UserError
from ..core.host import run
from .kernels import KernelTree

# What every guest loads at boot: the disk and RNG over virtio, ext4.
BOOT_MODULES = ("virtio_pci", "virtio_blk", "virtio_rng", "ext4")
# Loaded when the kernel has them as modules (names changed across 5.10-6.12;
# the balloon is what tests/mm takes RAM from a running guest with).
OPTIONAL_MODULES = ("crc32c_generic", "virtio_balloon")


def _modname(path: str) -> str:
    name = Path(path).name
    for suffix in (".xz", ".zst", ".gz", ".ko"):
        name = name.removesuffix(suffix)
    return name.replace("-", "_")


def _dep_graph(modules_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """modname -> (relative path, [relative paths of its dependencies])."""
    graph: dict[str, tuple[str, list[str]]] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        target, _, deps = line.partition(":")
        graph[_modname(target)] = (target, deps.split())
    return graph


def _builtin(modules_dir: Path) -> set[str]:
    path = modules_dir / "modules.builtin"
    return {_modname(line) for line in path.read_text().splitlines()} if path.exists() else set()


def select(tree: KernelTree) -> tuple[list[str], list[str]]:
    """(names to load at boot, module files to copy incl. dependencies)."""
    if tree.series.source is not None:
        return [], []   # a kernel the bed builds boots the initramfs: nothing to load
    graph = _dep_graph(tree.modules)
    builtin = _builtin(tree.modules)
    load: list[str] = []
    for name in BOOT_MODULES:
        if name in graph:
            load.append(name)
        elif name not in builtin:
            raise UserError(f"kernel {tree.release} has {name} neither built in nor as a module")
    load += [name for name in OPTIONAL_MODULES if name in graph]
    files: list[str] = []
    pending = [graph[name][0] for name in load]
    by_path = {path: deps for path, deps in graph.values()}
    while pending:
        path = pending.pop()
        if path in files:
            continue
        files.append(path)
        pending.extend(by_path.get(path, []))
    return load, files


def _unpack_xz(packed: Path, target: Path) -> None:
    """busybox insmod/modprobe load plain .ko only."""
    target.with_suffix("").write_bytes(lzma.decompress(packed.read_bytes()))


def install(tree: KernelTree, payload: Path, dest_modules: Path) -> list[str]:
    """Fill ``dest_modules`` (<guest>/lib/modules/<release>); return modules to load at boot."""
    load, files = select(tree)
    dest_modules.mkdir(parents=True, exist_ok=True)
    for rel in files:
        target = dest_modules / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tree.modules / rel
        if rel.endswith(".xz"):
            _unpack_xz(source, target)
        else:
            shutil.copy2(source, target)
    for name in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        if (tree.modules / name).exists():
            shutil.copy2(tree.modules / name, dest_modules / name)
    payload_modules = payload / "lib" / "modules" / tree.release
    if payload_modules.is_dir():
        shutil.copytree(payload_modules, dest_modules, dirs_exist_ok=True)
        # 6.12's modules_install compresses (CONFIG_MODULE_COMPRESS_XZ); busybox
        # modprobe hands the raw file to init_module first, which logs
        # "Invalid ELF header magic" before its fallback works: unpack them.
        for packed in dest_modules.rglob("*.ko.xz"):
            _unpack_xz(packed, packed)
            packed.unlink()
    # depmod -b wants <base>/lib/modules/<release>
    base = dest_modules.parents[2]
    run(["depmod", "-b", base, tree.release])
    return load
