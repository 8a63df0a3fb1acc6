"""The ImageNet Inception-v3 as an optional classifier for the Inception Score.

Barratt & Sharma (2018) show that an ImageNet network scoring images of another data set gives a
meaningless score, so the study scores with domain classifiers; this module exists to measure that
claim. The weights are torchvision's port of Google's Inception-v3, which cannot be downloaded
offline: the file must be placed by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from ganrepro.errors import InceptionWeightsMissing, InputError, MissingInput

WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"
WEIGHTS_URL = f"https://download.pytorch.org/models/{WEIGHTS_FILE}"
DEFAULT_WEIGHTS = Path("weights") / WEIGHTS_FILE
INPUT_SIZE = 299
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _missing(path: Path | None) -> InceptionWeightsMissing:
    where = path if path is not None else DEFAULT_WEIGHTS
    given = "no weights path was given" if path is None else f"{path} does not exist"
    return InceptionWeightsMissing(
        f"Inception-v3 weights not found ({given}): expected torchvision's {WEIGHTS_FILE} at {where} "
        f"(default location: {DEFAULT_WEIGHTS}). It cannot be downloaded here (offline); copy it from a "
        f"machine with internet access ({WEIGHTS_URL}).")


def load_inception_v3(weights_path: str | Path | None) -> nn.Module:
    """torchvision's Inception-v3 with the weights in ``weights_path``, in eval mode.

    ``transform_input=True`` as torchvision sets it for these weights: Google's network expects
    inputs scaled to [-1, 1], and the model maps ImageNet-normalised input to that range.
    """
    path = None if weights_path is None else Path(weights_path)
    if path is None or not path.is_file():
        raise _missing(path)
    model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


class InceptionClassifier(nn.Module):
    """A drop-in classifier around Inception-v3: ``forward(images) -> logits`` (N x 1000).

    Images are N x C x H x W, either uint8 in 0..255 or floats in [-1, 1] (the generators' range);
    one channel is repeated to three, then resized bilinearly to 299 x 299 and ImageNet-normalised.
    The wrapped network stays in eval mode and its parameters are frozen.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> InceptionClassifier:
        super().train(mode)
        self.model.eval()
        return self

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must be N x C x H x W with C = 1 or 3, got shape {tuple(images.shape)}")
        if images.dtype == torch.uint8:
            x = images.float() / 255.0
        elif images.is_floating_point():
            x = (images.float() + 1.0) / 2.0
        else:
            raise ValueError(f"images must be uint8 (0..255) or float in [-1, 1], got dtype {images.dtype}")
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self.preprocess(images))


@torch.no_grad()
def inception_probs(samples_path: str | Path, weights_path: str | Path | None, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (float64, N × 1000) of a samples.npz under ImageNet Inception-v3.

    Barratt & Sharma's setting: the network the Inception Score was defined with, whatever the
    data set (which is why the study scores with domain classifiers too).
    """
    from ganrepro.runtime import device as pick_device

    samples_path = Path(samples_path)
    if not samples_path.is_file():
        raise MissingInput(f"{samples_path}: no such file (a samples.npz written by the sample step)")
    with np.load(samples_path) as f:
        if "images" not in f or f["images"].dtype != np.uint8 or f["images"].ndim != 4:
            raise InputError(f"{samples_path}: expected an npz with 'images', uint8 N×C×H×W")
        images = f["images"]
    dev = pick_device()
    model = InceptionClassifier(load_inception_v3(weights_path)).to(dev)
    probs = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(images[i : i + batch_size]).to(dev)
        probs.append(torch.softmax(model(x).double(), dim=1).cpu().numpy())
    return np.concatenate(probs)
