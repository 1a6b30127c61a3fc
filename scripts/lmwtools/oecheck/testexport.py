"""testexport's tree, made offline: the layer's oeqa cases run by oe-core's own oe-test.

testexport.bbclass exports what a host needs to run an image's runtime
tests without a build: ``oe-test`` and its two libraries, bitbake's lib,
each layer's ``lib/oeqa/{core,runtime,files,utils}``, and ``data/`` (the
image's package manifest and test data). ``tree()`` lays out the same,
from the snapshots at a release's locked commits, with this layer's cases
and a manifest of the packages the bed's guests carry: the real runner and
target classes run the layer's cases (tests/yocto, tests/farm):

    python3 oe-test runtime meta/lib/oeqa/runtime/cases meta-lmw/lib/oeqa/runtime/cases \\
        --target-type serial --packages-manifest data/manifest \\
        --test-data-file data/testdata.json
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from ..bed import payload
from ..core import upstream
from ..core.paths import LAYER, REPO
from .sources import locked_commits

# What testexport.bbclass exports of each layer's lib/oeqa.
EXPORTED_OEQA = ("core", "runtime", "files", "utils")
# Of the releases the layer claims, the one whose oe-core has the serial
# target (TEST_SERIALCONTROL_CMD): scarthgap's has none.
SERIAL_RELEASE = "wrynose"
# The folder, in the tree, of each layer's cases: oe-test's CASES_PATHS.
CASES = ("meta/lib/oeqa/runtime/cases", "meta-lmw/lib/oeqa/runtime/cases")


def _unpack(owner_name: str, commit: str, paths: list[str], into: Path) -> None:
    """``paths`` of ``owner_name``'s snapshot at ``commit``, under ``into``."""
    snapshot = upstream.snapshot(owner_name)
    archive = subprocess.run(["git", "-c", f"safe.directory={snapshot}", "--git-dir",
                              str(snapshot), "archive", commit, *paths],
                             capture_output=True, check=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def image_packages() -> list[str]:
    """The layer's packages that the bed's guests carry, as an image
    manifest names them: a recipe's package, a kernel module's
    kernel-module-<module> (module.bbclass)."""
    names: list[str] = []
    for part in payload.components(with_test_modules=False):
        if part.is_kernel_module:
            kbuild = (part.source / "Kbuild").read_text()
            names += [f"kernel-module-{module}"
                      for module in re.findall(r"obj-m\s*:?\+?=\s*(\w+)\.o", kbuild)]
        else:
            names.append(part.name)
    return names


def test_suites() -> str:
    """TEST_SUITES as kas/opt/test.yml sets it for the layer's test images."""
    found = re.search(r'^\s*TEST_SUITES\s*=\s*"([^"]*)"',
                      (REPO / "kas" / "opt" / "test.yml").read_text(), re.MULTILINE)
    if not found:
        raise ValueError("kas/opt/test.yml sets no TEST_SUITES")
    return found.group(1)


def tree(export: Path, stage: Path, *, release: str = SERIAL_RELEASE,
         suites: str | None = None) -> Path:
    """``export`` laid out as testexport lays out its export (``stage``: a
    scratch folder), TEST_SUITES ``suites`` (default: kas/opt/test.yml's)."""
    commits = locked_commits(REPO, release)
    _unpack("openembedded/openembedded-core", commits["openembedded-core"],
            ["scripts/oe-test", "scripts/lib/argparse_oe.py", "scripts/lib/scriptutils.py",
             *(f"meta/lib/oeqa/{part}" for part in EXPORTED_OEQA)], stage)
    _unpack("openembedded/bitbake", commits["bitbake"], ["lib"], export / "bitbake")
    shutil.copy2(stage / "scripts" / "oe-test", export / "oe-test")
    shutil.copytree(stage / "scripts" / "lib", export / "lib")
    shutil.copytree(stage / "meta", export / "meta")
    for part in EXPORTED_OEQA:
        ours = LAYER / "lib" / "oeqa" / part
        if ours.is_dir():
            shutil.copytree(ours, export / "meta-lmw" / "lib" / "oeqa" / part)
    data = export / "data"
    data.mkdir()
    (data / "manifest").write_text("".join(f"{name} core2-64 1.0\n" for name in image_packages()))
    (data / "testdata.json").write_text(json.dumps({
        "MLPREFIX": "", "MACHINE": "qemux86-64", "IMAGE_BASENAME": "lmw-bed",
        "TEST_SUITES": test_suites() if suites is None else suites}))
    return export


def results(folder: Path) -> dict[str, tuple[str, str]]:
    """case id -> (PASSED, FAILED, ERROR or SKIPPED; its log), from oe-test's
    --json-result-dir (testresults.json)."""
    runs = json.loads((folder / "testresults.json").read_text())
    return {case: (str(outcome["status"]), str(outcome.get("log", "")))
            for run in runs.values() for case, outcome in run["result"].items()}


def layer_cases() -> list[str]:
    """The ids of the layer's cases, as oe-test names them (lmw.LmwTest.test_…)."""
    text = (LAYER / "lib" / "oeqa" / "runtime" / "cases" / "lmw.py").read_text()
    return [f"lmw.LmwTest.{name}"
            for name in re.findall(r"^    def (test_\w+)\(", text, re.MULTILINE)]
