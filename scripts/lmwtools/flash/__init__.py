"""scripts/flash: an image to an SD card or a farm board, then checked (the manual: cli.py)."""
