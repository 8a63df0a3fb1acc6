"""FD at several N and the FID∞ extrapolation (ganrepro.eval.fd_bias): the fit against exact
synthetic data, the extrapolation against the closed-form FD of two Gaussians, and the project's
FD below N = D against the exact low-rank form."""

from __future__ import annotations

import numpy as np
import pytest

from ganrepro.eval import fd_bias as B
from ganrepro.eval import metrics


def exact_fd(a: np.ndarray, b: np.ndarray) -> float:
    """FD with Tr((S_a S_b)^(1/2)) as the nuclear norm of X_a X_bᵀ / sqrt((N_a-1)(N_b-1)) (X centred):
    the eigenvalues of S_a S_b are the squared singular values of that N_a x N_b matrix. No matrix
    square root of a singular D x D product, so exact when N < D."""
    ca, cb = a - a.mean(0), b - b.mean(0)
    nuclear = np.linalg.svd(ca @ cb.T / np.sqrt((len(a) - 1) * (len(b) - 1)), compute_uv=False).sum()
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + (ca**2).sum() / (len(a) - 1) + (cb**2).sum() / (len(b) - 1) - 2 * nuclear)


def test_fit_recovers_intercept_and_slope():
    sizes = [500, 1000, 2000, 5000, 10000]
    fds = [3.0 + 50.0 / n for n in sizes]
    out = B.fd_infinity(sizes, fds)
    assert out[B.KEY_FD_INF] == pytest.approx(3.0, abs=1e-10)
    assert out[B.KEY_SLOPE] == pytest.approx(50.0, rel=1e-8)
    with pytest.raises(ValueError, match="two different sizes"):
        B.fd_infinity([100, 100], [1.0, 2.0])


def test_extrapolation_removes_the_small_n_bias_of_two_gaussians():
    rng = np.random.default_rng(0)
    d = 32
    real = rng.standard_normal((20000, d))
    s, mu = np.linspace(0.5, 1.5, d), np.full(d, 0.1)
    fake = rng.standard_normal((4000, d)) * s + mu
    truth = mu @ mu + ((1 - s) ** 2).sum()  # N(0, I) vs N(mu, diag(s²)): ||mu||² + Σ (1 - s_i)²
    out = B.fd_bias(fake, real, [200, 300, 500, 800, 1300, 2000], rng=0)
    assert out[B.KEY_SIZES] == [200, 300, 500, 800, 1300, 2000]
    assert out[B.KEY_FD][0] - truth > 0.8  # FD at N = 200 is biased up by about 1.2 (of 3.16)
    assert out[B.KEY_SLOPE] > 0
    assert abs(out[B.KEY_FD_INF] - truth) < 0.25


def test_fd_below_n_equal_d_agrees_with_the_exact_low_rank_form():
    rng = np.random.default_rng(1)
    d, n = 256, 100  # N < D: both covariances singular
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    real = np.maximum(rng.standard_normal((n, d)) @ mix, 0)
    fake = np.maximum((rng.standard_normal((n, d)) * 1.1 + 0.1) @ mix, 0)
    out = B.fd_at_sizes(fake, real, [n], rng=0)  # the whole set (a permutation): FD is order-free
    assert out[B.KEY_FD][0] == pytest.approx(exact_fd(fake, real), rel=1e-6)
    assert metrics.frechet_distance(fake, real) == pytest.approx(exact_fd(fake, real), rel=1e-6)


def test_subsets_are_seeded_and_sizes_validated():
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((500, 8)), rng.standard_normal((300, 8))
    a = B.fd_at_sizes(fake, real, [50, 100], rng=4)
    assert a == B.fd_at_sizes(fake, real, [50, 100], rng=4)
    assert a != B.fd_at_sizes(fake, real, [50, 100], rng=5)
    with pytest.raises(ValueError, match="each size"):
        B.fd_at_sizes(fake, real, [301])
