"""Weight clipping, Arjovsky et al. 2017 (WGAN): every parameter of D clamped to [−c, c] after each
of D's steps, a crude Lipschitz constraint."""

from __future__ import annotations

import torch
import torch.nn as nn

from ganrepro.core.registry import Needs
from ganrepro.gan.penalties import PENALTIES, Penalty


@torch.no_grad()
def clip_weights(D: nn.Module, c: float) -> None:
    """WGAN (Arjovsky 2017): clamp every parameter of D to [-c, c] in place."""
    for p in D.parameters():
        p.clamp_(-c, c)


PENALTIES.register("clip", Penalty(
    term=None, coefficient=lambda run, it: 0.0,
    after_d_step=lambda D, run: clip_weights(D, run["clip_value"])),
    rules=[Needs("spectral_norm", (False,), "weight clipping and spectral norm are two constraints; pick one")])
