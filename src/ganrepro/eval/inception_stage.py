"""The Inception stage: the papers' IS and FID under the ImageNet Inception-v3, beside the domain classifiers.

Runs only when the study names a weights file (``inception.weights``) that exists; otherwise
the pipeline has no such jobs and the report says why (``pipeline.inception_status``).

``inception-stats`` (once per data set, cached): one pass over ``inception.n_train`` training
images (all by default; a reference set, ``reference_sets``: a uniform random subset in random
order) gives the FID reference statistics (mean, covariance ddof 1, float64) and the real-data
rows: IS of the reference set of ``evaluation.n_samples`` training images at every split count
(Salimans 2016: CIFAR-10 train, 50,000 images, 10 splits: 11.24 ± 0.12), and the test split's IS
and FID against the training statistics.

``inception-run`` (per run): IS of the run's samples at every split count and their FID against
the cached statistics; KID, precision, recall, density, coverage and the FD-bias curve against the
Inception features of the reference set of ``evaluation.n_samples`` training images, which the statistics file
keeps beside mu and sigma (``features``; ``distribution.distribution_scores``, as the score step
does on each classifier's features).

Conventions, those of the published numbers: IS = exp(E KL(p(y|x) || p(y))) over contiguous
splits, std ddof 0, no shuffling of the samples (openai/improved-gan; ``metrics.inception_score_table``); FID
from the 2048 pool features (TTUR), the trace term as torch-fidelity computes it
(``metrics.frechet_distance_from_statistics``). With torch-fidelity's own ``samples_shuffle=False``
our numbers equal its ``calculate_metrics`` to 1e-6 relative (tests/test_inception_step.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ganrepro.core import atomic
from ganrepro.core.errors import DataFormatError, MissingInput
from ganrepro.core.paths import InceptionFiles, RunFiles
from ganrepro.data import load_prepared
from ganrepro.eval import distribution, metrics, reference_sets

DEFAULT_BATCH = 50


def _model(opts: dict):
    from ganrepro.core.runtime import device, make_deterministic
    from ganrepro.eval.inception import InceptionFeatures

    dev = device()
    make_deterministic(0, dev)
    return InceptionFeatures(opts["weights"], opts["format"]).to(dev), dev


def _pass(model, dev, images: np.ndarray, opts: dict, desc: str) -> tuple[np.ndarray, np.ndarray]:
    from ganrepro.eval.inception import logits_and_features

    return logits_and_features(model, images, dev, opts.get("batch_size", DEFAULT_BATCH), progress=True, desc=desc)


def is_table(logits: np.ndarray, splits: list[int]) -> dict:
    """IS at every split count the N samples allow (each split needs a sample)."""
    probs = metrics.softmax(logits)
    return {str(s): v for s, v in metrics.inception_score_table(probs, [s for s in splits if s <= len(probs)]).items()}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _weights_record(opts: dict) -> dict:
    return {"path": str(opts["weights"]), "format": opts["format"], "sha256": sha256_file(opts["weights"])}


def train_statistics(sel: dict, data_path: Path, out_dir: Path) -> dict:
    """FID statistics of the train split and the real-data IS/FID rows (``InceptionFiles``)."""
    opts, ev = sel["inception"], sel["evaluation"]
    data = load_prepared(data_path)
    n_train = min(opts.get("n_train", len(data["x_train"])), len(data["x_train"]))
    model, dev = _model(opts)
    logits, feats = _pass(model, dev, reference_sets.subset(data["x_train"], n_train), opts, "inception train")
    mu, sigma = metrics.feature_statistics(feats)
    n_real = min(ev["n_samples"], n_train)  # the reference set of n_real: the first n_real of n_train's
    test = reference_sets.subset(data["x_test"], ev["n_samples"])
    test_logits, test_feats = _pass(model, dev, test, opts, "inception test")
    files = InceptionFiles(out_dir)
    result = {
        "weights": _weights_record(opts), "n_train_statistics": int(n_train),
        "train": {"n": int(n_real), "is": is_table(logits[:n_real], ev["splits"])},
        "test": {"n": int(len(test)), "is": is_table(test_logits, ev["splits"]),
                 "fid_train": metrics.frechet_distance_from_statistics(*metrics.feature_statistics(test_feats), mu, sigma)
                 if len(test) >= 2 else None},
    }
    atomic.write_npz(files.stats, mu=mu, sigma=sigma, n=np.asarray(n_train), features=feats[:n_real])
    atomic.write_json(files.real_scores, result)
    return result


def load_statistics(path: Path, encoder: str = "Inception",
                    step: str = "the inception_stats step") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mu, sigma and the real features the distribution metrics compare with (an encoder stage's
    statistics file: ``step`` writes it)."""
    if not Path(path).is_file():
        raise MissingInput(f"{encoder} statistics not found: {path} (run {step} first)")
    try:
        with np.load(path, allow_pickle=False) as f:
            return f["mu"], f["sigma"], f["features"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DataFormatError(f"{path}: not a readable {encoder} statistics file ({exc})") from None


def run_samples(run_dir: Path) -> np.ndarray:
    """A run's sample images (the sample step's ``samples.npz``)."""
    files = RunFiles(run_dir)
    if not files.samples.is_file():
        raise MissingInput(f"samples not found: {files.samples} (run the sample step first)")
    with np.load(files.samples) as f:
        return f["images"]


def score_run(sel: dict, run_dir: Path, stats_path: Path) -> dict:
    """IS at every split count and FID against the train statistics of one run's samples; KID,
    precision, recall, density, coverage and the FD-bias curve against the real train features."""
    opts, ev = sel["inception"], sel["evaluation"]
    images = run_samples(run_dir)
    mu, sigma, real = load_statistics(stats_path)
    result = {"n": int(len(images)), "weights": _weights_record(opts)}
    if len(images) == 0:  # a diverged run has no samples
        result["status"] = "no samples"
    else:
        model, dev = _model(opts)
        logits, feats = _pass(model, dev, images, opts, f"inception {run_dir}")
        result.update(status="scored", **{"is": is_table(logits, ev["splits"])})
        result["fid_train"] = (metrics.frechet_distance_from_statistics(*metrics.feature_statistics(feats), mu, sigma)
                               if len(images) >= 2 else None)
        result.update(distribution.distribution_scores(feats, real, ev))
    atomic.write_json(RunFiles(run_dir).inception, result)
    return result
