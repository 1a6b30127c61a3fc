# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
SUMMARY = "lmw.ko's low-memory signal on D-Bus, as org.freedesktop.LowMemoryMonitor"
DESCRIPTION = "lmw-memory-monitor owns org.freedesktop.LowMemoryMonitor on the \
               system bus and sends its LowMemoryWarning signal at each change \
               of lmw.ko's state into notify (level 100) or deny (255), so that \
               GLib's GMemoryMonitor, and the applications that use it, hear \
               the signal unmodified. Python 3, standard library only; systemd \
               images (the unit is a Type=dbus service)."
SECTION = "admin"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://Makefile;beginline=1;endline=2;md5=69e54ab81d316a8c79cdaa06dc85fd62 \
                    file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302 \
"

SRC_URI = "file://Makefile \
           file://lmw-memory-monitor.service \
           file://lmw_memory_monitor.py \
           file://org.freedesktop.LowMemoryMonitor.conf \
"

inherit lmw_source allarch features_check systemd

REQUIRED_DISTRO_FEATURES = "systemd"

# The component's own install rule, the one the QEMU test bed runs too.
do_install() {
    oe_runmake install DESTDIR=${D} \
        PREFIX=${prefix} \
        SBINDIR=${sbindir} \
        PYTHON=${bindir}/python3 \
        SYSTEMD_UNITDIR=${systemd_system_unitdir} \
        DBUS_POLICYDIR=${datadir}/dbus-1/system.d
}

SYSTEMD_SERVICE:${PN} = "lmw-memory-monitor.service"
FILES:${PN} += "${datadir}/dbus-1/system.d"
# The bus, and the parts of the standard library it imports
# (python3-manifest.json): socket for the bus and the uevents. lmw.ko is
# not named: the package is allarch, the module machine-specific, and the
# daemon waits for the module (packagegroup-lmw brings it).
RDEPENDS:${PN} = "dbus python3-core python3-io"
