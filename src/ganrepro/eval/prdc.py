"""Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020),
pure functions of two feature arrays, in float64.

Each sample x of a set S defines a ball B(x, NND_k(x)) whose radius is the distance to its k-th
nearest neighbour in S (itself excluded); the union of the balls is the k-NN manifold of S.
With real samples X_1..X_N and fake samples Y_1..Y_M:

    precision = 1/M Σ_j 1[Y_j ∈ manifold(real)]      (real manifold, k = 3)
    recall    = 1/N Σ_i 1[X_i ∈ manifold(fake)]      (fake manifold, k = 3)
    density   = 1/(kM) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))]          (real balls, k = 5)
    coverage  = 1/N Σ_i 1[∃ j: Y_j ∈ B(X_i, NND_k(X_i))]            (real balls, k = 5)

Precision asks whether the fakes look real, recall whether the reals are reproduced: swapping the
manifolds swaps the two numbers (torch-fidelity fixed exactly that swap). Ball membership is
``d <= r`` for precision/recall, as Kynkäänniemi et al.'s code, and ``d < r`` for density/coverage,
as Naeem et al.'s ``prdc`` package (ties have probability 0 with continuous features).

Distances are computed as ‖a‖² + ‖b‖² - 2abᵀ in float64, ``CHUNK`` rows at a time (memory is
CHUNK x N, not M x N), compared as squared distances, the k-th neighbour taken with np.partition.
"""

from __future__ import annotations

import numpy as np

KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_DENSITY = "density"
KEY_COVERAGE = "coverage"

K_PR = 3
K_DC = 5
CHUNK = 1024


def _features(x, name: str) -> np.ndarray:
    f = np.asarray(x, dtype=np.float64)
    if f.ndim != 2 or len(f) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array N x D, got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return f


def _check_k(k: int, n: int, name: str) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k >= n:
        raise ValueError(f"k = {k} needs more than {k} rows in {name}, got {n}")


def _sq_dists(a: np.ndarray, b: np.ndarray, sq_a: np.ndarray, sq_b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (‖a_i‖² + ‖b_j‖²) - 2 a_i·b_j, clipped at 0 (rounding).

    The norms are summed first, a commutative IEEE operation, so d(x, y) and d(y, x) round alike:
    the radius of a real point and its distance to a copy of its neighbour among the fakes compare
    as the equal numbers they are (identical sets give density exactly 1).
    """
    d = a @ b.T
    d *= -2
    d += sq_a[:, None] + sq_b[None, :]
    return np.maximum(d, 0, out=d)


def knn_radii_sq(x, ks, chunk: int = CHUNK) -> np.ndarray:
    """Squared distance of each row of ``x`` to its k-th nearest other row, for each k in ``ks``.

    Returns an array len(ks) x N. The self-distance is set to exactly 0, so after np.partition the
    entry at index k is the k-th neighbour other than the point itself (as the ``prdc`` package).
    """
    x = np.asarray(x, dtype=np.float64)
    ks = [int(k) for k in ks]
    for k in ks:
        _check_k(k, len(x), "the set")
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty((len(ks), len(x)))
    for s in range(0, len(x), chunk):
        d = _sq_dists(x[s : s + chunk], x, sq[s : s + chunk], sq)
        rows = np.arange(len(d))
        d[rows, s + rows] = 0.0
        part = np.partition(d, ks, axis=1)
        out[:, s : s + chunk] = part[:, ks].T
    return out


def prdc(feat_real, feat_fake, k_pr: int = K_PR, k_dc: int = K_DC, chunk: int = CHUNK) -> dict:
    """Precision, recall (k = ``k_pr``), density and coverage (k = ``k_dc``) in one pass.

    The real-real radii (both k), the fake-fake radii (``k_pr``) and the fake-real distances are
    each computed once, chunk by chunk. Returns ``{"precision", "recall", "density", "coverage"}``.
    """
    real, fake = _features(feat_real, "feat_real"), _features(feat_fake, "feat_fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature dimensions differ: real {real.shape[1]}, fake {fake.shape[1]}")
    _check_k(k_pr, len(fake), "feat_fake")
    r_real = knn_radii_sq(real, (k_pr, k_dc), chunk)
    r_real_pr, r_real_dc = r_real[0], r_real[1]
    r_fake_pr = knn_radii_sq(fake, (k_pr,), chunk)[0]
    sq_real = np.einsum("ij,ij->i", real, real)
    sq_fake = np.einsum("ij,ij->i", fake, fake)
    in_real_manifold = np.empty(len(fake), dtype=bool)
    density_count = 0
    real_in_fake_manifold = np.zeros(len(real), dtype=bool)
    nearest_fake = np.full(len(real), np.inf)
    for s in range(0, len(fake), chunk):
        d = _sq_dists(fake[s : s + chunk], real, sq_fake[s : s + chunk], sq_real)  # fake rows x real columns
        in_real_manifold[s : s + chunk] = (d <= r_real_pr[None, :]).any(axis=1)
        density_count += int(np.count_nonzero(d < r_real_dc[None, :]))
        real_in_fake_manifold |= (d <= r_fake_pr[s : s + chunk, None]).any(axis=0)
        np.minimum(nearest_fake, d.min(axis=0), out=nearest_fake)
    return {
        KEY_PRECISION: float(in_real_manifold.mean()),
        KEY_RECALL: float(real_in_fake_manifold.mean()),
        KEY_DENSITY: float(density_count / (k_dc * len(fake))),
        KEY_COVERAGE: float((nearest_fake < r_real_dc).mean()),
    }


def precision_recall(feat_real, feat_fake, k: int = K_PR, chunk: int = CHUNK) -> dict:
    """Kynkäänniemi et al.'s precision (fakes in the real manifold) and recall (reals in the fake one)."""
    out = prdc(feat_real, feat_fake, k_pr=k, k_dc=k, chunk=chunk)
    return {KEY_PRECISION: out[KEY_PRECISION], KEY_RECALL: out[KEY_RECALL]}


def density_coverage(feat_real, feat_fake, k: int = K_DC, chunk: int = CHUNK) -> dict:
    """Naeem et al.'s density and coverage, both on the real samples' k-NN balls."""
    out = prdc(feat_real, feat_fake, k_pr=k, k_dc=k, chunk=chunk)
    return {KEY_DENSITY: out[KEY_DENSITY], KEY_COVERAGE: out[KEY_COVERAGE]}
