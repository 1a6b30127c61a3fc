################################################################################
#
# lmw-examples
#
################################################################################

LMW_EXAMPLES_VERSION = $(LMW_VERSION)
LMW_EXAMPLES_SITE = $(LMW_LAYER_DIR)/recipes-examples/lmw-examples/files
LMW_EXAMPLES_SITE_METHOD = local
LMW_EXAMPLES_LICENSE = MIT
LMW_EXAMPLES_LICENSE_FILES = Makefile
$(eval $(call lmw-licence-text,LMW_EXAMPLES,MIT))

# Linked against the image's C library (STATIC=), with the toolchain's
# flags; warnings are not errors with a compiler we have not met (WERROR=).
LMW_EXAMPLES_MAKE_OPTS = \
	CC="$(TARGET_CC)" \
	CFLAGS="$(TARGET_CFLAGS)" \
	LDFLAGS="$(TARGET_LDFLAGS)" \
	STATIC= \
	WERROR= \
	PREFIX=/usr

define LMW_EXAMPLES_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(LMW_EXAMPLES_MAKE_OPTS)
endef

define LMW_EXAMPLES_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(LMW_EXAMPLES_MAKE_OPTS) \
		DESTDIR=$(TARGET_DIR) install
endef

$(eval $(generic-package))
