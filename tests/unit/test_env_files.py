"""Each tests/env/qemu-*.yaml, read by labgrid itself, starts the guest the bed describes."""

from __future__ import annotations

from pathlib import Path

import pytest
from labgrid import Environment

from lmwtools.bed import boot
from lmwtools.bed.catalog import ARCHES, KERNELS, USERLANDS
from lmwtools.bed.guest import MAX_VCPUS, VCPUS, Guest, GuestSpec
from lmwtools.bed.kernels import KernelTree
from lmwtools.core.errors import UserError


def _guest(tmp_path: Path, userland: str, arch: str, vcpus: int = VCPUS) -> Guest:
    tree = KernelTree(series=KERNELS["6.1"], arch=ARCHES[arch], release="9.9.9-test",
                      version="9.9.9-1", root=tmp_path)
    rootfs = tmp_path / "root.ext4" if userland != "initramfs" else None
    return Guest(spec=GuestSpec(kernel="6.1", arch=arch, userland=userland, vcpus=vcpus),
                 tree=tree, initrd=tmp_path / "boot.cpio.gz", rootfs=rootfs)


def _qemu_argv(guest: Guest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The QEMU command line that labgrid builds from the guest's env file."""
    for name, value in guest.labgrid_vars().items():
        monkeypatch.setenv(name, value)
    env = Environment(config_file=str(boot.env_file(guest.spec.userland)))
    try:
        qemu = env.get_target("main").get_driver("QEMUDriver", activate=False)
        return [str(arg) for arg in qemu.get_qemu_base_args()]
    finally:
        env.cleanup()


@pytest.mark.parametrize("arch", sorted(ARCHES))
@pytest.mark.parametrize("userland", USERLANDS)
def test_env_file_builds_the_qemu_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          userland: str, arch: str) -> None:
    guest = _guest(tmp_path, userland, arch)
    assert boot.userland_of(boot.env_file(userland)) == userland
    argv = _qemu_argv(guest, monkeypatch)
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
    assert boot.userland_of(board) is None


def image_qemu_argv(name: str) -> list[str]:
    """The QEMU command line of tests/env/<name>, an image built elsewhere (Yocto,
    Buildroot): left to labgrid, no bed guest to build."""
    env_file = boot.env_file("initramfs").with_name(name)
    assert boot.userland_of(env_file) is None
    env = Environment(config_file=str(env_file))
    try:
        argv: list[str] = env.get_target("main").get_driver(
            "QEMUDriver", activate=False).get_qemu_base_args()
    finally:
        env.cleanup()
    return argv


@pytest.mark.parametrize(("machine", "qemu", "kernel"), [
    ("qemux86-64", "qemu-system-x86_64", "bzImage"),
    ("qemuarm64", "qemu-system-aarch64", "Image"),
    ("qemuarm", "qemu-system-arm", "zImage"),
    ("qemuriscv64", "qemu-system-riscv64", "Image"),
])
def test_yocto_env_files_boot_the_deployed_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 machine: str, qemu: str, kernel: str) -> None:
    """tests/env/yocto-<machine>.yaml boots what kas deployed, as the bed boots its guests."""
    monkeypatch.setenv("LG_YOCTO_DEPLOY", str(tmp_path))
    argv = image_qemu_argv(f"yocto-{machine}.yaml")
    assert argv[0].endswith(qemu)
    assert argv[argv.index("-kernel") + 1] == str(tmp_path / kernel)
    rootfs = tmp_path / f"lmw-image-{machine}.rootfs.ext4"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-drive"] == [
        f"if=virtio,format=raw,file={rootfs},snapshot=on"]
    if machine == "qemux86-64":
        assert argv[argv.index("-accel") + 1] == "tcg,thread=single"
    if machine == "qemuriscv64":   # through the OpenSBI that OE built
        assert argv[argv.index("-bios") + 1] == str(tmp_path / "fw_jump.elf")


BOARD_VARS = {"LG_SERIAL_ID": "A10K7Q2R", "LG_SDMUX_ID": "000000001234",
              "LG_UMS_ID": "am62-1-ums", "LG_POWER_MODEL": "netio",
              "LG_POWER_HOST": "pdu-1.farm.example", "LG_POWER_INDEX": "3"}


@pytest.mark.parametrize(("board", "storage", "flash_path", "image"), [
    ("rpi4-64", "USBSDMuxDevice", "sdmux", "lmw-image-raspberrypi4-64.rootfs.wic.bz2"),
    ("am62x-sk", "USBMassStorage", "uboot", "lmw-image-am62xx-evm.rootfs.wic.xz"),
])
def test_board_env_files_load_and_bind_the_strategy(  # noqa: PLR0917 - parametrized
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, board: str, storage: str,
        flash_path: str, image: str) -> None:
    """A board on the desk: labgrid builds the target; LmwStrategy gets power, console,
    shell and the driver that writes the medium (the farm twins: tests/farm)."""
    for name, value in BOARD_VARS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LG_YOCTO_DEPLOY", str(tmp_path))
    env_file = boot.env_file("initramfs").with_name(f"{board}.yaml")
    assert boot.userland_of(env_file) is None
    env = Environment(config_file=str(env_file))
    try:
        target = env.get_target("main")
        strategy = target.get_driver("Strategy", activate=False)
        assert type(strategy).__name__ == "LmwStrategy"
        assert type(strategy.storage.storage).__name__ == storage
        assert getattr(strategy, flash_path) is not None
        assert type(strategy.console.port).__name__ == "USBSerialPort"
        assert strategy.console.port.match["ID_SERIAL_SHORT"] == BOARD_VARS["LG_SERIAL_ID"]
        assert strategy.power.port.index == BOARD_VARS["LG_POWER_INDEX"]
        assert env.config.get_image_path(strategy.storage.image) == str(tmp_path / image)
    finally:
        env.cleanup()


