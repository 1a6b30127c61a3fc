################################################################################
#
# lmw-terminator
#
################################################################################

LMW_TERMINATOR_VERSION = $(LMW_VERSION)
LMW_TERMINATOR_SITE = $(LMW_LAYER_DIR)/recipes-support/lmw-terminator/files
LMW_TERMINATOR_SITE_METHOD = local
LMW_TERMINATOR_LICENSE = MIT
LMW_TERMINATOR_LICENSE_FILES = Makefile
$(eval $(call lmw-licence-text,LMW_TERMINATOR,MIT))
# host-python3 is the target's version: it byte-compiles the package.
LMW_TERMINATOR_DEPENDENCIES = python3 host-python3

# The component's own install rule, the one the Yocto recipe and the QEMU
# test bed run. The package lives outside Python's path (Buildroot's own
# byte-compilation does not reach it), so it is compiled here, unless the
# image keeps .py sources only. The unit only under systemd (enabled by
# Buildroot's presets); the init script only for busybox or SysV init.
LMW_TERMINATOR_INSTALL_OPTS = \
	DESTDIR=$(TARGET_DIR) \
	PREFIX=/usr \
	PYTHON=/usr/bin/python3 \
	HOST_PYTHON=$(HOST_DIR)/bin/python3 \
	PYCOMPILE=$(if $(BR2_PACKAGE_PYTHON3_PY_ONLY),0,1) \
	SYSTEMD_UNITDIR=$(if $(BR2_INIT_SYSTEMD),/usr/lib/systemd/system) \
	INITDIR=$(if $(BR2_INIT_BUSYBOX)$(BR2_INIT_SYSV),/etc/init.d) \
	INITNAME=S90lmw-terminator

define LMW_TERMINATOR_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(LMW_TERMINATOR_INSTALL_OPTS) install
endef

$(eval $(generic-package))
