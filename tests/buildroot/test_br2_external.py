"""br2-external/ under the real Buildroot, offline: style, defconfigs, package metadata, fixups.

Runs where $LMW_UPSTREAM names the directory of upstream snapshots (CI
has one): Buildroot is checked out from it at the release that
br2-external/buildroot.version pins. Elsewhere every test here skips,
saying why. About a minute: each make run that reads every package's .mk
costs ~10 s, so each defconfig gets one such run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmwtools.brcheck import checks, tree
from lmwtools.brcheck.cli import FIXUPS, work_dir
from lmwtools.core import upstream
from lmwtools.core.buildroot import Buildroot, checkout
from lmwtools.core.errors import UserError
from lmwtools.core.paths import LAYER

DEFCONFIGS = tree.defconfigs()
INSTALL_OPTS = ("LMW_SYSCTL_INSTALL_OPTS", "LMW_TERMINATOR_INSTALL_OPTS")


@pytest.fixture(scope="session")
def buildroot() -> Buildroot:
    if not upstream.configured():
        pytest.skip(f"${upstream.SNAPSHOTS_ENV} is not set: no Buildroot snapshot here; "
                    "see docs/buildroot.md")
    try:
        return checkout(work_dir())
    except UserError as error:
        pytest.fail(f"br-check setup: {error}")


@pytest.fixture(scope="session")
def configured(buildroot: Buildroot) -> Iterator[dict[str, checks.Loaded]]:
    yield {}


def _loaded(buildroot: Buildroot, configured: dict[str, checks.Loaded],
            defconfig: str) -> checks.Loaded:
    if defconfig not in configured:
        configured[defconfig] = checks.load(buildroot, defconfig)
    return configured[defconfig]


def test_check_package_is_clean(buildroot: Buildroot) -> None:
    assert checks.check_package(buildroot) == []


@pytest.mark.parametrize("defconfig", DEFCONFIGS)
def test_defconfig_loads_whole_and_round_trips(buildroot: Buildroot,
                                               configured: dict[str, checks.Loaded],
                                               defconfig: str) -> None:
    loaded = _loaded(buildroot, configured, defconfig)
    assert not loaded.dropped, f"kconfig dropped (unmet dependencies): {loaded.dropped}"
    assert not loaded.round_trip, "\n".join(loaded.round_trip)


@pytest.mark.parametrize("defconfig", DEFCONFIGS)
def test_show_info_and_fixups(buildroot: Buildroot, configured: dict[str, checks.Loaded],
                              defconfig: str, tmp_path: Path) -> None:
    loaded = _loaded(buildroot, configured, defconfig)
    inspected = checks.inspect(buildroot, loaded.output, [FIXUPS, *INSTALL_OPTS])
    info = inspected.info
    version = _layer_version()
    for name, licence in (("lmw-module", "GPL-2.0-only"), ("lmw-sysctl", "MIT"),
                          ("lmw-terminator", "MIT")):
        assert name in info, f"{name} not in the image of {defconfig}"
        assert info[name]["version"] == version
        assert info[name]["licenses"] == licence
        # the licence's own text among the files legal-info collects
        assert f"{licence}.txt" in info[name]["license_files"]
        assert (LAYER / "LICENSES" / f"{licence}.txt").is_file()
    assert "linux" in info["lmw-module"]["dependencies"]
    assert {"python3", "host-python3"} <= set(info["lmw-terminator"]["dependencies"])
    # Every option of the layer's kernel fragment, set as the fragment says.
    options = tree.fragment_options()
    assert options, "the fragment names no option"
    assert checks.fixups_missing(inspected.variables[FIXUPS], options) == []
    _installs_the_buildroot_way(inspected.variables, defconfig, tmp_path)


def _layer_version() -> str:
    conf = LAYER / "classes-recipe" / "lmw_source.bbclass"
    for line in conf.read_text().splitlines():
        if line.startswith("LMW_VERSION = "):
            return line.split('"')[1]
    raise AssertionError(f"no LMW_VERSION line in {conf}")


def _installs_the_buildroot_way(variables: dict[str, str], defconfig: str,
                                destdir: Path) -> None:
    """The components' own install rules, with the options the packages pass."""
    systemd = "systemd" in defconfig
    for name, folder in (("LMW_SYSCTL_INSTALL_OPTS", "recipes-support/lmw-sysctl/files"),
                         ("LMW_TERMINATOR_INSTALL_OPTS",
                          "recipes-support/lmw-terminator/files")):
        # DESTDIR and the host Python are the build's; the rest as Buildroot sets them.
        opts = [o for o in variables[name].split()
                if not o.startswith(("DESTDIR=", "HOST_PYTHON="))]
        subprocess.run(["make", "-s", "-C", str(LAYER / folder), *opts,
                        f"DESTDIR={destdir}", "HOST_PYTHON=python3", "install"],
                       check=True, env={**os.environ, "MAKEFLAGS": ""})
    init_d = destdir / "etc" / "init.d"
    scripts = sorted(p.name for p in init_d.iterdir()) if init_d.is_dir() else []
    unit = destdir / "usr" / "lib" / "systemd" / "system" / "lmw-terminator.service"
    if systemd:
        assert scripts == [] and unit.is_file()
        assert (destdir / "usr/lib/udev/rules.d/90-lmw-sysctl.rules").is_file()
    else:
        # busybox init runs S??* in order: the defaults after S11modules
        assert scripts == ["S12lmw-sysctl", "S90lmw-terminator"] and not unit.exists()
    assert (destdir / "etc" / "sysctl.d" / "90-lmw.conf").is_file()
    compiled = list((destdir / "usr/lib/lmw-terminator/lmw_terminator").glob("__pycache__/*"))
    assert compiled, "lmw-terminator not byte-compiled"
