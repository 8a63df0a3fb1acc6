"""Discriminator penalties and constraints: a registry, one signature, the weighting inside.

Each entry of PENALTIES says what it adds to D's loss and what it does after D's optimiser step:

- ``term(inputs)`` → the penalty's value as the paper writes it, un-weighted (logged as the
  ``penalty`` column of train_log.csv); None for a pure constraint;
- ``coefficient(run, iteration)`` → its weight in D's loss, paper constants included (R1's ½ lives
  here, not in the training loop); the step adds ``coefficient · term``;
- ``after_d_step(D, run)`` → a projection after the step (WGAN's clipping); None for none.

New penalties (and regularisers whose weight follows a schedule) are entries here plus the name in
the schema's ``penalty`` enum; the training step needs no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from ganrepro.registry import Registry


@dataclass
class PenaltyInputs:
    """What a penalty may read: D, this update's real and generated batches (detached), the
    iteration (G updates so far) and the step's CPU generator for any random draw."""

    D: nn.Module
    real: torch.Tensor
    fake: torch.Tensor
    generator: torch.Generator
    iteration: int


@dataclass(frozen=True)
class Penalty:
    term: Callable[[PenaltyInputs], torch.Tensor] | None
    coefficient: Callable[[dict, int], float]
    after_d_step: Callable[[nn.Module, dict], None] | None = None


PENALTIES: Registry[Penalty] = Registry("penalty")


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


def r1_penalty(D, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder 2018): E[‖∇D(x)‖²] on real samples only; the loss adds (γ/2)·R1.

    Zero-centred and blind to fake samples by construction (it takes none). ``create_graph=True``.
    """
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@torch.no_grad()
def clip_weights(D: nn.Module, c: float) -> None:
    """WGAN (Arjovsky 2017): clamp every parameter of D to [-c, c] in place."""
    for p in D.parameters():
        p.clamp_(-c, c)


PENALTIES.register("none", Penalty(term=None, coefficient=lambda run, it: 0.0))
PENALTIES.register("clip", Penalty(
    term=None, coefficient=lambda run, it: 0.0,
    after_d_step=lambda D, run: clip_weights(D, run["clip_value"])))
PENALTIES.register("gp", Penalty(
    term=lambda b: gradient_penalty(b.D, b.real, b.fake, generator=b.generator),
    coefficient=lambda run, it: run["penalty_weight"]))  # λ (10 in the paper)
PENALTIES.register("r1", Penalty(
    term=lambda b: r1_penalty(b.D, b.real),
    coefficient=lambda run, it: 0.5 * run["penalty_weight"]))  # γ/2
