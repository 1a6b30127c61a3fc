"""The debug kernel's config check and the guests it may boot (no build here)."""

from __future__ import annotations

import pytest

from lmwtools.bed import kernelbuild
from lmwtools.bed.catalog import BUILT_KERNELS, MATRIX, kernel_series
from lmwtools.bed.guest import GuestSpec
from lmwtools.core.errors import UserError


def test_an_option_kconfig_dropped_is_named() -> None:
    wanted = kernelbuild.wanted_options(
        "# a comment\nCONFIG_A=y\nCONFIG_B=n\nCONFIG_C=4\nCONFIG_D=\"-x\"\n")
    assert wanted == {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": "4", "CONFIG_D": '"-x"'}
    final = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=4\nCONFIG_D=\"-x\"\n"
    assert kernelbuild.missing_options(wanted, final) == []
    final = "# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=8\n"
    assert kernelbuild.missing_options(wanted, final) == [
        "CONFIG_A=y (is not set)", "CONFIG_B=n (is y)", "CONFIG_C=4 (is 8)",
        'CONFIG_D="-x" (is not set)']


def test_the_fragment_of_each_built_kernel_exists_and_asks_for_its_checkers() -> None:
    for series in BUILT_KERNELS.values():
        options = kernelbuild.wanted_options(kernelbuild.fragment(series).read_text())
        assert options["CONFIG_KPROBES"] == "y" and options["CONFIG_MODULES"] == "y"
    debug = kernelbuild.wanted_options(kernelbuild.fragment(BUILT_KERNELS["debug"]).read_text())
    for checker in ("KFENCE", "PROVE_LOCKING", "PROVE_RCU", "DEBUG_ATOMIC_SLEEP",
                    "DEBUG_OBJECTS_WORK", "DEBUG_KMEMLEAK", "UBSAN", "FAILSLAB",
                    "FAIL_PAGE_ALLOC"):
        assert debug[f"CONFIG_{checker}"] == "y", checker
    assert debug["CONFIG_FUNCTION_TRACER"] == "n"     # kprobes by int3


def test_a_built_kernel_is_no_claim_and_boots_the_initramfs_only() -> None:
    assert not [kernel for kernel, _ in MATRIX if kernel in BUILT_KERNELS]
    assert kernel_series("debug").source == "6.12"
    GuestSpec(kernel="debug", userland="initramfs").check()
    with pytest.raises(UserError, match="boots the initramfs userland only"):
        GuestSpec(kernel="debug", userland="systemd").check()
