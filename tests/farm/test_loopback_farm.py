"""A labgrid farm on loopback: the real suite through coordinator, exporter and RemotePlace.

The farm (scripts/lmwtools/farm/loopback.py) runs labgrid-coordinator and
labgrid-exporter on 127.0.0.1 and exports the bed's systemd guest (6.1)
as a board: its console a NetworkSerialPort, its power a NetworkPowerPort
(lmwtools.farm.board starts and kills QEMU). The exporter also publishes the
real boards' groups from contrib/farm/exporter.yaml; their USB adapters
are absent here, so those resources are unavailable, but a place can
still be locked and the remote env files must bind to them. The
layer's oeqa cases run on the board too, as testexport's oe-test runs
them on a board reached by its serial console (oe_test_on_console.py).

What only real hardware proves (USB-SD-Mux switching, bmaptool on the
exporter, U-Boot's UMS) is listed in docs/boards-and-farms.md.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmwtools.bed import boot
from lmwtools.bed.guest import GuestSpec, build
from lmwtools.core import upstream
from lmwtools.core.paths import TEST_RESULTS
from lmwtools.farm.loopback import EXPORTER_NAME, FarmBoard, LoopbackFarm, free_port
from lmwtools.lab.places import Place, identity, labgrid_tool, locked
from lmwtools.oecheck import testexport
from lmwtools.suite.runner import Outcome, count

REPO = Path(__file__).resolve().parents[2]
ENV_DIR = REPO / "tests" / "env"
REAL_BOARDS = REPO / "contrib" / "farm" / "exporter.yaml"
BOARD = "qemu-1"
# A subset of the real suite: the stack as an image boots it, and the
# module's basic tests (shell only, no bed fixture).
SUITE = ("tests/image",)


@pytest.fixture(scope="module")
def qemu_argv() -> list[str]:
    return boot.qemu_argv(build(GuestSpec(kernel="6.1", arch="x86_64", userland="systemd")))


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory, qemu_argv: list[str]) -> Iterator[LoopbackFarm]:
    boards = [FarmBoard(BOARD, qemu_argv, {"board": "qemu"})]
    with LoopbackFarm(tmp_path_factory.mktemp("farm"), boards, REAL_BOARDS) as running:
        yield running


def farm_cli(farm: LoopbackFarm, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "farm"), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=1200, check=False,
                          env={**os.environ, "LG_COORDINATOR": farm.coordinator, **env})


def junit_counts(path: Path) -> tuple[int, int, int]:
    """(tests, failures + errors, skipped) of a JUnit file, as the runner counts them."""
    outcome = Outcome()
    count(path, outcome)
    return outcome.passed + outcome.failed + outcome.skipped, outcome.failed, outcome.skipped


def collected(tests: tuple[str, ...]) -> int:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *tests], cwd=REPO, capture_output=True,
                          text=True, check=False)
    return sum(1 for line in done.stdout.splitlines() if "::" in line)


def test_suite_runs_on_a_remote_place_locked_around_the_run(farm: LoopbackFarm) -> None:
    place = farm.place(BOARD)
    junit = TEST_RESULTS / f"place-{BOARD}.xml"
    junit.unlink(missing_ok=True)
    run = subprocess.Popen([sys.executable, str(REPO / "scripts" / "farm"), "test",
                            "--place", BOARD, "--env", str(ENV_DIR / "farm-qemu.yaml"),
                            "--", *SUITE], cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           env={**os.environ, "LG_COORDINATOR": farm.coordinator})
    held_by = None
    while run.poll() is None and held_by is None:
        held_by = place.state().acquired_by
        time.sleep(0.2)
    output, _ = run.communicate(timeout=1200)
    assert run.returncode == 0, output
    assert held_by == identity(), "the place was not locked while the suite ran"
    assert place.state().acquired_by is None, "the place was left locked"
    tests, failed, skipped = junit_counts(junit)
    assert (tests, failed, skipped) == (collected(SUITE), 0, 0), output
    # the board was reached through the exporter's resources: its power switch
    # started QEMU, and the login went over the exported serial port
    board_log = (farm.workdir / f"board-{BOARD}.log").read_text()
    assert "farmboard: power on" in board_log
    consoles = list((TEST_RESULTS / f"place-{BOARD}-console").glob("*"))
    assert any("lmwguest login:" in c.read_text(errors="replace") for c in consoles)


def test_a_board_reserved_by_tag_runs_the_suite_as_the_ci_templates_do(
        farm: LoopbackFarm) -> None:
    """contrib/ci/: reserve any free board tagged board=qemu, then run on place "+"."""
    reserve = subprocess.run([labgrid_tool("labgrid-client"), "-x", farm.coordinator, "reserve",
                              "--wait", "--shell", "board=qemu"], capture_output=True,
                             text=True, timeout=120, check=True)
    token = re.search(r"LG_TOKEN=(\S+)", reserve.stdout)
    assert token, reserve.stdout
    junit = TEST_RESULTS / "place-+.xml"
    junit.unlink(missing_ok=True)
    one_test = "tests/image/test_stack.py::test_module_is_loaded_at_boot"
    done = farm_cli(farm, "test", "--place", "+", "--env", str(ENV_DIR / "farm-qemu.yaml"),
                    "--", one_test, LG_TOKEN=token.group(1))
    assert done.returncode == 0, done.stdout + done.stderr
    assert junit_counts(junit) == (1, 0, 0)
    assert farm.place(BOARD).state().acquired_by is None
    reservations = subprocess.run([labgrid_tool("labgrid-client"), "-x", farm.coordinator,
                                   "reservations"], capture_output=True, text=True,
                                  timeout=60, check=True)
    assert token.group(1) not in reservations.stdout, "the reservation was not ended"


def test_the_layer_oeqa_cases_run_on_a_serial_target(farm: LoopbackFarm,
                                                      tmp_path: Path) -> None:
    """testexport's oe-test, --target-type serial, on the farm board's
    console: every case of lib/oeqa/runtime/cases/lmw.py runs among the
    TEST_SUITES of a kas/opt/test.yml image, in an image without an SSH
    server (ssh skips: no case may need it). They pass, but the one that
    checks the layer's kernel: the board runs Debian's, which has swap
    built in, and that case says so."""
    if not upstream.configured():
        pytest.skip(f"${upstream.SNAPSHOTS_ENV} is not set: no openembedded-core to run oe-test")
    export = testexport.tree(tmp_path / "testexport", tmp_path / "stage")
    folder = tmp_path / "results"
    with locked(farm.place(BOARD)):
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("oe_test_on_console.py")),
             str(ENV_DIR / "farm-qemu.yaml"), str(export), "runtime", *testexport.CASES,
             "--target-type", "serial", "--target-ip", "127.0.0.1",
             "--packages-manifest", "data/manifest", "--test-data-file", "data/testdata.json",
             "--json-result-dir", str(folder)],
            cwd=REPO, capture_output=True, text=True, timeout=1200, check=False,
            env={**os.environ, "LG_PLACE": BOARD, "LG_COORDINATOR": farm.coordinator})
    output = done.stdout + done.stderr
    assert (folder / "testresults.json").is_file(), output
    results = testexport.results(folder)
    cases = testexport.layer_cases()
    assert len(cases) >= 5, cases
    swapless = "lmw.LmwTest.test_lmw_swapless"
    assert {case: results.get(case, ("not run", ""))[0] for case in cases} == \
        {**dict.fromkeys(cases, "PASSED"), swapless: "FAILED"}, output
    assert "/proc/swaps exists: the kernel has swap" in results[swapless][1]
    assert results["ssh.SSHTest.test_ssh"][0] == "SKIPPED", output


def test_a_taken_place_is_refused_and_left_alone(farm: LoopbackFarm) -> None:
    someone = Place(BOARD, farm.coordinator, env={"LG_USERNAME": "someone-else"})
    someone.lock()
    try:
        done = farm_cli(farm, "test", "--place", BOARD, "--env",
                        str(ENV_DIR / "farm-qemu.yaml"), "--", *SUITE)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"place {BOARD} is taken: locked by " in done.stderr
        assert "/someone-else" in done.stderr
        assert str(someone.state().acquired_by).endswith("/someone-else"), "lock was touched"
    finally:
        someone.unlock()


def test_a_missing_place_is_named(farm: LoopbackFarm) -> None:
    done = farm_cli(farm, "test", "--place", "no-such-board", "--env",
                    str(ENV_DIR / "farm-qemu.yaml"))
    assert done.returncode == 2
    assert f"place no-such-board does not exist on coordinator {farm.coordinator}" in done.stderr


def test_no_coordinator_is_a_clear_error(farm: LoopbackFarm) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    done = farm_cli(farm, "test", "--place", BOARD, "--coordinator", nobody,
                    "--env", str(ENV_DIR / "farm-qemu.yaml"))
    assert done.returncode == 2
    assert f"no labgrid coordinator answers at {nobody}" in done.stderr


def flash_cli(farm: LoopbackFarm, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "flash"), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "LG_COORDINATOR": farm.coordinator})


def test_flash_to_a_place_without_a_medium_is_refused_and_unlocks(farm: LoopbackFarm,
                                                                  tmp_path: Path) -> None:
    image = tmp_path / "lmw-image-test.rootfs.wic"
    image.write_bytes(b"\0" * 4096)
    done = flash_cli(farm, str(image), "--place", BOARD, "--env",
                     str(ENV_DIR / "farm-qemu.yaml"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot flash place {BOARD}" in done.stderr
    assert "no storage driver" in done.stderr
    assert farm.place(BOARD).state().acquired_by is None, "the place was left locked"


def test_flash_to_a_taken_place_is_refused(farm: LoopbackFarm, tmp_path: Path) -> None:
    image = tmp_path / "lmw-image-test.rootfs.wic"
    image.write_bytes(b"\0" * 4096)
    someone = Place(BOARD, farm.coordinator, env={"LG_USERNAME": "someone-else"})
    someone.lock()
    try:
        done = flash_cli(farm, str(image), "--place", BOARD, "--env",
                         str(ENV_DIR / "farm-qemu.yaml"))
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"place {BOARD} is taken: locked by " in done.stderr
        assert str(someone.state().acquired_by).endswith("/someone-else"), "lock was touched"
    finally:
        someone.unlock()


@pytest.mark.parametrize(("args", "message"), [
    (("--place", "no-such-board", "--env", "tests/env/farm-qemu.yaml"),
     "place no-such-board does not exist"),
    (("--place", BOARD), "--place needs the board's env file"),
    (("--place", BOARD, "--env", "tests/env/farm-qemu.yaml", "--no-bmap"),
     "--bmap and --no-bmap are for --device"),
    (("--device", "/dev/null", "--env", "tests/env/farm-qemu.yaml"),
     "--env and --coordinator go with --place"),
])
def test_flash_place_arguments_are_checked(farm: LoopbackFarm, tmp_path: Path,
                                           args: tuple[str, ...], message: str) -> None:
    image = tmp_path / "lmw-image-test.rootfs.wic"
    image.write_bytes(b"\0" * 4096)
    done = flash_cli(farm, str(image), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr


# Loads an env file and prints what LmwStrategy got bound to. A process of
# its own per env file, as pytest runs have: labgrid keeps one coordinator
# session per process, and it would not see places made after it started.
DESCRIBE_BINDINGS = """
import json, sys
from labgrid import Environment
env = Environment(config_file=sys.argv[1])
try:
    strategy = env.get_target("main").get_driver("Strategy", activate=False)
    print(json.dumps({
        "strategy": type(strategy).__name__,
        "storage": type(strategy.storage.storage).__name__,
        "sdmux": strategy.sdmux is not None,
        "uboot": strategy.uboot is not None,
        "console": type(strategy.console.port).__name__,
        "power": type(strategy.power.port).__name__,
        "image": env.config.get_image_path(strategy.storage.image),
    }))
