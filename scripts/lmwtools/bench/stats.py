"""Distributions as the report gives them: percentiles, spread, ratios (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank: a value that was measured."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and the quartiles around it, of n repetitions."""

    n: int
    median: float
    q1: float
    q3: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(len(values), percentile(values, 50), percentile(values, 25),
                   percentile(values, 75))

    def text(self, digits: int = 0) -> str:
        return f"{self.median:.{digits}f} ({self.q1:.{digits}f}..{self.q3:.{digits}f})"


@dataclass(frozen=True, slots=True)
class Tail:
    """p50, p99 and max of n samples."""

    n: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Tail:
        return cls(len(values), percentile(values, 50), percentile(values, 99), max(values))


def ratio_spread(numerators: Sequence[float], denominators: Sequence[float]) -> Spread:
    """The spread of pairwise ratios: repetition i of one side over repetition i of
    the other, measured back to back, so a slow phase of the host hits both."""
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError("ratios need pairs")
    return Spread.of([a / b for a, b in zip(numerators, denominators, strict=True)])
