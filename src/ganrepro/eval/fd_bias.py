"""The sample-size bias of the Fréchet distance, and its extrapolation to infinitely many samples
(Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them").

FD estimated from N generated samples is biased upwards, to first order linearly in 1/N:

    FD_N ≈ FD_∞ + c / N

so FD values computed at different N are not comparable, and a difference between two models can be
partly a difference of N. ``fd_at_sizes`` computes FD_N on independent random subsets of the same
generated features (sub-sampled without replacement, seeded; the reference statistics computed
once from all reference features, as Chong & Forsyth do), and ``fd_infinity`` fits FD_N = a + c/N by
least squares: FD_∞ = a (the intercept), c the slope in 1/N.

The distance itself is the project's ``metrics.frechet_distance_from_statistics`` (the trace of
(S_a S_b)^(1/2) as the real part of the square roots of the eigenvalues of S_a S_b, as
torch-fidelity): it has no eps offset and stays finite when N < D (a singular covariance); its
value there agrees with the exact low-rank form (the nuclear norm of X_aᵀ X_b / sqrt((N_a-1)(N_b-1))
for centred X) to about 1e-7 relative (tests/test_eval_fd_bias.py).
"""

from __future__ import annotations

import numpy as np

from ganrepro.eval import metrics

KEY_SIZES = "sizes"
KEY_FD = "fd"
KEY_FD_INF = "fd_inf"
KEY_SLOPE = "slope"


def fd_at_sizes(feat_fake, feat_real, sizes, rng: np.random.Generator | int | None = 0) -> dict:
    """FD between ``sizes[i]`` random generated samples (without replacement) and all reference ones.

    The subsets are drawn in the order of ``sizes`` with one seeded ``numpy.random.Generator``
    (``rng`` is a Generator or its seed). Returns ``{"sizes": [...], "fd": [...]}``.
    """
    fake = np.asarray(feat_fake, dtype=np.float64)
    mu_r, sigma_r = metrics.feature_statistics(feat_real)
    sizes = [int(n) for n in sizes]
    if not sizes:
        raise ValueError("sizes is empty")
    for n in sizes:
        if not 2 <= n <= len(fake):
            raise ValueError(f"each size must be in [2, {len(fake)}] (the generated features), got {n}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    fds = []
    for n in sizes:
        sub = fake[gen.choice(len(fake), n, replace=False)]
        fds.append(metrics.frechet_distance_from_statistics(*metrics.feature_statistics(sub), mu_r, sigma_r))
    return {KEY_SIZES: sizes, KEY_FD: fds}


def fd_infinity(sizes, fds) -> dict:
    """Least-squares fit FD_N = FD_∞ + slope / N (Chong & Forsyth 2020); returns ``fd_inf`` and ``slope``."""
    n = np.asarray(sizes, dtype=np.float64)
    y = np.asarray(fds, dtype=np.float64)
    if n.ndim != 1 or n.shape != y.shape:
        raise ValueError(f"sizes and fds must be 1-D of the same length, got {n.shape} and {y.shape}")
    if len(np.unique(n)) < 2:
        raise ValueError(f"the fit needs at least two different sizes, got {n.tolist()}")
    design = np.stack([np.ones_like(n), 1.0 / n], axis=1)
    (intercept, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
    return {KEY_FD_INF: float(intercept), KEY_SLOPE: float(slope)}


def fd_bias(feat_fake, feat_real, sizes, rng: np.random.Generator | int | None = 0) -> dict:
    """``fd_at_sizes`` and its ``fd_infinity`` fit in one dict: sizes, fd, fd_inf, slope."""
    out = fd_at_sizes(feat_fake, feat_real, sizes, rng)
    return {**out, **fd_infinity(out[KEY_SIZES], out[KEY_FD])}
