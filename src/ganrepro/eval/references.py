"""The reference rows every run is compared with: real train and test images and uniform noise
(the score-real step), inputs optimised against a classifier (the game step: "A Note on the
Inception Score", IS can be gamed), and the note's 1-D toy (the toy step). No GAN code: editing a
mechanism reruns none of them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganrepro.core import atomic
from ganrepro.core.images import grid_png
from ganrepro.core.paths import GamingFiles
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import make_deterministic
from ganrepro.data import load_prepared
from ganrepro.eval import metrics, reference_sets
from ganrepro.eval.classifier import load_classifier, predict, real_test_pass
from ganrepro.eval.scoring import _classifier_scores, _nn_distances, sensitivity


def score_real(sel: dict, data_path: Path, classifier_paths: list[str], out_path: Path) -> dict:
    """Reference rows: real train and test images (``reference_sets``: uniform random subsets), and
    uniform noise, at the samples' N."""
    ev = sel["evaluation"]
    dev = pick_device()
    gen = make_deterministic(0, dev)
    data = load_prepared(data_path)
    n = ev["n_samples"]
    shape = data["x_test"].shape[1:]
    noise = torch.randint(0, 256, (min(n, len(data["x_test"])), *shape), generator=gen, dtype=torch.uint8).numpy()
    sets = {"train": reference_sets.subset(data["x_train"], n), "test": reference_sets.subset(data["x_test"], n),
            "uniform_noise": noise}
    result = {"n": {name: int(len(x)) for name, x in sets.items()}}
    models = [load_classifier(path, dev) for path in classifier_paths]
    for name, images in sets.items():
        per = {}
        for k, (model, path) in enumerate(zip(models, classifier_paths, strict=True)):
            # the real test images' pass is the classifier step's (the same values, computed once)
            out = real_test_pass(path, data["x_test"], n) if name == "test" else predict(model, images, dev)
            per[f"k{k}"] = _classifier_scores(out["probs"], ev["splits"], ev["bootstrap"])
        result[name] = {"classifiers": per,
                        "classifier_spread": {str(s): sensitivity(per, str(s)) for s in ev["splits"] if s <= len(images)}}
    m = ev["memorisation_samples"]
    test_nn = _nn_distances(reference_sets.subset(data["x_test"], m), data["x_train"])
    result["test"]["memorisation"] = metrics.memorisation_report(test_nn, test_nn)
    # A "generator" that copies the training set: perfect IS, yet pure memorisation.
    result["copied_train"] = {"memorisation": metrics.memorisation_report(
        _nn_distances(reference_sets.subset(data["x_train"], m), data["x_train"]), test_nn)}
    atomic.write_json(out_path, result)
    return result


def game(sel: dict, data_path: Path, classifier_paths: list[str], out_dir: Path) -> dict:
    """IS can be gamed: inputs optimised against classifier k0, scored by every classifier."""
    from ganrepro.eval import gaming

    opts, ev = sel["gaming"], sel["evaluation"]
    dev = pick_device()
    make_deterministic(0, dev)
    data = load_prepared(data_path)
    models = [load_classifier(path, dev) for path in classifier_paths]
    attacked = models[0]
    n_classes = attacked.meta["n_classes"]
    images = gaming.optimise_inputs(attacked, opts["n"], tuple(data["x_test"].shape[1:]), n_classes,
                                    steps=opts["steps"], lr=opts["lr"], seed=0, device=str(dev))
    per = {}
    real = {}
    for k, model in enumerate(models):
        per[f"k{k}"] = _classifier_scores(predict(model, images, dev)["probs"], ev["splits"], 50)
        real[f"k{k}"] = _classifier_scores(real_test_pass(classifier_paths[k], data["x_test"], opts["n"])["probs"],
                                           ev["splits"], 50)
    files = GamingFiles(out_dir)
    result = {"n": opts["n"], "attacked": "k0", "gamed": per, "real_test_same_n": real,
              "max_is": float(n_classes)}
    atomic.write_bytes(files.grid, grid_png(images[:64], nrow=8))
    atomic.write_json(files.scores, result)
    return result


def toy(out_path: Path) -> dict:
    result = metrics.toy_1d()
    atomic.write_json(out_path, result)
    return result
