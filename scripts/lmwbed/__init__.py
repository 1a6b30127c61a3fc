"""meta-lmw QEMU test bed: Debian kernels, guests and their labgrid environments."""
