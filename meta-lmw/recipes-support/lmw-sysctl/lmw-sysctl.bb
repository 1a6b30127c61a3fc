# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "Sysctl defaults for the Low Memory Watermark module"
DESCRIPTION = "The vm.lowmem_notify_watermark and vm.lowmem_deny_watermark \
               defaults (sysctl.d), applied whenever lmw.ko arrives: by systemd-sysctl and \
               a udev rule, or by an early init script on sysvinit, which reads no sysctl.d."
SECTION = "admin"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://Makefile;beginline=1;endline=2;md5=69e54ab81d316a8c79cdaa06dc85fd62 \
                    file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
"

SRC_URI = "file://90-lmw-sysctl.rules \
           file://90-lmw.conf \
           file://Makefile \
           file://lmw-sysctl \
           file://lmw-sysctl.init \
"

inherit lmw_source allarch update-rc.d

# The component's own install rule, the one the QEMU test bed runs too.
# The init script only where sysvinit runs it (update-rc.d registers
# nothing elsewhere, and nothing would remove the file).
do_install() {
    oe_runmake install DESTDIR=${D} \
        PREFIX=${prefix} \
        SBINDIR=${sbindir} \
        SYSCONFDIR=${sysconfdir} \
        UDEVRULESDIR=${nonarch_base_libdir}/udev/rules.d \
        INITDIR=${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', '${INIT_D_DIR}', '', d)}
}

# Right after modutils.sh (start 06 S) has loaded modules-load.d's modules.
INITSCRIPT_NAME = "lmw-sysctl"
INITSCRIPT_PARAMS = "start 07 S ."

FILES:${PN} += "${nonarch_base_libdir}/udev/rules.d"
CONFFILES:${PN} += "${sysconfdir}/sysctl.d/90-lmw.conf"
