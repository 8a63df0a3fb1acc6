"""The least-squares GAN loss, Mao et al. 2017 (LSGAN), with the codes a = 0, b = c = 1: D regresses
real images to 1 and generated ones to 0, G pulls its samples' score to 1."""

from __future__ import annotations

from ganrepro.gan.losses import LOSSES, AdversarialLoss

LOSSES.register("least_squares", AdversarialLoss(
    d=lambda r, f: 0.5 * ((r - 1) ** 2 + f**2).mean(),
    g=lambda f: 0.5 * ((f - 1) ** 2).mean(),
    doc="Mao 2017, a=0, b=c=1: L_D = ½E(D(x) − 1)² + ½E D(G(z))², L_G = ½E(D(G(z)) − 1)²."))
