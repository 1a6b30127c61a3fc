################################################################################
#
# lmw-module
#
################################################################################

LMW_MODULE_VERSION = $(LMW_VERSION)
LMW_MODULE_SITE = $(LMW_LAYER_DIR)/recipes-kernel/lmw-module/files
LMW_MODULE_SITE_METHOD = local
LMW_MODULE_LICENSE = GPL-2.0-only
LMW_MODULE_LICENSE_FILES = lmw.c
$(eval $(call lmw-licence-text,LMW_MODULE,GPL-2.0-only))

# The kernel options of the layer's config fragment, read from the
# fragment itself (one list for Yocto and Buildroot): each "CONFIG_X=y"
# turned on, each "# CONFIG_X is not set" turned off.
LMW_MODULE_KCONFIG_FRAGMENT = \
	$(LMW_LAYER_DIR)/recipes-kernel/linux/linux-yocto/lmw.cfg
LMW_MODULE_KCONFIG_ON = $(shell sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$$/\1/p' \
	$(LMW_MODULE_KCONFIG_FRAGMENT))
LMW_MODULE_KCONFIG_OFF = $(shell sed -n 's/^\# \(CONFIG_[A-Z0-9_]*\) is not set$$/\1/p' \
	$(LMW_MODULE_KCONFIG_FRAGMENT))

define LMW_MODULE_LINUX_CONFIG_FIXUPS
	$(foreach option,$(LMW_MODULE_KCONFIG_ON),$(call KCONFIG_ENABLE_OPT,$(option))$(sep))
	$(foreach option,$(LMW_MODULE_KCONFIG_OFF),$(call KCONFIG_DISABLE_OPT,$(option))$(sep))
endef

# Loaded at boot: by S11modules under busybox init, by
# systemd-modules-load under systemd. lmw-sysctl applies the defaults
# once it is there.
define LMW_MODULE_INSTALL_AUTOLOAD
	mkdir -p $(TARGET_DIR)/etc/modules-load.d
	echo lmw > $(TARGET_DIR)/etc/modules-load.d/lmw.conf
endef
LMW_MODULE_POST_INSTALL_TARGET_HOOKS += LMW_MODULE_INSTALL_AUTOLOAD

# lmw(4), by the component's own rule. (Buildroot's target-finalize then
# removes /usr/share/man from every image; the page is installed all the
# same, so that a tree that keeps documentation finds it.)
define LMW_MODULE_INSTALL_MAN
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) DESTDIR=$(TARGET_DIR) \
		MANDIR=/usr/share/man install-man
endef
LMW_MODULE_POST_INSTALL_TARGET_HOOKS += LMW_MODULE_INSTALL_MAN

# Swapless, or no image: the layer's check (the Yocto images run it too),
# on the final tree of each filesystem image (after overlays and the
# post-build scripts, so nothing added there escapes it).
define LMW_MODULE_CHECK_SWAPLESS
	$(LMW_LAYER_DIR)/scripts/lmw-check-swapless \
		--rootfs $(TARGET_DIR) --kernel-config $(LINUX_DIR)/.config
endef
LMW_MODULE_ROOTFS_PRE_CMD_HOOKS += LMW_MODULE_CHECK_SWAPLESS

$(eval $(kernel-module))
$(eval $(generic-package))
