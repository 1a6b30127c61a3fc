# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
# The project's version, the one place it is kept: every component's PV,
# and the Buildroot packages' versions (br2-external/external.mk reads this
# line). Bump it with any change to a component's sources: make lint
# (scripts/lint-versions) fails otherwise.
LMW_VERSION = "1.13.4"
PV = "${LMW_VERSION}"

# The layer's own components: their sources are the files next to the
# recipe (file://), the same folders the QEMU test bed builds from.
#
# wrynose (and every release since 5.1) unpacks local files into
# ${UNPACKDIR}; scarthgap has no UNPACKDIR and unpacks into ${WORKDIR}.
# Pointing S at whichever this release has keeps one recipe per component
# for both LTS releases.
S = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
