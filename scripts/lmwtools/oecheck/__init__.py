"""scripts/oe-check: the layer through the real bitbake, offline (the manual: cli.py)."""
