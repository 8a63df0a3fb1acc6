"""Metrics as pure functions of numpy arrays, computed in float64.

Inception Score (Salimans et al. 2016), and the criticisms of "A Note on the Inception Score"
(Barratt & Sharma 2018) made measurable: the split-count dependence of IS, the mutual information
that replaces it, the 1-D toy whose ±∞ generator reaches the maximum score. Also the Fréchet
distance (Heusel et al. 2017), InfoGAN's code accuracy (Chen et al. 2016) and a nearest-neighbour
memorisation check.

IS follows openai/improved-gan and torch-fidelity exactly: contiguous splits
``probs[i*N//s : (i+1)*N//s]``, std over splits with ddof 0. (torchmetrics shuffles the rows, splits
with ``torch.chunk`` and uses ddof 1; see tests/test_metrics.py.)
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from scipy.special import expit, xlogy

KEY_MEAN = "mean"
KEY_STD = "std"
KEY_N_SPLITS = "n_splits"
KEY_MI = "mi"
KEY_LO = "lo"
KEY_HI = "hi"
KEY_N_BOOT = "n_boot"
KEY_ACCURACY = "accuracy"
KEY_ERROR = "error"
KEY_MAPPING = "mapping"
KEY_CONTINGENCY = "contingency"
KEY_IS = "is"
KEY_TRUE_DATA = "true_data"
KEY_PM_INFINITY = "pm_infinity"
KEY_UNIFORM_100 = "uniform_100"
KEY_MAX_IS = "max_is"

ROW_SUM_TOLERANCE = 1e-3
SUSPICIOUS_PERCENTILE = 1.0
FID_EPS = 1e-6


def validate_probs(probs) -> np.ndarray:
    """Check an N x K matrix of class probabilities p(y|x); return it as float64."""
    p = np.asarray(probs)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be a 2-D array of shape N x K (samples x classes), got shape {p.shape}")
    n, k = p.shape
    if n < 1:
        raise ValueError(f"probabilities must have at least one row (sample), got shape {p.shape}")
    if k < 2:
        raise ValueError(f"probabilities must have at least two columns (classes), got shape {p.shape}")
    if not (np.issubdtype(p.dtype, np.floating) or np.issubdtype(p.dtype, np.integer) or p.dtype == bool):
        raise ValueError(f"probabilities must be real numbers, got dtype {p.dtype}")
    p = p.astype(np.float64)
    bad = ~np.isfinite(p)
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ValueError(f"probabilities contain NaN or infinite values ({int(bad.sum())} entries; first in row {row})")
    if (p < 0).any():
        row, col = (int(i) for i in np.argwhere(p < 0)[0])
        raise ValueError(f"probabilities contain negative values ({int((p < 0).sum())} entries; "
                         f"first: row {row}, column {col} = {p[row, col]:.6g})")
    err = np.abs(p.sum(axis=1) - 1.0)
    worst = int(np.argmax(err))
    if err[worst] > ROW_SUM_TOLERANCE:
        raise ValueError(f"probability rows must sum to 1 (tolerance {ROW_SUM_TOLERANCE:g}); "
                         f"{int((err > ROW_SUM_TOLERANCE).sum())} rows do not, worst is row {worst} "
                         f"with sum {p[worst].sum():.6g} (logits? apply softmax first)")
    return p


def validate_split_counts(splits, n: int) -> list[int]:
    """Each split count must be an integer in [1, N]: every split needs at least one sample."""
    counts = [splits] if np.isscalar(splits) else list(splits)
    if not counts:
        raise ValueError("at least one split count is needed")
    for s in counts:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise ValueError(f"split count {s!r} is not an integer")
        if not 1 <= s <= n:
            raise ValueError(f"split count {s} is out of range: it must be between 1 and N = {n} (the number of samples)")
    return [int(s) for s in counts]


def softmax(logits) -> np.ndarray:
    """Row-wise softmax in float64, stable for large logits (the row maximum is subtracted)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _entropy_rows(p: np.ndarray) -> np.ndarray:
    """H(p) = -sum_y p log p per row, in nats, with 0 log 0 = 0."""
    return -xlogy(p, p).sum(axis=-1)


