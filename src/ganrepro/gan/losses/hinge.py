"""The hinge loss, Lim & Ye 2017 ("Geometric GAN") as used by Miyato et al. 2018 (SNGAN) and BigGAN:
D's margin loss on real and generated logits, G's the critic's mean on its samples."""

from __future__ import annotations

import torch.nn.functional as F

from ganrepro.gan.losses import LOSSES, AdversarialLoss

LOSSES.register("hinge", AdversarialLoss(
    d=lambda r, f: (F.relu(1 - r) + F.relu(1 + f)).mean(),
    g=lambda f: -f.mean(),
    doc="Lim & Ye 2017, Miyato 2018: L_D = E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))), L_G = −E D(G(z))."))
