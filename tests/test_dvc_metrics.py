"""What DVC's metrics and plots read: the score step's metrics.json and is_splits.csv (ganrepro.eval.headline)."""

import csv
import io

import numpy as np
import pytest

from ganrepro.eval import headline, metrics
from ganrepro.eval.scoring import _classifier_scores


def test_metrics_are_the_k0_numbers_of_scores_json():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), size=400)
    k0 = {**_classifier_scores(probs, [1, 2, 10], n_boot=20), "fid_test": 12.5}
    k1 = {**_classifier_scores(probs[::-1], [1, 2, 10], n_boot=20), "fid_test": 99.0}
    scores = {"status": "completed", "classifiers": {"k0": k0, "k1": k1}}
    m = headline.metrics(scores, [1, 2, 10])
    assert set(m) == {"is", "mi", "fd", "kid", "precision", "recall", "density", "coverage", "n", "n_real"}
    # independent: IS at 10 splits is the mean of exp(mean KL) over ten contiguous splits of 40
    kl = lambda p: np.exp(np.mean(np.sum(p * (np.log(p) - np.log(p.mean(0))), axis=1)))  # noqa: E731
    assert m["is"] == pytest.approx(np.mean([kl(probs[i * 40:(i + 1) * 40]) for i in range(10)]), rel=1e-9)
    assert m["mi"] == pytest.approx(np.log(kl(probs)), rel=1e-9)  # MI = log IS at one split (nats)
    assert m["fd"] == 12.5
    rows = list(csv.DictReader(io.StringIO(headline.is_by_splits_csv(scores))))
    assert [int(r["splits"]) for r in rows] == [1, 2, 10]  # numeric order, not "1, 10, 2"
    assert float(rows[0]["is"]) == pytest.approx(metrics.inception_score(probs, 1)[0], rel=1e-12)


def test_a_diverged_run_has_null_metrics_and_no_rows():
    scores = {"status": "diverged", "variant": "x", "seed": 0, "n_samples": 0}
    assert headline.metrics(scores, [1, 10]) == dict.fromkeys(headline.METRIC_KEYS)
    assert headline.is_by_splits_csv(scores) == "splits,is,std\n"


def test_kid_pr_dc_and_n_are_k0s_numbers():
    """The distribution metrics of classifier k0 (ganrepro.eval.distribution), with the N they compare."""
    from ganrepro.eval import distribution

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.full(10, 0.3), size=200)
    real, fake = rng.standard_normal((200, 8)), rng.standard_normal((200, 8)) + 0.3
    k0 = {**_classifier_scores(probs, [1, 10], n_boot=10), "fid_test": 1.0,
          **distribution.distribution_scores(fake, real, {"kid_subset_size": 100, "kid_subsets": 5})}
    k1 = {**k0, "kid": {"mean": -1.0}, "precision": -1.0}
    m = headline.metrics({"status": "completed", "n_samples": 200, "classifiers": {"k0": k0, "k1": k1}}, [1, 10])
    assert m["kid"] == k0["kid"]["mean"] and m["precision"] == k0["precision"] and m["coverage"] == k0["coverage"]
    assert (m["n"], m["n_real"]) == (200, 200)
