# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
# linux-yocto-rt is linux-yocto under another name: the same fragment,
# behind the same gate as linux-yocto's.
require ${@bb.utils.contains('DISTRO_FEATURES', 'lmw', 'linux-yocto_lmw.inc', '', d)}
