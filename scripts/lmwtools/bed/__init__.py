"""The test bed: Debian's own kernels in QEMU guests, with the layer's payload installed.

- ``catalog``: what the bed can boot (kernel series, arches, userlands, the matrix);
- ``mirrors``, ``apt``: Debian mirrors and a private apt per suite set;
- ``kernels``: resolve, download and unpack a kernel with its headers;
- ``kbuild``, ``payload``: the layer's components built and installed by their own rules;
- ``packaging``: what OE does at rootfs time (init links, module autoload);
- ``modstage``, ``initramfs``, ``rootfs``: the images;
- ``guest``: a (kernel, arch, userland) built into bootable images;
- ``boot``: booting a guest through its labgrid env file;
- ``cli``: scripts/testbed, the manual; ``initfiles/``: the busybox-init files.
"""
