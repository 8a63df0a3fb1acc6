"""The classifier step's pass over the real test set (``ClassifierFiles.reference``): what every
score, redraw, real-data, gaming and truncation job reads instead of recomputing it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganrepro.core import atomic
from ganrepro.core.errors import InputError, MissingInput
from ganrepro.core.paths import ClassifierFiles
from ganrepro.data import load_prepared
from ganrepro.eval import metrics
from ganrepro.eval.classifier import load_classifier, predict, real_test_pass, train_classifier
from ganrepro.eval.scoring import classifier_scores

CPU = torch.device("cpu")


@pytest.fixture
def classifier(tmp_path, smoke_params, tiny_dataset):
    sel = {"classifier": {**smoke_params["classifier"], "epochs": 1}}
    train_classifier(sel, tiny_dataset, 0, tmp_path / "k0", progress=False)
    return ClassifierFiles(tmp_path / "k0")


def test_the_kept_pass_is_a_fresh_pass_over_the_test_images(classifier, tiny_dataset):
    x_test = load_prepared(tiny_dataset)["x_test"]
    fresh = predict(load_classifier(classifier.model), x_test, CPU)
    kept = real_test_pass(classifier.model, x_test)
    # all of them, in the reference order: numpy's default_rng(0) permutation of the split
    order = np.random.default_rng(0).permutation(len(x_test))
    assert np.array_equal(kept["probs"], fresh["probs"][order])
    assert np.array_equal(kept["features"], fresh["features"][order])
    assert kept["features"].dtype == np.float64 and len(kept["probs"]) == len(x_test)
    # a reference set of n, n not a multiple of predict's batch: a pass over those n alone
    head = predict(load_classifier(classifier.model), x_test[order[:37]], CPU)
    np.testing.assert_allclose(real_test_pass(classifier.model, x_test, 37)["features"], head["features"],
                               rtol=1e-6, atol=1e-6)


def test_fid_reads_the_kept_features_and_equals_the_fid_of_a_fresh_pass(classifier, tiny_dataset, smoke_params):
    data = load_prepared(tiny_dataset)
    samples = np.random.default_rng(1).integers(0, 256, (100, 1, 28, 28), dtype=np.uint8)
    model = load_classifier(classifier.model)
    ev = {"splits": [1, 2], "bootstrap": 10}
    per, _ = classifier_scores({"raw": samples}, data, [str(classifier.model)], ev, CPU)
    reference = data["x_test"][np.random.default_rng(0).permutation(len(data["x_test"]))[:100]]
    expected = metrics.frechet_distance(predict(model, samples, CPU)["features"], predict(model, reference, CPU)["features"])
    assert per["raw"]["k0"]["fid_test"] == pytest.approx(expected, rel=1e-9)


def test_a_missing_or_foreign_reference_is_refused_naming_the_file(classifier, tiny_dataset, tmp_path):
    data = dict(load_prepared(tiny_dataset))
    other = data["x_test"].copy()
    other[0, 0, 0, 0] ^= 1  # one pixel of the test split changed since the classifier step ran
    with pytest.raises(InputError, match="real_test_pass.npz.*another test split.*rerun the classifier step"):
        real_test_pass(classifier.model, other)
    classifier.reference.unlink()
    with pytest.raises(MissingInput, match=r"k0/real_test_pass\.npz.*run the classifier step"):
        classifier_scores({"raw": data["x_test"][:10]}, data, [str(classifier.model)], {"splits": [1], "bootstrap": 5}, CPU)


def test_the_reference_file_is_byte_identical_when_the_step_reruns(tmp_path, smoke_params, tiny_dataset):
    sel = {"classifier": {**smoke_params["classifier"], "epochs": 1}}
    first = [train_classifier(sel, tiny_dataset, 0, tmp_path / d, progress=False) for d in ("a", "b")]
    assert first[0]["test_accuracy"] == first[1]["test_accuracy"]
    a, b = ClassifierFiles(tmp_path / "a").reference, ClassifierFiles(tmp_path / "b").reference
    assert a.read_bytes() == b.read_bytes()
    atomic.write_npz(b, probs=np.zeros(1))  # and what it holds is what real_test_pass checks
    malformed = r"b/real_test_pass\.npz is not a classifier's test-set reference \(no features, x_test_sha256\)"
    with pytest.raises(InputError, match=malformed):
        real_test_pass(ClassifierFiles(tmp_path / "b").model, load_prepared(tiny_dataset)["x_test"])
