#!/bin/sh
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
# Post-image step after the board's own (which writes sdcard.img): a block
# map beside the SD card image, so that scripts/flash (bmaptool) writes
# only the blocks that hold data and checks each one it wrote.
set -eu

image="${BINARIES_DIR}/sdcard.img"
if [ ! -f "$image" ]; then
	echo "post-image-bmap.sh: $image not found (run the board's post-image script first)" >&2
	exit 1
fi
"${HOST_DIR}/bin/bmaptool" create -o "${image}.bmap" "$image"