finally:
    env.cleanup()
"""


@pytest.mark.parametrize(("env_file", "group", "storage", "flash_path"), [
    ("rpi4-64-remote.yaml", "rpi4-1", "NetworkUSBSDMuxDevice", "sdmux"),
    ("am62x-sk-remote.yaml", "am62-1", "NetworkUSBMassStorage", "uboot"),
])
def test_real_board_remote_env_binds_to_its_exported_place(  # noqa: PLR0917 - parametrized
        farm: LoopbackFarm, tmp_path: Path, env_file: str, group: str, storage: str,
        flash_path: str) -> None:
    """contrib/farm/exporter.yaml's groups, as places, satisfy tests/env/*-remote.yaml."""
    place = farm.place(f"lmw-{group}")
    place.client("create")
    place.client("add-match", f"{EXPORTER_NAME}/{group}/*")
    place.lock()
    try:
        done = subprocess.run(
            [sys.executable, "-c", DESCRIBE_BINDINGS, str(ENV_DIR / env_file)], cwd=REPO,
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "LG_PLACE": place.name, "LG_COORDINATOR": farm.coordinator,
                 "LG_YOCTO_DEPLOY": str(tmp_path)})
    finally:
        place.unlock()
        place.client("delete")
    assert done.returncode == 0, done.stderr
    bound = json.loads(done.stdout.splitlines()[-1])
    assert bound["strategy"] == "LmwStrategy"
    assert bound["storage"] == storage
    assert bound[flash_path] and not bound[{"sdmux": "uboot", "uboot": "sdmux"}[flash_path]]
    assert (bound["console"], bound["power"]) == ("NetworkSerialPort", "NetworkPowerPort")
    image = Path(bound["image"])
    assert image.parent == tmp_path and image.name.startswith("lmw-image-")


