"""scripts/br-check: the Buildroot tree through the real Buildroot, offline (the manual: cli.py)."""
