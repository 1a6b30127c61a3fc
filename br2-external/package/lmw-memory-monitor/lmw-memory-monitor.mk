################################################################################
#
# lmw-memory-monitor
#
################################################################################

LMW_MEMORY_MONITOR_VERSION = $(LMW_VERSION)
LMW_MEMORY_MONITOR_SITE = $(LMW_LAYER_DIR)/recipes-support/lmw-memory-monitor/files
LMW_MEMORY_MONITOR_SITE_METHOD = local
LMW_MEMORY_MONITOR_LICENSE = MIT
LMW_MEMORY_MONITOR_LICENSE_FILES = Makefile
$(eval $(call lmw-licence-text,LMW_MEMORY_MONITOR,MIT))
LMW_MEMORY_MONITOR_DEPENDENCIES = python3 dbus

# The component's own install rule, the one the Yocto recipe and the QEMU
# test bed run; the unit is enabled by Buildroot's presets.
LMW_MEMORY_MONITOR_INSTALL_OPTS = \
	DESTDIR=$(TARGET_DIR) \
	PREFIX=/usr \
	PYTHON=/usr/bin/python3 \
	SYSTEMD_UNITDIR=/usr/lib/systemd/system \
	DBUS_POLICYDIR=/usr/share/dbus-1/system.d

define LMW_MEMORY_MONITOR_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(LMW_MEMORY_MONITOR_INSTALL_OPTS) install
endef

$(eval $(generic-package))
