"""The score step's sample-set metrics (ganrepro.eval.distribution): KID, precision/recall,
density/coverage and the FD-bias curve on one pair of feature arrays, against independent
computations (torch-fidelity's KID, the ``prdc`` package, the FD of the whole sets), and their
options: the schema's defaults, params.yaml's values and the papers' are one set of numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from prdc import compute_prdc
from torch_fidelity.metric_kid import kid_features_to_metric

from conftest import ROOT
from ganrepro.eval import distribution, metrics
from ganrepro.steps.stepdefs import DISTRIBUTION_PARAMS

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())
EVALUATION = SCHEMA["properties"]["evaluation"]["properties"]


@pytest.fixture(scope="module")
def feats():
    rng = np.random.default_rng(7)
    real = rng.standard_normal((300, 16))
    fake = rng.standard_normal((300, 16)) * 1.3 + 0.2
    return real, fake


def test_kid_on_whole_sets_equals_torch_fidelity(feats):
    """Subsets as large as the sets: every subset is the whole set, whatever the generator draws."""
    real, fake = feats
    out = distribution.distribution_scores(fake, real, {"kid_subset_size": 300, "kid_subsets": 3})
    ref = kid_features_to_metric(torch.from_numpy(real), torch.from_numpy(fake), kid_subsets=1, kid_subset_size=300,
                                 kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
                                 kid_kernel_poly_coef0=1, verbose=False)
    assert out["kid"]["mean"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-10)
    assert out["kid"]["std"] == pytest.approx(0.0, abs=1e-15) and out["kid"]["subset_size"] == 300


def test_precision_recall_density_coverage_equal_the_prdc_package(feats):
    real, fake = feats
    out = distribution.distribution_scores(fake, real, {})  # the papers' k: 3 for PR, 5 for DC
    at3, at5 = compute_prdc(real, fake, nearest_k=3), compute_prdc(real, fake, nearest_k=5)
    assert out["precision"] == pytest.approx(at3["precision"], abs=1e-12)
    assert out["recall"] == pytest.approx(at3["recall"], abs=1e-12)
    assert out["density"] == pytest.approx(at5["density"], abs=1e-12)
    assert out["coverage"] == pytest.approx(at5["coverage"], abs=1e-12)
    assert 0 < out["precision"] < 1 and 0 < out["recall"] < 1  # the sets differ: neither is trivially 0 or 1


def test_fd_curve_ends_at_the_fd_of_the_whole_sets_and_rises_as_n_falls(feats):
    real, fake = feats
    out = distribution.distribution_scores(fake, real, {"fd_bias_fractions": [0.1, 0.5, 1.0]})
    bias = out["fd_bias"]
    assert bias["sizes"] == [30, 150, 300] and out["n_real"] == 300
    assert bias["fd"][-1] == pytest.approx(metrics.frechet_distance(fake, real), rel=1e-9)
    assert bias["fd"][0] > bias["fd"][-1]  # 16-d covariance from 30 samples: biased well upwards
    # the fit on three points: FD_N = FD∞ + c/N through them in the least-squares sense
    n, y = np.asarray(bias["sizes"], float), np.asarray(bias["fd"])
    c, a = np.polyfit(1 / n, y, 1)
    assert bias["fd_inf"] == pytest.approx(a, rel=1e-9) and bias["slope"] == pytest.approx(c, rel=1e-9)


def test_same_features_same_numbers_and_small_sets_give_none(feats):
    real, fake = feats
    assert distribution.distribution_scores(fake, real, {}) == distribution.distribution_scores(fake, real, {})
    tiny = distribution.distribution_scores(fake[:4], real[:4], {})
    assert tiny["precision"] is None and tiny["coverage"] is None  # k = 5 needs more than 5 rows
    assert tiny["kid"]["subset_size"] == 4 and tiny["fd_bias"]["sizes"] == [2, 3, 4]


def test_fd_sizes_round_and_drop_sizes_below_two():
    assert distribution.fd_sizes(5000, [0.2, 0.4, 0.6, 0.8, 1.0]) == [1000, 2000, 3000, 4000, 5000]
    assert distribution.fd_sizes(3, [0.1, 0.5, 1.0]) == [2, 3]


def test_defaults_are_the_papers_and_the_schemas_and_params_yaml_states_them():
    assert distribution.DEFAULTS == {"kid_subset_size": 1000, "kid_subsets": 100, "k_precision_recall": 3,
                                     "k_density_coverage": 5, "fd_bias_fractions": [0.2, 0.4, 0.6, 0.8, 1.0]}
    assert {k: EVALUATION[k]["default"] for k in distribution.DEFAULTS} == distribution.DEFAULTS
    params = yaml.safe_load((ROOT / "params.yaml").read_text())["evaluation"]
    assert {k: params[k] for k in distribution.DEFAULTS} == distribution.DEFAULTS
    assert DISTRIBUTION_PARAMS == distribution.PARAM_KEYS  # what the steps declare is what the metrics read
