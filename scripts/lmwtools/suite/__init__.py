"""The test suite's runner and the demo: scripts/run-tests (cli.py) and scripts/demo (demo.py)."""
