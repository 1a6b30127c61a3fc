"""How the scripts/ wrappers start a tool: under the project's venv, then its cli's main().

Every wrapper under scripts/ is the same three lines but for the module it
names, so that starting a tool never differs from one tool to the next.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from .paths import VENV_PYTHON


def in_project_venv(script: str) -> None:
    """Re-run ``script`` with build/venv's Python when this one lacks labgrid
    (make deps puts it there), so the wrappers work without activating anything."""
    try:
        import labgrid  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), script, *sys.argv[1:]])


def run_tool(module: str, script: str) -> int:
    """The wrapper ``script``'s body: ``module.main()`` in the project's venv."""
    in_project_venv(script)
    status: int = importlib.import_module(module).main()
    return status
