"""The statistics behind the verdicts: t intervals from summary numbers, and how they become a verdict.

A claim is tested on a *sample* of one number per unit — per training seed for a variant, per
split for a reference set (real data, gamed inputs) — summarised as mean, sd (ddof 1) and n. An
interval that lies above 0 makes a directional claim hold, one below 0 makes it fail, one that
contains 0 leaves it inconclusive. With fewer than two units there is no interval: inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

HOLDS, FAILS, INCONCLUSIVE, NOT_TESTED = "holds", "does not hold", "inconclusive", "not tested"
LEVEL = 0.95


@dataclass(frozen=True)
class Sample:
    """One number per unit (seed or split), summarised; ``values`` kept when known."""

    mean: float
    sd: float  # ddof 1; nan when n < 2
    n: int
    values: tuple[float, ...] = ()
    unit: str = "seeds"

    @classmethod
    def of(cls, values, unit: str = "seeds") -> Sample:
        v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
        mean = float(v.mean()) if len(v) else math.nan
        sd = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        return cls(mean, sd, len(v), tuple(float(x) for x in v), unit)

    @classmethod
    def from_splits(cls, mean: float, sd_ddof0: float, n: int) -> Sample:
        """IS over ``n`` disjoint splits, reported as mean ± sd with ddof 0 (openai's convention)."""
        sd = sd_ddof0 * math.sqrt(n / (n - 1)) if n > 1 else math.nan
        return cls(mean, sd, n, (), "splits")

    @classmethod
    def exact(cls, value: float, unit: str = "closed form") -> Sample:
        return cls(value, 0.0, 1, (value,), unit)


@dataclass(frozen=True)
class Interval:
    estimate: float
    lo: float
    hi: float
    df: float
    level: float = LEVEL


def _t_interval(estimate: float, se: float, df: float, level: float) -> Interval:
    if se == 0:  # no spread at all: the estimate is exact
        return Interval(estimate, estimate, estimate, math.inf, level)
    t = float(stats.t.ppf((1 + level) / 2, df))
    return Interval(estimate, estimate - t * se, estimate + t * se, df, level)


def welch_interval(a: Sample, b: Sample, level: float = LEVEL) -> Interval | None:
    """Interval of mean(a) − mean(b), unequal variances (Welch–Satterthwaite df); None if n < 2."""
    if a.n < 2 or b.n < 2:
        return None
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1)) if se > 0 else math.inf
    return _t_interval(a.mean - b.mean, se, df, level)


def mean_interval(a: Sample, level: float = LEVEL) -> Interval | None:
    """One-sample t interval of the mean; None if n < 2."""
    if a.n < 2:
        return None
    return _t_interval(a.mean, a.sd / math.sqrt(a.n), a.n - 1, level)


def paired_interval(x, y, level: float = LEVEL) -> Interval | None:
    """Interval of the mean of x − y over the same units."""
    return mean_interval(Sample.of(np.asarray(x, float) - np.asarray(y, float)), level)


def sign_verdict(interval: Interval | None, shift: float = 0.0) -> str:
    """Holds when the interval lies above ``shift``, fails when below, else inconclusive."""
    if interval is None:
        return INCONCLUSIVE
    if interval.lo > shift:
        return HOLDS
    if interval.hi < shift:
        return FAILS
    return INCONCLUSIVE


def equivalence_verdict(a: Sample, b: Sample, margin: float) -> tuple[str, Interval | None]:
    """Two one-sided tests (α = 0.05): equivalent when the 90% Welch interval of the difference lies
    inside ±margin; not equivalent when the 95% interval lies wholly outside it; else inconclusive."""
    inner = welch_interval(a, b, 0.90)
    outer = welch_interval(a, b, LEVEL)
    if inner is None or outer is None:
        return INCONCLUSIVE, inner
    if -margin < inner.lo and inner.hi < margin:
        return HOLDS, inner
    if outer.lo > margin or outer.hi < -margin:
        return FAILS, inner
    return INCONCLUSIVE, inner


def combine(verdicts: list[str]) -> str:
    """A claim made of parts: fails when any part fails, holds when all hold; a part that could
    not be tested (a variant left out of the study) leaves it untested, anything else inconclusive."""
    if FAILS in verdicts:
        return FAILS
    if not verdicts or NOT_TESTED in verdicts:
        return NOT_TESTED
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE
