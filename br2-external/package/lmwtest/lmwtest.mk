################################################################################
#
# lmwtest
#
################################################################################

LMWTEST_VERSION = $(LMW_VERSION)
LMWTEST_SITE = $(LMW_LAYER_DIR)/recipes-test/lmwtest/files
LMWTEST_SITE_METHOD = local
LMWTEST_LICENSE = GPL-2.0-only
LMWTEST_LICENSE_FILES = Makefile
$(eval $(call lmw-licence-text,LMWTEST,GPL-2.0-only))

# Linked against the image's C library (STATIC=), with the toolchain's
# flags; warnings are not errors with a compiler we have not met (WERROR=).
LMWTEST_MAKE_OPTS = \
	CC="$(TARGET_CC)" \
	CFLAGS="$(TARGET_CFLAGS)" \
	LDFLAGS="$(TARGET_LDFLAGS)" \
	STATIC= \
	WERROR= \
	PREFIX=/usr

define LMWTEST_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(LMWTEST_MAKE_OPTS)
endef

define LMWTEST_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(LMWTEST_MAKE_OPTS) \
		DESTDIR=$(TARGET_DIR) install
endef

$(eval $(generic-package))
