"""The layer's oeqa cases (lib/oeqa/runtime/cases/lmw.py) under oe-core's own oeqa, offline.

oe-core's lib/oeqa comes from the snapshot at the newest release's locked
commit, laid out as testexport lays it out (lmwtools.oecheck.testexport),
as in tests/yocto's other checks: without $LMW_UPSTREAM every test here
skips, saying why. The cases' run on a board's serial console is
tests/farm's; here, what needs no target: the loader takes the module
alone, and the case's reading of sysctl.d is systemd-sysctl's.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lmwtools.core import upstream
from lmwtools.core.paths import LAYER
from lmwtools.oecheck import testexport


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not upstream.configured():
        pytest.skip(f"${upstream.SNAPSHOTS_ENV} is not set: no openembedded-core snapshot "
                    "here; see docs/yocto.md (Checks)")
    base = tmp_path_factory.mktemp("testexport")
    return testexport.tree(base / "export", base / "stage", suites="lmw")


@pytest.fixture(scope="module")
def cases(export: Path) -> ModuleType:
    """lmw.py imported as oe-test imports it, oe-core's oeqa on the path."""
    sys.path.insert(0, str(export / "meta" / "lib"))
    try:
        path = LAYER / "lib" / "oeqa" / "runtime" / "cases" / "lmw.py"
        spec = importlib.util.spec_from_file_location("lmw_oeqa_cases", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(export / "meta" / "lib"))


def test_the_cases_load_alone(export: Path) -> None:
    """TEST_SUITES = "lmw": the loader finds every case that one depends on
    within the module. A dependency on ssh.SSHTest.test_ssh made oe-test
    refuse the module alone (OEQADependency), and with ssh loaded but
    skipped (a serial target, no SSH server), every case skipped."""
    data = export / "data" / "testdata.json"
    testdata = json.loads(data.read_text())
    # the serial target is made before the listing, and connects at its first command
    testdata.update(TEST_SERIALCONTROL_CMD="false", TEST_SERIALCONTROL_PS1="# ")
    data.write_text(json.dumps(testdata))
    done = subprocess.run([sys.executable, "oe-test", "runtime", testexport.CASES[1],
                           "--target-type", "serial", "--packages-manifest", "data/manifest",
                           "--test-data-file", "data/testdata.json", "--list-tests", "name"],
                          cwd=export, capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    listed = {word for line in output.splitlines() for word in line.split()
              if word.startswith("lmw.LmwTest.")}
    assert listed == set(testexport.layer_cases()), output
    assert "ssh.SSHTest" not in output


LISTING = """\
@@ /etc/sysctl.d/90-lmw.conf
@@ /etc/sysctl.d/99-board.conf
# the board wants background compaction back
vm/compaction_proactiveness=20
@@ /usr/lib/sysctl.d/50-default.conf
kernel.pid_max = 32768
@@ /usr/lib/sysctl.d/90-lmw.conf
vm.lowmem_notify_watermark = 90
vm.lowmem_deny_watermark = 110
-vm.compaction_proactiveness = 0
@@ /lib/sysctl.d/90-lmw.conf
vm.lowmem_notify_watermark = 70
@@ /etc/sysctl.conf
; last of all
vm.lowmem_deny_watermark=120
"""


def test_the_files_apply_in_systemd_sysctls_order(cases: ModuleType) -> None:
    files = cases.sysctl_files(LISTING)
    # /etc's empty 90-lmw.conf (a link to /dev/null) hides the one below it
    assert cases.sysctl_order(files) == [
        "/usr/lib/sysctl.d/50-default.conf", "/etc/sysctl.d/90-lmw.conf",
        "/etc/sysctl.d/99-board.conf", "/etc/sysctl.conf"]
    files.pop("/etc/sysctl.d/90-lmw.conf")
    order = cases.sysctl_order(files)
    assert order == ["/usr/lib/sysctl.d/50-default.conf", "/usr/lib/sysctl.d/90-lmw.conf",
                     "/etc/sysctl.d/99-board.conf", "/etc/sysctl.conf"]
    applied = cases.sysctl_applied(files, order)
    assert applied == {"kernel.pid_max": "32768", "vm.lowmem_notify_watermark": "90",
                       "vm.lowmem_deny_watermark": "120", "vm.compaction_proactiveness": "20"}


def test_the_settings_of_the_layer_file_are_read(cases: ModuleType) -> None:
    text = (LAYER / "recipes-support" / "lmw-sysctl" / "files" / "90-lmw.conf").read_text()
    keys = [key for key, _ in cases.sysctl_settings(text.splitlines())]
    assert keys[:2] == ["vm.lowmem_notify_watermark", "vm.lowmem_deny_watermark"]
    assert set(keys) >= {"vm.compaction_proactiveness", "vm.watermark_boost_factor"}
