"""R1, Mescheder et al. 2018, "Which training methods for GANs do actually converge?": the squared
gradient norm of D on real samples, zero-centred."""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.penalties import PENALTIES, Penalty


def r1_penalty(D, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder 2018): E[‖∇D(x)‖²] on real samples only; the loss adds (γ/2)·R1.

    Zero-centred and blind to fake samples by construction (it takes none). ``create_graph=True``.
    """
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


PENALTIES.register("r1", Penalty(
    term=lambda b: r1_penalty(b.D, b.real),
    coefficient=lambda run, it: 0.5 * run["penalty_weight"]),  # γ/2
    rules=[Needs("d_norm", ("none", "layer"),
                 "a gradient penalty is per sample and batch norm couples the samples of a batch")])
