# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
# lmw_swapless: fail an image that can bring swap back. Without swap,
# committed memory is backed by RAM alone, which is what lmw.ko's
# watermarks measure against. Any image can inherit it (lmw-image does;
# a BSP's own image with packagegroup-lmw should):
#
#     inherit lmw_swapless
#
# The rules (a swap line in fstab, a swap unit, zram swap, a kernel with
# CONFIG_SWAP) are the layer's scripts/lmw-check-swapless, which the
# Buildroot packages run on their images too. Each finding is the QA
# error lmw-swapless (ERROR_QA); WARN_QA instead makes it a warning.

# The kernel's .config, read from its shared work dir.
do_image_qa[depends] += "virtual/kernel:do_shared_workdir"
IMAGE_QA_COMMANDS += "lmw_check_swapless"
ERROR_QA:append = " lmw-swapless"

LMW_CHECK_SWAPLESS = "${LMW_LAYERDIR}/scripts/lmw-check-swapless"

lmw_check_swapless[doc] = "Fails the image if swap can come back: fstab, swap units, zram, CONFIG_SWAP"
python lmw_check_swapless() {
    import subprocess
    import oe.qa
    import oe.rootfs

    argv = [d.getVar('LMW_CHECK_SWAPLESS'), '--rootfs', d.getVar('IMAGE_ROOTFS')]
    config = d.getVar('STAGING_KERNEL_BUILDDIR') + '/.config'
    if os.path.exists(config):
        argv += ['--kernel-config', config]
    else:
        bb.warn('lmw: cannot check the kernel for swap: %s is missing' % config)
    for package in sorted(oe.rootfs.image_list_installed_packages(d)):
        argv += ['--package', package]

    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode not in (0, 1):
        bb.fatal('lmw: %s failed (exit %d): %s' % (argv[0], proc.returncode, proc.stdout))
    for line in proc.stdout.splitlines():
        problem = line.split('not swapless: ', 1)[-1]
        oe.qa.handle_error('lmw-swapless', '%s must be swapless: %s' % (d.getVar('PN'), problem), d)
}
