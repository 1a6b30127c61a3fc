"""scripts/lint-versions: no source change under the same version (the manual: cli.py)."""
