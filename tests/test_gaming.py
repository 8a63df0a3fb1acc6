"""IS can be gamed: inputs optimised against a classifier score far above their starting noise."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ganrepro.eval import metrics
from ganrepro.eval.gaming import optimise_inputs

SHAPE = (1, 12, 12)
K = 5


def tiny_classifier() -> nn.Module:
    """A fixed random CNN; the last layer is scaled so that logits can reach a trained net's range."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, K))
    with torch.no_grad():
        model[-1].weight.mul_(5.0)
    return model


def probs_of(model: nn.Module, images_uint8: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        x = torch.from_numpy(images_uint8).float() / 127.5 - 1
        return torch.softmax(model.eval()(x).double(), 1).numpy()


def test_optimised_inputs_game_the_score():
    model = tiny_classifier()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = optimise_inputs(model, 40, SHAPE, K, steps=30, lr=0.05, seed=0)
    assert images.dtype == np.uint8 and images.shape == (40, *SHAPE)
    assert model.training and all(p.requires_grad for p in model.parameters())  # restored
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # frozen, BN stats too

    start = optimise_inputs(model, 40, SHAPE, K, steps=0, seed=0)  # the seeded starting noise
    p_start, p_gamed = probs_of(model, start), probs_of(model, images)
    assert p_gamed.max(1).mean() > 0.95 and p_start.max(1).mean() < 0.6
    assert (p_gamed.argmax(1) == np.arange(40) % K).mean() > 0.95
    is_start, is_gamed = metrics.inception_score(p_start, 1)[0], metrics.inception_score(p_gamed, 1)[0]
    assert is_gamed > 0.9 * K and is_gamed > 2 * is_start


def test_same_seed_same_bytes_other_seed_differs():
    model = tiny_classifier()
    a = optimise_inputs(model, 8, SHAPE, K, steps=5, seed=3)
    b = optimise_inputs(model, 8, SHAPE, K, steps=5, seed=3, batch_size=3)
    c = optimise_inputs(model, 8, SHAPE, K, steps=5, seed=4)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
