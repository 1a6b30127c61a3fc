"""scripts/farm: the suite on a place of a labgrid farm, and a farm on loopback (manual: cli.py)."""
