"""Scoring a run: its samples (the score step), another latent draw (the redraw step), and its
InfoGAN code's accuracy on real digits; each classifier's pass and the metrics are ``scoring``'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganrepro.core import atomic
from ganrepro.core.errors import MissingInput
from ganrepro.core.images import to_float_images
from ganrepro.core.paths import DrawFiles, RunFiles
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import make_deterministic
from ganrepro.data import load_prepared
from ganrepro.eval import headline, metrics
from ganrepro.eval.external import external_record
from ganrepro.eval.scoring import classifier_scores, score_images
from ganrepro.gan.models import load_checkpoint, models_from_checkpoint

EMA_SET = "ema"  # the EMA generator's samples (samples.npz ``images_ema``), when the run kept one
RECON_SET = "recon"  # an encoder's reconstructions of real test images (samples.npz ``images_recon``): IntroVAE
# Image sets scored beside the raw samples: scores.json section and probs.npz prefix ← samples.npz array.
SIDE_SETS = {EMA_SET: "images_ema", RECON_SET: "images_recon"}


def score_run(sel: dict, run_dir: Path, data_path: Path, classifier_paths: list[str]) -> dict:
    """scores.json and probs.npz of a run; with an EMA generator, its samples are scored the same
    way under ``ema`` (scores.json) and ``probs_ema_k{k}`` (probs.npz), beside the raw ones; an
    encoder's reconstructions likewise under ``recon`` and ``probs_recon_k{k}`` (their FID is to the
    very test images they reconstruct). An external sample set (``eval.external``: samples.npz holds
    its record) is scored the same way; its identity comes from the record, and it has no codes."""
    ev = sel["evaluation"]
    files = RunFiles(run_dir)
    dev = pick_device()
    make_deterministic(0, dev)
    if not files.samples.is_file():
        raise MissingInput(f"samples not found: {files.samples} (run the sample step first)")
    samples = dict(np.load(files.samples))
    source = external_record(samples)
    if source is None:
        ckpt = load_checkpoint(files.checkpoint)
        result = {"variant": ckpt["variant"], "seed": ckpt["seed"], "status": ckpt["status"]}
    else:  # an external sample set (the import step's): no checkpoint, no latent codes
        ckpt, result = None, {"variant": source["variant"], "seed": source["seed"], "status": "completed",
                              "external": {k: source[k] for k in ("file", "sha256", "format", "n_given")}}
    result["n_samples"] = int(len(samples["images"]))
    if result["status"] == "diverged" or len(samples["images"]) == 0:
        atomic.write_npz(files.probs, empty=np.zeros(0))
        _write_scores(files, result, ev["splits"])
        return result
    data = load_prepared(data_path)
    sets = {"raw": samples["images"]}
    sets.update({name: samples[key] for name, key in SIDE_SETS.items() if len(samples.get(key, ()))})
    scores, cache = score_images(sets, data, classifier_paths, ev, dev)
    result.update(scores["raw"])
    result["codes"] = code_metrics(ckpt, samples, cache["raw_k0"], data, dev) if ckpt is not None else None
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
