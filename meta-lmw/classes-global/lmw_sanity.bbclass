# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
# Warn once per build when meta-lmw is in bblayers.conf but the distro has
# not turned it on: the layer then only offers its recipes, the kernel keeps
# swap and no sysctl defaults apply. Set LMW_SKIP_FEATURE_CHECK = "1" to
# silence it (yocto-check-layer runs, recipe-only users).

addhandler lmw_feature_check
lmw_feature_check[doc] = "Warns when meta-lmw is in the build without the lmw distro feature"
lmw_feature_check[eventmask] = "bb.event.SanityCheck"
python lmw_feature_check() {
    if e.data.getVar('LMW_SKIP_FEATURE_CHECK') == "1":
        return
    if not bb.utils.contains('DISTRO_FEATURES', 'lmw', True, False, e.data):
        bb.warn("meta-lmw is in the build but DISTRO_FEATURES lacks 'lmw': "
                "add DISTRO_FEATURES:append = \" lmw\" to your distro or local.conf "
                "(or LMW_SKIP_FEATURE_CHECK = \"1\" to silence this).")
}
