"""The kill interval's early end (lmw_terminator.pace): pure arithmetic on figures."""

from __future__ import annotations

import pytest

from lmw_terminator import pace

TOTAL_KB = 512 * 1024


def test_no_kill_yet_never_ends_an_interval() -> None:
    assert not pace.climbed(10 * TOTAL_KB, None, TOTAL_KB)


@pytest.mark.parametrize("total_kb", [64 * 1024, TOTAL_KB, 8 * 1024 * 1024])
def test_memory_still_or_falling_after_a_kill_keeps_the_interval(total_kb: int) -> None:
    """A kill that freed nothing, or little, with memory holding still: no spree."""
    at_choice = total_kb // 2
    for committed in (at_choice - total_kb // 10, at_choice, at_choice + 1):
        assert not pace.climbed(committed, at_choice, total_kb), committed


@pytest.mark.parametrize("total_kb", [64 * 1024, TOTAL_KB, 8 * 1024 * 1024])
def test_the_margin_is_a_share_of_ram_and_only_a_climb_past_it_counts(total_kb: int) -> None:
    at_choice = total_kb // 2
    margin = pace.climb_margin_kb(total_kb)
    # lmw.ko's hysteresis: 1% of RAM, whatever the size
    assert margin * 100 <= total_kb < (margin + 1) * 100
    assert not pace.climbed(at_choice + margin, at_choice, total_kb)
    assert pace.climbed(at_choice + margin + 1, at_choice, total_kb)
