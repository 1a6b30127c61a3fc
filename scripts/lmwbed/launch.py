"""Entry points run under the project's venv: labgrid lives in build/venv (make deps)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parents[2] / "build" / "venv" / "bin" / "python3"


def in_project_venv(script: str) -> None:
    """Re-run ``script`` with build/venv's Python when this one lacks labgrid,
    so the entry points work without activating anything."""
    try:
        import labgrid  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), script, *sys.argv[1:]])
