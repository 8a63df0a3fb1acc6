"""KID (ganrepro.eval.kid) against torch-fidelity's and torchmetrics' own MMD code on the same
features, and against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric
from torchmetrics.image.kid import poly_mmd

from ganrepro.eval import kid as K

TFID_POLY = {"kid_kernel": "poly", "kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}


@pytest.fixture(scope="module")
def feats():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((400, 48))
    fake = rng.standard_normal((300, 48)) * 1.2 + 0.1
    return real, fake


def test_mmd2_matches_torch_fidelity_and_torchmetrics(feats):
    real, fake = feats
    x, y = real[:250], fake[:250]
    ours = K.mmd2_unbiased(x, y)
    tfid = float(kernel_mmd(x, y, **TFID_POLY))
    tm = float(poly_mmd(torch.from_numpy(x), torch.from_numpy(y)))
    assert ours > 0.01  # different distributions: a clearly positive MMD², not a trivial 0 = 0
    assert ours == pytest.approx(tfid, rel=1e-12, abs=1e-12)
    assert ours == pytest.approx(tm, rel=1e-12, abs=1e-12)


def test_kid_subsets_match_torch_fidelity_on_the_same_subsets(feats):
    real, fake = feats
    out = K.kid(real, fake, subset_size=100, n_subsets=20, rng=np.random.default_rng(11))
    gen = np.random.default_rng(11)  # the documented draw order: X indices, then Y indices, per subset
    ref = []
    for _ in range(20):
        ia, ib = gen.choice(len(real), 100, replace=False), gen.choice(len(fake), 100, replace=False)
        ref.append(kernel_mmd(real[ia], fake[ib], **TFID_POLY))
    assert out[K.KEY_SUBSET_SIZE] == 100 and out[K.KEY_N_SUBSETS] == 20
    assert out[K.KEY_MEAN] == pytest.approx(np.mean(ref), rel=1e-12)
    assert out[K.KEY_STD] == pytest.approx(np.std(ref), rel=1e-10)


def test_whole_sets_equal_torch_fidelity_kid(feats):
    real, fake = feats
    real = real[:300]
    out = K.kid(real, fake, subset_size=1000, n_subsets=3, rng=0)  # capped at 300: every subset is a whole set
    ref = kid_features_to_metric(torch.from_numpy(real), torch.from_numpy(fake), kid_subsets=3, kid_subset_size=300,
                                 rng_seed=1, verbose=False, **TFID_POLY)
    assert out[K.KEY_SUBSET_SIZE] == 300
    assert out[K.KEY_MEAN] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-10)
    assert out[K.KEY_STD] == pytest.approx(0.0, abs=1e-12)


def test_hand_computed_values():
    # d = 1, k(a, b) = (ab + 1)^3.
    # X = {1, -1}, Y = {0, 0}: k(1,-1) = 0, k(0,0) = 1, k(x,0) = 1 -> 0/2 + 2/2 - 2*4/4 = -1.
    assert K.mmd2_unbiased([[1.0], [-1.0]], [[0.0], [0.0]]) == pytest.approx(-1.0, abs=1e-15)
    # X = {1, 1}, Y = {-1, -1}: k(1,1) = 8, k(-1,-1) = 8, k(1,-1) = 0 -> 8 + 8 - 0 = 16.
    assert K.mmd2_unbiased([[1.0], [1.0]], [[-1.0], [-1.0]]) == pytest.approx(16.0, abs=1e-12)


def test_same_distribution_is_unbiased_and_can_be_negative():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
    vals = np.array([K.mmd2_unbiased(a[rng.choice(2000, 20, replace=False)], b[rng.choice(2000, 20, replace=False)])
                     for _ in range(400)])
    assert 0.2 < (vals < 0).mean() < 0.8  # unbiased: about half the small-m estimates are negative
    assert abs(vals.mean()) < 3 * vals.std() / np.sqrt(len(vals))  # centred on the true MMD² = 0
    out = K.kid(a, b, subset_size=20, n_subsets=400, rng=1)
    assert abs(out[K.KEY_MEAN]) < 3 * out[K.KEY_STD] / np.sqrt(400)
    shifted = K.kid(a, b + 0.5, subset_size=200, n_subsets=10, rng=1)
    assert shifted[K.KEY_MEAN] > 10 * shifted[K.KEY_STD] / np.sqrt(10)


def test_seeded_and_validated(feats):
    real, fake = feats
    assert K.kid(real, fake, 50, 5, rng=2) == K.kid(real, fake, 50, 5, rng=2)
    assert K.kid(real, fake, 50, 5, rng=2) != K.kid(real, fake, 50, 5, rng=3)
    with pytest.raises(ValueError, match="feature dimensions"):
        K.kid(real, fake[:, :10])
    with pytest.raises(ValueError, match="n_subsets"):
        K.kid(real, fake, n_subsets=0)
    with pytest.raises(ValueError, match="NaN"):
        K.kid(np.full((5, 2), np.nan), fake[:, :2])
