"""The encoders a study scores with, as a registry: the domain classifiers, ImageNet Inception-v3
and DINOv2, chosen by params ``evaluation.encoders`` (default ``[classifiers, inception]``).

An entry says which params section configures it (``section``: its weights file; ``None`` for the
domain classifiers, which the study trains itself), which pipeline steps score with it, and, for a
feature encoder, ``features(opts, images) -> N x D`` (float64) on uint8 images. The pipeline reads
the choice without importing this module (``steps.studyfiles.encoder_status``: an encoder runs when
it is chosen and its weights file exists, else the report says why); tests/test_encoders.py checks
the two name the same encoders, and the schema's enum too.

- ``classifiers``: each domain classifier's penultimate features and probabilities (the ``score``,
  ``redraw``, ``score_real`` and ``game`` steps): IS, MI, FD, KID, precision/recall, density/coverage.
- ``inception``: the TF-ported or torchvision Inception-v3 (``inception_stats``, ``inception_run``):
  IS, FID against the train statistics, KID, PR, DC against the train features.
- ``dinov2``: DINOv2 ViT-S/14 or ViT-B/14 (``dinov2_stats``, ``dinov2_run``; ``eval.feature_stage``):
  FD, KID, PR, DC against real train features (Stein et al. 2023 recommend its FD over Inception's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganrepro.core.registry import Registry


@dataclass(frozen=True)
class Encoder:
    doc: str
    section: str | None  # the params section naming its weights file; None: trained by the study
    steps: tuple[str, ...]  # the pipeline steps that score with it
    features: Callable[[dict, np.ndarray], np.ndarray] | None = None  # (section opts, uint8 images) -> N x D


def _inception_features(opts: dict, images: np.ndarray) -> np.ndarray:
    from ganrepro.core.runtime import device
    from ganrepro.eval.inception import InceptionFeatures, logits_and_features

    dev = device()
    model = InceptionFeatures(opts["weights"], opts["format"]).to(dev)
    return logits_and_features(model, images, dev, opts.get("batch_size", 50))[1].astype(np.float64)


def _dinov2_features(opts: dict, images: np.ndarray) -> np.ndarray:
    from ganrepro.eval.dinov2 import dinov2_features, load_dinov2

    model = load_dinov2(opts["weights"], opts.get("arch", "vits14"))
    # the project's images are N×C×H×W; DINOv2's preprocessing (dgm-eval's, through PIL) takes N×H×W×C
    return dinov2_features(model, np.moveaxis(np.asarray(images), 1, -1), opts.get("batch_size", 64))


ENCODERS: Registry[Encoder] = Registry("encoder")
ENCODERS.register("classifiers", Encoder(
    "the study's domain classifiers (one per classifier seed): penultimate features and class probabilities",
    None, ("score", "redraw", "score_real", "game")))
ENCODERS.register("inception", Encoder(
    "ImageNet Inception-v3 (pool features, 2048-d; logits for IS), weights file inception.weights",
    "inception", ("inception_stats", "inception_run"), _inception_features))
ENCODERS.register("dinov2", Encoder(
    "DINOv2 (Oquab 2023) CLS features (384-d ViT-S/14, 768-d ViT-B/14), weights file dinov2.weights",
    "dinov2", ("dinov2_stats", "dinov2_run"), _dinov2_features))
