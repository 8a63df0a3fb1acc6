"""Discriminator penalties and constraints: a registry, one signature, the weighting inside.

Each entry of PENALTIES says what it adds to D's loss and what it does after D's optimiser step:

- ``term(inputs)`` → the penalty's value as the paper writes it, un-weighted (logged as the
  ``penalty`` column of train_log.csv); None for a pure constraint;
- ``coefficient(run, iteration)`` → its weight in D's loss, paper constants included (R1's ½ lives
  here, not in the training loop); the step adds ``coefficient · term``;
- ``after_d_step(D, run)`` → a projection after the step (WGAN's clipping); None for none;
- ``logs(run, iteration)`` → values of a schedule to log (Roth's annealed γ), columns ``log_fields``.

New penalties (and regularisers whose weight follows a schedule) are entries here plus the name in
the schema's ``penalty`` enum; the training step needs no change. The options a penalty reads
beyond ``penalty_weight`` are declared at its registration (``options=``; a run using it must state them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from ganrepro.core.registry import Needs, Registry


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


def _input_gradient(D, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(D(x), ∇ₓD(x) flattened to N × d), with ``create_graph=True`` so a penalty on it trains D."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return out, grad.flatten(1)


def roth_regulariser(D, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Roth et al. 2017, the JS-GAN regulariser, for D = σ(φ) with φ the logits ``D(x)``:

        Ω = E_P[(1 − σ(φ(x)))² ‖∇ₓφ(x)‖²] + E_Q[σ(φ(x̃))² ‖∇ₓφ(x̃)‖²].

    Un-weighted; the loss adds (γ/2)·Ω with γ annealed (``roth_gamma``). Zero-centred like R1 and
    weighted by how sure D is on each side, it is the gradient regulariser that the noise
    (convolution) argument of the paper gives for the JS f-GAN. ``create_graph=True``.
    """
    phi_r, grad_r = _input_gradient(D, real)
    phi_f, grad_f = _input_gradient(D, fake)
    reg_r = (1 - torch.sigmoid(phi_r)) ** 2 * grad_r.pow(2).sum(1)
    reg_f = torch.sigmoid(phi_f) ** 2 * grad_f.pow(2).sum(1)
    return reg_r.mean() + reg_f.mean()


def roth_gamma(run: dict, iteration: int) -> float:
    """Roth's annealing: γ_t = γ₀ · decay^(t / (T − 1)), γ₀ = ``penalty_weight``, decay =
    ``roth_decay``, t = G updates so far, T = ``iterations``: γ₀ at the start, decay·γ₀ at the end
    (the reference code's exponential schedule)."""
    span = max(run["iterations"] - 1, 1)
    return run["penalty_weight"] * run["roth_decay"] ** (iteration / span)


def wgan_div_penalty(D, real: torch.Tensor, fake: torch.Tensor, power: float) -> torch.Tensor:
    """WGAN-div (Wu et al. 2018): ½·E_P[‖∇ₓD(x)‖^p] + ½·E_Q[‖∇ₓD(x̃)‖^p] on real and generated samples.

    Un-weighted; the loss adds k times it (k = 2, p = 6 in the paper), so the penalty is
    k·E[‖∇D‖^p] over the union of the two batches, as in the authors' code
    (``mean(real_norm + fake_norm) · k / 2``). Zero-centred: p = 2 is R1 on both sides.
    """
    _, grad_r = _input_gradient(D, real)
    _, grad_f = _input_gradient(D, fake)
    norm_p = lambda g: g.pow(2).sum(1) ** (power / 2)  # noqa: E731
    return 0.5 * (norm_p(grad_r).mean() + norm_p(grad_f).mean())


@torch.no_grad()
def clip_weights(D: nn.Module, c: float) -> None:
    """WGAN (Arjovsky 2017): clamp every parameter of D to [-c, c] in place."""
    for p in D.parameters():
        p.clamp_(-c, c)


PENALTIES.register("none", Penalty(term=None, coefficient=lambda run, it: 0.0))
PENALTIES.register("clip", Penalty(
    term=None, coefficient=lambda run, it: 0.0,
    after_d_step=lambda D, run: clip_weights(D, run["clip_value"])),
    rules=[Needs("spectral_norm", (False,), "weight clipping and spectral norm are two constraints; pick one")])
PENALTIES.register("gp", Penalty(
    term=lambda b: gradient_penalty(b.D, b.real, b.fake, generator=b.generator),
    coefficient=lambda run, it: run["penalty_weight"]),  # λ (10 in the paper)
    rules=[Needs("d_norm", ("none", "layer"), "a gradient penalty is per sample and batch norm couples the samples of a batch")])
PENALTIES.register("r1", Penalty(
    term=lambda b: r1_penalty(b.D, b.real),
    coefficient=lambda run, it: 0.5 * run["penalty_weight"]),  # γ/2
    rules=[Needs("d_norm", ("none", "layer"), "a gradient penalty is per sample and batch norm couples the samples of a batch")])
PENALTIES.register("roth", Penalty(
    term=lambda b: roth_regulariser(b.D, b.real, b.fake),
    coefficient=lambda run, it: 0.5 * roth_gamma(run, it),  # γ_t/2
    logs=lambda run, it: {"roth_gamma": roth_gamma(run, it)}, log_fields=("roth_gamma",)),
    options={"roth_decay": "Roth 2017: γ annealed γ₀·decay^(t/T), decay 0.01 (γ₀ = penalty_weight)"},
    rules=[Needs("loss", ("non_saturating", "minimax"),
                 "Roth et al.'s regulariser is for D = σ(logits) of the cross-entropy GAN"),
           Needs("d_norm", ("none", "layer"), "a gradient penalty is per sample and batch norm couples the samples of a batch")])
PENALTIES.register("wgan_div", Penalty(
    term=lambda b: wgan_div_penalty(b.D, b.real, b.fake, b.run["div_power"]),
    coefficient=lambda run, it: run["penalty_weight"]),  # k (2 in the paper)
    options={"div_power": "Wu 2018: p = 6 (k = penalty_weight = 2)"},
    rules=[Needs("loss", ("wasserstein",), "Wu 2018 defines it for a Wasserstein critic"),
           Needs("d_norm", ("none", "layer"), "a gradient penalty is per sample and batch norm couples the samples of a batch")])
