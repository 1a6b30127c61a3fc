# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "Low Memory Watermark kernel module (lmw.ko)"
DESCRIPTION = "Watches committed memory at every commit decision through a \
               kprobe on __vm_enough_memory. Past the deny watermark it refuses new \
               commitments to unprivileged callers with ENOMEM; past the notify watermark \
               it signals user space (POLLPRI on /sys/kernel/lmw/watermark/state, a uevent if asked for)."
SECTION = "kernel/modules"
LICENSE = "GPL-2.0-only"
LIC_FILES_CHKSUM = "file://lmw.c;beginline=1;endline=3;md5=0ebbe1a020973339f534145e26d97a26 \
                    file://${COMMON_LICENSE_DIR}/GPL-2.0-only;md5=801f80980d171dd6425610833a22dbe6 \
"

SRC_URI = "file://Kbuild \
           file://Makefile \
           file://lmw.4 \
           file://lmw.c \
"

inherit lmw_source module

# The module's manual page, lmw(4), into ${PN}-doc.
do_install:append() {
    oe_runmake install-man DESTDIR=${D} MANDIR=${mandir}
}

RPROVIDES:${PN} += "kernel-module-lmw"

# Loaded at boot (modules-load.d): the watermarks in /proc/sys/vm appear with
# the module, and lmw-sysctl's defaults are applied when it arrives.
KERNEL_MODULE_AUTOLOAD += "lmw"
