# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
# Only with the "lmw" distro feature: adding the layer alone leaves the
# kernel (and every task signature) as it was.
require ${@bb.utils.contains('DISTRO_FEATURES', 'lmw', 'linux-yocto_lmw.inc', '', d)}
