"""Evaluation speed: the domain classifier's images/s, IS + MI against torchmetrics on the same
probabilities, and the whole scoring of one run's samples.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ganrepro.eval import metrics


def _best_of(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def classifier_images_per_s(model, images: np.ndarray, dev: torch.device, repeats: int = 3) -> float:
    from ganrepro.eval.classifier import predict

    seconds, _ = _best_of(lambda: predict(model, images, dev), repeats)
    return len(images) / seconds


class _FixedLogits(torch.nn.Module):
    """A "feature extractor" that returns given logits: torchmetrics' IS on our probabilities."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        return self.logits


def is_mi_vs_torchmetrics(probs: np.ndarray, splits: list[int], repeats: int = 3) -> dict:
    """IS at every split count plus the MI (ours) against torchmetrics' InceptionScore, one compute()
    per split count, on the same N × K matrix. torchmetrics is a test dependency: absent → None."""
    try:
        import warnings

        from torchmetrics.image.inception import InceptionScore
    except ImportError:
        return {"torchmetrics": None, "note": "torchmetrics not installed"}

    logits = torch.from_numpy(np.log(np.clip(probs, 1e-300, None)))

    def theirs():
        out = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for s in splits:
                metric = InceptionScore(feature=_FixedLogits(logits), splits=s)
                metric.update(torch.zeros(1))
                out[s] = float(metric.compute()[0])
        return out

    def ours():
        return metrics.inception_score_table(probs, splits), metrics.mutual_information(probs)

    t_ours, _ = _best_of(ours, repeats)
    t_theirs, _ = _best_of(theirs, repeats)
    return {"n": int(len(probs)), "k": int(probs.shape[1]), "splits": list(splits), "ours_s": t_ours,
            "torchmetrics_s": t_theirs, "ratio": t_theirs / t_ours}


def score_step_seconds(images: np.ndarray, data: dict, classifier_paths: list[str], ev: dict, dev) -> float:
    """Wall time of the score step's work on one run's samples (every classifier, every metric)."""
    from ganrepro.eval.scoring import score_images

    start = time.perf_counter()
    score_images({"raw": images}, data, classifier_paths, ev, dev)
    return time.perf_counter() - start
