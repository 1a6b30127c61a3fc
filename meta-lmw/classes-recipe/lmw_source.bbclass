# The layer's own components: their sources are the files next to the
# recipe (file://), the same folders the QEMU test bed builds from.
#
# wrynose (and every release since 5.1) unpacks local files into
# ${UNPACKDIR}; scarthgap has no UNPACKDIR and unpacks into ${WORKDIR}.
# Pointing S at whichever this release has keeps one recipe per component
# for both LTS releases.
S = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
