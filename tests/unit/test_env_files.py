"""Each tests/env/qemu-*.yaml, read by labgrid itself, starts the guest the bed describes."""

from __future__ import annotations

from pathlib import Path

import pytest
from labgrid import Environment

from lmwbed import labenv
from lmwbed.catalog import ARCHES, KERNELS
from lmwbed.guest import USERLAND_NAMES, Guest, GuestSpec
from lmwbed.kernels import KernelTree


def _guest(tmp_path: Path, userland: str, arch: str) -> Guest:
    tree = KernelTree(series=KERNELS["6.1"], arch=ARCHES[arch], release="9.9.9-test",
                      version="9.9.9-1", root=tmp_path)
    rootfs = tmp_path / "root.ext4" if userland != "initramfs" else None
    return Guest(spec=GuestSpec(kernel="6.1", arch=arch, userland=userland), tree=tree,
                 initrd=tmp_path / "boot.cpio.gz", rootfs=rootfs)


@pytest.mark.parametrize("arch", sorted(ARCHES))
@pytest.mark.parametrize("userland", USERLAND_NAMES)
def test_env_file_builds_the_qemu_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          userland: str, arch: str) -> None:
    guest = _guest(tmp_path, userland, arch)
    for name, value in guest.labgrid_vars().items():
        monkeypatch.setenv(name, value)
    env_file = labenv.env_file(userland)
    assert labenv.userland_of(env_file) == userland
    env = Environment(config_file=str(env_file))
    try:
        qemu = env.get_target("main").get_driver("QEMUDriver", activate=False)
        argv = qemu.get_qemu_base_args()
    finally:
        env.cleanup()
    assert argv[0].endswith(ARCHES[arch].qemu)
    assert argv[argv.index("-kernel") + 1] == str(guest.tree.vmlinuz)
    assert argv[argv.index("-initrd") + 1] == str(guest.initrd)
    assert argv[argv.index("-accel") + 1] == ARCHES[arch].accel
    assert argv[argv.index("-machine") + 1] == ARCHES[arch].machine
    cmdline = argv[argv.index("-append") + 1]
    assert f"console={ARCHES[arch].console}" in cmdline
    drives = [argv[i + 1] for i, a in enumerate(argv) if a == "-drive"]
    if guest.rootfs is None:
        assert drives == [] and "root=" not in cmdline
    else:
        assert drives == [f"if=virtio,format=raw,file={guest.rootfs},snapshot=on"]
        assert "root=/dev/vda" in cmdline


def test_board_env_files_are_not_bed_guests(tmp_path: Path) -> None:
    board = tmp_path / "board.yaml"
    board.write_text("targets:\n  main:\n    drivers: {}\n")
    assert labenv.userland_of(board) is None


@pytest.mark.parametrize(("machine", "qemu", "kernel"), [
    ("qemux86-64", "qemu-system-x86_64", "bzImage"),
    ("qemuarm64", "qemu-system-aarch64", "Image"),
])
def test_yocto_env_files_boot_the_deployed_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 machine: str, qemu: str, kernel: str) -> None:
    """tests/env/yocto-<machine>.yaml boots what kas deployed, as the bed boots its guests."""
    monkeypatch.setenv("LG_YOCTO_DEPLOY", str(tmp_path))
    env_file = labenv.env_file("initramfs").with_name(f"yocto-{machine}.yaml")
    assert labenv.userland_of(env_file) is None      # left to labgrid: no bed guest to build
    env = Environment(config_file=str(env_file))
    try:
        argv = env.get_target("main").get_driver("QEMUDriver", activate=False).get_qemu_base_args()
    finally:
        env.cleanup()
    assert argv[0].endswith(qemu)
    assert argv[argv.index("-kernel") + 1] == str(tmp_path / kernel)
    rootfs = tmp_path / f"lmw-image-{machine}.rootfs.ext4"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-drive"] == [
        f"if=virtio,format=raw,file={rootfs},snapshot=on"]
    if machine == "qemux86-64":
        assert argv[argv.index("-accel") + 1] == "tcg,thread=single"
