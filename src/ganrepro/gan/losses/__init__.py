"""Adversarial losses (a registry of D/G pairs) and InfoGAN's mutual-information bound.

compare_gan's design: each loss is a small pair of functions picked by name; a variant is a
combination (loss × penalty × normalisation), not a class. Logits are D's raw outputs: r on real
samples, f on generated ones; every function returns the scalar to MINIMISE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganrepro.core.registry import Needs, Registry, discover
from ganrepro.gan.models.introvae import kl_to_standard_normal


@dataclass(frozen=True)
class AdversarialLoss:
    """``d(real_logits, fake_logits)`` is D's loss, ``g(fake_logits)`` G's; ``doc`` the paper's formula.

    ``g_reads_real``: G's loss also reads D's logits on a real batch, ``g(fake_logits, real_logits)``
    (a relativistic loss compares the two); the training step then draws a real batch on G's turn
    and passes D's logits on it, computed without a graph (they do not depend on G). A loss is a
    module of this package that registers itself here (``ragan``), or an entry below.
    """

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[..., torch.Tensor]
    doc: str
    g_reads_real: bool = False


LOSSES: Registry[AdversarialLoss | IntrospectiveLoss] = Registry("loss")  # IntroVAE: see the end


def _d_cross_entropy(r, f):
    return (F.softplus(-r) + F.softplus(f)).mean()  # -log σ(r) - log(1 - σ(f))


LOSSES.register("non_saturating", AdversarialLoss(
    d=_d_cross_entropy,
    g=lambda f: F.softplus(-f).mean(),
    doc="Goodfellow 2014, non-saturating: L_D = −E log σ(D(x)) − E log(1 − σ(D(G(z)))), L_G = −E log σ(D(G(z)))."))
LOSSES.register("minimax", AdversarialLoss(
    d=_d_cross_entropy,
    g=lambda f: (-F.softplus(f)).mean(),
    doc="Goodfellow 2014, minimax: L_D as non-saturating, L_G = E log(1 − σ(D(G(z)))) = −E softplus(D(G(z)))."))
LOSSES.register("wasserstein", AdversarialLoss(
    d=lambda r, f: f.mean() - r.mean(),
    g=lambda f: -f.mean(),
    doc="Arjovsky 2017: L_D = E D(G(z)) − E D(x), L_G = −E D(G(z)) (needs a Lipschitz constraint)."))
LOSSES.register("hinge", AdversarialLoss(
    d=lambda r, f: (F.relu(1 - r) + F.relu(1 + f)).mean(),
    g=lambda f: -f.mean(),
    doc="Lim & Ye 2017, Miyato 2018: L_D = E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))), L_G = −E D(G(z))."))
LOSSES.register("least_squares", AdversarialLoss(
    d=lambda r, f: 0.5 * ((r - 1) ** 2 + f**2).mean(),
    g=lambda f: 0.5 * ((f - 1) ** 2).mean(),
    doc="Mao 2017, a=0, b=c=1: L_D = ½E(D(x) − 1)² + ½E D(G(z))², L_G = ½E(D(G(z)) − 1)²."))


def d_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss ``name`` (an entry of LOSSES) to minimise."""
    return LOSSES[name].d(real_logits, fake_logits)


def g_loss(name: str, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Generator loss ``name`` (an entry of LOSSES) to minimise; ``real_logits`` for a loss that reads them."""
    loss = LOSSES[name]
    return loss.g(fake_logits, real_logits) if loss.g_reads_real else loss.g(fake_logits)


def code_entropy(n_categorical: int, n_continuous: int) -> float:
    """H(c) = log K + C·log 2 (U(-1, 1) has differential entropy log 2)."""
    return (math.log(n_categorical) if n_categorical else 0.0) + n_continuous * math.log(2)


def mutual_information_lower_bound(cat_logits, cont_mean, cont_logstd, cat_idx, cont) -> dict:
    """L_I(G, Q) = E[log Q(c|G(z,c))] + H(c) (Chen 2016), split by code; to MAXIMISE.

    Returns scalar tensors (E = mean over the batch):
    ``cat`` = E[log Q(c_cat|x)] + log K = log K − cross-entropy, ≤ log K always (a discrete
    entropy bound); 0 when there is no categorical code.
    ``cont`` = E[Σ_j log N(c_j; μ_j, σ_j)] + C·log 2 (U(-1, 1) has differential entropy log 2);
    a density, so NOT bounded above by H(c): a sharp Q makes it grow without limit.
    ``total`` = cat + cont. The training loss adds −λ_cat·cat − λ_cont·cont.
    """
    zero = cont.new_zeros(())
    if cat_logits is not None and cat_idx is not None:
        k = cat_logits.shape[1]
        cat = -F.cross_entropy(cat_logits, cat_idx) + math.log(k)
    else:
        cat = zero
    if cont.shape[1]:
        log_q = -0.5 * ((cont - cont_mean) / cont_logstd.exp()) ** 2 - cont_logstd - 0.5 * math.log(2 * math.pi)
        cont_li = log_q.sum(1).mean() + cont.shape[1] * math.log(2)
    else:
        cont_li = zero
    return {"cat": cat, "cont": cont_li, "total": cat + cont_li}


# -- IntroVAE (Huang 2018): the encoder is the discriminator ----------------------------------------
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


# Every module of this package is a loss that registers itself (``ragan``): imported here, by name.
discover(__name__)
