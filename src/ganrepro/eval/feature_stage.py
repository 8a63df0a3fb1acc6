"""A feature encoder's pipeline stage (DINOv2; ``encoders.ENCODERS`` entries with ``features``): FD,
KID, precision/recall, density/coverage of a run's samples against real training images' features.

``statistics`` (``<encoder>-stats``, once per data set): the encoder's features of the reference
set of ``evaluation.n_samples`` training images (``reference_sets``: a uniform random subset), kept
with their mean and covariance (float64, ddof 1), and the real test images' scores against them
(the floor a generator can reach at this N).

``score_run`` (``<encoder>-run``, per run): the same scores of the run's samples. FD is
``metrics.frechet_distance_from_statistics``; the rest ``distribution.distribution_scores``, as the
score step computes them on the domain classifiers' features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganrepro.core import atomic
from ganrepro.core.paths import EncoderFiles
from ganrepro.data import load_prepared
from ganrepro.eval import distribution, metrics, reference_sets
from ganrepro.eval.encoders import ENCODERS
from ganrepro.eval.inception_stage import load_statistics, run_samples, sha256_file


def _features(name: str, sel: dict, images: np.ndarray) -> np.ndarray:
    from ganrepro.core.runtime import device, make_deterministic

    make_deterministic(0, device())
    return ENCODERS[name].features(sel[ENCODERS[name].section], images)


def _scores(feats: np.ndarray, real: np.ndarray, mu: np.ndarray, sigma: np.ndarray, ev: dict) -> dict:
    out = {"n": int(len(feats)),
           "fd_train": metrics.frechet_distance_from_statistics(*metrics.feature_statistics(feats), mu, sigma)
           if len(feats) >= 2 else None}
    out.update(distribution.distribution_scores(feats, real, ev))
    return out


def _weights_record(opts: dict) -> dict:
    return {"path": str(opts["weights"]), **{k: v for k, v in opts.items() if k not in ("weights", "batch_size")},
            "sha256": sha256_file(opts["weights"])}


def statistics(name: str, sel: dict, data_path: Path, out_dir: Path) -> dict:
    """Real train features, their statistics, and the real test images' scores against them (each a
    reference set of ``evaluation.n_samples`` images: ``reference_sets``)."""
    ev = sel["evaluation"]
    data = load_prepared(data_path)
    real = _features(name, sel, reference_sets.subset(data["x_train"], ev["n_samples"]))
    mu, sigma = metrics.feature_statistics(real)
    test = _features(name, sel, reference_sets.subset(data["x_test"], ev["n_samples"]))
    files = EncoderFiles(out_dir)
    result = {"encoder": name, "weights": _weights_record(sel[ENCODERS[name].section]), "n_train": int(len(real)),
              "test": _scores(test, real, mu, sigma, ev)}
    atomic.write_npz(files.stats, mu=mu, sigma=sigma, features=real)
    atomic.write_json(files.real_scores, result)
    return result


def score_run(name: str, sel: dict, run_dir: Path, stats_path: Path, out_path: Path) -> dict:
    """FD, KID, PR, DC of one run's samples under encoder ``name`` (a diverged run: no samples)."""
    images = run_samples(run_dir)
    mu, sigma, real = load_statistics(stats_path, "encoder", "the encoder's stats step")
    result = {"encoder": name, "n": int(len(images)), "weights": _weights_record(sel[ENCODERS[name].section])}
    if len(images) == 0:
        result["status"] = "no samples"
    else:
        result.update(status="scored", **_scores(_features(name, sel, images), real, mu, sigma, sel["evaluation"]))
    atomic.write_json(out_path, result)
    return result
