################################################################################
#
# meta-lmw's Buildroot packages
#
################################################################################

# The packages build from the layer's own folders (meta-lmw/recipes-*/*/files),
# the sources that the Yocto recipes and the QEMU test bed use: no second copy.
LMW_LAYER_DIR = $(realpath $(BR2_EXTERNAL_LMW_PATH)/../meta-lmw)
# The project's version, kept in one place: the layer's lmw_source.bbclass.
LMW_VERSION = $(shell sed -n 's/^LMW_VERSION = "\(.*\)"$$/\1/p' \
	$(LMW_LAYER_DIR)/classes-recipe/lmw_source.bbclass)

# The licence texts are kept once, in the layer (meta-lmw/LICENSES); a
# package copies its own next to its sources, where legal-info reads it.
# $(1): the package's variable prefix, $(2): the licence (LICENSES/$(2).txt)
define lmw-licence-text
$(1)_LICENSE_FILES += $(2).txt
define $(1)_COPY_LICENCE_TEXT
	cp $$(LMW_LAYER_DIR)/LICENSES/$(2).txt $$(@D)/
endef
$(1)_POST_RSYNC_HOOKS += $(1)_COPY_LICENCE_TEXT
endef

include $(sort $(wildcard $(BR2_EXTERNAL_LMW_PATH)/package/*/*.mk))
