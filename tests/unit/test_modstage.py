"""Boot-module selection closes over the kernel's own modules.dep."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmwtools.bed import modstage
from lmwtools.bed.catalog import ARCHES, KERNELS
from lmwtools.bed.kernels import KernelTree
from lmwtools.core.errors import UserError


def _tree(tmp_path: Path, dep: str, builtin: str = "") -> KernelTree:
    modules = tmp_path / "lib" / "modules" / "9.9.9-test"
    modules.mkdir(parents=True)
    (modules / "modules.dep").write_text(dep)
    (modules / "modules.builtin").write_text(builtin)
    return KernelTree(series=KERNELS["6.1"], arch=ARCHES["x86_64"], release="9.9.9-test",
                      version="9.9.9-1", root=tmp_path)


DEP = (
    "kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz\n"
    "kernel/drivers/virtio/virtio_ring.ko.xz:\n"
    "kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz\n"
    "kernel/drivers/char/hw_random/virtio-rng.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz\n"
    "kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.xz kernel/fs/mbcache.ko.xz\n"
    "kernel/fs/jbd2/jbd2.ko.xz:\n"
    "kernel/fs/mbcache.ko.xz:\n"
    "kernel/sound/unrelated.ko.xz:\n"
)


def test_dependencies_are_closed_over(tmp_path: Path) -> None:
    load, files = modstage.select(_tree(tmp_path, DEP))
    assert load == ["virtio_pci", "virtio_blk", "virtio_rng", "ext4"]
    assert "kernel/fs/jbd2/jbd2.ko.xz" in files
    assert "kernel/drivers/virtio/virtio_ring.ko.xz" in files
    assert len(files) == len(set(files)) == 7
    assert not any("unrelated" in f for f in files)


def test_builtin_drivers_are_not_loaded(tmp_path: Path) -> None:
    dep = "".join(line + "\n" for line in DEP.splitlines() if "virtio_pci" not in line)
    load, _ = modstage.select(
        _tree(tmp_path, dep, builtin="kernel/drivers/virtio/virtio_pci.ko\n"))
    assert "virtio_pci" not in load and "ext4" in load


def test_missing_driver_is_an_error(tmp_path: Path) -> None:
    dep = "".join(line + "\n" for line in DEP.splitlines() if "ext4" not in line)
    with pytest.raises(UserError, match="ext4 neither built in nor as a module"):
        modstage.select(_tree(tmp_path, dep))
