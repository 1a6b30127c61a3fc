"""make lint's kernel C checks: checkpatch --strict and W=1 builds (scripts/lint-kernel, cli.py)."""
