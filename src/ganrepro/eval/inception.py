"""The ImageNet Inception-v3: the network the papers' IS and FID are computed with.

Barratt & Sharma (2018) show that an ImageNet network scoring images of another data set gives a
meaningless score, so the study scores with domain classifiers; the Inception stage
(``ganrepro.eval.inception_stage``) adds the papers' own numbers beside them when a weights file is
configured. Two kinds of weights, neither downloadable here (the file is placed by hand):

- ``tf_fidelity``: Google's 2015-12-05 TensorFlow graph ported to PyTorch, the file torch-fidelity
  and pytorch-fid use (``pt_inception-2015-12-05-6726825d.pth``), run by torch-fidelity's own
  ``FeatureExtractorInceptionV3``: TF-1.x-style bilinear resize to 299, (x − 128)/128, the 2048
  pool features (FID) and the 1008 logits without bias (IS), exactly as openai/improved-gan and
  TTUR's fid.py computed the published numbers.
- ``torchvision``: torchvision's port (``inception_v3_google-0cc3c7bd.pth``): PyTorch bilinear
  resize, ImageNet normalisation, 1000 logits (IS) and the 2048 average-pool features (FID);
  Barratt & Sharma's point is that such ports give other scores.

``InceptionFeatures`` wraps either: uint8 N×C×H×W images (grey repeated to RGB) → IS logits and
FID features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from ganrepro.core.errors import InceptionWeightsMissing, InputError, MissingInput

TF_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
TF_WEIGHTS_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                  "weights-inception-2015-12-05-6726825d.pth")
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
    from ganrepro.core.runtime import device as pick_device

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


class InceptionFeatures(nn.Module):
    """uint8 N×C×H×W images → (IS logits N×K, FID features N×2048), both float32, for one weights file.

    ``format`` "tf_fidelity": torch-fidelity's TF-ported network (K = 1008, ``logits_unbiased``);
    "torchvision": ``InceptionClassifier`` (K = 1000, features from the average pool).
    """

    FORMATS = ("tf_fidelity", "torchvision")

    def __init__(self, weights_path: str | Path, format: str):
        super().__init__()
        path = Path(weights_path)
        if format not in self.FORMATS:
            raise InputError(f"inception.format: {format!r} (known: {', '.join(self.FORMATS)})")
        if not path.is_file():
            expected = TF_WEIGHTS_FILE if format == "tf_fidelity" else WEIGHTS_FILE
            url = TF_WEIGHTS_URL if format == "tf_fidelity" else WEIGHTS_URL
            raise InceptionWeightsMissing(f"inception.weights: {path} does not exist (expected {expected}; it cannot "
                                          f"be downloaded here, copy it from a machine with internet access: {url})")
        self.format = format
        if format == "tf_fidelity":
            self.net = _tf_fidelity_network(path)
        else:
            self.net = InceptionClassifier(load_inception_v3(path))
            self._pool: list[torch.Tensor] = []
            self.net.model.avgpool.register_forward_hook(lambda _m, _i, out: self._pool.append(out.flatten(1)))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must be uint8 N x C x H x W with C = 1 or 3, got {images.dtype} {tuple(images.shape)}")
        if images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)
        if self.format == "tf_fidelity":
            features, logits = self.net(images)
            return logits, features
        self._pool.clear()
        logits = self.net(images)
        return logits.float(), self._pool.pop().float()


def _tf_fidelity_network(path: Path) -> nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 on ``path``; a file of another kind is named."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    try:
        return FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                           feature_extractor_weights_path=str(path))
    except (RuntimeError, KeyError, ValueError, EOFError, OSError) as exc:
        first = str(exc).strip().splitlines()[0][:300]
        raise InputError(f"inception.weights: {path} is not a TF-ported Inception-v3 weights file ({TF_WEIGHTS_FILE}, "
                         f"as torch-fidelity loads it): {first}; for torchvision's file set inception.format: "
                         "torchvision") from None


@torch.no_grad()
def logits_and_features(model: InceptionFeatures, images: np.ndarray, dev: torch.device, batch_size: int = 50,
                        progress: bool = False, desc: str = "inception") -> tuple[np.ndarray, np.ndarray]:
    """One pass over uint8 images: IS logits and FID features, float32 numpy arrays."""
    from tqdm import tqdm

    logits, feats = [], []
    for i in tqdm(range(0, len(images), batch_size), desc=desc, disable=not progress, mininterval=10):
        lo, fe = model(torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size])).to(dev))
        logits.append(lo.cpu().numpy())
        feats.append(fe.cpu().numpy())
    return np.concatenate(logits), np.concatenate(feats)
