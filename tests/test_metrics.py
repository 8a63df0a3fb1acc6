"""ganrepro.eval.metrics against independent references.

How the peers' Inception Scores differ from ours (openai/improved-gan's convention):
- torch-fidelity (``isc_features_to_metric``): the same contiguous split boundaries
  ``[i*N//s, (i+1)*N//s)`` and std with ddof 0; it shuffles rows (seed 2020) unless
  ``shuffle=False``. With ``shuffle=False`` it equals ours.
- torchmetrics (``InceptionScore``): permutes the rows with ``torch.randperm`` (global RNG), splits
  with ``torch.chunk`` — chunks of ceil(N/s) rows and a shorter last one, and fewer than s chunks
  when ceil(N/s) * (s-1) >= N (N=10, s=6 gives 5 chunks) — and reports std with ddof 1. Only
  with 1 split do the conventions coincide (std is then NaN in torchmetrics).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy, norm

from ganrepro.eval import metrics


def dirichlet_probs(n: int, k: int, alpha: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet([alpha] * k, n)


def reference_is(probs: np.ndarray, splits: int) -> tuple[float, float]:
    """openai/improved-gan's loop, with scipy's KL per row."""
    n = len(probs)
    scores = []
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]
        py = part.mean(axis=0)
        scores.append(np.exp(np.mean([entropy(row, py) for row in part])))
    return float(np.mean(scores)), float(np.std(scores))


# --- Inception Score ------------------------------------------------------------------------


@pytest.mark.parametrize("splits", [1, 2, 5, 10])
def test_inception_score_matches_scipy_reference(splits):
    probs = dirichlet_probs(503, 10, 0.5, seed=1)  # 503: splits of unequal size
    probs[:5, 3] = 0.0  # exact zeros: 0 log 0 = 0
    probs[:5] /= probs[:5].sum(1, keepdims=True)
    mean, std = metrics.inception_score(probs, splits)
    ref_mean, ref_std = reference_is(probs, splits)
    assert mean == pytest.approx(ref_mean, rel=1e-6)
    assert std == pytest.approx(ref_std, rel=1e-6, abs=1e-12)


def test_inception_score_table_matches_single_calls():
    probs = dirichlet_probs(300, 7, 0.4, seed=2)
    table = metrics.inception_score_table(probs, [1, 3, 30])
    assert sorted(table) == [1, 3, 30]
    for s, row in table.items():
        assert row["n_splits"] == s
        assert (row["mean"], row["std"]) == metrics.inception_score(probs, s)
    assert table[1]["std"] == 0.0


def test_inception_score_falls_with_split_count():
    """Barratt & Sharma: p(y) estimated from few samples per split lowers the score."""
    probs = dirichlet_probs(1000, 10, 0.3, seed=3)
    means = [metrics.inception_score(probs, s)[0] for s in (1, 10, 50, 100)]
    assert means == sorted(means, reverse=True)
    # p(y) from m rows underestimates H(p(y)) by about sum_k Var(p_k) / (2 m p_k); for
    # Dirichlet(0.3) over K=10 that is (K-1) / (K*0.3 + 1) / (2m) nats, 0.056 at m = 20 (50 splits).
    predicted = (10 - 1) / (10 * 0.3 + 1) / (2 * 20)
    drop = np.log(means[0] / means[2])
    assert 0.5 * predicted < drop < 1.5 * predicted


def test_inception_score_extremes():
    k = 4
    one_hot_balanced = np.eye(k)[np.arange(400) % k]
    assert metrics.inception_score(one_hot_balanced, 1)[0] == pytest.approx(k, rel=1e-12)
    uniform = np.full((100, k), 1 / k)
    assert metrics.inception_score(uniform, 5) == pytest.approx((1.0, 0.0), abs=1e-12)


def test_matches_torch_fidelity_contiguous_splits():
    isc = pytest.importorskip("torch_fidelity.metric_isc")
    logits = np.random.default_rng(4).normal(0, 3, (1003, 10))  # N % 10 != 0: boundaries matter
    theirs = isc.isc_features_to_metric(torch.from_numpy(logits), splits=10, shuffle=False)
    mean, std = metrics.inception_score(metrics.softmax(logits), 10)
    assert mean == pytest.approx(theirs["inception_score_mean"], rel=1e-9)
    assert std == pytest.approx(theirs["inception_score_std"], rel=1e-9)


def _torchmetrics_is(logits: np.ndarray, splits: int, seed: int) -> tuple[float, float]:
    from torchmetrics.image.inception import InceptionScore

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric = InceptionScore(feature=torch.nn.Identity(), splits=splits)  # the "images" are the logits
        metric.update(torch.from_numpy(logits))
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


@pytest.mark.parametrize("splits", [3, 6, 10])
def test_matches_torchmetrics_under_its_conventions(splits):
    pytest.importorskip("torchmetrics")
    n = 1003 if splits != 6 else 10  # N=10, 6 splits: torch.chunk makes only 5 chunks
    logits = np.random.default_rng(5).normal(0, 3, (n, 10))
    theirs = _torchmetrics_is(logits, splits, seed=123)
    torch.manual_seed(123)
    perm = torch.randperm(n).numpy()
    parts = [c.numpy() for c in torch.arange(n).chunk(splits)]
    scores = metrics.split_scores(metrics.softmax(logits)[perm], parts)
    assert theirs[0] == pytest.approx(scores.mean(), rel=1e-6)
    assert theirs[1] == pytest.approx(scores.std(ddof=1), rel=1e-6)
    if splits != 6:  # and it is not our number: the shuffle and chunking change the splits
        assert theirs[0] != pytest.approx(metrics.inception_score(metrics.softmax(logits), splits)[0], rel=1e-9)


def test_matches_torchmetrics_with_one_split():
    pytest.importorskip("torchmetrics")
    logits = np.random.default_rng(6).normal(0, 3, (500, 10))
    theirs, _ = _torchmetrics_is(logits, 1, seed=0)
    assert metrics.inception_score(metrics.softmax(logits), 1)[0] == pytest.approx(theirs, rel=1e-6)


def test_softmax_is_stable_and_correct():
    logits = np.random.default_rng(7).normal(0, 5, (20, 6))
    np.testing.assert_allclose(metrics.softmax(logits), scipy_softmax(logits, axis=1), rtol=1e-12)
    big = metrics.softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.isfinite(big).all() and big[0, 0] == 1.0
    assert metrics.softmax(np.array([[1, 2]], dtype=np.float32)).dtype == np.float64


# --- Mutual information ---------------------------------------------------------------------


def test_mutual_information_is_log_is_one_split_and_entropy_difference():
    probs = dirichlet_probs(800, 10, 0.3, seed=8)
    mi = metrics.mutual_information(probs)
    assert mi == pytest.approx(np.log(metrics.inception_score(probs, 1)[0]), rel=1e-12)
    h_marginal = entropy(probs.mean(axis=0))
    h_conditional = np.mean([entropy(row) for row in probs])
    assert mi == pytest.approx(h_marginal - h_conditional, rel=1e-9)


def test_bootstrap_interval_contains_estimate_and_is_deterministic():
    probs = dirichlet_probs(1000, 10, 0.3, seed=9)
    a = metrics.mutual_information_bootstrap(probs, n_boot=200, seed=0)
    b = metrics.mutual_information_bootstrap(probs, n_boot=200, seed=0)
    c = metrics.mutual_information_bootstrap(probs, n_boot=200, seed=1)
    assert set(a) == {"mi", "lo", "hi", "n_boot"} and a["n_boot"] == 200
    assert a == b
    assert (c["lo"], c["hi"]) != (a["lo"], a["hi"])
    assert a["lo"] < a["mi"] < a["hi"]
    assert a["mi"] == metrics.mutual_information(probs)
    assert a["hi"] - a["lo"] < 0.2


def test_bootstrap_matches_resampling_rows_directly():
    """The row-count trick equals MI of explicitly resampled rows (same draws: one block here)."""
    probs = dirichlet_probs(50, 5, 0.5, seed=10)
    got = metrics.mutual_information_bootstrap(probs, n_boot=30, seed=3, level=0.9)
    idx = np.random.Generator(np.random.PCG64(3)).integers(0, 50, size=(30, 50))
    draws = [entropy(probs[i].mean(0)) - np.mean([entropy(r) for r in probs[i]]) for i in idx]
    assert got["lo"] == pytest.approx(np.quantile(draws, 0.05), rel=1e-9)
    assert got["hi"] == pytest.approx(np.quantile(draws, 0.95), rel=1e-9)


@pytest.mark.parametrize("kwargs, message", [({"n_boot": 0}, "n_boot"), ({"level": 1.0}, "level")])
def test_bootstrap_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.mutual_information_bootstrap(dirichlet_probs(10, 3, 1.0, 0), **kwargs)


# --- Validation -----------------------------------------------------------------------------


def _good() -> np.ndarray:
    return dirichlet_probs(20, 4, 1.0, seed=12)


def _with(fn):
    p = _good()
    fn(p)
    return p


@pytest.mark.parametrize("probs, message", [
    (_with(lambda p: p.__setitem__((7, 0), p[7, 0] + 0.5)), r"sum to 1.*row 7 with sum 1\.5"),
    (_with(lambda p: p.__setitem__((3, 1), -0.2)), r"negative.*row 3, column 1"),
    (_with(lambda p: p.__setitem__((2, 2), np.nan)), r"NaN or infinite.*row 2"),
    (_with(lambda p: p.__setitem__((2, 2), np.inf)), r"NaN or infinite"),
    (np.full(10, 0.1), r"2-D.*N x K.*\(10,\)"),
    (np.zeros((0, 10)), r"at least one row"),
    (np.ones((5, 1)), r"at least two columns"),
])
def test_validate_probs_names_the_problem(probs, message):
    with pytest.raises(ValueError, match=message):
        metrics.validate_probs(probs)
    with pytest.raises(ValueError, match=message):
        metrics.inception_score(probs, 1)


def test_validate_probs_accepts_small_rounding_and_returns_float64():
    p = _good().astype(np.float32)
    p[0] *= 1 + 5e-4
    assert metrics.validate_probs(p).dtype == np.float64


@pytest.mark.parametrize("splits, message", [
    (21, r"split count 21 .*N = 20"), (0, r"split count 0 .*N = 20"), (2.5, r"split count 2\.5 is not an integer"),
])
def test_split_counts_are_checked(splits, message):
    with pytest.raises(ValueError, match=message):
        metrics.inception_score(_good(), splits)
    with pytest.raises(ValueError, match=message):
        metrics.inception_score_table(_good(), [1, splits])


# --- Fréchet distance ------------------------------------------------------------------------


def gaussian_with_exact_moments(n: int, mu: np.ndarray, var: np.ndarray, seed: int) -> np.ndarray:
    """Rows whose sample mean is mu and sample covariance (ddof 1) is diag(var), exactly."""
    x = np.random.default_rng(seed).normal(size=(n, len(mu)))
    x -= x.mean(0)
    chol = np.linalg.cholesky(np.cov(x, rowvar=False))
    white = x @ np.linalg.inv(chol).T
    return white * np.sqrt(var) + mu


def test_frechet_distance_identical_sets_is_zero():
    feats = np.random.default_rng(13).normal(size=(500, 16))
    assert abs(metrics.frechet_distance(feats, feats)) < 1e-8


def test_frechet_distance_closed_form_diagonal_gaussians():
    rng = np.random.default_rng(14)
    d = 8
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.2, 3, d), rng.uniform(0.2, 3, d)
    a = gaussian_with_exact_moments(400, mu1, s1, seed=15)
    b = gaussian_with_exact_moments(300, mu2, s2, seed=16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_singular_covariance_is_finite():
    rng = np.random.default_rng(17)
    a = rng.normal(size=(5, 20))  # 5 rows in 20 dimensions: rank-deficient covariances
    b = rng.normal(size=(5, 20))
    assert np.isfinite(metrics.frechet_distance(a, b))


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same D"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


# --- Code accuracy --------------------------------------------------------------------------


def test_code_accuracy_recovers_a_permuted_labelling():
    perm = np.array([3, 0, 4, 1, 2])
    codes = np.random.default_rng(18).integers(0, 5, 200)
    got = metrics.code_accuracy(codes, perm[codes], 5, 5)
    assert got["accuracy"] == 1.0 and got["error"] == 0.0
    assert got["mapping"] == perm.tolist()
    table = np.array(got["contingency"])
    assert table.sum() == 200 and table[np.arange(5), perm].sum() == 200


@pytest.mark.parametrize("n_codes, n_classes", [(4, 4), (5, 4), (3, 4)])
def test_code_accuracy_matches_brute_force(n_codes, n_classes):
    rng = np.random.default_rng(19 + n_codes)
    codes = rng.integers(0, n_codes, 300)
    labels = np.where(rng.random(300) < 0.6, (codes * 3 + 1) % n_classes, rng.integers(0, n_classes, 300))
    got = metrics.code_accuracy(codes, labels, n_codes, n_classes)
    best = 0
    m = min(n_codes, n_classes)
    for code_subset in itertools.permutations(range(n_codes), m):
        for class_subset in itertools.permutations(range(n_classes), m):
            best = max(best, sum(np.sum((codes == c) & (labels == y)) for c, y in zip(code_subset, class_subset, strict=True)))
    assert got["accuracy"] == pytest.approx(best / 300)
    mapped = np.array(got["mapping"])[codes]
    assert np.mean(mapped == labels) == pytest.approx(got["accuracy"])
    assert sum(v >= 0 for v in got["mapping"]) == m


def test_code_accuracy_rejects_out_of_range_codes():
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 2\]"):
        metrics.code_accuracy(np.array([0, 3]), np.array([0, 1]), 3, 2)


# --- Nearest neighbours and memorisation -----------------------------------------------------


def test_nearest_neighbour_distances_match_scipy():
    rng = np.random.default_rng(20)
    queries = rng.normal(size=(37, 2, 3, 4))
    reference = rng.normal(size=(101, 2, 3, 4))
    queries[5] = reference[60]
    got = metrics.nearest_neighbour_distances(queries, reference, batch_size=8, ref_block=16)
    expected = cdist(queries.reshape(37, -1), reference.reshape(101, -1)).min(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got[5] == 0.0


def test_memorisation_report_flags_copies():
    rng = np.random.default_rng(21)
    test_nn = rng.uniform(5, 10, 1000)
    copied = metrics.memorisation_report(np.zeros(200), test_nn)
    assert copied["median_ratio"] == 0.0 and copied["fraction_suspicious"] == 1.0
    assert copied["threshold"] == pytest.approx(np.percentile(test_nn, 1))
    samples_nn = rng.uniform(5, 10, 1000)
    honest = metrics.memorisation_report(samples_nn, test_nn)
    assert honest["median_ratio"] == pytest.approx(np.median(samples_nn) / np.median(test_nn))
    assert honest["median_ratio"] == pytest.approx(1.0, abs=0.05)
    assert honest["fraction_suspicious"] < 0.03
    assert honest["samples_median"] == pytest.approx(np.median(samples_nn))
    assert honest["test_median"] == pytest.approx(np.median(test_nn))
    assert honest["test_mean"] == pytest.approx(np.mean(test_nn))


# --- The 1-D toy ----------------------------------------------------------------------------


def test_toy_posterior_is_bayes_optimal_and_exact_at_infinity():
    x = np.linspace(-6, 6, 25)
    num = norm.pdf(x, 1, np.sqrt(2))
    expected = num / (num + norm.pdf(x, -1, np.sqrt(2)))
    np.testing.assert_allclose(metrics.toy_posterior(x)[:, 1], expected, rtol=1e-12)
    assert metrics.toy_posterior(np.array([np.inf, -np.inf])).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_toy_1d_pm_infinity_beats_true_data():
    toy = metrics.toy_1d(n=20_000, seed=0)
    assert toy["max_is"] == 2.0
    assert toy["pm_infinity"]["is"] == pytest.approx(2.0, abs=1e-12)
    assert toy["pm_infinity"]["mi"] == pytest.approx(np.log(2), abs=1e-12)
    assert toy["pm_infinity"]["is"] > toy["true_data"]["is"]
    assert 1.9 < toy["uniform_100"]["is"] < 2.0
    assert 1.1 < toy["true_data"]["is"] < 1.4
    for name in ("true_data", "pm_infinity", "uniform_100"):
        assert np.log(toy[name]["is"]) == pytest.approx(toy[name]["mi"], rel=1e-12)
    assert toy == metrics.toy_1d(n=20_000, seed=0)
