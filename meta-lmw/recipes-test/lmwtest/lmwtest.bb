# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "Test helper of meta-lmw's test suite (test images only)"
DESCRIPTION = "lmwtest commits, touches and holds memory in the ways the \
               tests of lmw.ko and lmw-terminator need (mmap, brk, mremap, \
               fork, shmem, opt-in warnings...), as any user, and prints \
               key=value lines. lmwbench is the guest-side half of make \
               bench: it times commitments and the low-memory signal, and \
               plays the victim, heartbeat, service, hog and fork burst of \
               the stress runs. kas/opt/test.yml adds both to test images, \
               so that the repository's tests/ run on them as on the QEMU bed."
SECTION = "devel"
LICENSE = "GPL-2.0-only"
LIC_FILES_CHKSUM = "file://lmwtest.c;beginline=1;endline=3;md5=0ebbe1a020973339f534145e26d97a26 \
                    file://${COMMON_LICENSE_DIR}/GPL-2.0-only;md5=801f80980d171dd6425610833a22dbe6 \
"

SRC_URI = "file://Makefile \
           file://lmwtest.c \
           file://lmwbench.c \
           file://lmwhelpers.h \
"

inherit lmw_source

# The component's own rules, the ones the QEMU test bed runs too; linked
# against the image's libc rather than statically, and without -Werror
# (the release's compiler may warn where the bed's does not).
EXTRA_OEMAKE = "STATIC= WERROR="

do_install() {
    oe_runmake install DESTDIR=${D} PREFIX=${prefix}
}
