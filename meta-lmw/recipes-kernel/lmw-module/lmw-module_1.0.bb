SUMMARY = "Low Memory Watermark kernel module (lmw.ko)"
DESCRIPTION = "Watches committed memory at every commit decision through a \
               kprobe on __vm_enough_memory. Past the deny watermark it refuses new \
               commitments to unprivileged callers with ENOMEM; past the notify watermark \
               it signals user space (POLLPRI on /sys/kernel/lmw/watermark/state, uevents)."
SECTION = "kernel/modules"
LICENSE = "GPL-2.0-only"
LIC_FILES_CHKSUM = "file://lmw.c;beginline=1;endline=1;md5=50d2ba0afecd20f74c12a4bdbcfcfe61"

SRC_URI = "file://Kbuild \
           file://Makefile \
           file://lmw.c \
"

inherit lmw_source module

RPROVIDES:${PN} += "kernel-module-lmw"

# Loaded at boot (modules-load.d): the watermarks in /proc/sys/vm appear with
# the module, and lmw-sysctl's defaults are applied when it arrives.
KERNEL_MODULE_AUTOLOAD += "lmw"
