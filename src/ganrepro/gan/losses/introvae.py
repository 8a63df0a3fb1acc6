"""IntroVAE's objective, Huang et al. 2018, "IntroVAE: introspective variational autoencoders":
the encoder is the discriminator, scoring with the KL of its posterior; not a function of D's logits
alone, so its own trainer (``trainers.introvae``) calls the parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganrepro.core.registry import Needs
from ganrepro.gan.losses import LOSSES
from ganrepro.gan.models.introvae import kl_to_standard_normal


# L_REG, the KL of E's posterior (models.introvae.kl_to_standard_normal, beside E, which scores with it).
def introvae_encoder_adversarial(kl_real, kl_rec, kl_prior, alpha: float, margin: float) -> torch.Tensor:
    """Huang 2018, Algorithm 1: L_E^adv = L_REG(z) + α·{[m − L_REG(z_r)]⁺ + [m − L_REG(z_pp)]⁺},
    each L_REG the batch mean of the per-image KL (z = E(x), z_r = E(ng(x_r)), z_pp = E(ng(x_p)))."""
    return kl_real + alpha * (F.relu(margin - kl_rec) + F.relu(margin - kl_prior))


def introvae_generator_adversarial(kl_rec, kl_prior, alpha: float) -> torch.Tensor:
    """Huang 2018, Algorithm 1: L_G^adv = α·{L_REG(E(x_r)) + L_REG(E(x_p))}."""
    return alpha * (kl_rec + kl_prior)


def introvae_reconstruction(x_rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Huang 2018, Eq. 9: L_AE = ½‖x_r − x‖², summed over pixels, averaged over the batch; float32."""
    return 0.5 * (x_rec.float() - x.float()).pow(2).flatten(1).sum(1).mean()


@dataclass(frozen=True)
class IntrospectiveLoss:
    """An objective that is not a function of D's logits alone: IntroVAE's needs the encoder's KL of
    real, reconstructed and prior-sampled images and a reconstruction error. Its own trainer
    (``trainers.introvae``) calls these; config pairs ``loss: introvae`` with ``trainer: introvae``."""

    kl: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    encoder: Callable[..., torch.Tensor]
    generator: Callable[..., torch.Tensor]
    reconstruction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    doc: str


LOSSES.register("introvae", IntrospectiveLoss(
    kl=kl_to_standard_normal, encoder=introvae_encoder_adversarial, generator=introvae_generator_adversarial,
    reconstruction=introvae_reconstruction,
    doc="Huang 2018: E minimises L_REG(E(x)) + α·Σ[m − L_REG(E(ng(x')))]⁺ + β·L_AE over x' ∈ {x_r, x_p}; "
        "G minimises α·Σ L_REG(E(x')) + β·L_AE; L_AE = ½‖x_r − x‖²."), rules=[
    Needs("trainer", ("introvae",), "its encoder term needs the step of Huang 2018, Algorithm 1"),
    Needs("architecture", ("introvae",), "it needs an encoder's KL; the other nets' D has none"),
])
