"""Evaluation steps: score a run's samples, score real data, game the IS, the 1-D toy.

Each classifier makes one pass over a sample set (``classifier.predict``: probabilities and
penultimate features, cached in ``probs.npz``); every metric is a pure function of those arrays
(``ganrepro.eval.metrics``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganrepro.core import atomic
from ganrepro.core.errors import MissingInput
from ganrepro.core.images import grid_png, to_float_images
from ganrepro.core.paths import DrawFiles, GamingFiles, RunFiles
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import make_deterministic
from ganrepro.data import load_prepared
from ganrepro.eval import headline, metrics
from ganrepro.eval.classifier import load_classifier, predict, real_test_pass
from ganrepro.gan.models import load_checkpoint, models_from_checkpoint


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
                      dev) -> tuple[dict[str, dict], dict]:
    """Per image set and classifier k: IS at every split count, MI with its bootstrap interval, FID to
    real test images. The real test images' features are the classifier step's
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
            entry["fid_test"] = metrics.frechet_distance(out["features"], ref["features"][: len(images)])
            per[name][f"k{k}"] = entry
            cache[f"{name}_k{k}"] = out["probs"]
    return per, cache


def score_images(image_sets: dict[str, np.ndarray], data: dict, classifier_paths: list[str], ev: dict,
                 dev) -> tuple[dict[str, dict], dict]:
    """IS at every split count, MI, FID (per classifier) and the memorisation check, for each named
    image set (a run's raw samples, and its EMA generator's); what the sets share (classifiers, the
    real reference features and distances) is computed once. Returns (scores by set, probabilities
    by set and classifier, keyed ``{set}_k{k}``)."""
    per, cache = classifier_scores(image_sets, data, classifier_paths, ev, dev)
    m = ev["memorisation_samples"]
    test_nn = _nn_distances(data["x_test"][:m], data["x_train"])
    splits = [str(s) for s in ev["splits"]]
    scores = {name: {"classifiers": per[name],
                     "memorisation": metrics.memorisation_report(_nn_distances(images[:m], data["x_train"]), test_nn),
                     "classifier_spread": {s: sensitivity(per[name], s) for s in splits}}
              for name, images in image_sets.items()}
    return scores, cache


EMA_SET = "ema"  # the EMA generator's samples (samples.npz ``images_ema``), when the run kept one
RECON_SET = "recon"  # an encoder's reconstructions of real test images (samples.npz ``images_recon``): IntroVAE
# Image sets scored beside the raw samples: scores.json section and probs.npz prefix ← samples.npz array.
SIDE_SETS = {EMA_SET: "images_ema", RECON_SET: "images_recon"}


def score_run(sel: dict, run_dir: Path, data_path: Path, classifier_paths: list[str]) -> dict:
    """scores.json and probs.npz of a run; with an EMA generator, its samples are scored the same
    way under ``ema`` (scores.json) and ``probs_ema_k{k}`` (probs.npz), beside the raw ones; an
    encoder's reconstructions likewise under ``recon`` and ``probs_recon_k{k}`` (their FID is to the
    very test images they reconstruct)."""
    ev = sel["evaluation"]
    files = RunFiles(run_dir)
    dev = pick_device()
    make_deterministic(0, dev)
    if not files.samples.is_file():
        raise MissingInput(f"samples not found: {files.samples} (run the sample step first)")
    samples = dict(np.load(files.samples))
    ckpt = load_checkpoint(files.checkpoint)
    result = {"variant": ckpt["variant"], "seed": ckpt["seed"], "status": ckpt["status"],
              "n_samples": int(len(samples["images"]))}
    if ckpt["status"] == "diverged" or len(samples["images"]) == 0:
        atomic.write_npz(files.probs, empty=np.zeros(0))
        _write_scores(files, result, ev["splits"])
        return result
    data = load_prepared(data_path)
    sets = {"raw": samples["images"]}
    sets.update({name: samples[key] for name, key in SIDE_SETS.items() if len(samples.get(key, ()))})
    scores, cache = score_images(sets, data, classifier_paths, ev, dev)
    result.update(scores["raw"])
    result["codes"] = code_metrics(ckpt, samples, cache["raw_k0"], data, dev)
    probs = {f"probs_k{k}": cache[f"raw_k{k}"] for k in range(len(classifier_paths))}
    for name in SIDE_SETS:
        if name in scores:
            result[name] = scores[name]
            probs.update({f"probs_{name}_k{k}": cache[f"{name}_k{k}"] for k in range(len(classifier_paths))})
    atomic.write_npz(files.probs, **probs)
    _write_scores(files, result, ev["splits"])
    return result