def test_qemu_env_files_boot_a_hung_guest_again_and_boards_do_not() -> None:
    """LmwStrategy's boot_attempts: 2 where QEMU boots the target (a hung TCG
    boot costs seconds to redo; the farm's board is a bed guest too), 1 on
    boards (a hung boot is a finding). The file's name says which it is."""
    from labgrid.util.yaml import load

    seen = set()
    for env_file in sorted(boot.env_file("initramfs").parent.glob("*.yaml")):
        with open(env_file, encoding="utf-8") as stream:
            drivers = load(stream)["targets"]["main"]["drivers"]
        strategy = drivers["LmwStrategy"] or {}
        qemu = "qemu" in env_file.stem
        assert strategy.get("boot_attempts", 1) == (2 if qemu else 1), env_file.name
        seen.add(qemu)
    assert seen == {True, False}


def test_board_env_file_names_a_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*BOARD_VARS, "LG_YOCTO_DEPLOY"):
        monkeypatch.delenv(name, raising=False)
    from labgrid.exceptions import InvalidConfigError

    with pytest.raises(InvalidConfigError, match="unknown variable 'LG_"):
        Environment(config_file=str(boot.env_file("initramfs").with_name("rpi4-64.yaml")))


@pytest.mark.parametrize(("board", "qemu", "kernel", "root"), [
    ("x86_64", "qemu-system-x86_64", "bzImage", "/dev/vda"),
    ("aarch64-virt", "qemu-system-aarch64", "Image", "/dev/vda"),
    ("arm-vexpress", "qemu-system-arm", "zImage", "/dev/mmcblk0"),
])
def test_buildroot_env_files_boot_the_built_image(  # noqa: PLR0917 - parametrized
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, board: str, qemu: str, kernel: str,
        root: str) -> None:
    """tests/env/buildroot-qemu-<board>.yaml boots what Buildroot wrote to images/."""
    monkeypatch.setenv("LG_BUILDROOT_IMAGES", str(tmp_path))
    argv = image_qemu_argv(f"buildroot-qemu-{board}.yaml")
    assert argv[0].endswith(qemu)
    assert argv[argv.index("-kernel") + 1] == str(tmp_path / kernel)
    drives = [argv[i + 1] for i, a in enumerate(argv) if a == "-drive"]
    assert len(drives) == 1 and f"file={tmp_path / 'rootfs.ext2'}" in drives[0]
    assert f"root={root}" in argv[argv.index("-append") + 1]


# (USBSDWire3Driver binds too; its resource also needs the control serial
# number, which labgrid reads from the device when it is plugged in.)
@pytest.mark.parametrize(("resource", "driver"), [("USBSDWireDevice", "USBSDWireDriver")])
def test_an_sdwire_takes_the_place_of_the_usb_sd_mux(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resource: str, driver: str) -> None:
    """The Pi's env file with an SDWire instead: the strategy switches the card with it."""
    for name, value in BOARD_VARS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LG_YOCTO_DEPLOY", str(tmp_path))
    original = boot.env_file("initramfs").with_name("rpi4-64.yaml")
    text = original.read_text().replace("USBSDMuxDevice:", f"{resource}:")
    text = text.replace("USBSDMuxDriver: {}", f"{driver}: {{}}")
    text = text.replace("../../scripts/", f"{original.parents[2]}/scripts/")
    env_file = tmp_path / "rpi4-64-sdwire.yaml"
    env_file.write_text(text)
    env = Environment(config_file=str(env_file))
    try:
        strategy = env.get_target("main").get_driver("Strategy", activate=False)
        assert type(strategy.sdmux).__name__ == driver
        assert type(strategy.storage.storage).__name__ == resource
    finally:
        env.cleanup()


@pytest.mark.parametrize("vcpus", [1, VCPUS, MAX_VCPUS])
def test_the_guest_has_the_vcpus_it_was_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              vcpus: int) -> None:
    argv = _qemu_argv(_guest(tmp_path, "systemd", "x86_64", vcpus), monkeypatch)
    assert argv[argv.index("-smp") + 1] == str(vcpus)


@pytest.mark.parametrize("vcpus", [0, -1, MAX_VCPUS + 1])
def test_a_vcpu_count_out_of_range_is_refused_before_any_download(vcpus: int) -> None:
    with pytest.raises(UserError, match=f"{vcpus} vCPUs: a guest has 1 to {MAX_VCPUS}"):
        GuestSpec(kernel="6.1", arch="x86_64", userland="systemd", vcpus=vcpus).check()
