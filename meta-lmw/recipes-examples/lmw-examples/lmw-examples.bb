# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "Examples of applications that free memory on the low-memory signal"
DESCRIPTION = "lmw-lowmem-cache (C) keeps a cache and frees it when lmw.ko's \
               state file says that memory runs low; lmw-lowmem-cache.py does \
               the same on lmw-terminator's opt-in warning. Their sources are \
               installed in ${datadir}/lmw/examples. The examples of the \
               application developers' guide, run by the test suite."
SECTION = "examples"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://Makefile;beginline=1;endline=2;md5=69e54ab81d316a8c79cdaa06dc85fd62 \
                    file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
"

SRC_URI = "file://Makefile \
           file://lmw-lowmem-cache.c \
           file://lmw-lowmem-cache.py \
"

inherit lmw_source

# The component's own rules, the ones the QEMU test bed runs too; linked
# against the image's libc rather than statically, and without -Werror
# (the release's compiler may warn where the bed's does not).
EXTRA_OEMAKE = "STATIC= WERROR="

do_install() {
    oe_runmake install DESTDIR=${D} PREFIX=${prefix}
}

FILES:${PN} += "${datadir}/lmw/examples"
RDEPENDS:${PN} = "python3-core"
