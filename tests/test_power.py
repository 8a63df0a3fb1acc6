"""Seeds an open verdict needs (report.power), against statsmodels and against the rules themselves."""

import math

import numpy as np
import pytest
from statsmodels.stats.power import TTestIndPower, TTestPower

from ganrepro.report import power, stats
from ganrepro.report.stats import Sample


@pytest.mark.parametrize("effect", [0.3, 0.8, 1.5, 3.0])
@pytest.mark.parametrize("n", [2, 3, 5, 12, 40])
def test_power_equals_statsmodels(effect, n):
    """Where statsmodels (scipy's noncentral t) returns NaN, a tail underflowed: the power is 1."""
    two = TTestIndPower().power(effect, n, 0.05, ratio=1.0, alternative="two-sided")
    one = TTestPower().power(effect, n, 0.05, alternative="two-sided")
    assert power.power_two_sample(effect, n) == pytest.approx(two if np.isfinite(two) else 1.0, rel=1e-9, abs=1e-12)
    assert power.power_one_sample(effect, n) == pytest.approx(one if np.isfinite(one) else 1.0, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("effect", [0.25, 0.6, 1.0, 2.2, -0.9])
def test_units_needed_is_statsmodels_solution_rounded_up(effect):
    two = TTestIndPower().solve_power(abs(effect), power=0.8, alpha=0.05, ratio=1.0, alternative="two-sided")
    one = TTestPower().solve_power(abs(effect), power=0.8, alpha=0.05, alternative="two-sided")
    assert power.units_needed(power.power_two_sample, effect) == max(2, math.ceil(two))
    assert power.units_needed(power.power_one_sample, effect) == max(2, math.ceil(one))


def test_closed_form_for_large_samples():
    """At large n the t test is the z test: n per arm = 2·(z_{0.975} + z_{0.8})² / d² (≈ 15.7/d²), plus ~1."""
    d = 0.1
    normal = 2 * (1.959964 + 0.841621) ** 2 / d**2
    assert power.units_needed(power.power_two_sample, d) == pytest.approx(normal, abs=2)


def test_no_answer_without_an_effect_or_spread():
    assert power.units_needed(power.power_two_sample, 0.0) is None
    assert power.units_needed(power.power_two_sample, math.nan) is None
    assert power.units_needed(power.power_two_sample, 1e-3) is None  # beyond MAX_UNITS
    assert power.seeds_for_difference(Sample.of([1.0]), Sample.of([2.0, 3.0])) is None  # one seed: no spread
    assert power.seeds_for_mean(Sample.of([1.0, 1.0, 1.0]), 0.5) is None  # no spread: decided already


def test_the_better_rule_decides_with_about_the_promised_power():
    """Simulate studies with the pilot's means and spreads at the computed seeds per arm: the Welch
    interval of the `better` rule excludes 0 in about 80% of them (the equal-variance t test's
    power; Welch's df is a little smaller, so a little below)."""
    pilot_a, pilot_b = Sample.of([0.62, 0.71, 0.55, 0.80]), Sample.of([0.50, 0.66, 0.41, 0.58])
    n = power.seeds_for_difference(pilot_a, pilot_b)
    assert n is not None and n > 4
    rng = np.random.default_rng(0)
    decided = 0
    reps = 2000
    for _ in range(reps):
        a = Sample.of(rng.normal(pilot_a.mean, pilot_a.sd, n))
        b = Sample.of(rng.normal(pilot_b.mean, pilot_b.sd, n))
        decided += stats.sign_verdict(stats.welch_interval(a, b)) != stats.INCONCLUSIVE
    assert 0.75 < decided / reps < 0.86
    smaller = power.power_two_sample(power.difference_effect(pilot_a, pilot_b), n - 1)
    assert smaller < 0.8  # n is the smallest that reaches 80%


def test_the_threshold_rule_decides_with_about_the_promised_power():
    pilot = Sample.of([0.12, 0.30, 0.05, 0.08, 0.22])
    n = power.seeds_for_mean(pilot, 0.1)
    rng = np.random.default_rng(1)
    reps = 2000
    decided = sum(stats.sign_verdict(stats.mean_interval(Sample.of(rng.normal(pilot.mean, pilot.sd, n))), 0.1)
                  != stats.INCONCLUSIVE for _ in range(reps))
    assert 0.76 < decided / reps < 0.85