def _mean_kl_to_marginal(p: np.ndarray) -> float:
    """E_x KL(p(y|x) || p(y)) with p(y) the mean of the rows (Salimans et al. 2016)."""
    py = p.mean(axis=0)
    return float((xlogy(p, p) - xlogy(p, py)).sum(axis=1).mean())


def split_scores(probs: np.ndarray, parts: list) -> np.ndarray:
    """exp(E_x KL(p(y|x) || p(y))) per part, p(y) estimated within each part; ``parts`` index rows."""
    return np.array([np.exp(_mean_kl_to_marginal(probs[idx])) for idx in parts])


def contiguous_splits(n: int, splits: int) -> list[slice]:
    """openai/improved-gan's (and torch-fidelity's) split boundaries: [i*N//s, (i+1)*N//s)."""
    return [slice(i * n // splits, (i + 1) * n // splits) for i in range(splits)]


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) || p(y))), mean and std (ddof 0) over contiguous splits.

    Salimans et al. (2016); Barratt & Sharma (2018). p(y) is estimated within each split, which is
    why the score depends on the split count (Barratt & Sharma's first criticism).
    """
    p = validate_probs(probs)
    (s,) = validate_split_counts([splits], len(p))
    scores = split_scores(p, contiguous_splits(len(p), s))
    return float(scores.mean()), float(scores.std())


def inception_score_table(probs, split_counts) -> dict[int, dict]:
    """IS at every split count: {splits: {"mean", "std", "n_splits"}}."""
    p = validate_probs(probs)
    table = {}
    for s in validate_split_counts(split_counts, len(p)):
        scores = split_scores(p, contiguous_splits(len(p), s))
        table[s] = {KEY_MEAN: float(scores.mean()), KEY_STD: float(scores.std()), KEY_N_SPLITS: s}
    return table


def mutual_information(probs) -> float:
    """I(x; y) = E_x KL(p(y|x) || p(y)) = H(p(y)) - E_x H(p(y|x)) in nats, p(y) from all samples.

    Barratt & Sharma (2018) rewrite log IS as this mutual information and recommend it as the
    remedy for the split dependence (no exp, no splits). log IS(1 split) equals it.
    """
    return _mean_kl_to_marginal(validate_probs(probs))


def mutual_information_bootstrap(probs, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> dict:
    """MI with a percentile bootstrap interval over rows: {"mi", "lo", "hi", "n_boot"}.

    A resample is a vector of row counts c (sum N); its MI is H(c @ p / N) - c @ H(p(y|x)) / N,
    so every resample costs one matrix product instead of a gather of N x K rows.
    """
    p = validate_probs(probs)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    n = len(p)
    h_rows = _entropy_rows(p)
    rng = np.random.Generator(np.random.PCG64(seed))
    draws = np.empty(n_boot)
    block = max(1, min(n_boot, 2**22 // n))  # bounds the index and count matrices to ~32 MB each
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        counts = np.bincount((np.arange(b)[:, None] * n + idx).ravel(), minlength=b * n).reshape(b, n) / n
        draws[start : start + b] = _entropy_rows(counts @ p) - counts @ h_rows
    alpha = (1 - level) / 2
    lo, hi = np.quantile(draws, [alpha, 1 - alpha])
    return {KEY_MI: mutual_information(p), KEY_LO: float(lo), KEY_HI: float(hi), KEY_N_BOOT: int(n_boot)}


def frechet_distance(feat_a, feat_b, eps: float = FID_EPS) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (Heusel et al. 2017).

    Computed like pytorch-fid: when the matrix square root is not finite, eps * I is added to both
    covariances; a negligible imaginary part from numerical error is dropped.
    """
    a, b = (np.asarray(f, dtype=np.float64) for f in (feat_a, feat_b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be two 2-D arrays N x D with the same D, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"each feature set needs at least 2 rows for a covariance, got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("features contain NaN or infinite values")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = linalg.sqrtm(s_a @ s_b)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s_a)) * eps
        covmean = linalg.sqrtm((s_a + offset) @ (s_b + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"matrix square root has a large imaginary part ({np.abs(covmean.imag).max():.3g})")
        covmean = covmean.real
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean))


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof 1) of N × D features in float64: what FID compares (TTUR's fid.py)."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be N x D with N >= 2 for a covariance, got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or infinite values")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def frechet_distance_from_statistics(mu_a, sigma_a, mu_b, sigma_b) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b) - 2 Σ sqrt(eig(S_a S_b)) (Heusel et al. 2017).

    The trace of the matrix square root as torch-fidelity computes it (the real part of the
    square roots of the eigenvalues of S_a S_b): no eps offset, no failure on the singular
    covariances of fewer samples than dimensions. The Inception stage uses this form, so its FID
    equals torch-fidelity's for the same features (tests/test_inception_step.py).
    """
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    if mu_a.shape != mu_b.shape or sigma_a.shape != sigma_b.shape or sigma_a.shape != mu_a.shape * 2:
        raise ValueError(f"statistics of different dimensions: {mu_a.shape}, {sigma_a.shape} vs {mu_b.shape}, {sigma_b.shape}")
    diff = mu_a - mu_b
    tr_covmean = np.sqrt(np.linalg.eigvals(sigma_a @ sigma_b).astype(np.complex128)).real.sum()
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2 * tr_covmean)


def code_accuracy(codes, labels, n_codes: int, n_classes: int) -> dict:
    """Accuracy of a categorical code as a classifier under the best one-to-one code -> class map.

    InfoGAN (Chen et al. 2016) reports the categorical code's error on MNIST this way. The
    map maximises the matched count of the contingency table (Hungarian algorithm). ``mapping[c]``
    is the class of code c, -1 for a code left without a class (more codes than classes).
    """
    c, y = np.asarray(codes), np.asarray(labels)
    if c.ndim != 1 or y.ndim != 1 or len(c) != len(y):
        raise ValueError(f"codes and labels must be 1-D of the same length, got shapes {c.shape} and {y.shape}")
    if len(c) == 0:
        raise ValueError("codes and labels are empty")
    for name, v, k in (("codes", c, n_codes), ("labels", y, n_classes)):
        if not np.issubdtype(v.dtype, np.integer):
            raise ValueError(f"{name} must be integers, got dtype {v.dtype}")
        if v.min() < 0 or v.max() >= k:
            raise ValueError(f"{name} must lie in [0, {k - 1}], got values in [{v.min()}, {v.max()}]")
    table = np.zeros((n_codes, n_classes), dtype=np.int64)
    np.add.at(table, (c, y), 1)
    # imported here, not at the top: scipy.optimize is slow to import and only this function needs it
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = [-1] * n_codes
    for r, col in zip(rows, cols, strict=True):
        mapping[int(r)] = int(col)
    accuracy = float(table[rows, cols].sum() / len(c))
    return {KEY_ACCURACY: accuracy, KEY_ERROR: 1.0 - accuracy, KEY_MAPPING: mapping,
            KEY_CONTINGENCY: table.tolist()}


@torch.no_grad()
def nearest_neighbour_distances(queries, reference, batch_size: int = 1024, ref_block: int = 8192) -> np.ndarray:
    """L2 distance from each flattened query to its nearest reference row (float64, length N).

    The nearest row is found in float32 with ||q||^2 + ||r||^2 - 2 q.r (a matrix product);
    the distance to it is then recomputed exactly in float64, so an exact copy gives 0.
    """
    q = np.asarray(queries).reshape(len(queries), -1)
    r = np.asarray(reference).reshape(len(reference), -1)
    if len(q) == 0 or len(r) == 0 or q.shape[1] != r.shape[1]:
        raise ValueError(f"queries and reference must be non-empty with the same row size, got {q.shape} and {r.shape}")
    rt = torch.from_numpy(np.ascontiguousarray(r, dtype=np.float32))
    r_sq = (rt * rt).sum(1)
    nearest = np.empty(len(q), dtype=np.int64)
    for i in range(0, len(q), batch_size):
        qt = torch.from_numpy(np.ascontiguousarray(q[i : i + batch_size], dtype=np.float32))
        best = torch.full((len(qt),), float("inf"))
        arg = torch.zeros(len(qt), dtype=torch.int64)
        for j in range(0, len(rt), ref_block):
            d = torch.addmm(r_sq[j : j + ref_block], qt, rt[j : j + ref_block].T, alpha=-2.0)
            m, a = d.min(1)
            better = m < best
            best = torch.where(better, m, best)
            arg = torch.where(better, a + j, arg)
        nearest[i : i + batch_size] = arg.numpy()
    diff = q.astype(np.float64) - r[nearest].astype(np.float64)
    return np.sqrt((diff * diff).sum(1))


def memorisation_report(samples_nn, test_nn) -> dict:
    """Do generated samples sit closer to the training set than real unseen images do?

    ``samples_nn``: distance of each sample to its nearest training image; ``test_nn``: the same for
    real test images (the reference for "close"). IS cannot see memorisation (Barratt & Sharma 2018):
    a copy of the training set scores like real data, but its ``median_ratio`` is 0.
    """
    s, t = (np.asarray(v, dtype=np.float64).ravel() for v in (samples_nn, test_nn))
    if len(s) == 0 or len(t) == 0:
        raise ValueError(f"need at least one distance on each side, got {len(s)} sample and {len(t)} test distances")
    if not (np.isfinite(s).all() and np.isfinite(t).all()) or (s < 0).any() or (t < 0).any():
        raise ValueError("distances must be finite and non-negative")
    threshold = float(np.percentile(t, SUSPICIOUS_PERCENTILE))
    s_med, t_med = float(np.median(s)), float(np.median(t))
    if t_med > 0:
        ratio = s_med / t_med
    else:
        ratio = float("nan") if s_med == 0 else float("inf")
    return {
        "n_samples": int(len(s)), "n_test": int(len(t)),
        "samples_median": s_med, "samples_mean": float(s.mean()),
        "test_median": t_med, "test_mean": float(t.mean()),
        "test_percentile": SUSPICIOUS_PERCENTILE, "threshold": threshold,
        "fraction_suspicious": float((s < threshold).mean()),
        "test_fraction_below": float((t < threshold).mean()),
        "median_ratio": ratio,
    }


TOY_MEANS = (-1.0, 1.0)
TOY_VARIANCE = 2.0


def toy_posterior(x) -> np.ndarray:
    """Bayes-optimal p(y|x) for the mixture 1/2 N(-1, 2) + 1/2 N(1, 2) (2 is the variance).

    log N(x; m1, v) - log N(x; m0, v) = ((m1 - m0) x - (m1^2 - m0^2) / 2) / v: the quadratic terms
    cancel, so the logit is linear in x and finite arithmetic gives exactly 0 and 1 at x = -inf, +inf.
    """
    m0, m1 = TOY_MEANS
    logit = ((m1 - m0) * np.asarray(x, dtype=np.float64) - (m1**2 - m0**2) / 2) / TOY_VARIANCE
    return np.stack([expit(-logit), expit(logit)], axis=1)


def toy_1d(n: int = 100_000, seed: int = 0) -> dict:
    """Barratt & Sharma's (2018) 1-D example: classes N(-1, 2) and N(1, 2), variance 2, equally likely.

    With the Bayes-optimal classifier, a "generator" emitting +inf and -inf in equal numbers scores
    the maximum IS = 2 (K = 2 classes), above samples of the true mixture; so does U(-100, 100).
    IS uses one split (p(y) from all samples), so log IS = MI.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.integers(0, 2, n)
    true_x = np.asarray(TOY_MEANS)[y] + np.sqrt(TOY_VARIANCE) * rng.standard_normal(n)
    half = n // 2
    sets = {
        KEY_TRUE_DATA: true_x,
        KEY_PM_INFINITY: np.concatenate([np.full(half, np.inf), np.full(half, -np.inf)]),
        KEY_UNIFORM_100: rng.uniform(-100.0, 100.0, n),
    }
    out: dict = {}
    for name, x in sets.items():
        p = toy_posterior(x)
        out[name] = {KEY_IS: inception_score(p, 1)[0], KEY_MI: mutual_information(p)}
    out[KEY_MAX_IS] = float(len(TOY_MEANS))
    out["variance"] = TOY_VARIANCE
    out["n"] = int(n)
    return out
