"""Precision/recall and density/coverage (ganrepro.eval.prdc) against torch-fidelity's precision and
recall and the ``prdc`` package (Naeem et al.'s own) on the same features, and against hand-computed
values on small sets."""

from __future__ import annotations

import numpy as np
import prdc as prdc_ref
import pytest
import torch
from torch_fidelity.metric_prc import calculate_precision_recall_full

from ganrepro.eval import prdc as P


@pytest.fixture(scope="module")
def feats():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((600, 24))
    fake = rng.standard_normal((500, 24)) * 0.8 + 0.3  # narrower and shifted: precision != recall
    return real, fake


def test_precision_recall_match_torch_fidelity(feats):
    real, fake = feats
    out = P.prdc(real, fake, chunk=128)
    # torch-fidelity's convention: features_1 is GENERATED, features_2 is REAL.
    precision, recall = calculate_precision_recall_full(torch.from_numpy(fake), torch.from_numpy(real), 3, 10000)
    assert abs(out[P.KEY_PRECISION] - out[P.KEY_RECALL]) > 0.05  # a swap would show
    assert out[P.KEY_PRECISION] == pytest.approx(precision, abs=1e-6)  # torch-fidelity returns float32 means
    assert out[P.KEY_RECALL] == pytest.approx(recall, abs=1e-6)


def test_density_coverage_and_pr_match_the_prdc_package(feats):
    real, fake = feats
    ours = P.prdc(real, fake, k_pr=5, k_dc=5)
    ref = prdc_ref.compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
    for key in (P.KEY_PRECISION, P.KEY_RECALL, P.KEY_DENSITY, P.KEY_COVERAGE):
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), key
    assert 0 < ours[P.KEY_COVERAGE] < 1 and ours[P.KEY_DENSITY] > 0


def test_hand_computed_1d_case():
    # real = {0, 1, 2, 3}, fake = {0.5, 10, 11}, k = 1.
    # real radii: 1 each; fake radii: 0.5 -> 9.5 (to 10), 10 -> 1, 11 -> 1.
    # precision: 0.5 is within 1 of real 0 and 1; 10 and 11 are 7 and 8 from real 3 -> 1/3.
    # recall: fake 0.5's ball (radius 9.5) holds every real -> 1.
    # density: real balls (r = 1, strict) hold fake 0.5 twice (reals 0 and 1) -> 2 / (1 * 3).
    # coverage: reals 0 and 1 have a fake within 0.5 < 1; reals 2, 3 do not -> 1/2.
    real, fake = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([[0.5], [10.0], [11.0]])
    out = P.prdc(real, fake, k_pr=1, k_dc=1)
    assert out == pytest.approx({P.KEY_PRECISION: 1 / 3, P.KEY_RECALL: 1.0, P.KEY_DENSITY: 2 / 3, P.KEY_COVERAGE: 0.5})
    assert P.precision_recall(real, fake, k=1) == pytest.approx({P.KEY_PRECISION: 1 / 3, P.KEY_RECALL: 1.0})
    assert P.density_coverage(real, fake, k=1) == pytest.approx({P.KEY_DENSITY: 2 / 3, P.KEY_COVERAGE: 0.5})


def test_identical_sets_give_one(feats):
    real, _ = feats
    out = P.prdc(real, real.copy(), chunk=97)
    # Every point is its copy's neighbour at 0; each real ball holds itself and its k-1 nearer
    # neighbours strictly inside, so density = kN / (kN) = 1.
    assert out == pytest.approx({P.KEY_PRECISION: 1.0, P.KEY_RECALL: 1.0, P.KEY_DENSITY: 1.0, P.KEY_COVERAGE: 1.0})


def test_knn_radii_match_brute_force(feats):
    real, _ = feats
    x = real[:200]
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    brute = np.sort(d, axis=1)
    radii = np.sqrt(P.knn_radii_sq(x, (3, 5), chunk=33))
    np.testing.assert_allclose(radii, brute[:, [2, 4]].T, rtol=1e-10)


def test_validation(feats):
    real, fake = feats
    with pytest.raises(ValueError, match="feature dimensions"):
        P.prdc(real, fake[:, :3])
    with pytest.raises(ValueError, match="k = 5"):
        P.prdc(real[:5], fake)
    with pytest.raises(ValueError, match="k = 3"):
        P.prdc(real, fake[:3])
