# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "The Low Memory Watermark stack"
DESCRIPTION = "lmw.ko (autoloaded), its sysctl defaults and lmw-terminator: \
               what an image needs to refuse commitments past the deny watermark and free \
               memory before it."
SECTION = "base"
LICENSE = "MIT"

# Machine-specific: it pulls a kernel module, built for one kernel. Must be
# set before inheriting packagegroup, which would make it allarch.
PACKAGE_ARCH = "${MACHINE_ARCH}"

inherit features_check packagegroup

# The stack assumes the distro's swapless kernel and defaults.
REQUIRED_DISTRO_FEATURES = "lmw"

RDEPENDS:${PN} = "kernel-module-lmw \
                  lmw-sysctl \
                  lmw-terminator \
"
