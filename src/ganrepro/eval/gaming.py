"""The Inception Score can be gamed (Barratt & Sharma 2018).

Inputs optimised directly against the classifier, one target class per input in equal numbers,
reach a near-maximal score while looking like nothing: IS rewards confident, balanced predictions,
not images.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ganrepro.core.images import to_uint8


def optimise_inputs(classifier: nn.Module, n: int, shape: tuple[int, int, int], n_classes: int,
                    steps: int = 100, lr: float = 0.05, seed: int = 0, device="cpu",
                    batch_size: int = 256) -> np.ndarray:
    """Gradient ascent on log p(target | x) from uniform noise; uint8 images N x C x H x W.

    Image i targets class i % n_classes. Inputs live in [-1, 1] (projected after every Adam step)
    and are quantised as round((x + 1) * 127.5). The classifier is frozen in eval mode and restored
    afterwards. Each image's loss is its own, so batching does not change the result.
    """
    if n < 1 or n_classes < 1 or steps < 0:
        raise ValueError(f"need n >= 1, n_classes >= 1 and steps >= 0, got n={n}, n_classes={n_classes}, steps={steps}")
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    start = torch.rand((n, *shape), generator=gen) * 2 - 1
    targets = torch.arange(n) % n_classes
    was_training = classifier.training
    grads = [p.requires_grad for p in classifier.parameters()]
    classifier.eval()
    for p in classifier.parameters():
        p.requires_grad_(False)
    out = np.empty((n, *shape), dtype=np.uint8)
    try:
        with torch.enable_grad():
            for i in range(0, n, batch_size):
                x = start[i : i + batch_size].to(dev).requires_grad_(True)
                y = targets[i : i + batch_size].to(dev)
                optim = torch.optim.Adam([x], lr=lr)
                for _ in range(steps):
                    loss = F.cross_entropy(classifier(x), y, reduction="sum")
                    optim.zero_grad(set_to_none=True)
                    loss.backward()
                    optim.step()
                    with torch.no_grad():
                        x.clamp_(-1.0, 1.0)
                out[i : i + batch_size] = to_uint8(x.detach())
    finally:
        for p, g in zip(classifier.parameters(), grads, strict=True):
            p.requires_grad_(g)
        classifier.train(was_training)
    return out
