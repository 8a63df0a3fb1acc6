"""Domain classifiers: the network the Inception Score is computed with, trained on the same data.

"A Note on the Inception Score" (Barratt & Sharma 2018): an ImageNet network scoring images of
another data set is meaningless, and the score moves with the classifier's weights. So the study
trains K classifiers on the data set's train split that differ only in seed, and scores every
sample set with each of them.

The classifier step also keeps the classifier's pass over the whole real test set
(``ClassifierFiles.reference``: probabilities and penultimate features), which every score job
would otherwise recompute: FID's reference features and the real-data rows read it
(``real_test_pass``), checked against the prepared data's test split by its SHA-256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from ganrepro.core import atomic
from ganrepro.core.errors import InputError, MissingInput
from ganrepro.core.images import to_float_images
from ganrepro.core.paths import ClassifierFiles
from ganrepro.core.runtime import device as pick_device
from ganrepro.core.runtime import make_deterministic, provenance
from ganrepro.data import load_prepared
from ganrepro.eval import reference_sets


class DomainClassifier(nn.Module):
    """A small CNN: two conv blocks, a penultimate feature layer (for the Fréchet distance), logits."""

    def __init__(self, channels: int, image_size: int, n_classes: int, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, width * 2, 3, padding=1), nn.BatchNorm2d(width * 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        flat = width * 2 * (image_size // 4) ** 2
        self.penultimate = nn.Sequential(nn.Linear(flat, 128), nn.ReLU())
        self.out = nn.Linear(128, n_classes)
        self.meta = {"channels": channels, "image_size": image_size, "n_classes": n_classes, "width": width}
        # Channels-last (NHWC): oneDNN's max pooling and convolutions are faster in it than in NCHW
        # on the CPU (docs/performance.md); the weights and state dict are the same tensors.
        self.to(memory_format=torch.channels_last)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.penultimate(self.body(x.contiguous(memory_format=torch.channels_last)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def train_classifier(sel: dict, data_path: Path, seed: int, out_dir: Path, progress: bool = True) -> dict:
    opts = sel["classifier"]
    data = load_prepared(data_path)
    dev = pick_device()
    gen = make_deterministic(seed, dev)
    x_train, y_train = to_float_images(data["x_train"]), torch.from_numpy(data["y_train"]).long()
    n_classes = len(data["classes"])
    model = DomainClassifier(x_train.shape[1], x_train.shape[2], n_classes, opts["width"]).to(dev)
    optim = torch.optim.Adam(model.parameters(), lr=opts["lr"])
    n, bs = x_train.shape[0], opts["batch_size"]
    steps = opts["epochs"] * ((n + bs - 1) // bs)
    bar = tqdm(total=steps, desc=f"classifier k{seed}", disable=not progress, mininterval=5)
    model.train()
    for _ in range(opts["epochs"]):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            loss = F.cross_entropy(model(x_train[idx].to(dev)), y_train[idx].to(dev))
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            bar.update(1)
    bar.close()
    files = ClassifierFiles(out_dir)
    reference = predict(model, data["x_test"], dev)
    probs = reference["probs"]
    accuracy = float((probs.argmax(1) == data["y_test"]).mean())
    metrics = {"seed": seed, "test_accuracy": accuracy, "test_error": 1 - accuracy, "n_train": int(n),
               "n_test": int(len(data["y_test"])), "final_train_loss": float(loss.item()), **model.meta,
               # your own data without labels trains on k-means pseudo-labels (ganrepro.data.local)
               "has_labels": bool(data.get("has_labels", True)), "label_source": str(data.get("label_source", "labels")),
               "provenance": provenance(dev)}
    atomic.write_npz(files.reference, probs=probs, features=reference["features"].astype(np.float32),
                     x_test_sha256=np.array(_digest(data["x_test"])))
    atomic.write_json(files.metrics, metrics)
    atomic.torch_save(files.model, {"meta": model.meta, "state_dict": {k: v.cpu() for k, v in model.state_dict().items()}})
    return metrics


def load_classifier(path: str | Path, dev: torch.device | None = None) -> DomainClassifier:
    path = Path(path)
    if not path.exists():
        raise MissingInput(f"classifier file not found: {path} (run the classifier step first)")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = DomainClassifier(**blob["meta"])
    model.load_state_dict(blob["state_dict"])
    return model.to(dev or torch.device("cpu")).eval()


def _digest(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()


def real_test_pass(model_path: str | Path, x_test: np.ndarray, n: int | None = None) -> dict:
    """The classifier's probabilities (float64) and features of the reference set of ``n`` (all by
    default) real test images (``reference_sets.subset``: a uniform random subset, in random order),
    as its classifier step computed them with ``predict`` over the whole split: the rows of that
    pass at the reference set's positions, equal within float32 rounding to a fresh pass over the
    reference set (tests/test_classifier.py).

    ``x_test`` is the test split the caller scores against; a reference computed on another one
    (the prepared data changed, the classifier did not rerun) is refused, naming both files."""
    path = ClassifierFiles(Path(model_path).parent).reference
    if not path.is_file():
        raise MissingInput(f"the classifier's test-set reference not found: {path} (run the classifier step; "
                           f"it writes it beside {Path(model_path).name})")
    with np.load(path) as z:
        if missing := {"probs", "features", "x_test_sha256"} - set(z.files):
            raise InputError(f"{path} is not a classifier's test-set reference (no {', '.join(sorted(missing))}): "
                             "rerun the classifier step")
        kept, scored = str(z["x_test_sha256"]), _digest(x_test)
        if kept != scored:
            raise InputError(f"{path} was computed on another test split than the data being scored "
                             f"(SHA-256 {kept[:12]}… vs {scored[:12]}…): "
                             "rerun the classifier step on these data")
        rows = reference_sets.indices(len(x_test), n)
        return {"probs": z["probs"][rows], "features": z["features"][rows].astype(np.float64)}


@torch.no_grad()
def predict(model: nn.Module, images_uint8: np.ndarray, dev: torch.device, batch_size: int = 250) -> dict:
    """One pass over uint8 images: class probabilities (float64) and penultimate features.

    250 images a batch: at 1,000 each layer's output (100 MB at width 32, 28×28) is a fresh mapping
    the kernel zero-fills page by page, and the pass took twice the time (half of it system time);
    the outputs are the same bytes at either size (measured on this CPU)."""
    model.eval()
    probs, feats = [], []
    for i in range(0, len(images_uint8), batch_size):
        x = to_float_images(np.ascontiguousarray(images_uint8[i : i + batch_size])).to(dev)
        f = model.features(x)
        probs.append(torch.softmax(model.out(f).double(), dim=1).cpu().numpy())
        feats.append(f.double().cpu().numpy())
    return {"probs": np.concatenate(probs), "features": np.concatenate(feats)}
