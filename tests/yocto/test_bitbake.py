"""meta-lmw under the real bitbake, offline, through the committed kas files.

Runs only where upstream sources exist: $LMW_UPSTREAM names a directory
of git snapshots of bitbake and openembedded-core (see scripts/oe-check);
CI has one. Elsewhere every test here skips, saying why.

What make test runs is a cut of oe-check's matrix that still touches
every part: per release one machine and init manager (a different pair
each, so both init managers and two architectures are parsed), and on
the newest release every oe-core kernel's fragment (one bitbake server,
each kernel parsed again as the provider) and yocto-check-layer's
signature rule (adding the layer changes no other recipe; the rule
alone, through the tool's own code, at half the tool's cost: see
lmwtools.oecheck.checklayer). About a minute of parsing per
configuration cold, 8 to 10 minutes for the signature rule: 12 minutes
in all on an idle machine. The whole matrix, and the whole
yocto-check-layer on every release: make oe-check.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lmwtools.core.errors import UserError
from lmwtools.oecheck import checklayer, checks, kas, matrix, sources


def _releases() -> list[str]:
    # Collection must not fail on a broken layer.conf: the setup reports it.
    try:
        return matrix.claimed_releases()
    except UserError:
        return []


RELEASES = _releases()
CONFIGS = matrix.diagonal(RELEASES, matrix.MACHINES, matrix.INIT_MANAGERS)


@pytest.fixture(scope="session")
def settings() -> kas.Settings:
    if not os.environ.get(sources.SNAPSHOTS_ENV):
        pytest.skip(f"${sources.SNAPSHOTS_ENV} is not set: no bitbake/openembedded-core "
                    "snapshots here; see docs/yocto.md (Checks)")
    try:
        kas_program = kas.find_kas(None)
        work = Path(os.environ.get(kas.WORK_ENV, kas.DEFAULT_WORK))
        user = os.environ.get(kas.USER_ENV, kas.DEFAULT_USER)
        return kas.prepare(work, kas_program, user, snapshots=sources.snapshot_dir(),
                               releases=RELEASES)
    except UserError as error:
        pytest.fail(f"oe-check setup: {error}")


@pytest.fixture(scope="session")
def checked_out(settings: kas.Settings) -> set[str]:
    """Releases kas has checked out from the snapshots (once per session)."""
    return set()


def _checkout(settings: kas.Settings, checked_out: set[str], release: str) -> None:
    if release in checked_out:
        return
    checks.checkout(settings, release)
    checked_out.add(release)


@pytest.mark.parametrize("release", RELEASES)
def test_kas_checks_out_the_locked_commits(settings: kas.Settings, checked_out: set[str],
                                           release: str) -> None:
    _checkout(settings, checked_out, release)
    locks = sources.locked_commits(settings.repo, release)
    assert {"bitbake", "openembedded-core"} <= locks.keys()
    for name in ("bitbake", "openembedded-core"):
        assert checks.checked_out_commit(settings, release, name) == locks[name], name


KERNELS = ("linux-yocto", "linux-yocto-rt", "linux-yocto-tiny")


@pytest.fixture(scope="session")
def config_results() -> dict[str, checks.ConfigResult]:
    """Each configuration's checks, once per session (see checked_out)."""
    return {}


def _checked(settings: kas.Settings, checked_out: set[str],
             config_results: dict[str, checks.ConfigResult],
             config: matrix.Config) -> checks.ConfigResult:
    """The checks of ``config``, run once; on the newest release with the
    query of every oe-core kernel's SRC_URI, in the same kas shell."""
    if config.name not in config_results:
        _checkout(settings, checked_out, config.release)
        kernels = KERNELS if config.release == RELEASES[-1] else ()
        config_results[config.name] = checks.check_config(settings, config, kernels)
    return config_results[config.name]


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_parse_resolve_and_license_check(settings: kas.Settings, checked_out: set[str],
                                         config_results: dict[str, checks.ConfigResult],
                                         config: matrix.Config) -> None:
    result = _checked(settings, checked_out, config_results, config)
    assert result.error is None, result.error
    # bitbake -g: the image's whole tree resolved, and our recipes are in it.
    missing = [r for r in (matrix.IMAGE, *matrix.IMAGE_CONTENT) if r not in result.buildlist]
    assert not missing, f"not in pn-buildlist: {missing}\n{result.graph_tail}"
    # populate_lic: the real fetch, unpack and LIC_FILES_CHKSUM check ran.
    assert re.search(r"Tasks Summary: .* all succeeded", result.licenses_summary), \
        result.licenses_summary
    not_run = [r for r, log in result.lic_logs.items() if log is None]
    assert not not_run, f"no do_populate_lic log for {not_run}"
    # One parse per configuration: the steps after bitbake -p load its cache.
    assert not result.parsed_again, f"parsed every recipe again in {result.parsed_again}"


@pytest.fixture(scope="session")
def kernel_src_uris(settings: kas.Settings, checked_out: set[str],
                    config_results: dict[str, checks.ConfigResult]) -> dict[str, list[str]]:
    """Each oe-core kernel's SRC_URI on the newest release, made the provider
    in turn, in its configuration's bitbake server (its parse in memory)."""
    config = next(c for c in CONFIGS if c.release == RELEASES[-1])
    result = _checked(settings, checked_out, config_results, config)
    if result.error is not None:
        pytest.fail(result.error)
    return result.kernel_src_uris


@pytest.mark.parametrize("recipe", KERNELS)
def test_every_oe_core_kernel_gets_the_fragment(kernel_src_uris: dict[str, list[str]],
                                                recipe: str) -> None:
    """The distro feature (on in kas/base.yml) reaches each of oe-core's kernels."""
    assert "file://lmw.cfg" in kernel_src_uris[recipe], kernel_src_uris[recipe]


@pytest.mark.parametrize("release", RELEASES[-1:])
def test_adding_the_layer_changes_no_signature(settings: kas.Settings, checked_out: set[str],
                                               release: str) -> None:
    """yocto-check-layer's signature rule, through its own code: the world's
    signatures without and with meta-lmw (distro feature off) are the same,
    and the world has no error with it, yocto-check-layer.bbclass's checks on."""
    _checkout(settings, checked_out, release)
    result = checklayer.check_signature_rule(settings, release)
    assert result.passed, result.summary
