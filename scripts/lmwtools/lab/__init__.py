"""The labgrid glue: what every target (QEMU guest, board, farm place) is driven through.

- ``lmwstrategy``: LmwStrategy, the strategy of every env file in tests/env/
  (loaded by labgrid from the env files' ``imports``);
- ``shell``: helpers for tests that drive a target through ShellDriver;
- ``places``: places of a labgrid farm, locked around a job (labgrid-client).
"""
