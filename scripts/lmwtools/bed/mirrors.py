"""Which Debian mirrors the bed downloads from: the host's own, or those named.

The bed never changes the host's kernel or apt sources. It only reads
the host's apt sources to learn which Debian mirror to use, so that it
downloads from the same place as the host does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError


@dataclass(frozen=True, slots=True)
class Mirrors:
    """Debian archive URIs: the main archive and the security archive."""

    main: str
    security: str


_SOURCES_LIST = Path("/etc/apt/sources.list")
_SOURCES_DIR = Path("/etc/apt/sources.list.d")


def _apt_source_entries(root: Path = Path("/")) -> list[tuple[str, list[str]]]:
    """(uri, suites) pairs from one-line and deb822 apt sources under ``root``."""
    entries: list[tuple[str, list[str]]] = []
    one_line = [root / _SOURCES_LIST.relative_to("/")]
    sources_dir = root / _SOURCES_DIR.relative_to("/")
    if sources_dir.is_dir():
        one_line += sorted(sources_dir.glob("*.list"))
        for stanza_file in sorted(sources_dir.glob("*.sources")):
            for stanza in stanza_file.read_text().split("\n\n"):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.startswith(("#", " ")):
                        key, value = line.split(":", 1)
                        fields[key.strip().lower()] = value.strip()
                if "deb" in fields.get("types", "").split():
                    for uri in fields.get("uris", "").split():
                        entries.append((uri, fields.get("suites", "").split()))
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = re.sub(r"\[[^]]*\]", "", line).split()
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], [words[2]]))
    return entries


_DEBIAN_SUITE = re.compile(r"^(buster|bullseye|bookworm|trixie|forky|sid)(-[a-z]+)?$")


def debian_mirrors(root: Path = Path("/")) -> Mirrors:
    """The Debian mirrors to use: $LMW_DEBIAN_MIRROR / $LMW_DEBIAN_SECURITY_MIRROR,
    else those the host's apt already uses for Debian suites."""
    main = os.environ.get("LMW_DEBIAN_MIRROR", "")
    security = os.environ.get("LMW_DEBIAN_SECURITY_MIRROR", "")
    for uri, suites in _apt_source_entries(root):
        for suite in suites:
            match = _DEBIAN_SUITE.match(suite)
            if not match:
                continue
            if match.group(2) == "-security":
                security = security or uri
            elif match.group(2) in (None, "-updates", "-backports"):
                main = main or uri
    if not main:
        raise UserError(
            "no Debian mirror found in the host's apt sources (this host is not Debian?)",
            hint="export LMW_DEBIAN_MIRROR=<Debian archive URI> "
                 "LMW_DEBIAN_SECURITY_MIRROR=<Debian security archive URI>",
        )
    if not security:
        # A mirror named .../debian usually has its security twin at .../debian-security.
        security = main.rstrip("/") + "-security"
    return Mirrors(main=main.rstrip("/"), security=security.rstrip("/"))
