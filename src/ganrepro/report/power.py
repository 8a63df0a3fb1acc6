"""How many seeds an open verdict needs: the power of the t intervals behind the claim rules.

An inconclusive claim (``report.stats``: its 95% interval contains the value it is tested against)
is given the number of units per arm that would make the interval exclude that value with 80%
probability *if* the observed effect and spread were the truth (a prospective power calculation
on pilot estimates: itself uncertain at few seeds, so a floor, not a promise):

* ``better`` (Welch interval of a difference, equal seeds per arm): the two-sample t test's power,
  effect d = Δ / √((s_a² + s_b²)/2) — with n per arm the Welch standard error is √((s_a² + s_b²)/n),
  so the test statistic is noncentral t with ncp d·√(n/2), df 2n − 2 (Welch's df equals it when
  the variances are equal; statsmodels' ``TTestIndPower`` computes the same, tests/test_power.py);
* ``threshold`` and ``paired`` (one-sample t interval of a mean): d = (mean − value) / s, ncp d·√n,
  df n − 1 (statsmodels' ``TTestPower``).

Power = P(|T| > t_{1−α/2, df}) with T ~ nct(df, ncp), α = 1 − the rules' 95% level.
"""

from __future__ import annotations

import math

from scipy import stats

from ganrepro.report.stats import LEVEL, Sample

POWER = 0.8
MAX_UNITS = 10_000  # beyond this the effect is, for a study's purposes, zero


def _two_sided_power(ncp: float, df: float, level: float) -> float:
    t = stats.t.ppf((1 + level) / 2, df)
    upper, lower = stats.nct.sf(t, df, ncp), stats.nct.cdf(-t, df, ncp)
    # scipy's noncentral t returns NaN for a tail that underflows (large ncp; statsmodels' power
    # inherits it): such a tail is 0, or 1 for the upper tail with ncp far beyond t.
    if not math.isfinite(upper):
        upper = 1.0 if ncp > t else 0.0
    return float(upper + (lower if math.isfinite(lower) else 0.0))


def power_two_sample(effect: float, n: int, level: float = LEVEL) -> float:
    """Power of the two-sided two-sample t test with ``n`` units per arm, standardised difference ``effect``."""
    return _two_sided_power(abs(effect) * math.sqrt(n / 2), 2 * n - 2, level)


def power_one_sample(effect: float, n: int, level: float = LEVEL) -> float:
    """Power of the two-sided one-sample t test with ``n`` units, standardised effect ``effect``."""
    return _two_sided_power(abs(effect) * math.sqrt(n), n - 1, level)


def units_needed(power_fn, effect: float, power: float = POWER, level: float = LEVEL) -> int | None:
    """The smallest n ≥ 2 with ``power_fn(effect, n, level) ≥ power``; None when the effect is 0 or
    not finite, or more than MAX_UNITS would be needed. Power rises with n: bisection."""
    if not math.isfinite(effect) or effect == 0 or power_fn(effect, MAX_UNITS, level) < power:
        return None
    lo, hi = 2, MAX_UNITS
    if power_fn(effect, lo, level) >= power:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power_fn(effect, mid, level) >= power else (mid, hi)
    return hi


def difference_effect(a: Sample, b: Sample) -> float:
    """Δ / √((s_a² + s_b²)/2): the standardised difference the ``better`` rule's Welch interval sees."""
    spread = math.sqrt((a.sd**2 + b.sd**2) / 2)
    return (a.mean - b.mean) / spread if spread > 0 else math.nan


def seeds_for_difference(a: Sample, b: Sample, power: float = POWER, level: float = LEVEL) -> int | None:
    """Seeds per arm for the ``better`` rule to decide a − b, at the observed difference and spreads."""
    if a.n < 2 or b.n < 2:
        return None
    return units_needed(power_two_sample, difference_effect(a, b), power, level)


def seeds_for_mean(s: Sample, value: float = 0.0, power: float = POWER, level: float = LEVEL) -> int | None:
    """Units for a one-sample interval of the mean to exclude ``value``, at the observed mean and sd."""
    if s.n < 2 or not s.sd > 0:
        return None
    return units_needed(power_one_sample, (s.mean - value) / s.sd, power, level)
