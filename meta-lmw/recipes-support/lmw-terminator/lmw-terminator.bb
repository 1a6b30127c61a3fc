# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "LMW process terminator: frees memory before the deny watermark"
DESCRIPTION = "A daemon (Python, standard library only) that waits for the \
               low-memory signal of lmw.ko (or PSI without it), warns the processes that \
               opted in, then terminates victims chosen by its policy until committed \
               memory is back under the notify watermark. Comes with lmwctl, a CLI for \
               the watermarks."
SECTION = "admin"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://Makefile;beginline=1;endline=2;md5=69e54ab81d316a8c79cdaa06dc85fd62 \
                    file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
"

SRC_URI = "file://Makefile \
           file://launcher.in \
           file://lmw-terminator.init \
           file://lmw-terminator.service \
           file://lmw_terminator \
           file://man \
           file://terminator.toml \
"

inherit lmw_source allarch python3native systemd update-rc.d

# The component's own install rule, the one the QEMU test bed runs too.
# PYTHON is the target's interpreter (the #! line); HOST_PYTHON, the
# native one of the same minor version, precompiles the package.
do_install() {
    oe_runmake install DESTDIR=${D} \
        PREFIX=${prefix} \
        LIBDIR=${nonarch_libdir}/${BPN} \
        SBINDIR=${sbindir} \
        BINDIR=${bindir} \
        SYSCONFDIR=${sysconfdir} \
        MANDIR=${mandir} \
        SYSTEMD_UNITDIR=${systemd_system_unitdir} \
        INITDIR=${INIT_D_DIR} \
        PYTHON=${bindir}/python3 \
        HOST_PYTHON=${PYTHON}
}

# Both init systems from one recipe: systemd.bbclass drops the init script
# when systemd is the init manager, and the unit otherwise.
SYSTEMD_SERVICE:${PN} = "lmw-terminator.service"
INITSCRIPT_NAME = "lmw-terminator"
INITSCRIPT_PARAMS = "defaults 90"

FILES:${PN} += "${nonarch_libdir}/${BPN}"
CONFFILES:${PN} += "${sysconfdir}/lmw/terminator.toml"

# Standard library only: the parts of it that the daemon imports
# (python3-manifest.json): ctypes for process_mrelease(2), socket for
# sd_notify, syslog for logging, tomllib for the config file.
RDEPENDS:${PN} += "python3-core \
                   python3-ctypes \
                   python3-io \
                   python3-syslog \
                   python3-tomllib \
"