def test_every_process_ends_even_when_the_block_fails(tmp_path: Path,
                                                      qemu_argv: list[str]) -> None:
    started: list[int] = []
    with pytest.raises(RuntimeError, match="a failing test"), \
            LoopbackFarm(tmp_path, [FarmBoard(BOARD, qemu_argv)]) as farm:
        board = farm.boards[0]
        urllib.request.urlopen(f"http://127.0.0.1:{board.power_port}/relay/0/1",
                               timeout=30).close()
        started = farm.pids()
        raise RuntimeError("a failing test")
    # coordinator, board, exporter and the board's QEMU
    assert len(started) == 4, started
    alive = [pid for pid in started if _running(pid)]
    assert alive == [], f"left running: {alive}"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_scripts_farm_loopback_serves_places_until_signalled(signum: int) -> None:
    farm = subprocess.Popen([sys.executable, str(REPO / "scripts" / "farm"), "loopback"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert farm.stdout is not None
        up = farm.stdout.readline()        # "loopback farm up: coordinator HOST:PORT, ..."
        found = re.search(r"coordinator (\S+),", up)
        assert found, up
        places = subprocess.run([labgrid_tool("labgrid-client"), "-x", found.group(1),
                                 "places"], capture_output=True, text=True, timeout=60,
                                check=True)
        assert places.stdout.split() == [BOARD]
        farm.send_signal(signum)
        assert farm.wait(timeout=60) == 0
        host, port = found.group(1).split(":")
        with socket.socket() as probe:
            assert probe.connect_ex((host, int(port))) != 0, "the coordinator outlived the farm"
    finally:
        if farm.poll() is None:
            farm.kill()
            farm.wait()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
