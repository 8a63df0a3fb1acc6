"""Optimisers picked by name: ``OPTIMIZERS[name](params, lr, run)``.

Adam's β1 is the energy view's momentum knob (β1 = 0 vs 0.9); RMSprop is WGAN's (Arjovsky 2017:
no momentum-based optimiser with weight clipping).

Both run PyTorch's multi-tensor forms instead of its default on the CPU (a Python loop of about
eight tensor ops per parameter): Adam fused (``fused=True``: one vectorised kernel per parameter for
m, v, the bias corrections and the update, on the CPU and on CUDA), RMSprop ``foreach`` (the gain,
measured: docs/performance.md). The fused kernel rounds differently from the per-parameter loop (about one
float32 ulp per step, tests/test_optimizers.py); it is deterministic, like the loop. ``foreach``
RMSprop gives the per-parameter loop's numbers bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from ganrepro.core.registry import Registry


def adam(params: Iterable, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam (Kingma & Ba 2015): m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
    θ ← θ − lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε); PyTorch's fused kernel."""
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)


def rmsprop(params: Iterable, lr: float) -> torch.optim.RMSprop:
    """RMSprop (Tieleman & Hinton 2012; α = 0.99, ε = 1e-8): v ← α·v + (1 − α)·g², θ ← θ − lr·g / (√v + ε)."""
    return torch.optim.RMSprop(params, lr=lr, foreach=True)


OPTIMIZERS: Registry[Callable[[Iterable, float, dict], torch.optim.Optimizer]] = Registry("optimizer")
OPTIMIZERS.register("adam", lambda params, lr, run: adam(params, lr, (run["beta1"], run["beta2"])))
OPTIMIZERS.register("rmsprop", lambda params, lr, run: rmsprop(params, lr))
