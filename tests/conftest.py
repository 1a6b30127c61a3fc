"""pytest glue for the test bed: build the guest an env file asks for, then let labgrid boot it.

With ``--lg-env tests/env/qemu-<userland>.yaml`` the bed builds (or reuses)
that guest for ``--lmw-kernel``/``--lmw-arch`` before labgrid reads the
file, and exports the LG_* variables the file refers to. An env file
without ``options: lmw_userland`` (a real board) is left to labgrid alone.
Without ``--lg-env`` the guest tests are skipped by labgrid and only the
host tests run.
"""

from __future__ import annotations

import os

import pytest
from labgrid.driver import ShellDriver

from lmwtools.bed import boot
from lmwtools.bed.guest import Guest, GuestSpec, build
from lmwtools.core.errors import UserError

GUEST_KEY = pytest.StashKey[Guest]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lmw", "meta-lmw test bed")
    group.addoption("--lmw-kernel", default=os.environ.get("LMW_KERNEL", "6.1"),
                    help="Debian kernel series of the QEMU guest (default 6.1, $LMW_KERNEL)")
    group.addoption("--lmw-arch", default=os.environ.get("LMW_ARCH", "x86_64"),
                    help="guest architecture (default x86_64, $LMW_ARCH)")


@pytest.hookimpl(tryfirst=True)   # before labgrid's own pytest_configure reads the env file
def pytest_configure(config: pytest.Config) -> None:
    env_file = config.getoption("lg_env", None) or os.environ.get("LG_ENV")
    if not env_file:
        return
    userland = boot.userland_of(env_file)
    if userland is None:
        return
    spec = GuestSpec(kernel=config.getoption("lmw_kernel"), arch=config.getoption("lmw_arch"),
                     userland=userland)
    try:
        guest = build(spec)
    except UserError as error:
        pytest.exit(f"test bed: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
    boot.export(guest)
    config.stash[GUEST_KEY] = guest


@pytest.fixture(scope="session")
def lmw_guest(request: pytest.FixtureRequest) -> Guest:
    """The guest the bed built for this session (skips on a non-bed env)."""
    guest = request.config.stash.get(GUEST_KEY, None)
    if guest is None:
        pytest.skip("not a test-bed guest (use --lg-env tests/env/qemu-*.yaml)")
    return guest


@pytest.fixture
def shell(strategy: object, target: object) -> ShellDriver:
    """A root shell in the guest; one boot per session (labgrid's strategy keeps it up)."""
    strategy.transition("shell")  # type: ignore[attr-defined]
    driver: ShellDriver = target.get_driver("ShellDriver")  # type: ignore[attr-defined]
    return driver
