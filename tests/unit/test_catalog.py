"""The bed's catalog: what its userlands share."""

from __future__ import annotations

from collections import defaultdict

from lmwtools.bed.catalog import USERLANDS


def test_userlands_that_share_a_debian_base_are_made_the_same_way() -> None:
    # one base tarball serves them all (rootfs.base_tarball): a userland
    # whose packages or hooks differ needs a base of its own
    made: dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]] = defaultdict(set)
    for userland in USERLANDS.values():
        if userland.is_debian:
            made[userland.base_name].add((userland.packages, userland.hooks))
    assert made, "no Debian userland in the catalog"
    differing = sorted(base for base, ways in made.items() if len(ways) > 1)
    assert not differing, f"userlands sharing these bases are made differently: {differing}"
