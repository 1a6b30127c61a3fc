"""Which Debian mirror the bed uses: the host's own, or the one the user names."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmwtools.bed.mirrors import debian_mirrors
from lmwtools.core.errors import UserError


def _root(tmp_path: Path, sources: dict[str, str]) -> Path:
    for name, text in sources.items():
        path = tmp_path / "etc" / "apt" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMW_DEBIAN_MIRROR", raising=False)
    monkeypatch.delenv("LMW_DEBIAN_SECURITY_MIRROR", raising=False)


def test_deb822_sources(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list.d/debian.sources": (
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb\nURIs: https://vendor.example/apt\nSuites: nodistro\nComponents: main\n")})
    mirrors = debian_mirrors(root)
    assert mirrors.main == "http://mirror.example/debian"
    assert mirrors.security == "http://sec.example/debian-security"


def test_one_line_sources_with_options(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list": (
        "# comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n")})
    mirrors = debian_mirrors(root)
    assert mirrors.main == "http://m.example/debian"
    assert mirrors.security == "http://m.example/debian-security"


def test_environment_overrides_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _root(tmp_path, {"sources.list": "deb http://m.example/debian bookworm main\n"})
    monkeypatch.setenv("LMW_DEBIAN_MIRROR", "http://mine.example/debian")
    assert debian_mirrors(root).main == "http://mine.example/debian"


def test_non_debian_host_needs_the_variable(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list": "deb http://archive.example/ubuntu noble main\n"})
    with pytest.raises(UserError, match="no Debian mirror found") as error:
        debian_mirrors(root)
    assert error.value.hint is not None and "LMW_DEBIAN_MIRROR" in error.value.hint
