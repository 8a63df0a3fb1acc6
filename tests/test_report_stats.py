"""The report's statistics: verdict rules against scipy.stats on made-up numbers with known answers,
and the variance decomposition against data built from known components."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ganrepro.report import stats, variance
from ganrepro.report.stats import FAILS, HOLDS, INCONCLUSIVE, NOT_TESTED, Sample


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_a, n_b", [(2, 2), (3, 5), (10, 4)])
def test_welch_interval_equals_scipy(seed, n_a, n_b):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(3, 1, n_a), rng.normal(2.5, 2, n_b)
    ours = stats.welch_interval(Sample.of(a), Sample.of(b))
    ref = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert ours.lo == pytest.approx(ref.low, rel=1e-10) and ours.hi == pytest.approx(ref.high, rel=1e-10)
    assert ours.estimate == pytest.approx(a.mean() - b.mean())


def test_welch_from_split_summaries_equals_scipy_on_the_splits():
    """Reference sets come as mean ± sd (ddof 0) over n splits: the same interval as from the values."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(8, 0.3, 10), rng.normal(7, 0.5, 10)
    sa, sb = (Sample.from_splits(x.mean(), x.std(ddof=0), len(x)) for x in (a, b))
    ours = stats.welch_interval(sa, sb)
    ref = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (ours.lo, ours.hi) == pytest.approx((ref.low, ref.high), rel=1e-10)


def test_one_sample_and_paired_intervals_equal_scipy():
    x = np.array([2.1, 2.4, 1.9, 2.6])
    y = np.array([1.0, 1.5, 1.2, 2.0])
    one = stats.mean_interval(Sample.of(x))
    ref = sps.ttest_1samp(x, 0).confidence_interval(0.95)
    assert (one.lo, one.hi) == pytest.approx((ref.low, ref.high), rel=1e-10)
    paired = stats.paired_interval(x, y)
    ref = sps.ttest_rel(x, y).confidence_interval(0.95)
    assert (paired.lo, paired.hi) == pytest.approx((ref.low, ref.high), rel=1e-10)


@pytest.mark.parametrize("a, b, expected", [
    ([10, 11, 12], [1, 2, 3], HOLDS),             # far apart: interval [6.4, 11.6] above 0
    ([1, 2, 3], [10, 11, 12], FAILS),             # the other way round
    ([1.0, 3.0], [1.5, 2.5], INCONCLUSIVE),       # same mean: the interval contains 0
    ([5.0, 5.2], [1.0, 1.1], HOLDS),              # n = 2 each, yet 4 apart with tiny spread
    ([5.0, 7.0], [1.0, 3.0], INCONCLUSIVE),       # n = 2 each, t(0.975, 2) = 4.30: [-2.1, 10.1]
    ([5.0], [1.0, 1.1], INCONCLUSIVE),            # one seed: no interval
])
def test_better_verdict_on_known_numbers(a, b, expected):
    iv = stats.welch_interval(Sample.of(a), Sample.of(b))
    assert stats.sign_verdict(iv) == expected
    if len(a) > 1:
        p = sps.ttest_ind(a, b, equal_var=False).pvalue
        assert (p < 0.05) == (expected != INCONCLUSIVE)  # the interval excludes 0 exactly when p < 0.05


def test_zero_spread_gives_an_exact_interval():
    iv = stats.welch_interval(Sample.of([3.0, 3.0]), Sample.of([1.0, 1.0]))
    assert (iv.lo, iv.hi) == (2.0, 2.0) and stats.sign_verdict(iv) == HOLDS


def test_threshold_shift():
    iv = stats.mean_interval(Sample.of([0.95, 0.97, 0.96]))
    assert stats.sign_verdict(iv, 0.9) == HOLDS
    assert stats.sign_verdict(iv, 0.99) == FAILS
    assert stats.sign_verdict(iv, 0.96) == INCONCLUSIVE


def test_equivalence_two_one_sided_tests():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 1, 30)
    same = Sample.of(10 + 0.05 * base)
    near = Sample.of(10.01 + 0.05 * rng.normal(0, 1, 30))
    verdict, iv = stats.equivalence_verdict(near, same, margin=0.5)
    assert verdict == HOLDS
    ref = sps.ttest_ind(near.values, same.values, equal_var=False).confidence_interval(0.90)
    assert (iv.lo, iv.hi) == pytest.approx((ref.low, ref.high), rel=1e-10)
    far = Sample.of(12 + 0.05 * rng.normal(0, 1, 30))
    assert stats.equivalence_verdict(far, same, margin=0.5)[0] == FAILS
    wide = Sample.of(10 + 3 * rng.normal(0, 1, 4))
    assert stats.equivalence_verdict(wide, same, margin=0.5)[0] == INCONCLUSIVE


