"""Discriminator penalties and constraints: a registry, one signature, the weighting inside.

Each entry of PENALTIES says what it adds to D's loss and what it does after D's optimiser step:

- ``term(inputs)`` → the penalty's value as the paper writes it, un-weighted (logged as the
  ``penalty`` column of train_log.csv); None for a pure constraint;
- ``coefficient(run, iteration)`` → its weight in D's loss, paper constants included (R1's ½ lives
  here, not in the training loop); the step adds ``coefficient · term``;
- ``after_d_step(D, run)`` → a projection after the step (WGAN's clipping); None for none;
- ``logs(run, iteration)`` → values of a schedule to log (Roth's annealed γ), columns ``log_fields``.

A penalty is a module of this package that registers itself (``gp``, ``r1``, …; ``none`` is here):
its paper's formula, its options beyond ``penalty_weight`` (``options=``; a run using it must
state them) and what it combines with (``rules=``). The training step needs no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from ganrepro.core.registry import Registry, discover


@dataclass
class PenaltyInputs:
    """What a penalty may read: D, this update's real and generated batches (detached), the
    iteration (G updates so far), the step's CPU generator for any random draw, and the run's
    options (for constants beyond ``penalty_weight``, e.g. WGAN-div's power)."""

    D: nn.Module
    real: torch.Tensor
    fake: torch.Tensor
    generator: torch.Generator
    iteration: int
    run: dict | None = None


@dataclass(frozen=True)
class Penalty:
    term: Callable[[PenaltyInputs], torch.Tensor] | None
    coefficient: Callable[[dict, int], float]
    after_d_step: Callable[[nn.Module, dict], None] | None = None
    logs: Callable[[dict, int], dict[str, float]] | None = None
    log_fields: tuple[str, ...] = ()


PENALTIES: Registry[Penalty] = Registry("penalty")


def input_gradient(D, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(D(x), ∇ₓD(x) flattened to N × d), with ``create_graph=True`` so a penalty on it trains D."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return out, grad.flatten(1)


PENALTIES.register("none", Penalty(term=None, coefficient=lambda run, it: 0.0))

# Every other module of this package is a penalty that registers itself: imported here, by name.
discover(__name__)