def _write_scores(files: RunFiles, result: dict, splits: list[int]) -> None:
    """scores.json, and its headline numbers as DVC's metrics and plots read them."""
    atomic.write_json(files.metrics, headline.metrics(result, splits))
    atomic.write_text(files.is_splits, headline.is_by_splits_csv(result))
    atomic.write_json(files.scores, result)


def score_draw(sel: dict, run_dir: Path, draw: int, data_path: Path, classifier_paths: list[str], out_dir: Path) -> dict:
    """Another latent draw from the run's checkpoint (sampling seed ``draw``), scored like draw 0.

    What the report needs to split a metric's spread into training seed, evaluation-sample seed
    and classifier seed: IS at every split count, MI and FID per classifier. Nothing else is
    computed or kept (no samples file, pictures, memorisation or code metrics), so a draw is cheap.
    """
    from ganrepro.eval.sample import draw_images, draw_seed
    from ganrepro.gan.latent import LatentSpec

    ev = sel["evaluation"]
    files, out = RunFiles(run_dir), DrawFiles(out_dir)
    dev = pick_device()
    ckpt = load_checkpoint(files.checkpoint)
    result = {"variant": ckpt["variant"], "seed": ckpt["seed"], "draw": draw, "status": ckpt["status"],
              "sampling_seed": draw_seed(ckpt["seed"], draw)}
    if ckpt["status"] == "diverged":
        atomic.write_json(out.scores, result)
        return result
    g, _, _ = models_from_checkpoint(ckpt, dev)
    gen = make_deterministic(result["sampling_seed"], dev)
    images, *_ = draw_images(g, LatentSpec.from_run(ckpt["config"]), ev["n_samples"], gen, dev)
    result["n_samples"] = int(len(images))
    per, _ = classifier_scores({"raw": images}, load_prepared(data_path), classifier_paths, ev, dev)
    result["classifiers"] = per["raw"]
    atomic.write_json(out.scores, result)
    return result


@torch.no_grad()
def code_metrics(ckpt: dict, samples: dict, probs: np.ndarray, data: dict, dev) -> dict | None:
    """InfoGAN's categorical code as a classifier, matched one-to-one to the classes.

    ``q_on_real_test``: the paper's measure (Q's argmax code on real test images vs their labels;
    about 5% error on MNIST). ``code_vs_classifier``: does the code set the class of the samples?
    """
    k = ckpt["config"]["codes"]["categorical"]
    n_classes = len(data["classes"])
    if k < 2:
        return None
    _, d, q = models_from_checkpoint(ckpt, dev)
    preds = []
    for i in range(0, len(data["x_test"]), 1000):
        cat_logits, _, _ = q(d.features(to_float_images(data["x_test"][i : i + 1000]).to(dev)))
        preds.append(cat_logits.argmax(1).cpu().numpy())
    q_real = metrics.code_accuracy(np.concatenate(preds), data["y_test"], k, n_classes)
    gen_codes = metrics.code_accuracy(samples["cat_codes"], probs.argmax(1), k, n_classes)
    return {"q_on_real_test": q_real, "code_vs_classifier": gen_codes, "trained_q": bool(ckpt["config"]["lambda_cat"] > 0)}


def score_real(sel: dict, data_path: Path, classifier_paths: list[str], out_path: Path) -> dict:
    """Reference rows: real train and test images, and uniform noise, at the samples' N."""
    ev = sel["evaluation"]
    dev = pick_device()
    gen = make_deterministic(0, dev)
    data = load_prepared(data_path)
    n = ev["n_samples"]
    shape = data["x_test"].shape[1:]
    noise = torch.randint(0, 256, (min(n, len(data["x_test"])), *shape), generator=gen, dtype=torch.uint8).numpy()
    sets = {"train": data["x_train"][:n], "test": data["x_test"][:n], "uniform_noise": noise}
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
    test_nn = _nn_distances(data["x_test"][:m], data["x_train"])
    result["test"]["memorisation"] = metrics.memorisation_report(test_nn, test_nn)
    # A "generator" that copies the training set: perfect IS, yet pure memorisation.
    result["copied_train"] = {"memorisation": metrics.memorisation_report(
        _nn_distances(data["x_train"][:m], data["x_train"]), test_nn)}
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
