# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "A swapless image with the Low Memory Watermark stack"
DESCRIPTION = "core-image-minimal's boot set plus packagegroup-lmw. Swapless \
               by construction: the distro feature lmw builds the kernel without swap, and \
               the image fails to build if swap comes back (a swap line in fstab, a swap \
               unit, zram, or a kernel with CONFIG_SWAP)."
SECTION = "images"
LICENSE = "MIT"

# lmw_swapless: swapless or no image (classes-recipe/lmw_swapless.bbclass)
inherit core-image features_check lmw_swapless

REQUIRED_DISTRO_FEATURES = "lmw"

IMAGE_INSTALL = "packagegroup-core-boot packagegroup-lmw ${CORE_IMAGE_EXTRA_INSTALL}"
IMAGE_LINGUAS = ""

# labgrid's QEMUDriver boots a plain ext4 (qemu machines build ext4.zst
# only, since whinlatter).
IMAGE_FSTYPES:append = " ext4"

IMAGE_ROOTFS_SIZE ?= "8192"
IMAGE_ROOTFS_EXTRA_SPACE:append = "${@bb.utils.contains('DISTRO_FEATURES', 'systemd', ' + 4096', '', d)}"
