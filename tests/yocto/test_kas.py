"""The kas files and scripts/oe-check's plumbing, without bitbake or sources (CI-safe).

The kas dump test needs kas itself (pip install kas); without it, it skips.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmwtools.core.errors import UserError
from lmwtools.core.paths import REPO
from lmwtools.oecheck import builduser, cli, dump, kas, matrix, sources

KAS_DIR = REPO / "kas"
KAS_FILES = sorted(KAS_DIR.rglob("*.yml"))
CONFIG_FILES = [f for f in KAS_FILES if not f.name.endswith(".lock.yml")]
RELEASE_FILES = sorted(f for f in (KAS_DIR / "release").glob("*.yml")
                       if not f.name.endswith(".lock.yml"))


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", CONFIG_FILES, ids=_rel)
def test_header_version_20(path: Path) -> None:
    # 20 = kas 5.0; every kas 5.x reads it (the merged config takes the highest).
    assert re.search(r"^header:\n  version: 20$", path.read_text(), re.MULTILINE)


@pytest.mark.parametrize("path", RELEASE_FILES, ids=_rel)
def test_release_has_a_lock_with_exact_commits(path: Path) -> None:
    release = path.stem
    locks = sources.locked_commits(REPO, release)
    assert {"bitbake", "openembedded-core"} <= locks.keys(), locks
    text = path.read_text()
    assert f"branch: {release}" in text, "optional repos must follow the release branch"


@pytest.mark.parametrize("path", CONFIG_FILES, ids=_rel)
def test_conf_header_keys_carry_an_order_prefix(path: Path) -> None:
    # kas writes local_conf_header entries sorted by key, not in file order.
    keys = re.findall(r"^  (\S+): \|$", path.read_text(), re.MULTILINE)
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+", key) for key in keys), keys


def test_offline_file_covers_every_local_recipe() -> None:
    text = (KAS_DIR / "opt" / "offline.yml").read_text()
    assert 'BB_NO_NETWORK = "1"' in text
    for recipe in matrix.LOCAL_RECIPES:
        assert f"PATCHDEPENDENCY:remove:pn-{recipe} =" in text, recipe


def test_kas_dump_of_every_combination_offline(tmp_path: Path) -> None:
    try:
        kas_program = kas.find_kas(None)
        releases = matrix.claimed_releases()
    except UserError as error:
        pytest.skip(str(error))
    checked = dump.dump_check(REPO, kas_program, releases, tmp_path)
    machines = len(matrix.MACHINES) + len(matrix.OPTIONAL_MACHINES)
    assert len(checked) == len(releases) * machines * len(matrix.INIT_MANAGERS) * 2
    assert not (tmp_path / "bitbake").exists(), "kas dump must not clone anything"


def _fake_snapshot(mirrors: Path, stem: str) -> Path:
    repo = mirrors / stem / "repo"
    (repo / "objects").mkdir(parents=True)
    return repo


def test_gitconfig_points_the_kas_urls_at_the_snapshots(tmp_path: Path) -> None:
    bitbake = _fake_snapshot(tmp_path, "openembedded+bitbake")
    core = _fake_snapshot(tmp_path, "openembedded+openembedded-core")
    text = sources.gitconfig_text(REPO, tmp_path, ["wrynose"])
    assert f'[url "file://{bitbake}"]\n\tinsteadOf = https://github.com/openembedded/bitbake.git' \
        in text
    assert f"\tdirectory = {core}\n" in text
    assert f"\tdirectory = {REPO}\n" in text


def test_gitconfig_names_a_missing_snapshot(tmp_path: Path) -> None:
    _fake_snapshot(tmp_path, "openembedded+bitbake")
    with pytest.raises(UserError, match="openembedded-core"):
        sources.gitconfig_text(REPO, tmp_path, ["wrynose"])


def test_runner_drops_root_and_the_callers_environment(tmp_path: Path) -> None:
    as_root = builduser.BuildUser(name="lmwbuild", home=tmp_path).argv(["bitbake", "-p"],
                                                                       {"A": "1"})
    assert as_root[:4] == ["runuser", "-u", "lmwbuild", "--"]
    assert as_root[4:6] == ["env", "-i"]
    assert "A=1" in as_root and f"HOME={tmp_path}" in as_root
    assert as_root[-2:] == ["bitbake", "-p"]
    plain = builduser.BuildUser(name=None, home=tmp_path).argv(["true"], {})
    assert plain[:2] == ["env", "-i"]


def test_config_puts_the_release_file_first() -> None:
    config = matrix.Config("wrynose", "qemux86-64", "sysvinit")
    assert config.kas_arg("offline") == ("kas/release/wrynose.yml:kas/base.yml:"
                                         "kas/machine/qemux86-64.yml:kas/init/sysvinit.yml:"
                                         "kas/opt/offline.yml")


def test_missing_bitbake_host_tools_and_locale_are_named_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))      # nothing on it, not even locale(1)
    with pytest.raises(UserError) as caught:
        cli.preflight_host()
    text = str(caught.value)
    for package in ("chrpath", "diffstat", "gawk", "g++", "git"):
        assert package in text
    assert "en_US.UTF-8 locale" in text and "locale-gen" in text
    assert "make deps" in text
