"""Optimisers picked by name: ``OPTIMIZERS[name](params, lr, run)``.

Adam's β1 is the energy view's momentum knob (β1 = 0 vs 0.9); RMSprop is WGAN's (Arjovsky 2017:
no momentum-based optimiser with weight clipping).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from ganrepro.registry import Registry

OPTIMIZERS: Registry[Callable[[Iterable, float, dict], torch.optim.Optimizer]] = Registry("optimizer")
OPTIMIZERS.register("adam", lambda params, lr, run: torch.optim.Adam(params, lr=lr, betas=(run["beta1"], run["beta2"])))
OPTIMIZERS.register("rmsprop", lambda params, lr, run: torch.optim.RMSprop(params, lr=lr))
