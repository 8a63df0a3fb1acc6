"""The cross-entropy GAN losses, Goodfellow et al. 2014, "Generative adversarial nets": D = σ(logits)
trained as a classifier of real vs generated; G minimises the minimax value (Eq. 1) or, as the paper
recommends for early training, maximises log D(G(z)) instead (non-saturating)."""

from __future__ import annotations

import torch.nn.functional as F

from ganrepro.gan.losses import LOSSES, AdversarialLoss


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