def test_combine_parts():
    assert stats.combine([HOLDS, HOLDS]) == HOLDS
    assert stats.combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert stats.combine([INCONCLUSIVE, FAILS]) == FAILS
    assert stats.combine([HOLDS, NOT_TESTED]) == NOT_TESTED
    assert stats.combine([FAILS, NOT_TESTED]) == FAILS
    assert stats.combine([]) == NOT_TESTED


# -- variance decomposition ---------------------------------------------------------------------
def test_components_of_a_single_source_are_its_sample_variance():
    a = np.array([1.0, 4.0, 2.0])
    c = np.array([0.5, -0.5, 2.0, 1.0])
    only_seed = np.broadcast_to(a[:, None, None], (3, 2, 4))
    comp = variance.components(only_seed)
    assert comp["training seed"] == pytest.approx(a.var(ddof=1))
    assert comp["sample draw"] == comp["classifier seed"] == comp["residual"] == 0
    only_classifier = np.broadcast_to(c[None, None, :], (3, 2, 4))
    comp = variance.components(only_classifier)
    assert comp["classifier seed"] == pytest.approx(c.var(ddof=1))
    assert comp["training seed"] == comp["sample draw"] == 0


def test_components_recover_known_variances_on_average():
    """Unbiased (method of moments): the mean estimate over many simulated studies is the truth."""
    rng = np.random.default_rng(0)
    S, E, K = 8, 4, 5
    truth = {"training seed": 4.0, "sample draw": 1.0, "classifier seed": 2.25, "residual": 0.25}
    est = []
    for _ in range(400):
        y = (rng.normal(0, 2.0, (S, 1, 1)) + rng.normal(0, 1.0, (S, E, 1)) + rng.normal(0, 1.5, (1, 1, K))
             + rng.normal(0, 0.5, (S, E, K)))
        est.append(variance.components(y))
    mean = pd.DataFrame(est).mean()
    for source, value in truth.items():
        assert mean[source] == pytest.approx(value, rel=0.15), source


def test_a_source_with_one_level_has_no_estimate():
    y = np.random.default_rng(0).normal(size=(3, 1, 2))
    comp = variance.components(y)
    assert math.isnan(comp["sample draw"]) and math.isnan(comp["residual"])
    assert math.isfinite(comp["training seed"]) and math.isfinite(comp["classifier seed"])


def _observations(values: dict) -> pd.DataFrame:
    """{(variant, metric): array S × E × K} as the report's long table."""
    rows = []
    for (variant, metric), cube in values.items():
        for (s, e, k), v in np.ndenumerate(cube):
            rows.append({"variant": variant, "seed": s, "draw": e, "classifier": f"k{k}", "metric": metric, "value": v})
    return pd.DataFrame(rows)


def test_decompose_keeps_complete_seeds_only_and_pools():
    rng = np.random.default_rng(2)
    cube = rng.normal(size=(3, 2, 2))
    obs = _observations({("a", "IS"): cube, ("b", "IS"): cube + 1})
    obs = obs[~((obs.variant == "b") & (obs.seed == 2) & (obs.draw == 1))]  # seed 2 of b lacks a draw
    per = variance.decompose(obs, ("IS",))
    assert per.set_index("variant").loc["a", ["S", "E", "K"]].tolist() == [3, 2, 2]
    assert per.set_index("variant").loc["b", "S"] == 2
    pooled = variance.pooled(per)
    expected = per["var_training_seed"].mean()
    assert pooled.loc[0, "sd training seed"] == pytest.approx(math.sqrt(expected))
    shares = pooled.loc[0, [f"share {s}" for s in variance.SOURCES]]
    assert shares.sum() == pytest.approx(100)


def test_rank_stability_against_scipy():
    means = {"a": [3.0, 2.0, 1.0, 0.5], "b": [2.0, 3.0, 1.5, 0.4]}  # IS_10 under k0 / k1 per variant
    rows = []
    for k, key in enumerate(("a", "b")):
        for i, v in enumerate(means[key]):
            rows.append({"variant": f"v{i}", "seed": 0, "draw": 0, "classifier": f"k{k}", "metric": "IS_10", "value": v})
            rows.append({"variant": f"v{i}", "seed": 0, "draw": 0, "classifier": f"k{k}", "metric": "MI", "value": v})
            rows.append({"variant": f"v{i}", "seed": 0, "draw": 0, "classifier": f"k{k}", "metric": "FD", "value": -v})
    ranks = variance.rank_stability(pd.DataFrame(rows), [10], 10).set_index("ranking by")
    assert ranks.loc["IS@10, classifier k1", "spearman_rho"] == pytest.approx(sps.spearmanr(means["a"], means["b"]).statistic)
    assert ranks.loc["IS@10, classifier k1", "kendall_tau"] == pytest.approx(sps.kendalltau(means["a"], means["b"]).statistic)
    assert not ranks.loc["IS@10, classifier k1", "best_is_same"]
    assert ranks.loc["FD (lower is better)", "spearman_rho"] == pytest.approx(1.0)  # FD negated: same order
