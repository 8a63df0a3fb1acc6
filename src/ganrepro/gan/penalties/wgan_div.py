"""WGAN-div, Wu et al. 2018, "Wasserstein divergence for GANs": k·E‖∇ₓD‖^p on real and generated
samples, no Lipschitz target."""

from __future__ import annotations

import torch

from ganrepro.core.registry import Needs
from ganrepro.gan.penalties import PENALTIES, Penalty, input_gradient


def wgan_div_penalty(D, real: torch.Tensor, fake: torch.Tensor, power: float) -> torch.Tensor:
    """WGAN-div (Wu et al. 2018): ½·E_P[‖∇ₓD(x)‖^p] + ½·E_Q[‖∇ₓD(x̃)‖^p] on real and generated samples.

    Un-weighted; the loss adds k times it (k = 2, p = 6 in the paper), so the penalty is
    k·E[‖∇D‖^p] over the union of the two batches, as in the authors' code
    (``mean(real_norm + fake_norm) · k / 2``). Zero-centred: p = 2 is R1 on both sides.
    """
    _, grad_r = input_gradient(D, real)
    _, grad_f = input_gradient(D, fake)
    norm_p = lambda g: g.pow(2).sum(1) ** (power / 2)  # noqa: E731
    return 0.5 * (norm_p(grad_r).mean() + norm_p(grad_f).mean())


PENALTIES.register("wgan_div", Penalty(
    term=lambda b: wgan_div_penalty(b.D, b.real, b.fake, b.run["div_power"]),
    coefficient=lambda run, it: run["penalty_weight"]),  # k (2 in the paper)
    options={"div_power": "Wu 2018: p = 6 (k = penalty_weight = 2)"},
    rules=[Needs("loss", ("wasserstein",), "Wu 2018 defines it for a Wasserstein critic"),
           Needs("d_norm", ("none", "layer"),
                 "a gradient penalty is per sample and batch norm couples the samples of a batch")])
