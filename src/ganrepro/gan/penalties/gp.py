"""WGAN-GP, Gulrajani et al. 2017, "Improved training of Wasserstein GANs": the critic's gradient
norm pulled to 1 at random interpolates of real and generated samples."""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.penalties import PENALTIES, Penalty


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani 2017): E[(‖∇D(x̂)‖₂ − 1)²], x̂ = εx + (1−ε)x̃, ε ~ U(0,1) per sample.

    ε is one draw ``torch.rand(N, 1, …, 1, generator=generator, dtype=real.dtype)`` on the
    generator's device (the CPU one in training), then moved to ``real``'s device. Un-weighted:
    the loss adds λ·GP. ``create_graph=True``, so the penalty trains D.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, dtype=real.dtype).to(real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


PENALTIES.register("gp", Penalty(
    term=lambda b: gradient_penalty(b.D, b.real, b.fake, generator=b.generator),
    coefficient=lambda run, it: run["penalty_weight"]),  # λ (10 in the paper)
    rules=[Needs("d_norm", ("none", "layer"),
                 "a gradient penalty is per sample and batch norm couples the samples of a batch")])
