"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"), a pure function of
two feature arrays, in float64.

KID is the unbiased estimate of the squared maximum mean discrepancy with the cubic polynomial
kernel k(x, y) = (xᵀy / d + 1)³, on m samples X of one set and m samples Y of the other:

    MMD²_u = 1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m-1)) Σ_{i≠j} k(y_i, y_j) - 2/m² Σ_{i,j} k(x_i, y_j)

averaged over ``n_subsets`` random subsets of size m (drawn without replacement, independently
for each set), reported as mean and standard deviation (ddof 0, as torch-fidelity and the
authors' code) over the subsets. The estimator is unbiased, so for two samples of one
distribution it is centred on 0 and is negative about half the time at small m: a negative KID is
not a bug, clipping it would bias it.

Subsets are drawn with a seeded ``numpy.random.Generator``: per subset, first the X indices then
the Y indices, each ``rng.choice(n, m, replace=False)``.
"""

from __future__ import annotations

import numpy as np

KEY_MEAN = "mean"
KEY_STD = "std"
KEY_SUBSET_SIZE = "subset_size"
KEY_N_SUBSETS = "n_subsets"

SUBSET_SIZE = 1000
N_SUBSETS = 100
DEGREE = 3
COEF0 = 1.0


def _features(x, name: str) -> np.ndarray:
    f = np.asarray(x, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array N x D, got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return f


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = DEGREE, coef0: float = COEF0) -> np.ndarray:
    """k(x, y) = (xᵀy / d + coef0)^degree for every row pair: an m x n matrix (d = feature dimension)."""
    t = x @ y.T
    t /= x.shape[1]
    t += coef0
    return t * t * t if degree == 3 else t**degree  # t*t*t: several times faster than np.power


def mmd2_unbiased(x, y, degree: int = DEGREE, coef0: float = COEF0) -> float:
    """The unbiased MMD² of rows ``x`` (m x d) and ``y`` (n x d) under the polynomial kernel.

    1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n-1)) Σ_{i≠j} k(y_i, y_j) - 2/(mn) Σ_{i,j} k(x_i, y_j);
    with m = n this is Bińkowski et al.'s KID estimate on one subset.
    """
    x, y = _features(x, "x"), _features(y, "y")
    m, n = len(x), len(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y have different feature dimensions: {x.shape[1]} and {y.shape[1]}")
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD² needs at least 2 rows per set, got {m} and {n}")
    k_xx, k_yy = polynomial_kernel(x, x, degree, coef0), polynomial_kernel(y, y, degree, coef0)
    k_xy = polynomial_kernel(x, y, degree, coef0)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.sum() / (m * n))


def kid(feat_real, feat_fake, subset_size: int = SUBSET_SIZE, n_subsets: int = N_SUBSETS,
        rng: np.random.Generator | int | None = 0) -> dict:
    """KID: mean and sd (ddof 0) of ``mmd2_unbiased`` over ``n_subsets`` random subsets.

    ``subset_size`` is capped at the smaller set's size (then every subset is a whole set, and the
    sd is 0 when both sets are used whole). ``rng`` is a ``numpy.random.Generator`` or its seed.
    Returns ``{"mean", "std", "subset_size", "n_subsets"}`` (the size actually used).
    """
    a, b = _features(feat_real, "feat_real"), _features(feat_fake, "feat_fake")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} and {b.shape[1]}")
    for name, v in (("subset_size", subset_size), ("n_subsets", n_subsets)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    m = int(min(subset_size, len(a), len(b)))
    if m < 2:
        raise ValueError(f"KID needs at least 2 rows per set, got {len(a)} and {len(b)}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    mmds = np.empty(n_subsets)
    for s in range(n_subsets):
        ia = gen.choice(len(a), m, replace=False)
        ib = gen.choice(len(b), m, replace=False)
        mmds[s] = mmd2_unbiased(a[ia], b[ib])
    return {KEY_MEAN: float(mmds.mean()), KEY_STD: float(mmds.std()), KEY_SUBSET_SIZE: m, KEY_N_SUBSETS: int(n_subsets)}
