"""Domain classifiers: the network the Inception Score is computed with, trained on the same data.

"A Note on the Inception Score" (Barratt & Sharma 2018): an ImageNet network scoring images of
another data set is meaningless, and the score moves with the classifier's weights. So the study
trains K classifiers on the data set's train split that differ only in seed, and scores every
sample set with each of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from ganrepro import atomic
from ganrepro.data import load_prepared
from ganrepro.errors import MissingInput
from ganrepro.images import to_float_images
from ganrepro.paths import ClassifierFiles
from ganrepro.runtime import device as pick_device
from ganrepro.runtime import make_deterministic, provenance


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

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.penultimate(self.body(x))

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
    probs = predict(model, data["x_test"], dev)["probs"]
    accuracy = float((probs.argmax(1) == data["y_test"]).mean())
    metrics = {"seed": seed, "test_accuracy": accuracy, "test_error": 1 - accuracy, "n_train": int(n),
               "n_test": int(len(data["y_test"])), "final_train_loss": float(loss.item()), **model.meta,
               # your own data without labels trains on k-means pseudo-labels (ganrepro.data.local)
               "has_labels": bool(data.get("has_labels", True)), "label_source": str(data.get("label_source", "labels")),
               "provenance": provenance(dev)}
    files = ClassifierFiles(out_dir)
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
