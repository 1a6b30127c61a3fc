"""Boot a farm place to its shell with labgrid, then hand its console to oe-test.

    python oe_test_on_console.py ENV_FILE EXPORT_DIR OE_TEST_ARGS...

A board on a farm is often reached by its serial console alone, and
testexport's oe-test reaches such a board with ``--target-type serial``:
it runs TEST_SERIALCONTROL_CMD, expects a shell prompt
(TEST_SERIALCONTROL_PS1) and types each command. Someone has to log in
first; here labgrid does, as on a farm: LmwStrategy powers the place
(LG_PLACE on LG_COORDINATOR, locked by the caller) on and logs in, and then
its console drivers let go of the port, which takes one client at a time.

The console's address goes into EXPORT_DIR/data/testdata.json (the
exporter publishes it in raw mode, as ser2net's raw ports are: socat
connects a terminal to it), then oe-test runs in EXPORT_DIR with
OE_TEST_ARGS, and its exit status is this script's. The board is powered
off at the end, whatever happened.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from labgrid import Environment

# the bed guest's root prompt (tests/env/farm-qemu.yaml's ShellDriver)
PS1 = "root@lmwguest:[^ ]+ "


def main(env_file: str, export: Path, oe_test_args: list[str]) -> int:
    env = Environment(config_file=env_file)
    target = env.get_target("main")
    strategy = target.get_driver("Strategy")
    power = target.get_driver("NetworkPowerDriver")
    try:
        strategy.transition("shell")
        port = strategy.console.port
        target.deactivate(strategy.console)     # the shell stays logged in
        data = export / "data" / "testdata.json"
        testdata = json.loads(data.read_text())
        testdata["TEST_SERIALCONTROL_CMD"] = f"socat -,raw,echo=0 TCP:{port.host}:{port.port}"
        testdata["TEST_SERIALCONTROL_PS1"] = PS1
        data.write_text(json.dumps(testdata, indent=1))
        return subprocess.run([sys.executable, "oe-test", *oe_test_args], cwd=export,
                              check=False, timeout=900).returncode
    finally:
        try:
            power.off()
        finally:
            env.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3:]))
