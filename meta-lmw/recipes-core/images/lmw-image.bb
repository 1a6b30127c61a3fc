SUMMARY = "A swapless image with the Low Memory Watermark stack"
DESCRIPTION = "core-image-minimal's boot set plus packagegroup-lmw. Swapless \
               by construction: the distro feature lmw builds the kernel without swap, and \
               the image fails to build if swap comes back (a swap line in fstab, a swap \
               unit, zram, or a kernel with CONFIG_SWAP)."
SECTION = "images"
LICENSE = "MIT"

inherit core-image features_check

REQUIRED_DISTRO_FEATURES = "lmw"

IMAGE_INSTALL = "packagegroup-core-boot packagegroup-lmw ${CORE_IMAGE_EXTRA_INSTALL}"
IMAGE_LINGUAS = ""

# labgrid's QEMUDriver boots a plain ext4 (qemu machines build ext4.zst
# only, since whinlatter).
IMAGE_FSTYPES:append = " ext4"

IMAGE_ROOTFS_SIZE ?= "8192"
IMAGE_ROOTFS_EXTRA_SPACE:append = "${@bb.utils.contains('DISTRO_FEATURES', 'systemd', ' + 4096', '', d)}"

# The swapless check reads the kernel's .config from its shared work dir.
do_image_qa[depends] += "virtual/kernel:do_shared_workdir"
IMAGE_QA_COMMANDS += "lmw_image_check_swapless"
ERROR_QA:append = " lmw-swapless"

# Every way swap can come back into an image, each a build error.
lmw_image_check_swapless[doc] = "Fails the image if swap can come back: fstab, swap units, zram, CONFIG_SWAP"
python lmw_image_check_swapless() {
    import glob
    import oe.qa
    import oe.rootfs

    rootfs = d.getVar('IMAGE_ROOTFS')
    found = []

    fstab = rootfs + d.getVar('sysconfdir') + '/fstab'
    if os.path.exists(fstab):
        with open(fstab) as f:
            for number, line in enumerate(f, 1):
                fields = line.split('#', 1)[0].split()
                if len(fields) >= 3 and fields[2] == 'swap':
                    found.append('%s:%d has a swap entry: %s' % (d.getVar('sysconfdir') + '/fstab', number, line.strip()))

    for folder in (d.getVar('systemd_system_unitdir'), d.getVar('sysconfdir') + '/systemd/system'):
        for unit in sorted(glob.glob(rootfs + folder + '/**/*.swap', recursive=True)):
            found.append('swap unit %s' % unit[len(rootfs):])

    installed = oe.rootfs.image_list_installed_packages(d)
    found += ['package %s puts swap in RAM' % p for p in sorted(installed) if p.startswith('zram')]

    config = d.getVar('STAGING_KERNEL_BUILDDIR') + '/.config'
    if os.path.exists(config):
        with open(config) as f:
            if 'CONFIG_SWAP=y\n' in f.readlines():
                found.append('the kernel has CONFIG_SWAP=y (meta-lmw/README.md: "Kernels that are not linux-yocto")')
    else:
        bb.warn('lmw: cannot check the kernel for swap: %s is missing' % config)

    for problem in found:
        oe.qa.handle_error('lmw-swapless', 'lmw-image must be swapless: ' + problem, d)
}
