# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
# Raspberry Pi kernels are built with kernel-yocto.bbclass too: the same
# fragment, with the same gate as linux-yocto's.
require ${@bb.utils.contains('DISTRO_FEATURES', 'lmw', 'recipes-kernel/linux/linux-yocto_lmw.inc', '', d)}
