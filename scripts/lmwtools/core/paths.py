"""Where things are: the repository's parts and the folders the tools write to.

Every tool writes below build/ (git-ignored); the bed's downloads and
images go to $LMW_CACHE when it is set, so that clones can share them.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LAYER = REPO / "meta-lmw"
# the folder that holds this package: what `python -m lmwtools...` needs on sys.path
SCRIPTS = REPO / "scripts"
TESTS = REPO / "tests"
# labgrid environment files: QEMU guests, boards, farm places
ENV_DIR = TESTS / "env"
# components that exist only for the bed's own tests (not in the layer)
TEST_PAYLOAD = TESTS / "payload"
BUILD = REPO / "build"
VENV_PYTHON = BUILD / "venv" / "bin" / "python3"
TEST_RESULTS = BUILD / "test-results"
BENCH_RESULTS = BUILD / "bench"
OE_CHECK_WORK = BUILD / "oe-check"


def cache_root() -> Path:
    """Where the bed keeps downloads and builds: $LMW_CACHE or build/bed."""
    env = os.environ.get("LMW_CACHE")
    if env:
        return Path(env).resolve()
    return BUILD / "bed"
