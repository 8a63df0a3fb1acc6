"""Scoring a set of images: each classifier's one pass (probabilities and penultimate features),
then IS at every split count, MI, FD, memorisation, and on the score step's sets KID, precision,
recall, density, coverage and FD's sample-size bias, as pure functions of those arrays
(``ganrepro.eval.metrics``, ``ganrepro.eval.distribution``). Shared by a run's scores
(``evaluate``) and the reference rows (``references``).
"""

from __future__ import annotations

import numpy as np

from ganrepro.eval import distribution, metrics, reference_sets
from ganrepro.eval.classifier import load_classifier, predict, real_test_pass


def _classifier_scores(probs: np.ndarray, splits: list[int], n_boot: int, seed: int = 0) -> dict:
    usable = [s for s in splits if s <= len(probs)]
    return {
        "is": {str(s): v for s, v in metrics.inception_score_table(probs, usable).items()},
        "mi": metrics.mutual_information_bootstrap(probs, n_boot=n_boot, seed=seed),
    }


def sensitivity(per_classifier: dict, split: str) -> dict:
    """Spread of one split count's IS across the K domain classifiers (Barratt & Sharma's 11.5%)."""
    values = [c["is"][split]["mean"] for c in per_classifier.values() if split in c["is"]]
    if len(values) < 2:
        return {"split": int(split), "spread_percent": 0.0, "values": values}
    return {"split": int(split), "values": values,
            "spread_percent": 100 * (max(values) - min(values)) / float(np.mean(values))}


def _nn_distances(images: np.ndarray, train: np.ndarray) -> np.ndarray:
    flat = lambda a: a.reshape(len(a), -1).astype(np.float32) / 255.0  # noqa: E731
    return metrics.nearest_neighbour_distances(flat(images), flat(train))


def classifier_scores(image_sets: dict[str, np.ndarray], data: dict, classifier_paths: list[str], ev: dict,
                      dev, with_distribution: bool = False) -> tuple[dict[str, dict], dict]:
    """Per image set and classifier k: IS at every split count, MI with its bootstrap interval, FID to
    real test images; ``with_distribution``: also KID, precision, recall, density, coverage and the
    FD-bias curve against the same real features (``distribution.distribution_scores``). The real
    test images' features (a reference set: ``reference_sets``) are the classifier step's
    (``classifier.real_test_pass``), read once for all sets. Returns (per set: per classifier
    scores, probabilities keyed ``{set}_k{k}``)."""
    per: dict[str, dict] = {name: {} for name in image_sets}
    cache = {}
    n = max(len(images) for images in image_sets.values())  # FID against as many real test images as samples
    for k, path in enumerate(classifier_paths):
        model = load_classifier(path, dev)
        ref = real_test_pass(path, data["x_test"], n)
        for name, images in image_sets.items():
            out = predict(model, images, dev)
            entry = _classifier_scores(out["probs"], ev["splits"], ev["bootstrap"])
            real = ref["features"][: len(images)]
            entry["fid_test"] = metrics.frechet_distance(out["features"], real)
            if with_distribution:
                entry.update(distribution.distribution_scores(out["features"], real, ev))
            per[name][f"k{k}"] = entry
            cache[f"{name}_k{k}"] = out["probs"]
    return per, cache


def score_images(image_sets: dict[str, np.ndarray], data: dict, classifier_paths: list[str], ev: dict,
                 dev) -> tuple[dict[str, dict], dict]:
    """IS at every split count, MI, FID, KID, precision, recall, density, coverage, the FD-bias curve
    (per classifier) and the memorisation check, for each named
    image set (a run's raw samples, and its EMA generator's); what the sets share (classifiers, the
    real reference features and distances) is computed once. Returns (scores by set, probabilities
    by set and classifier, keyed ``{set}_k{k}``)."""
    per, cache = classifier_scores(image_sets, data, classifier_paths, ev, dev, with_distribution=True)
    m = ev["memorisation_samples"]
    test_nn = _nn_distances(reference_sets.subset(data["x_test"], m), data["x_train"])
    splits = [str(s) for s in ev["splits"]]
    scores = {name: {"classifiers": per[name],
                     "memorisation": metrics.memorisation_report(_nn_distances(images[:m], data["x_train"]), test_nn),
                     "classifier_spread": {s: sensitivity(per[name], s) for s in splits}}
              for name, images in image_sets.items()}
    return scores, cache
