"""Roth et al. 2017, "Stabilizing training of generative adversarial networks through
regularization": the JS-GAN gradient regulariser, weighted by D's confidence, γ annealed."""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.penalties import PENALTIES, Penalty, input_gradient


def roth_regulariser(D, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Roth et al. 2017, the JS-GAN regulariser, for D = σ(φ) with φ the logits ``D(x)``:

        Ω = E_P[(1 − σ(φ(x)))² ‖∇ₓφ(x)‖²] + E_Q[σ(φ(x̃))² ‖∇ₓφ(x̃)‖²].

    Un-weighted; the loss adds (γ/2)·Ω with γ annealed (``roth_gamma``). Zero-centred like R1 and
    weighted by how sure D is on each side, it is the gradient regulariser that the noise
    (convolution) argument of the paper gives for the JS f-GAN. ``create_graph=True``.
    """
    phi_r, grad_r = input_gradient(D, real)
    phi_f, grad_f = input_gradient(D, fake)
    reg_r = (1 - torch.sigmoid(phi_r)) ** 2 * grad_r.pow(2).sum(1)
    reg_f = torch.sigmoid(phi_f) ** 2 * grad_f.pow(2).sum(1)
    return reg_r.mean() + reg_f.mean()


def roth_gamma(run: dict, iteration: int) -> float:
    """Roth's annealing: γ_t = γ₀ · decay^(t / (T − 1)), γ₀ = ``penalty_weight``, decay =
    ``roth_decay``, t = G updates so far, T = ``iterations``: γ₀ at the start, decay·γ₀ at the end
    (the reference code's exponential schedule)."""
    span = max(run["iterations"] - 1, 1)
    return run["penalty_weight"] * run["roth_decay"] ** (iteration / span)


PENALTIES.register("roth", Penalty(
    term=lambda b: roth_regulariser(b.D, b.real, b.fake),
    coefficient=lambda run, it: 0.5 * roth_gamma(run, it),  # γ_t/2
    logs=lambda run, it: {"roth_gamma": roth_gamma(run, it)}, log_fields=("roth_gamma",)),
    options={"roth_decay": "Roth 2017: γ annealed γ₀·decay^(t/T), decay 0.01 (γ₀ = penalty_weight)"},
    rules=[Needs("loss", ("non_saturating", "minimax"),
                 "Roth et al.'s regulariser is for D = σ(logits) of the cross-entropy GAN"),
           Needs("d_norm", ("none", "layer"),
                 "a gradient penalty is per sample and batch norm couples the samples of a batch")])
