################################################################################
#
# lmw-sysctl
#
################################################################################

LMW_SYSCTL_VERSION = $(LMW_VERSION)
LMW_SYSCTL_SITE = $(LMW_LAYER_DIR)/recipes-support/lmw-sysctl/files
LMW_SYSCTL_SITE_METHOD = local
LMW_SYSCTL_LICENSE = MIT
LMW_SYSCTL_LICENSE_FILES = Makefile
$(eval $(call lmw-licence-text,LMW_SYSCTL,MIT))

# The component's own install rule, the one the Yocto recipe and the QEMU
# test bed run. The udev rule only where a udev runs it; the init script
# only for busybox or SysV init, numbered to run after S11modules.
LMW_SYSCTL_INSTALL_OPTS = \
	DESTDIR=$(TARGET_DIR) \
	PREFIX=/usr \
	UDEVRULESDIR=$(if $(BR2_PACKAGE_HAS_UDEV),/usr/lib/udev/rules.d) \
	INITDIR=$(if $(BR2_INIT_BUSYBOX)$(BR2_INIT_SYSV),/etc/init.d) \
	INITNAME=S12lmw-sysctl

define LMW_SYSCTL_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(LMW_SYSCTL_INSTALL_OPTS) install
endef

$(eval $(generic-package))
